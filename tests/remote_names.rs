//! Issue 10 item 5: what a peer's logger names cost the listener is bounded. Real worker
//! processes send records of many distinct names into a real listener dispatching through a
//! hierarchy: 100,000 new names are created in bounded time; past the caps on names (count,
//! length) a record goes to its nearest existing ancestor, keeps its own name for formatting,
//! and the cap is logged once and counted.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mplog::handler::{FileHandler, Handler};
use mplog::queue::{ListenerStats, QueueListener, QueueListenerBuilder};
use mplog::{Formatter, Level, Manager};

const MANY: usize = 100_000;
const CAP: usize = 100;
const OVER: usize = 300;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let guard = mplog::worker::init_from_env().expect("init");
    match role.as_str() {
        "many" => {
            for i in 0..MANY {
                let name = format!("svc{}.part{}.n{i}", i % 10, i % 97);
                mplog::get_logger(&name).log(Level::WARNING, format!("m{i}"));
            }
        }
        "caps" => {
            for i in 0..OVER {
                let name = format!("app.mod.n{i}");
                mplog::get_logger(&name).log(Level::WARNING, format!("m{i}"));
            }
            let long = format!("app.{}", "x".repeat(5000));
            mplog::get_logger(&long).log(Level::WARNING, "long");
        }
        other => panic!("unknown role {other}"),
    }
    drop(guard);
}

fn file_handler(path: &std::path::Path) -> Arc<dyn Handler> {
    let h = FileHandler::builder(path)
        .buffer(64 * 1024)
        .build()
        .unwrap();
    h.base()
        .set_formatter(Arc::new(Formatter::new("%(name)s %(message)s").unwrap()));
    Arc::new(h)
}

/// Runs one worker in `role` into a listener built by `builder` around `manager`.
fn run(role: &str, manager: Manager, builder: QueueListenerBuilder) -> ListenerStats {
    let listener = builder.manager(manager).start().unwrap();
    let mut child = common::spawn_child(role, listener.endpoint(), "names-worker", &[]);
    assert!(child.wait().unwrap().success());
    listener.stop()
}

#[test]
fn a_hundred_thousand_new_names_cost_bounded_time() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.log");
    let m = Manager::new();
    m.root().add_handler(file_handler(&path));
    let (tx, rx) = mpsc::channel();
    let (m2, builder) = (
        m.clone(),
        QueueListener::builder().max_logger_names(2 * MANY),
    );
    std::thread::spawn(move || tx.send(run("many", m2, builder)).unwrap());
    // Generous: main's code took 129 s for 16,000 new names (quadratic); hours for these.
    let stats = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("100,000 names not handled in bounded time");
    assert_eq!(stats.records, MANY as u64);
    assert_eq!(stats.names_capped, 0);
    let lines = common::lines(&path);
    assert_eq!(lines.len(), MANY);
    assert_eq!(
        lines[MANY - 1],
        format!("svc9.part{}.n{} m{}", (MANY - 1) % 97, MANY - 1, MANY - 1)
    );
    assert_eq!(m.loggers().len(), MANY);
}

#[test]
fn past_the_caps_the_nearest_ancestor_takes_the_records() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (app_path, root_path) = (dir.path().join("app.log"), dir.path().join("root.log"));
    let m = Manager::new();
    let app = m.get_logger("app");
    app.add_handler(file_handler(&app_path));
    app.set_propagate(false);
    m.root().add_handler(file_handler(&root_path));
    let builder = QueueListener::builder()
        .max_logger_names(CAP)
        .max_logger_name_len(200);
    let stats = run("caps", m.clone(), builder);
    // Every record arrived, each under its own name; those past the caps through "app".
    let lines = common::lines(&app_path);
    assert_eq!(lines.len(), OVER + 1);
    for (i, line) in lines[..OVER].iter().enumerate() {
        assert_eq!(line, &format!("app.mod.n{i} m{i}"));
    }
    assert!(lines[OVER].starts_with("app.xxxx") && lines[OVER].ends_with(" long"));
    // The loggers made: "app" (the listener's own), the first CAP names; none past the caps.
    assert_eq!(m.loggers().len(), 1 + CAP + 1, "{:?}", m.loggers().last());
    assert!(m.existing_logger(&format!("app.mod.n{CAP}")).is_none());
    assert_eq!(stats.names_capped, (OVER - CAP + 1) as u64, "{stats:?}");
    // Each cap said once, on the listener's own logger.
    let notices = common::lines(&root_path);
    let count = |what: &str| notices.iter().filter(|l| l.contains(what)).count();
    assert_eq!(count("reached the cap on logger names"), 1, "{notices:?}");
    assert_eq!(
        count("reached the cap on logger name length"),
        1,
        "{notices:?}"
    );
}
