//! Issue 10 item 5: creating a logger costs the depth of its name, and the cached answers
//! (enabled checks, handler chains, parents) stay right under any sequence of changes.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mplog::handler::{Handler, NullHandler};
use mplog::{Level, Manager};
use proptest::prelude::*;

/// Runs `f` on a thread and fails if it has not finished within `limit` (a generous bound:
/// main's code took 129 s for 16,000 names and would take hours for 100,000).
fn within(limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(limit)
        .expect("quadratic: far slower than O(depth) per logger");
}

#[test]
fn a_hundred_thousand_loggers_are_created_in_bounded_time() {
    within(Duration::from_secs(60), || {
        let m = Manager::new();
        m.root()
            .add_handler(Arc::new(NullHandler::new()) as Arc<dyn Handler>);
        for i in 0..100_000u32 {
            // Deep names, placeholders filled in later, siblings under shared parents.
            let log = m.get_logger(&format!("svc{}.mod{}.fn{i}", i % 7, i % 101));
            assert!(log.is_enabled_for(Level::WARNING));
        }
        for i in 0..7 {
            m.get_logger(&format!("svc{i}")).set_level(Level::DEBUG);
        }
        assert!(m.get_logger("svc3.mod3.fn3").is_enabled_for(Level::DEBUG));
        assert_eq!(m.loggers().len(), 100_000 + 7);
    });
}

#[test]
fn configuring_a_hundred_thousand_loggers_is_bounded_too() {
    // What a configuration does per logger: create, set a level, add a handler, propagate.
    within(Duration::from_secs(60), || {
        let m = Manager::new();
        let h: Arc<dyn Handler> = Arc::new(NullHandler::new());
        for i in 0..100_000u32 {
            let log = m.get_logger(&format!("app.part{}.n{i}", i % 300));
            log.set_level(Level::INFO);
            log.add_handler(h.clone());
            log.set_propagate(i % 2 == 0);
        }
        m.get_logger("app").set_level(Level::ERROR);
        assert!(m.get_logger("app.part5.n5").is_enabled_for(Level::INFO));
        assert!(!m.get_logger("app.part5").is_enabled_for(Level::INFO));
    });
}

#[derive(Debug, Clone)]
enum Op {
    Get(String),
    SetLevel(String, u32),
    Disabled(String, bool),
    Propagate(String, bool),
    AddHandler(String),
    ClearHandlers(String),
    Disable(u32),
}

fn name() -> impl Strategy<Value = String> {
    // Segments that are no prefix of "root" (CPython's `_fixupChildren` string-prefix quirk).
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..5).prop_map(|v| v.join("."))
}

fn op() -> impl Strategy<Value = Op> {
    let level = prop::sample::select(vec![0u32, 10, 20, 30, 40, 50]);
    prop_oneof![
        4 => name().prop_map(Op::Get),
        3 => (name(), level.clone()).prop_map(|(n, l)| Op::SetLevel(n, l)),
        1 => (name(), any::<bool>()).prop_map(|(n, d)| Op::Disabled(n, d)),
        1 => (name(), any::<bool>()).prop_map(|(n, p)| Op::Propagate(n, p)),
        1 => name().prop_map(Op::AddHandler),
        1 => name().prop_map(Op::ClearHandlers),
        1 => prop::sample::select(vec![0u32, 10, 20]).prop_map(Op::Disable),
    ]
}

/// What CPython's rules say, computed from names alone.
#[derive(Default, Clone)]
struct Model {
    level: u32,
    disabled: bool,
    propagate: bool,
    handlers: usize,
}

fn parent_name(loggers: &BTreeMap<String, Model>, name: &str) -> String {
    let mut end = name.len();
    while let Some(dot) = name[..end].rfind('.') {
        if loggers.contains_key(&name[..dot]) {
            return name[..dot].to_string();
        }
        end = dot;
    }
    "root".to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn cached_answers_match_cpython_rules(ops in prop::collection::vec(op(), 1..60)) {
        let m = Manager::new();
        let mut model: BTreeMap<String, Model> = BTreeMap::new();
        model.insert("root".into(), Model { level: 30, propagate: true, ..Model::default() });
        let mut disable = 0;
        for op in ops {
            let target = match &op {
                Op::Get(n) | Op::SetLevel(n, _) | Op::Disabled(n, _) | Op::Propagate(n, _)
                | Op::AddHandler(n) | Op::ClearHandlers(n) => Some(n.clone()),
                Op::Disable(_) => None,
            };
            if let Some(n) = &target {
                model.entry(n.clone()).or_insert(Model { propagate: true, ..Model::default() });
            }
            let log = target.as_deref().map(|n| m.get_logger(n));
            let entry = target.and_then(|n| model.get_mut(&n));
            match (op, log, entry) {
                (Op::SetLevel(_, l), Some(log), Some(e)) => { log.set_level(Level::new(l)); e.level = l; }
                (Op::Disabled(_, d), Some(log), Some(e)) => { log.set_disabled(d); e.disabled = d; }
                (Op::Propagate(_, p), Some(log), Some(e)) => { log.set_propagate(p); e.propagate = p; }
                (Op::AddHandler(_), Some(log), Some(e)) => {
                    log.add_handler(Arc::new(NullHandler::new()));
                    e.handlers += 1;
                }
                (Op::ClearHandlers(_), Some(log), Some(e)) => { log.clear_handlers(); e.handlers = 0; }
                (Op::Disable(l), _, _) => { m.disable(Level::new(l)); disable = l; }
                _ => {}
            }
        }
        for (name, me) in &model {
            let log = m.get_logger(name);
            // Parent: the nearest created ancestor.
            if name != "root" {
                let parent = log.parent().unwrap();
                prop_assert_eq!(parent.name(), parent_name(&model, name));
            }
            // Effective level: the first set level up the parents.
            let mut effective = 0;
            let mut current = name.clone();
            loop {
                let e = &model[&current];
                if e.level != 0 { effective = e.level; break; }
                if current == "root" { break; }
                current = parent_name(&model, &current);
            }
            prop_assert_eq!(log.effective_level().as_u32(), effective);
            for level in [1u32, 10, 15, 20, 30, 40, 50] {
                let expect = !me.disabled && level >= effective.max(disable + 1);
                prop_assert_eq!(log.is_enabled_for(Level::new(level)), expect, "{} at {}", name, level);
            }
            // Handlers: own, then up the parents while propagating.
            let mut any = false;
            let mut current = name.clone();
            loop {
                let e = &model[&current];
                any |= e.handlers > 0;
                if !e.propagate || current == "root" { break; }
                current = parent_name(&model, &current);
            }
            prop_assert_eq!(log.has_handlers(), any, "{}", name);
        }
    }
}
