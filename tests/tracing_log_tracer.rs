//! `log` records carried into `tracing` by `tracing-log`'s `LogTracer` (what
//! `tracing_subscriber`'s `init()` installs with its `tracing-log` feature), then into mplog
//! by the layer: each arrives once, with its own target, file and line, and follows the
//! hierarchy's levels. `tracing`'s `log-always` (on in the dev-dependency) sends each
//! `tracing` event back through `LogTracer` as well: it still arrives once. Its own binary: one `log` logger and one global subscriber per process.
#![cfg(feature = "tracing")]

mod common;

use std::sync::Arc;

use common::Keep;
use mplog::Level;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn log_records_through_log_tracer_keep_their_target_and_location() {
    tracing_log::LogTracer::init().unwrap();
    let subscriber = tracing_subscriber::registry().with(mplog::compat::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let keep = Arc::new(Keep::default());
    mplog::root().add_handler(keep.clone());
    let db = mplog::get_logger("lt.db");
    db.set_level(Level::DEBUG);

    let line = line!() + 1;
    log::debug!(target: "lt::db", "pool {} ready", 8);
    log::debug!(target: "lt::http", "below the root's WARNING");
    tracing::info!(target: "lt::db", "from tracing");
    db.set_level(Level::INFO);
    log::debug!(target: "lt::db", "raised: off");

    let records = keep.take();
    assert_eq!(records.len(), 2, "{records:?}");
    let r = &records[0];
    assert_eq!(&*r.name, "lt.db");
    assert_eq!(r.level, Level::DEBUG);
    assert_eq!(r.message, "pool 8 ready");
    assert_eq!(r.filename(), "tracing_log_tracer.rs");
    assert_eq!(r.lineno, line);
    assert_eq!(r.module_path, "tracing_log_tracer");
    assert!(
        r.extra.is_empty(),
        "log.* fields are the location: {:?}",
        r.extra
    );
    assert_eq!(records[1].message, "from tracing");
}
