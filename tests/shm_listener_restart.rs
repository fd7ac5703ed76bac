//! A listener process (`mplog listen`) SIGKILLed and restarted at the same endpoint, three
//! times, while a shm worker logs as fast as it can: the restarted listener re-attaches to
//! the ring left in the ring directory and resumes at its committed head, so no record is
//! lost and the order is kept.
//!
//! The exactly-once window, and what this test allows for it: a listener moves a ring's head
//! right after its handlers flushed the batch (one `write(2)` of at most a 64 KiB buffer). A
//! kill landing during that write or before the head store that follows (tens of
//! microseconds per batch) leaves the batch, or the part of it that reached the file, to be
//! written again by the next listener: at most one batch (`BATCH_BYTES` of records) repeated
//! per kill, right at the kill point, and, when the kill cut the `write` short (the kernel
//! stops a write between pages for a fatal signal), one torn line there. Anywhere else,
//! nothing is repeated. Nothing is ever lost.
//!
//! And a worker SIGKILLed while no listener runs: the listener started afterwards finds its
//! ring, drains it and frees it.
mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mplog::queue::transport::TransportKind;
use mplog::queue::Overflow;

const RECORDS: usize = 100_000;
const RESTARTS: usize = 3;
const LONG: Duration = Duration::from_secs(60);
/// Records a worker leaves in its ring before it is killed, with no listener running.
const ORPHANED: usize = 2_000;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    if role == "orphan" {
        // No listener runs: the records wait in the ring; then the parent kills us.
        let _guard = mplog::worker::init(
            mplog::worker::builder_from_env()
                .unwrap()
                .transport(TransportKind::Shm),
        )
        .unwrap();
        common::log_numbered(0, ORPHANED);
        println!("logged");
        std::io::Write::flush(&mut std::io::stdout()).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    assert_eq!(role, "steady");
    let guard = mplog::worker::init(
        mplog::worker::builder_from_env()
            .unwrap()
            .transport(TransportKind::Shm)
            .ring_bytes(256 * 1024)
            // A listener is down for a moment: wait for it rather than drop.
            .overflow(Overflow::Block { timeout: LONG })
            .drain_timeout(LONG),
    )
    .unwrap();
    common::log_numbered(0, RECORDS);
    drop(guard);
}

/// Most records one batch of the listener holds (`BATCH_BYTES` of ~150-byte records, with
/// a margin).
const MAX_BATCH: usize = 400;

/// Checks that the lines hold every record `0..count` intact (`w0 <seq> PAYLOAD`), in order,
/// except for at most `kills` places where a run of at most [`MAX_BATCH`] records is written
/// again, each possibly after one torn line.
fn check_resumed(lines: &[String], count: usize, kills: usize) {
    let prefix = "w0 ";
    let mut next = 0usize; // the first record not seen yet
    let mut rewinds = 0;
    let mut torn = 0;
    let mut repeated = 0;
    let mut i = 0;
    while i < lines.len() {
        let seq = lines[i]
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once(' '))
            .filter(|(_, tail)| *tail == common::PAYLOAD)
            .and_then(|(seq, _)| seq.parse::<usize>().ok());
        let Some(seq) = seq else {
            // A line cut short by a killed write, with the next line glued on.
            torn += 1;
            assert!(torn <= kills, "torn line {:?} (line {i})", lines[i]);
            i += 1;
            continue;
        };
        if seq == next {
            next += 1;
        } else {
            assert!(seq < next, "record {next} lost (found {seq} at line {i})");
            // A rewind: a run of records already written, up to `next - 1`.
            assert!(
                next - seq <= MAX_BATCH,
                "rewind of {} at line {i}",
                next - seq
            );
            rewinds += 1;
            assert!(rewinds <= kills, "more repeats than kills (line {i})");
            for expect in seq..next {
                let want = format!("{prefix}{expect} {}", common::PAYLOAD);
                assert_eq!(lines.get(i), Some(&want), "repeat not contiguous");
                i += 1;
                repeated += 1;
            }
            continue;
        }
        i += 1;
    }
    assert_eq!(next, count, "records missing at the end");
    eprintln!(
        "{count} records intact and in order over {kills} listener kills; \
         {repeated} repeated in {rewinds} runs, {torn} torn lines"
    );
}

fn listen(endpoint: &Path, file: &Path) -> Child {
    common::listen_process(endpoint, file, Stdio::null())
}

#[test]
fn a_killed_listener_restarted_loses_nothing_and_repeats_at_most_the_batch_in_flight() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("restart.sock");
    let path = dir.path().join("out.log");
    let mut listener = listen(&endpoint, &path);
    let mut worker = common::spawn_child("steady", &endpoint, "steady", &[]);
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    for round in 0..RESTARTS {
        // Mid-stream: the file grows, the worker still logs.
        let before = size();
        let started = Instant::now();
        while size() <= before + 64 * 1024 {
            assert!(started.elapsed() < LONG, "round {round}: no progress");
            assert!(worker.try_wait().unwrap().is_none(), "finished too early");
            std::thread::sleep(Duration::from_millis(1));
        }
        // A moment later, unrelated to the listener's writes.
        std::thread::sleep(Duration::from_micros(
            (std::process::id() as u64 * 7919 + round as u64 * 104_729) % 5_000,
        ));
        listener.kill().unwrap(); // SIGKILL: no drain, no flush
        listener.wait().unwrap();
        listener = listen(&endpoint, &path);
    }
    assert!(worker.wait().unwrap().success());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(listener.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(listener.wait().unwrap().success());
    check_resumed(&common::lines(&path), RECORDS, RESTARTS);
    assert!(
        mplog::queue::transport::shm::list_rings(&mplog::queue::transport::shm::ring_dir(
            &endpoint
        ))
        .is_empty(),
        "the drained ring was not freed"
    );
}

#[test]
fn a_listener_started_later_drains_the_ring_of_a_dead_worker() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("later.sock");
    let path = dir.path().join("out.log");
    let mut worker = common::spawn_child("orphan", &endpoint, "orphan", &[]);
    let _out = common::wait_for_line(&mut worker, "logged");
    worker.kill().unwrap(); // SIGKILL, with every record still in its ring
    worker.wait().unwrap();
    let rings = mplog::queue::transport::shm::ring_dir(&endpoint);
    assert_eq!(mplog::queue::transport::shm::list_rings(&rings).len(), 1);

    let file: std::sync::Arc<dyn mplog::handler::Handler> =
        std::sync::Arc::new(mplog::handler::FileHandler::new(&path).unwrap());
    let listener = mplog::queue::QueueListener::builder()
        .endpoint(&endpoint)
        .handlers(vec![file])
        .start()
        .unwrap();
    // It finds the ring at start, sees its producer dead, drains it and frees it.
    let started = Instant::now();
    while !mplog::queue::transport::shm::list_rings(&rings).is_empty() {
        assert!(
            started.elapsed() < LONG,
            "the orphaned ring was never freed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = listener.stop();
    assert_eq!(stats.records, ORPHANED as u64);
    common::check_worker(&common::lines(&path), 0, ORPHANED);
}
