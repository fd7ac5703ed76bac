//! Hierarchy, caching and handling cases ported from CPython's `test_logging`.

use std::sync::Arc;

use parking_lot::Mutex;

use super::*;
use crate::handler::{HandlerBase, HandlerError};

/// A handler that keeps `name:level:message` of what it sees.
#[derive(Default)]
struct Collect {
    base: HandlerBase,
    seen: Mutex<Vec<String>>,
    closes: std::sync::atomic::AtomicUsize,
}

impl Handler for Collect {
    fn base(&self) -> &HandlerBase {
        &self.base
    }
    fn emit(&self, r: &Record) -> Result<(), HandlerError> {
        self.seen
            .lock()
            .push(format!("{}:{}:{}", r.name, r.level_name, r.message));
        Ok(())
    }
    fn close(&self) {
        self.closes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn collect(logger: &Logger) -> Arc<Collect> {
    let h = Arc::new(Collect::default());
    logger.add_handler(h.clone());
    h
}

#[test]
fn placeholders_wire_parents_created_later() {
    let m = Manager::new();
    let c = m.get_logger("a.b.c");
    assert!(c.parent().unwrap().is_root());
    let a = m.get_logger("a");
    assert_eq!(c.parent().unwrap(), a);
    let b = m.get_logger("a.b");
    assert_eq!(c.parent().unwrap(), b);
    assert_eq!(b.parent().unwrap(), a);
    // A sibling subtree is not captured.
    let x = m.get_logger("a.bx.y");
    assert_eq!(x.parent().unwrap(), a);
}

#[test]
fn a_closer_parent_is_kept_when_an_ancestor_appears() {
    let m = Manager::new();
    let d = m.get_logger("a.b.c.d");
    let c = m.get_logger("a.b.c");
    assert_eq!(d.parent().unwrap(), c);
    let a = m.get_logger("a");
    assert_eq!(d.parent().unwrap(), c);
    assert_eq!(c.parent().unwrap(), a);
}

#[test]
fn same_name_same_logger_and_root_aliases() {
    let m = Manager::new();
    assert_eq!(m.get_logger("x.y"), m.get_logger("x.y"));
    assert_eq!(m.get_logger(""), m.root());
    assert_eq!(m.get_logger("root"), m.root());
    assert_eq!(m.root().name(), "root");
    assert_eq!(m.root().level(), Level::WARNING);
}

#[test]
fn effective_level_and_enabled_cache_follow_every_change() {
    // test_logging.CachingTest, in spirit: caches clear on any level change.
    let m = Manager::new();
    let root = m.root();
    let parent = m.get_logger("p");
    let child = m.get_logger("p.c");
    assert!(!child.is_enabled_for(Level::INFO));
    parent.set_level(Level::DEBUG);
    assert!(child.is_enabled_for(Level::DEBUG));
    assert_eq!(child.effective_level(), Level::DEBUG);
    parent.set_level(Level::NOTSET);
    assert!(!child.is_enabled_for(Level::DEBUG));
    root.set_level(Level::ERROR);
    assert!(!child.is_enabled_for(Level::WARNING));
    assert!(child.is_enabled_for(Level::ERROR));
    child.set_level(Level::INFO);
    assert!(child.is_enabled_for(Level::INFO));
    m.disable(Level::CRITICAL);
    assert!(!child.is_enabled_for(Level::CRITICAL));
    m.disable(Level::NOTSET);
    assert!(child.is_enabled_for(Level::INFO));
    child.set_disabled(true);
    assert!(!child.is_enabled_for(Level::CRITICAL));
}

#[test]
fn level_zero_records_are_never_enabled_by_default() {
    // Python: manager.disable (0) >= levelno (0) -> disabled.
    let m = Manager::new();
    m.root().set_level(Level::NOTSET);
    assert!(!m.root().is_enabled_for(Level::NOTSET));
    assert!(m.root().is_enabled_for(Level::new(1)));
}

#[test]
fn propagation_stops_at_propagate_false() {
    let m = Manager::new();
    let root_h = collect(&m.root());
    let a_h = collect(&m.get_logger("a"));
    let b = m.get_logger("a.b");
    b.log(Level::ERROR, "one");
    m.get_logger("a").set_propagate(false);
    b.log(Level::ERROR, "two");
    assert_eq!(*a_h.seen.lock(), ["a.b:ERROR:one", "a.b:ERROR:two"]);
    assert_eq!(*root_h.seen.lock(), ["a.b:ERROR:one"]);
}

#[test]
fn handler_levels_are_checked_by_the_logger() {
    let m = Manager::new();
    m.root().set_level(Level::DEBUG);
    let h = collect(&m.root());
    h.base.set_level(Level::WARNING);
    m.root().log(Level::INFO, "quiet");
    m.root().log(Level::WARNING, "loud");
    assert_eq!(*h.seen.lock(), ["root:WARNING:loud"]);
}

#[test]
fn handle_skips_the_level_check_but_not_disabled() {
    // The queue listener's contract: get_logger(name).handle(record) with no level check.
    let m = Manager::new();
    let l = m.get_logger("w");
    let h = collect(&l);
    l.set_level(Level::CRITICAL);
    l.handle(&Record::new("w", Level::DEBUG, "made elsewhere"));
    assert_eq!(h.seen.lock().len(), 1);
    l.set_disabled(true);
    l.handle(&Record::new("w", Level::DEBUG, "dropped"));
    assert_eq!(h.seen.lock().len(), 1);
}

#[test]
fn logger_filters_may_replace_the_record_for_all_handlers() {
    let m = Manager::new();
    let l = m.get_logger("f");
    let root_h = collect(&m.root());
    l.add_filter(crate::filter::map_fn(|r| {
        let mut r = r.clone();
        r.message = "redacted".into();
        Some(r)
    }));
    l.log(Level::ERROR, "secret");
    assert_eq!(*root_h.seen.lock(), ["f:ERROR:redacted"]);
    l.add_filter(crate::filter::from_fn(|_| false));
    l.log(Level::ERROR, "gone");
    assert_eq!(root_h.seen.lock().len(), 1);
}

#[test]
fn last_resort_takes_warnings_when_no_handler_exists() {
    let m = Manager::new();
    let last = Arc::new(Collect::default());
    last.base.set_level(Level::WARNING);
    m.set_last_resort(Some(last.clone()));
    m.root().set_level(Level::DEBUG);
    let l = m.get_logger("lonely");
    l.log(Level::INFO, "below last resort");
    l.log(Level::WARNING, "shown");
    assert_eq!(*last.seen.lock(), ["lonely:WARNING:shown"]);
    // A handler anywhere up the chain, even one whose level filters the record, counts.
    let h = collect(&m.root());
    h.base.set_level(Level::CRITICAL);
    l.log(Level::ERROR, "found a handler");
    assert_eq!(last.seen.lock().len(), 1);
}

#[test]
fn no_handlers_message_is_emitted_once_without_last_resort() {
    let m = Manager::new();
    m.set_last_resort(None);
    assert!(!m.emitted_no_handler_warning());
    m.get_logger("x").log(Level::ERROR, "nowhere");
    assert!(m.emitted_no_handler_warning());
    m.get_logger("x").log(Level::ERROR, "still nowhere");
}

#[test]
fn macros_record_location_function_and_extras() {
    let m = Manager::new();
    let l = m.get_logger("macro");
    l.set_level(Level::DEBUG);
    let captured = Arc::new(Mutex::new(None::<Record>));
    struct Keep(HandlerBase, Arc<Mutex<Option<Record>>>);
    impl Handler for Keep {
        fn base(&self) -> &HandlerBase {
            &self.0
        }
        fn emit(&self, r: &Record) -> Result<(), HandlerError> {
            *self.1.lock() = Some(r.clone());
            Ok(())
        }
    }
    l.add_handler(Arc::new(Keep(HandlerBase::new(), captured.clone())));
    let line = line!() + 1;
    crate::info!(l, user = "bob", n = 3; "hello {}", "world");
    let r = captured.lock().take().unwrap();
    assert_eq!(r.message, "hello world");
    assert_eq!(r.lineno, line);
    assert_eq!(r.filename(), "tests.rs");
    assert_eq!(r.func_name, "macros_record_location_function_and_extras");
    assert_eq!(r.module_path, module_path!());
    assert_eq!(
        r.get_extra("user"),
        Some(&crate::record::Value::Str("bob".into()))
    );
    assert_eq!(r.get_extra("n"), Some(&crate::record::Value::Int(3)));

    let err = std::io::Error::other("disk full");
    crate::exception!(l, err, "write failed");
    let r = captured.lock().take().unwrap();
    assert_eq!(r.level, Level::ERROR);
    assert_eq!(r.exc_text.as_deref(), Some("Error: disk full"));
    let closure = || crate::warning!(l, "in a closure");
    closure();
    let r = captured.lock().take().unwrap();
    assert_eq!(r.func_name, "macros_record_location_function_and_extras");
}

#[test]
fn disabled_calls_evaluate_nothing() {
    let m = Manager::new();
    let l = m.get_logger("lazy");
    let mut evaluated = false;
    let mut touch = || {
        evaluated = true;
        1
    };
    crate::debug!(l, x = touch(); "value {}", 1);
    assert!(!evaluated);
}

#[test]
fn shutdown_closes_each_handler_once() {
    let m = Manager::new();
    let h = collect(&m.root());
    m.get_logger("a").add_handler(h.clone());
    let references = Arc::strong_count(&h);
    m.shutdown();
    assert_eq!(h.closes.load(std::sync::atomic::Ordering::Relaxed), 1);
    // Shutdown keeps no handler alive: only the test and the loggers hold it.
    assert_eq!(Arc::strong_count(&h), references);
}

#[test]
fn handler_chains_follow_every_change() {
    let m = Manager::new();
    let child = m.get_logger("p.c");
    let seen = |h: &Collect| h.seen.lock().len();
    // A handler added above an existing logger, then a logger appearing in between.
    let root_h = collect(&m.root());
    child.log(Level::ERROR, "1");
    assert_eq!(seen(&root_h), 1);
    let parent = m.get_logger("p");
    let parent_h = collect(&parent);
    child.log(Level::ERROR, "2");
    assert_eq!((seen(&parent_h), seen(&root_h)), (1, 2));
    // propagate = false on the parent stops at it; on the child, at the child.
    parent.set_propagate(false);
    child.log(Level::ERROR, "3");
    assert_eq!((seen(&parent_h), seen(&root_h)), (2, 2));
    child.set_propagate(false);
    child.log(Level::ERROR, "4");
    assert_eq!((seen(&parent_h), seen(&root_h)), (2, 2));
    child.set_propagate(true);
    parent.set_propagate(true);
    // Removing and clearing take effect at once.
    let as_dyn: Arc<dyn Handler> = parent_h.clone();
    parent.remove_handler(&as_dyn);
    child.log(Level::ERROR, "5");
    assert_eq!((seen(&parent_h), seen(&root_h)), (2, 3));
    m.root().clear_handlers();
    m.set_last_resort(None);
    child.log(Level::ERROR, "6");
    assert_eq!(seen(&root_h), 3);
    assert!(!child.has_handlers());
}

#[test]
fn handlers_are_found_by_name_on_any_logger() {
    let m = Manager::new();
    let named = |name: &str| {
        let h: Arc<dyn Handler> = Arc::new(Collect::default());
        h.base().set_name(name);
        h
    };
    let (console, file, twin) = (named("console"), named("file"), named("file"));
    m.root().add_handler(console.clone());
    m.get_logger("app.db").add_handler(file.clone());
    m.get_logger("zzz").add_handler(twin);
    m.get_logger("app")
        .add_handler(Arc::new(Collect::default()));
    let found = m.handler_by_name("file").expect("on a non-root logger");
    assert!(Arc::ptr_eq(&found, &file));
    let found = m.handler_by_name("console").expect("on root");
    assert!(Arc::ptr_eq(&found, &console));
    assert!(m.handler_by_name("missing").is_none());
    assert_eq!(m.handler_names(), ["console", "file"]);
    m.get_logger("app.db").remove_handler(&file);
    // The other "file" remains.
    assert!(m
        .handler_by_name("file")
        .is_some_and(|h| !Arc::ptr_eq(&h, &file)));
}
