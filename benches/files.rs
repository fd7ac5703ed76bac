//! Lines per second into one file from several processes: `LockedFileHandler` (no listener,
//! one `flock` per line) with 1 and 4 processes, next to the listener pipeline
//! (`QueueHandler` workers -> `QueueListener` -> buffered `FileHandler`) with 4 processes.
//!
//! Run: `cargo bench --bench files` (`MPLOG_BENCH_LINES` sets the lines per process, default
//! 200,000). Each figure covers start to the last line on disk, process start-up included.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Instant;

use mplog::handler::{FileHandler, Handler, LockedFileHandler};
use mplog::queue::spawn::CommandExt;
use mplog::queue::QueueListener;
use mplog::{Level, Record};

const ROLE: &str = "MPLOG_BENCH_ROLE";
const PAYLOAD: &str = "request served in 42 us by the connection pool of the database tier";

fn lines_per_process() -> usize {
    std::env::var("MPLOG_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

fn child(role: &str) {
    let n = lines_per_process();
    match role {
        "locked" => {
            let path = std::env::var("MPLOG_BENCH_FILE").expect("MPLOG_BENCH_FILE");
            let h = LockedFileHandler::new(path).expect("open");
            for i in 0..n {
                h.handle(&Record::new("bench", Level::INFO, format!("{i} {PAYLOAD}")));
            }
        }
        "queue" => {
            let guard = mplog::worker::init_from_env().expect("worker init");
            let log = mplog::get_logger("bench");
            for i in 0..n {
                log.log(Level::INFO, format!("{i} {PAYLOAD}"));
            }
            drop(guard);
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn(role: &str, configure: impl Fn(&mut Command)) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("bench binary"));
    cmd.env(ROLE, role);
    configure(&mut cmd);
    cmd.spawn().expect("spawn")
}

fn wait_all(children: Vec<Child>) {
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

fn report(what: &str, lines: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what:<44} {lines:>9} lines {secs:>7.3} s {:>12.0} lines/s",
        lines as f64 / secs
    );
}

fn locked(dir: &Path, procs: usize) {
    let path = dir.join(format!("locked-{procs}.log"));
    let start = Instant::now();
    let children = (0..procs)
        .map(|_| {
            spawn("locked", |c| {
                c.env("MPLOG_BENCH_FILE", &path);
            })
        })
        .collect();
    wait_all(children);
    let lines = count_lines(&path);
    assert_eq!(lines, procs * lines_per_process());
    report(
        &format!("LockedFileHandler, {procs} process(es)"),
        lines,
        start,
    );
}

fn listener(dir: &Path, procs: usize) {
    let path = dir.join(format!("listener-{procs}.log"));
    let file: Arc<dyn Handler> = Arc::new(
        FileHandler::builder(&path)
            .buffer(64 * 1024)
            .build()
            .expect("log file"),
    );
    let start = Instant::now();
    let listener = QueueListener::builder()
        .handlers(vec![file])
        .start()
        .expect("listener");
    let children = (0..procs)
        .map(|w| {
            spawn("queue", |c| {
                c.mplog_endpoint(listener.endpoint())
                    .mplog_process_name(format!("bench-{w}"));
            })
        })
        .collect();
    wait_all(children);
    listener.stop();
    let lines = count_lines(&path);
    assert_eq!(lines, procs * lines_per_process());
    report(
        &format!("QueueHandler -> QueueListener, {procs} process(es)"),
        lines,
        start,
    );
}

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        child(&role);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "{} lines per process, ~{} bytes a line",
        lines_per_process(),
        PAYLOAD.len() + 8
    );
    locked(dir.path(), 1);
    locked(dir.path(), 4);
    listener(dir.path(), 1);
    listener(dir.path(), 4);
}
