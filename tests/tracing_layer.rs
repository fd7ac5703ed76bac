//! `tracing` call sites feeding an mplog hierarchy through `mplog::compat::tracing`: levels,
//! fields, spans, `#[instrument]`, tokio tasks, and levels changed at run time.
//!
//! One global subscriber for the whole binary (tokio's threads and tracing's interest cache
//! see only the global one); each test owns its own logger subtree, and they take turns (one
//! of them changes `disable`, which every logger of the hierarchy follows).
#![cfg(feature = "tracing")]

mod common;

use std::sync::{Arc, LazyLock};

use common::Keep;
use mplog::handler::Handler;
use mplog::record::Value;
use mplog::{Level, Logger, Manager};
use parking_lot::{Mutex, MutexGuard};
use tracing_subscriber::layer::SubscriberExt;

static MANAGER: LazyLock<Manager> = LazyLock::new(|| {
    let m = Manager::new();
    let subscriber =
        tracing_subscriber::registry().with(mplog::compat::tracing::layer_for(m.clone()));
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    m
});

/// The logger `name` (its own subtree for one test), with a handler keeping its records, and
/// this test's turn.
fn logger(name: &str, level: Level) -> (Logger, Arc<Keep>, MutexGuard<'static, ()>) {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock();
    let log = MANAGER.get_logger(name);
    let keep = Arc::new(Keep::default());
    log.add_handler(keep.clone());
    log.set_propagate(false);
    log.set_level(level);
    (log, keep, turn)
}

#[test]
fn events_at_every_level_become_records_at_mplog_levels() {
    let (_log, keep, _turn) = logger("levels", mplog::compat::TRACE);
    tracing::trace!(target: "levels", "t");
    tracing::debug!(target: "levels::sub", "d");
    tracing::info!(target: "levels", "i");
    tracing::warn!(target: "levels", "w");
    tracing::error!(target: "levels", "e");
    let got: Vec<(String, u32, String, String)> = keep
        .take()
        .iter()
        .map(|r| {
            let level = r.level_name.to_string();
            (
                r.name.to_string(),
                r.level.as_u32(),
                level,
                r.message.to_string(),
            )
        })
        .collect();
    let want = [
        ("levels", 5, "TRACE", "t"),
        ("levels.sub", 10, "DEBUG", "d"),
        ("levels", 20, "INFO", "i"),
        ("levels", 30, "WARNING", "w"),
        ("levels", 40, "ERROR", "e"),
    ];
    let want: Vec<(String, u32, String, String)> = want
        .iter()
        .map(|(n, l, ln, m)| (n.to_string(), *l, ln.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[derive(Debug)]
struct Inner;
impl std::fmt::Display for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for Inner {}

#[derive(Debug)]
struct Outer(Inner);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("write failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn fields_of_every_kind_keep_their_types_and_the_location() {
    let (_log, keep, _turn) = logger("fields", Level::DEBUG);
    let err = Outer(Inner);
    let line = line!() + 1;
    tracing::info!(target: "fields", n = -3i64, big = u64::MAX, small = 7u64, ratio = 0.5, ok = true, user = "ann", list = ?vec![1, 2], shown = %"disp", error = &err as &dyn std::error::Error, r#type = "raw", name = "clash", "served {} in {} ms", "/api", 12);
    tracing::warn!(target: "fields", code = 503);
    let records = keep.take();
    assert_eq!(records.len(), 2);
    let r = &records[0];
    assert_eq!(r.message, "served /api in 12 ms");
    let extra = |k: &str| r.get_extra(k).cloned();
    assert_eq!(extra("n"), Some(Value::Int(-3)));
    assert_eq!(extra("big"), Some(Value::Str(u64::MAX.to_string())));
    assert_eq!(extra("small"), Some(Value::Int(7)));
    assert_eq!(extra("ratio"), Some(Value::Float(0.5)));
    assert_eq!(extra("ok"), Some(Value::Bool(true)));
    assert_eq!(extra("user"), Some(Value::Str("ann".into())));
    assert_eq!(extra("list"), Some(Value::Str("[1, 2]".into())));
    assert_eq!(extra("shown"), Some(Value::Str("disp".into())));
    assert_eq!(extra("error"), Some(Value::Str("write failed".into())));
    assert_eq!(extra("type"), Some(Value::Str("raw".into())));
    // A standard attribute's name is kept beside it, not over it.
    assert_eq!(extra("name_"), Some(Value::Str("clash".into())));
    assert_eq!(&*r.name, "fields");
    assert_eq!(
        r.exc_text.as_deref(),
        Some("Error: write failed\nCaused by: disk full")
    );
    assert_eq!(r.filename(), "tracing_layer.rs");
    assert_eq!(r.lineno, line);
    assert_eq!(r.module_path, "tracing_layer");
    assert_eq!(r.process, std::process::id());
    assert!(r.thread > 0);
    assert_eq!(r.get_extra("span"), None, "in no span");
    // No message: the fields are shown instead, as tracing's own formatter does.
    assert_eq!(records[1].message, "code=503");
    assert_eq!(records[1].get_extra("code"), Some(&Value::Int(503)));
}

#[test]
fn nested_spans_are_the_span_field_written_like_tracing_fmt() {
    let (_log, keep, _turn) = logger("spans", Level::DEBUG);
    let formatter = mplog::Formatter::new("%(span)s: %(message)s").unwrap();
    keep.base().set_formatter(Arc::new(formatter));
    {
        let outer = tracing::info_span!(target: "spans", "request", id = 7, path = "/a");
        let _o = outer.enter();
        let inner = tracing::debug_span!(target: "spans", "db", table = tracing::field::Empty);
        let _i = inner.enter();
        inner.record("table", "users");
        tracing::info!(target: "spans", "query");
        let bare = tracing::info_span!(target: "spans", "bare");
        bare.in_scope(|| tracing::warn!(target: "spans", "deep"));
    }
    tracing::info!(target: "spans", "outside");
    let records = keep.take();
    let spans: Vec<Option<Value>> = records
        .iter()
        .map(|r| r.get_extra("span").cloned())
        .collect();
    assert_eq!(
        spans,
        [
            Some(Value::Str(
                r#"request{id=7 path="/a"}:db{table="users"}"#.into()
            )),
            Some(Value::Str(
                r#"request{id=7 path="/a"}:db{table="users"}:bare"#.into()
            )),
            None,
        ]
    );
    let mut line = String::new();
    keep.base().format(&records[0], &mut line).unwrap();
    assert_eq!(line, r#"request{id=7 path="/a"}:db{table="users"}: query"#);
}

#[tracing::instrument(target = "instrumented", skip(secret))]
fn charge(account: u32, amount: f64, secret: &str) -> u32 {
    tracing::info!(target: "instrumented", "charging");
    account + secret.len() as u32
}

#[test]
fn instrumented_functions_are_spans_with_their_arguments() {
    let (_log, keep, _turn) = logger("instrumented", Level::INFO);
    assert_eq!(charge(41, 2.5, "x"), 42);
    let records = keep.take();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].get_extra("span"),
        Some(&Value::Str("charge{account=41 amount=2.5}".into()))
    );
}

#[test]
fn events_in_spawned_tokio_tasks_arrive_from_every_task() {
    let (_log, keep, _turn) = logger("tasks", Level::INFO);
    const TASKS: u32 = 64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut handles = Vec::new();
        for task in 0..TASKS {
            handles.push(tokio::spawn(tracing::Instrument::instrument(
                async move {
                    tokio::task::yield_now().await;
                    tracing::info!(target: "tasks", task, "working");
                },
                tracing::info_span!(target: "tasks", "task", n = task),
            )));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    let records = keep.take();
    assert_eq!(records.len(), TASKS as usize);
    let mut seen: Vec<i64> = records
        .iter()
        .map(|r| {
            let Some(Value::Int(n)) = r.get_extra("task") else {
                panic!("no task field in {r:?}")
            };
            assert_eq!(
                r.get_extra("span"),
                Some(&Value::Str(format!("task{{n={n}}}")))
            );
            assert!(r.thread_name.starts_with("tokio-"), "{}", r.thread_name);
            *n
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..i64::from(TASKS)).collect::<Vec<_>>());
}

#[test]
fn level_changes_take_effect_at_once_both_ways() {
    let (log, keep, _turn) = logger("runtime", Level::WARNING);
    let emit = || {
        tracing::debug!(target: "runtime::db", "d");
        tracing::info!(target: "runtime", "i");
    };
    let count = |keep: &Keep| keep.take().len();
    emit();
    assert_eq!(count(&keep), 0);
    log.set_level(Level::DEBUG);
    emit();
    assert_eq!(count(&keep), 2, "lowered: enabled at once");
    log.set_level(Level::INFO);
    emit();
    assert_eq!(count(&keep), 1, "raised: debug off again");
    MANAGER.disable(Level::INFO);
    emit();
    assert_eq!(count(&keep), 0, "disable()");
    MANAGER.disable(Level::NOTSET);
    emit();
    assert_eq!(count(&keep), 1);
    log.set_disabled(true);
    emit();
    assert_eq!(count(&keep), 0, "a disabled logger");
    log.set_disabled(false);
    // A configuration applied to the hierarchy (incremental: levels only).
    let cfg = mplog::config::DictConfig::from_json(
        r#"{"version": 1, "incremental": true, "loggers": {"runtime": {"level": "DEBUG"}}}"#,
    )
    .unwrap();
    cfg.apply_to(&MANAGER).unwrap();
    emit();
    assert_eq!(count(&keep), 2, "config applied");
}

#[test]
fn the_max_level_follows_the_most_verbose_logger() {
    use tracing::level_filters::LevelFilter;
    let (log, _keep, _turn) = logger("maxlevel", Level::WARNING);
    LazyLock::force(&MANAGER);
    // Other tests lower their own loggers; TRACE is the most verbose any of them sets.
    log.set_level(mplog::compat::TRACE);
    assert_eq!(LevelFilter::current(), LevelFilter::TRACE);
    tracing::trace!(target: "maxlevel", "reaches the logger");
}

/// tracing-core computes a callsite's first interest and stores it in two steps, without a
/// lock: a level change and its rebuild can fall in between, and the stored answer is then
/// the one computed before the change. Played here step by step: the answer given at first
/// use must still let the event through once the level change has returned.
#[test]
fn an_answer_stored_after_a_level_change_never_filters_out_an_enabled_event() {
    use tracing::callsite::Callsite;
    let (log, _keep, _turn) = logger("stale", Level::WARNING);
    let callsite = tracing::callsite! {
        name: "stale event",
        kind: tracing::metadata::Kind::EVENT,
        target: "stale",
        level: tracing::Level::DEBUG,
        fields: x
    };
    let meta = callsite.metadata();
    // First use, step 1: the interest is computed while DEBUG is off...
    let answer = tracing::dispatcher::get_default(|d| d.register_callsite(meta));
    // ... DEBUG is turned on (its rebuild runs and returns) ...
    log.set_level(Level::DEBUG);
    // ... and step 2 stores the answer of step 1.
    callsite.set_interest(answer);
    let interest = callsite.interest();
    let enabled = !interest.is_never()
        && (interest.is_always() || tracing::dispatcher::get_default(|d| d.enabled(meta)));
    assert!(enabled, "a stale `never` filters out an enabled event");
    // A change's own rebuild gives exact answers: a disabled event is one load of `never`.
    log.set_level(Level::INFO);
    assert!(callsite.interest().is_never());
    log.set_level(Level::DEBUG);
    assert!(callsite.interest().is_always());
}
