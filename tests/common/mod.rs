//! Helpers shared by the cross-process queue tests: the test binary re-executes itself as a
//! worker (the `child` test of each file runs only when `MPLOG_TEST_ROLE` is set).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

use mplog::handler::{FileHandler, Handler};
use mplog::queue::spawn::CommandExt;
use mplog::queue::{ListenerHandle, QueueListener};

/// The variable naming the role of a re-executed child.
pub const ROLE: &str = "MPLOG_TEST_ROLE";

/// The role of this process, when it is a child.
pub fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// Starts this test binary again as a worker running `role` (its `child` test).
pub fn spawn_child(role: &str, endpoint: &Path, name: &str, env: &[(&str, &str)]) -> Child {
    child_command(role, endpoint, name, env)
        .spawn()
        .expect("spawn child")
}

/// The command [`spawn_child`] runs, to adjust (e.g. its uid) before spawning.
pub fn child_command(role: &str, endpoint: &Path, name: &str, env: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .mplog_endpoint(endpoint)
        .mplog_process_name(name)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Reads the child's stdout until a line ending in `word` (the harness prints its own lines
/// first); returns the pipe, to keep it open until the child is killed.
pub fn wait_for_line(child: &mut Child, word: &str) -> BufReader<ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    while !line.trim_end().ends_with(word) {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("child stdout") > 0,
            "the child ended early"
        );
    }
    out
}

/// Starts `n` workers, `worker-0` .. `worker-{n-1}`, each running the role of its number.
pub fn spawn_workers(n: usize, endpoint: &Path, env: &[(&str, &str)]) -> Vec<Child> {
    (0..n)
        .map(|w| spawn_child(&w.to_string(), endpoint, &format!("worker-{w}"), env))
        .collect()
}

/// A listener writing message-only lines to `path` through a buffered file handler.
pub fn file_listener(path: &Path) -> ListenerHandle {
    let file: Arc<dyn Handler> = Arc::new(
        FileHandler::builder(path)
            .buffer(64 * 1024)
            .build()
            .expect("log file"),
    );
    QueueListener::builder()
        .handlers(vec![file])
        .start()
        .expect("listener")
}

/// The lines of a file (empty if missing).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Checks that `lines` hold exactly records `0..count` of worker `w` (lines `w<w> <seq> ...`),
/// in order; returns how many were found.
pub fn check_worker(lines: &[String], w: usize, count: usize) {
    let prefix = format!("w{w} ");
    let seqs: Vec<usize> = lines
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (seq, tail) = rest.split_once(' ').expect("intact line");
            assert_eq!(tail, PAYLOAD, "torn line: {rest}");
            seq.parse().expect("sequence number")
        })
        .collect();
    assert_eq!(
        seqs.len(),
        count,
        "worker {w}: {} of {count} lines",
        seqs.len()
    );
    assert!(
        seqs.iter().enumerate().all(|(i, s)| i == *s),
        "worker {w}: order not kept"
    );
}

/// The worker and sequence number of an intact line `w<w> <seq> PAYLOAD` (panics on a torn
/// one).
pub fn parse_line(line: &str) -> (usize, u64) {
    let parsed = line
        .strip_prefix('w')
        .and_then(|l| l.split_once(' '))
        .and_then(|(w, rest)| Some((w, rest.split_once(' ')?)))
        .filter(|(_, (_, tail))| *tail == PAYLOAD)
        .and_then(|(w, (seq, _))| Some((w.parse().ok()?, seq.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("torn line {line:?}"))
}

/// What every test line carries after the sequence number (~100-byte records).
pub const PAYLOAD: &str = "request served in 42 us by the connection pool of the database tier";

/// Logs `count` numbered records as worker `w`.
pub fn log_numbered(w: usize, count: usize) {
    let log = mplog::get_logger("app.db.pool");
    for i in 0..count {
        log.log(mplog::Level::INFO, format!("w{w} {i} {PAYLOAD}"));
    }
}

/// The text of a gzip file, decompressed by the `gzip` program (`gzip -dc`).
pub fn gunzip(path: &Path) -> String {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("run gzip -dc");
    assert!(
        out.status.success(),
        "gzip -dc {}: {:?}",
        path.display(),
        out
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A handler keeping every record it is given, for tests to read.
#[derive(Default)]
pub struct Keep {
    base: mplog::handler::HandlerBase,
    pub records: parking_lot::Mutex<Vec<mplog::Record>>,
}

impl Handler for Keep {
    fn base(&self) -> &mplog::handler::HandlerBase {
        &self.base
    }
    fn emit(&self, r: &mplog::Record) -> Result<(), mplog::handler::HandlerError> {
        self.records.lock().push(r.clone());
        Ok(())
    }
}

impl Keep {
    /// The records kept so far, taken out.
    pub fn take(&self) -> Vec<mplog::Record> {
        std::mem::take(&mut *self.records.lock())
    }
}
