//! The socket transport's promise when its listener dies: `mplog listen` is SIGKILLed and
//! restarted [`KILLS`] times while workers log on the socket transport as fast as they can:
//! `worker-0` with async delivery and `worker-1` with sync delivery, both waiting when their
//! queue is full (nothing may be missing), and `worker-2`, async, dropping when its queue is
//! full and keeping little while the listener is away (its gaps must be counted and reported
//! on both sides).
//!
//! Checked in the listener's file:
//! - every record whose call returned is there at least once, or counted as dropped by its
//!   worker, and that count reached the listener, which logged it naming the worker;
//! - each worker's records are in order, except for at most one rewind per kill, of at most
//!   the worker's window and one frame (the records the killed listener wrote but had not
//!   acknowledged, written again by the next one);
//! - at most one torn line per kill: a listener killed inside its `write(2)` leaves the start
//!   of a line, and the restarted one appends its first line to it (that record is whole at
//!   the end of the torn line; the torn one is written again, whole, later).
mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::Reap;
use std::time::Duration;

use mplog::queue::transport::TransportKind;
use mplog::queue::{Delivery, Overflow};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const KILLS: usize = 4;
/// How long each listener serves before it is killed.
const UP: Duration = Duration::from_millis(300);
/// How long no listener runs after a kill.
const DOWN: Duration = Duration::from_millis(150);
/// Each worker's window: bytes written and not yet acknowledged.
const WINDOW: usize = 128 * 1024;
/// What the lossy worker keeps while no listener runs.
const LOSSY_PENDING: usize = 32 * 1024;
/// Fewest encoded bytes of one record (its message alone is ~90 bytes).
const MIN_RECORD_BYTES: usize = 80;
/// Most bytes of one frame: the batch size and a chunk of callers' records, with a margin.
const MAX_FRAME_BYTES: usize = 128 * 1024;
const LONG: Duration = Duration::from_secs(60);
/// The variable naming the file whose existence tells the workers to stop.
const STOP: &str = "MPLOG_TEST_STOP";

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let wait = Overflow::Block { timeout: LONG };
    let (w, delivery, overflow, pending) = match role.as_str() {
        "async" => (0, Delivery::Async, wait, WINDOW * 4),
        "sync" => (1, Delivery::Sync, wait, WINDOW * 4),
        "lossy" => (2, Delivery::Async, Overflow::Drop, LOSSY_PENDING),
        other => panic!("unknown role {other}"),
    };
    let guard = mplog::worker::init(
        mplog::worker::builder_from_env()
            .unwrap()
            .transport(TransportKind::Socket)
            .delivery(delivery)
            .overflow(overflow)
            .max_pending(pending)
            .window(WINDOW)
            .drain_timeout(LONG),
    )
    .unwrap();
    let handler = guard.handler().clone();
    let stop = PathBuf::from(std::env::var_os(STOP).unwrap());
    let log = mplog::get_logger("app.db.pool");
    let mut count = 0u64;
    loop {
        log.log(
            mplog::Level::INFO,
            format!("w{w} {count} {}", common::PAYLOAD),
        );
        count += 1;
        if count.is_multiple_of(256) {
            if stop.exists() {
                break;
            }
            if w == 2 {
                // Most of its records are dropped anyway: leave the cores to the others.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    drop(guard); // close: everything acknowledged by the last listener, or counted
    let stats = handler.stats();
    println!("done {count} {} {}", stats.sent, stats.dropped);
}

/// Starts `mplog listen`, its standard error into `err`.
fn listen(endpoint: &Path, file: &Path, err: &Path) -> Reap {
    Reap::new(common::listen_process(
        endpoint,
        file,
        Stdio::from(File::create(err).unwrap()),
    ))
}

/// What one worker said when it ended: records logged, and dropped.
fn finished(child: Reap) -> (u64, u64) {
    let out = child.take().wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    // After the harness's "test child ... " on the same line.
    let line = text
        .split_once("done ")
        .and_then(|(_, rest)| rest.lines().next())
        .unwrap_or_else(|| panic!("no summary in {text:?}"));
    let n: Vec<u64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
    (n[0], n[2])
}

/// Each worker's sequence numbers in file order, and the torn lines.
fn records(lines: &[String]) -> ([Vec<u64>; 3], usize) {
    let mut seqs = [Vec::new(), Vec::new(), Vec::new()];
    let mut torn = 0;
    let parse = |l: &str| -> Option<(usize, u64)> {
        let (w, rest) = l.strip_prefix('w')?.split_once(' ')?;
        let (seq, tail) = rest.split_once(' ')?;
        (tail == common::PAYLOAD).then_some(())?;
        Some((w.parse().ok()?, seq.parse().ok()?))
    };
    for line in lines {
        if line.contains("(pid ") {
            continue; // the listener's own notices
        }
        let record = parse(line).or_else(|| {
            // A torn line: a fragment, then the first line of the next listener.
            torn += 1;
            line.match_indices('w')
                .find_map(|(at, _)| parse(&line[at..]))
        });
        if let Some((w, seq)) = record {
            seqs[w].push(seq);
        }
    }
    (seqs, torn)
}

/// Checks one worker's records: order with at most `KILLS` bounded rewinds; returns how many
/// of `0..count` are missing.
fn check_order(w: usize, seqs: &[u64], count: u64) -> u64 {
    // The window, and the one frame that crossed it.
    let max_rewind = ((WINDOW + MAX_FRAME_BYTES) / MIN_RECORD_BYTES) as u64;
    let mut seen = vec![false; count as usize];
    let mut rewinds = 0;
    // Records seen again since the last rewind (the records dropped in between do not count).
    let mut again = 0;
    let mut prev: Option<u64> = None;
    for &seq in seqs {
        assert!(seq < count, "worker {w}: record {seq} was never logged");
        if prev.is_some_and(|p| seq <= p) {
            rewinds += 1;
            again = 0;
            assert!(rewinds <= KILLS, "worker {w}: more rewinds than kills");
        }
        if seen[seq as usize] {
            again += 1;
            assert!(again <= max_rewind, "worker {w}: rewind to {seq} too long");
        }
        seen[seq as usize] = true;
        prev = Some(seq);
    }
    let missing = seen.iter().filter(|s| !**s).count() as u64;
    let repeated = seqs.len() as u64 - (count - missing);
    eprintln!(
        "worker {w}: {count} logged, {missing} missing, {repeated} repeated in {rewinds} rewinds"
    );
    missing
}

#[test]
fn a_listener_killed_again_and_again_loses_nothing_silently() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("restart.sock");
    let path = dir.path().join("out.log");
    let stop = dir.path().join("stop");
    let err = |k: usize| dir.path().join(format!("listener-{k}.err"));
    let mut listener = listen(&endpoint, &path, &err(0));
    let env = [(STOP, stop.to_str().unwrap())];
    let workers = ["async", "sync", "lossy"]
        .iter()
        .enumerate()
        .map(|(w, role)| {
            Reap::new(common::spawn_child(
                role,
                &endpoint,
                &format!("worker-{w}"),
                &env,
            ))
        })
        .collect::<Vec<_>>();
    // All are logging before the first kill.
    common::wait_until(LONG, "every worker logging", || {
        let lines = common::lines(&path);
        ["w0 ", "w1 ", "w2 "]
            .iter()
            .all(|w| lines.iter().any(|l| l.starts_with(w)))
    });
    for k in 1..=KILLS {
        std::thread::sleep(UP);
        listener.kill().unwrap(); // SIGKILL: no drain, no flush, no acks
        listener.wait().unwrap();
        std::thread::sleep(DOWN);
        listener = listen(&endpoint, &path, &err(k));
    }
    std::thread::sleep(UP);
    File::create(&stop).unwrap();
    let ended: Vec<(u64, u64)> = workers.into_iter().map(finished).collect();
    kill(Pid::from_raw(listener.id() as i32), Signal::SIGTERM).unwrap();
    assert!(listener.wait().unwrap().success());

    let lines = common::lines(&path);
    let (seqs, torn) = records(&lines);
    eprintln!("{torn} torn lines over {KILLS} kills");
    assert!(torn <= KILLS, "{torn} torn lines");
    let summary = std::fs::read_to_string(err(KILLS)).unwrap();
    for (w, &(count, dropped)) in ended.iter().enumerate() {
        let missing = check_order(w, &seqs[w], count);
        if w < 2 {
            // Waiting when full: every call that returned is in the file, none dropped.
            assert_eq!((missing, dropped), (0, 0), "worker {w}");
        }
        // The gap is no larger than what the worker counted...
        assert!(
            missing <= dropped,
            "worker {w}: {missing} missing, {dropped} counted"
        );
        // ...and the count reached the listener: in its statistics...
        let line = summary
            .lines()
            .find(|l| l.contains(&format!("worker-{w} (pid")))
            .unwrap_or_else(|| panic!("no line for worker-{w} in {summary}"));
        assert!(line.ends_with(&format!(", {dropped} dropped")), "{line}");
        // ...and in its log, naming the worker.
        let named = format!("worker 'worker-{w}' (pid");
        let noticed = lines
            .iter()
            .any(|l| l.starts_with(&named) && l.contains(" dropped "));
        assert_eq!(
            noticed,
            dropped > 0,
            "worker {w}: notice of {dropped} drops"
        );
    }
}

#[test]
fn a_listener_stopped_in_order_acknowledges_everything_so_nothing_is_sent_twice() {
    if common::role().is_some() {
        return;
    }
    const RECORDS: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("orderly.sock");
    let start = |file: &str| {
        let handler: std::sync::Arc<dyn mplog::handler::Handler> =
            std::sync::Arc::new(mplog::handler::FileHandler::new(dir.path().join(file)).unwrap());
        mplog::queue::QueueListener::builder()
            .endpoint(&endpoint)
            .handlers(vec![handler])
            .start()
            .unwrap()
    };
    let first = start("first.log");
    let worker = mplog::queue::QueueHandler::builder(&endpoint)
        .transport(TransportKind::Socket)
        .build()
        .unwrap();
    let log = |i: usize| {
        let message = format!("w0 {i} {}", common::PAYLOAD);
        mplog::handler::Handler::handle(
            &worker,
            &mplog::Record::new("app", mplog::Level::INFO, message),
        );
    };
    (0..RECORDS).for_each(log);
    mplog::handler::Handler::flush(&worker).unwrap(); // written, not waited for
    first.stop(); // drains, flushes, acknowledges
    let second = start("second.log");
    log(RECORDS);
    assert!(worker.sync(LONG));
    mplog::handler::Handler::close(&worker);
    second.stop();
    common::check_worker(&common::lines(&dir.path().join("first.log")), 0, RECORDS);
    let again = common::lines(&dir.path().join("second.log"));
    assert_eq!(again, [format!("w0 {RECORDS} {}", common::PAYLOAD)]);
    assert_eq!(worker.stats().dropped, 0);
}
