//! Live reload under load: worker processes log numbered records without pause while the
//! listener's configuration is swapped 20 times between a TOML file and a YAML file whose
//! formats differ. Every record appears exactly once, in one of the two formats, each worker's
//! order kept, and the file is exactly 21 runs of one format (one per configuration): each
//! record was handled by exactly one configuration. A failed reload keeps the running
//! configuration and says why; the handlers of a configuration swapped out are flushed and
//! closed. A reload applies as CPython's `dictConfig` applies to a running hierarchy: with
//! `disable_existing_loggers` (the default) the loggers it does not name are disabled.

mod common;

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use mplog::config::DictConfig;
use mplog::queue::{Endpoint, ListenerHandle, Overflow, QueueListener};
use mplog::Level;

const WORKERS: usize = 3;
const RELOADS: usize = 20;
const STOP_FILE: &str = "MPLOG_TEST_STOP_FILE";
/// Far more than any healthy run needs: a guard against a hang, not a timing assumption.
const PATIENCE: Duration = Duration::from_secs(120);

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let w: usize = role.parse().expect("worker number");
    let stop = std::path::PathBuf::from(std::env::var_os(STOP_FILE).expect("stop file"));
    // Lossless whatever the machine's load: a worker waits as long as it takes (the default
    // block timeout would drop a record while a slow, shared machine catches up).
    let builder = mplog::worker::builder_from_env()
        .expect("env")
        .overflow(Overflow::Block { timeout: PATIENCE });
    let guard = mplog::worker::init(builder).expect("init");
    let log = mplog::get_logger("app.db.pool");
    let mut n = 0;
    loop {
        for _ in 0..10 {
            log.log(Level::INFO, format!("w{w} {n} {}", common::PAYLOAD));
            n += 1;
        }
        if stop.exists() {
            break;
        }
        // Steady load rather than a flood: the test is about the swaps, not throughput.
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(guard);
    println!("\nCOUNT {n}");
}

fn write_configs(
    dir: &Path,
    log: &Path,
    buffer: usize,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = dir.join("a.toml");
    let b = dir.join("b.yaml");
    std::fs::write(
        &a,
        format!(
            "version = 1\ndisable_existing_loggers = false\n[formatters.f]\nformat = \"A %(message)s\"\n\
             [handlers.h]\nclass = \"logging.FileHandler\"\nfilename = \"{}\"\nformatter = \"f\"\nbuffer = {buffer}\n\
             [root]\nlevel = \"DEBUG\"\nhandlers = [\"h\"]\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::write(
        &b,
        format!(
            "version: 1\ndisable_existing_loggers: false\nformatters:\n  f: {{format: 'B {{message}}', style: '{{'}}\n\
             handlers:\n  h: {{class: FileHandler, filename: '{}', formatter: f, buffer: {buffer}}}\n\
             root: {{level: DEBUG, handlers: [h]}}\n",
            log.display()
        ),
    )
    .unwrap();
    (a, b)
}

/// Waits until the listener has handled more than `seen` records; returns the new count.
fn wait_for_more(listener: &ListenerHandle, seen: u64) -> u64 {
    let start = Instant::now();
    loop {
        let now = listener.stats().records;
        if now > seen {
            return now;
        }
        assert!(start.elapsed() < PATIENCE, "no records for {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn reload_under_load_handles_every_record_once_in_one_format() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("all.log");
    let (a, b) = write_configs(dir.path(), &log, 64 * 1024);
    let stop = dir.path().join("stop");
    let listener = QueueListener::from_config(&a).unwrap().start().unwrap();
    let stop_env = stop.display().to_string();
    let children = common::spawn_workers(WORKERS, listener.endpoint(), &[(STOP_FILE, &stop_env)]);
    wait_for_more(&listener, 0);
    for i in 0..RELOADS {
        let next = if i % 2 == 0 { &b } else { &a };
        listener.reload(next).unwrap();
        // Counted once the swap was acknowledged: what comes on was handled by the
        // configuration just swapped in. Wait for some, before the next swap.
        let swapped_at = listener.stats().records;
        wait_for_more(&listener, swapped_at);
    }
    std::fs::write(&stop, "").unwrap();
    let mut counts = [0usize; WORKERS];
    for (w, mut c) in children.into_iter().enumerate() {
        let mut out = String::new();
        c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        assert!(c.wait().unwrap().success(), "worker {w}");
        counts[w] = out
            .lines()
            .find_map(|l| l.split_once("COUNT ").map(|(_, n)| n))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("worker {w} printed no count: {out}"));
    }
    let stats = listener.stop();
    if let Some(m) = listener.manager() {
        m.shutdown();
    }
    let lines = common::lines(&log);
    assert_eq!(lines.len(), counts.iter().sum::<usize>());
    let mut runs = 0;
    let mut last = None;
    let mut bodies = Vec::with_capacity(lines.len());
    for line in &lines {
        let (tag, body) = line.split_at(2);
        assert!(
            tag == "A " || tag == "B ",
            "a line in neither format: {line:?}"
        );
        if last != Some(tag) {
            runs += 1;
            last = Some(tag);
        }
        bodies.push(body.to_owned());
    }
    assert_eq!(runs, RELOADS + 1, "one run of lines per configuration");
    for (w, count) in counts.iter().enumerate() {
        common::check_worker(&bodies, w, *count);
    }
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.records as usize, lines.len(), "{stats:?}");
}

#[test]
fn a_bad_reload_keeps_the_running_configuration_and_says_why() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("all.log");
    let (a, _) = write_configs(dir.path(), &log, 0);
    let listener = QueueListener::from_config(&a)
        .unwrap()
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .unwrap();
    let workers = mplog::Manager::new();
    workers.root().set_level(Level::DEBUG);
    workers
        .root()
        .add_handler(std::sync::Arc::new(listener.local_handler()));
    let sync = || {
        // A round trip through the dispatch thread: everything before it is handled.
        listener.reload(DictConfig::from_path(&a).unwrap()).unwrap()
    };
    workers.root().log(Level::INFO, "before");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"version": 1, "handlers": {"file": {"class": "logging.FileHandler", "filename": "x.log", "level": "NTOSET"}}}"#,
    )
    .unwrap();
    let e = listener.reload(&bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: handlers.file: unable to configure handler 'file': unknown level 'NTOSET'",
            bad.display()
        )
    );
    // A valid file whose handler cannot open its file fails too, before anything is swapped.
    let unopenable = dir.path().join("unopenable.yaml");
    std::fs::write(
        &unopenable,
        format!(
            "version: 1\nhandlers: {{h: {{class: FileHandler, filename: '{}'}}}}\nroot: {{handlers: [h]}}\n",
            dir.path().join("missing/x.log").display()
        ),
    )
    .unwrap();
    let e = listener.reload(&unopenable).unwrap_err().to_string();
    assert!(
        e.contains("unable to configure handler 'h': opening"),
        "{e}"
    );
    workers.root().log(Level::INFO, "after");
    sync();
    listener.stop();
    let lines = common::lines(&log);
    assert_eq!(lines[0], "A before");
    assert!(lines[1].starts_with("A configuration reload failed, keeping the running one: "));
    assert!(lines[1].ends_with("unknown level 'NTOSET'"), "{}", lines[1]);
    assert!(lines[2].contains("opening"), "{}", lines[2]);
    assert_eq!(lines[3], "A after");
    assert_eq!(lines.len(), 4);
}

/// The files this process has open at `path` (Linux's /proc/self/fd).
fn open_count(path: &Path) -> usize {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let want = path.canonicalize().unwrap();
    fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|p| *p == want)
        .count()
}

#[test]
fn swapped_out_handlers_are_flushed_and_closed() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.log");
    let second = dir.path().join("second.log");
    // A large buffer: lines stay in memory until a flush.
    let (a, _) = write_configs(dir.path(), &first, 1 << 20);
    let (b, _) = {
        let sub = dir.path().join("b");
        std::fs::create_dir(&sub).unwrap();
        write_configs(&sub, &second, 0)
    };
    let listener = QueueListener::from_config(&a)
        .unwrap()
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .unwrap();
    let h = listener.local_handler();
    let workers = mplog::Manager::new();
    workers.root().set_level(Level::DEBUG);
    workers.root().add_handler(std::sync::Arc::new(h));
    for i in 0..100 {
        workers.root().log(Level::INFO, format!("r{i}"));
    }
    assert_eq!(open_count(&first), 1);
    listener.reload(&b).unwrap();
    assert_eq!(common::lines(&first).len(), 100, "flushed at the swap");
    assert_eq!(open_count(&first), 0, "closed at the swap");
    workers.root().log(Level::INFO, "later");
    listener.stop();
    assert_eq!(common::lines(&second), ["A later"]);
}

#[test]
fn a_reload_disables_the_running_loggers_it_does_not_name_as_cpython() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    let config = |loggers: &str, extra: &str| {
        DictConfig::from_yaml(&format!(
            "version: 1\n{extra}formatters: {{f: {{format: '%(name)s %(message)s'}}}}\n\
             handlers: {{h: {{class: FileHandler, filename: '{}', formatter: f}}}}\n\
             root: {{level: DEBUG, handlers: [h]}}\nloggers: {{{loggers}}}\n",
            log.display()
        ))
        .unwrap()
    };
    let listener = QueueListener::from_config(config("app: {level: INFO}", ""))
        .unwrap()
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .unwrap();
    let workers = mplog::Manager::new();
    workers.root().set_level(Level::DEBUG);
    let queue = std::sync::Arc::new(listener.local_handler());
    workers.root().add_handler(queue.clone());
    let send = |name: &str, msg: &str| {
        workers.get_logger(name).log(Level::INFO, msg.to_owned());
        assert!(queue.sync(PATIENCE), "the listener confirms {msg}");
    };
    send("app.db", "1");
    send("other", "2");
    send("lib.x", "3");
    // Names `app` only: `app.db` is below it (reset, enabled), `other` and `lib.x` are
    // disabled, as CPython's dictConfig does to the loggers that exist.
    listener.reload(config("app: {level: INFO}", "")).unwrap();
    send("app.db", "4");
    send("other", "5");
    send("lib.x", "6");
    send("new.one", "7");
    // Incremental: levels only, and "NOTSET" as a string applies to the logger.
    listener
        .reload(
            DictConfig::from_yaml(
                "version: 1\nincremental: true\nloggers: {app: {level: NOTSET}}\n",
            )
            .unwrap(),
        )
        .unwrap();
    let m = listener.manager().unwrap();
    assert_eq!(m.get_logger("app").level(), Level::NOTSET);
    assert!(m.get_logger("other").disabled());
    // With disable_existing_loggers false, CPython sets `disabled = False` on the loggers it
    // does not name: enabled again.
    listener
        .reload(config(
            "app: {level: INFO}",
            "disable_existing_loggers: false\n",
        ))
        .unwrap();
    send("other", "8");
    listener.stop();
    if let Some(m) = listener.manager() {
        m.shutdown();
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text,
        "app.db 1\nother 2\nlib.x 3\napp.db 4\nnew.one 7\nother 8\n"
    );
}
