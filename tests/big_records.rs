//! Issue 10 item 7: records of any reasonable size arrive. Real worker processes log records
//! of 1, 8 and 16 MiB between small ones, on both transports, into a real listener: every one
//! arrives whole and in order; one beyond the limit is refused at the call (the handler error
//! policy, on the worker's stderr) and counted, on both sides.

mod common;

use std::process::Stdio;

use mplog::queue::DEFAULT_MAX_RECORD;
use mplog::Level;

const MIB: usize = 1024 * 1024;
/// The big messages, in order, each between two small records.
const SIZES: [usize; 4] = [MIB, 8 * MIB, 16 * MIB, 3 * MIB];

/// A message of `len` bytes that says which it is and cannot be confused with another.
fn big(seq: usize, len: usize) -> String {
    let head = format!("big{seq} ");
    let mut s = String::with_capacity(len);
    s.push_str(&head);
    let fill = b"abcdefghijklmnopqrstuvwxyz0123456789";
    while s.len() < len {
        s.push(fill[(s.len() + seq) % fill.len()] as char);
    }
    s
}

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let guard = mplog::worker::init_from_env().expect("init");
    let log = mplog::get_logger("big");
    log.set_level(Level::INFO);
    if role == "refuse" {
        log.log(Level::INFO, "small before");
        // Beyond the limit: refused here, through the handler error policy (stderr).
        log.log(Level::INFO, "x".repeat(DEFAULT_MAX_RECORD + 1));
        log.log(Level::INFO, "small after");
    } else {
        for (seq, len) in SIZES.iter().enumerate() {
            log.log(Level::INFO, format!("small{seq}"));
            log.log(Level::INFO, big(seq, *len));
        }
        log.log(Level::INFO, "small-last");
    }
    drop(guard);
}

fn run(transport: &str, role: &str) -> (Vec<String>, mplog::queue::ListenerStats, String) {
    // "socket-sync": the socket transport with `Delivery::Sync` (no sender thread).
    let (transport, delivery) = match transport.split_once('-') {
        Some((t, d)) => (t, d),
        None => (transport, "async"),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let listener = common::file_listener(&path);
    let out = common::child_command(
        role,
        listener.endpoint(),
        "big-worker",
        &[("MPLOG_TRANSPORT", transport), ("MPLOG_DELIVERY", delivery)],
    )
    .stderr(Stdio::piped())
    .output()
    .unwrap();
    assert!(out.status.success(), "worker failed: {out:?}");
    let stats = listener.stop();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (common::lines(&path), stats, stderr)
}

fn every_size_arrives_whole_and_in_order(transport: &str) {
    let (lines, stats, stderr) = run(transport, "sizes");
    let mut expected = Vec::new();
    for (seq, len) in SIZES.iter().enumerate() {
        expected.push(format!("small{seq}"));
        expected.push(big(seq, *len));
    }
    expected.push("small-last".to_string());
    assert_eq!(lines.len(), expected.len(), "{transport}: stderr {stderr}");
    for (got, want) in lines.iter().zip(&expected) {
        assert!(
            got == want,
            "{transport}: {} bytes where {} were sent ({:?}...)",
            got.len(),
            want.len(),
            &got[..got.len().min(20)]
        );
    }
    assert_eq!(stats.records, expected.len() as u64);
    assert_eq!((stats.dropped, stats.malformed), (0, 0), "{stats:?}");
}

fn one_beyond_the_limit_is_refused_and_counted(transport: &str) {
    let (lines, stats, stderr) = run(transport, "refuse");
    // The listener's own warning (its notices go to the same file) names the drop.
    let (notices, records): (Vec<&String>, Vec<&String>) = lines
        .iter()
        .partition(|l| l.starts_with("worker 'big-worker'"));
    assert_eq!(records, ["small before", "small after"], "{transport}");
    assert!(
        notices.iter().any(|n| n.contains("dropped 1 records")),
        "{transport}: {notices:?}"
    );
    assert!(
        stderr.contains("larger than the largest record"),
        "{transport}: the refusal is not on the worker's stderr: {stderr}"
    );
    assert_eq!(stats.dropped, 1, "{transport}: {stats:?}");
    assert_eq!(stats.malformed, 0);
}

#[test]
fn big_records_arrive_on_the_socket() {
    if common::role().is_some() {
        return;
    }
    every_size_arrives_whole_and_in_order("socket");
}

#[test]
fn big_records_arrive_on_the_socket_with_sync_delivery() {
    if common::role().is_some() {
        return;
    }
    every_size_arrives_whole_and_in_order("socket-sync");
}

#[test]
fn big_records_arrive_on_shm() {
    if common::role().is_some() {
        return;
    }
    every_size_arrives_whole_and_in_order("shm");
}

#[test]
fn beyond_the_limit_is_refused_on_the_socket() {
    if common::role().is_some() {
        return;
    }
    one_beyond_the_limit_is_refused_and_counted("socket");
}

#[test]
fn beyond_the_limit_is_refused_on_shm() {
    if common::role().is_some() {
        return;
    }
    one_beyond_the_limit_is_refused_and_counted("shm");
}
