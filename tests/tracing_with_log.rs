//! A process whose crates use both `log` and `tracing`: the `log` bridge and the `tracing` layer
//! installed together deliver each record exactly once. The dev-dependency turns `tracing`'s
//! `log-always` feature on (as any dependency may): every `tracing` event and span lifecycle
//! is then also a `log` record, and still each record arrives once. Its own binary: one `log`
//! logger and one global subscriber per process.
#![cfg(feature = "tracing")]

mod common;

use std::sync::Arc;

use common::Keep;
use mplog::Level;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn both_bridges_together_deliver_each_record_once() {
    mplog::compat::log_bridge::install().unwrap();
    let subscriber = tracing_subscriber::registry().with(mplog::compat::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let keep = Arc::new(Keep::default());
    mplog::root().add_handler(keep.clone());
    mplog::root().set_level(mplog::compat::TRACE);

    log::info!(target: "both::a", "from log");
    tracing::info!(target: "both::b", "from tracing");
    // With `log-always`, this span's lifecycle and its event are `log` records too.
    tracing::info_span!(target: "both::b", "work").in_scope(|| {
        tracing::debug!(target: "both::b", "in a span");
        log::warn!(target: "both::a", "log inside a span");
    });
    tracing::trace!(target: "both::b", "trace");
    log::trace!(target: "both::a", "trace");
    // Two call sites on one line (a macro's expansion has its call's line): the `log` one is
    // no copy of the `tracing` one.
    macro_rules! on_one_line {
        () => {
            tracing::info!(target: "both::c", "one line");
            log::info!(target: "both::c", "one line");
        };
    }
    on_one_line!();

    let got: Vec<(String, Level, String)> = keep
        .take()
        .into_iter()
        .map(|r| (r.name.to_string(), r.level, r.message.to_string()))
        .collect();
    let trace = mplog::compat::TRACE;
    let want = [
        ("both.a", Level::INFO, "from log"),
        ("both.b", Level::INFO, "from tracing"),
        ("both.b", Level::DEBUG, "in a span"),
        ("both.a", Level::WARNING, "log inside a span"),
        ("both.b", trace, "trace"),
        ("both.a", trace, "trace"),
        ("both.c", Level::INFO, "one line"),
        ("both.c", Level::INFO, "one line"),
    ];
    let want: Vec<(String, Level, String)> = want
        .iter()
        .map(|(n, l, m)| (n.to_string(), *l, m.to_string()))
        .collect();
    assert_eq!(got, want);
}
