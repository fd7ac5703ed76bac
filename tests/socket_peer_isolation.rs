//! One peer cannot hurt the others on the socket transport: a peer that floods `Sync` and
//! never reads its acknowledgements, one that sent its `Sync`s and went quiet without reading,
//! and one holding half a frame do not delay the records of good workers, the flooder is
//! disconnected with the reason logged, and SIGTERM still stops the listener at once. A peer
//! announcing 16 MiB frames costs what it sent, not what it announced, and the listener serves
//! at most `max_connections`, refusing the next one with a clear notice.
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};

use common::Reap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mplog::handler::{FileHandler, Handler};
use mplog::queue::transport::TransportKind;
use mplog::queue::wire::{encode_frame, Frame, Hello, DEFAULT_MAX_FRAME};
use mplog::queue::{QueueHandler, QueueListener};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Records each good worker logs.
const RECORDS: usize = 2_000;
/// A good worker's `sync` must be answered within this (a generous bound: the listener writes
/// its records in milliseconds; before the fix, a peer that did not read stalled it for
/// minutes, ten seconds per unread `Ack`).
const SYNC_BOUND: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(60);

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let w: usize = role.parse().unwrap();
    let guard = mplog::worker::init(
        mplog::worker::builder_from_env()
            .unwrap()
            .transport(TransportKind::Socket),
    )
    .unwrap();
    common::log_numbered(w, RECORDS);
    let confirmed = guard.handler().sync(SYNC_BOUND);
    println!("synced {confirmed}");
}

/// A raw connection that said hello as `name`.
fn connect(endpoint: &std::path::Path, name: &str) -> UnixStream {
    let mut stream = UnixStream::connect(endpoint).unwrap();
    let mut hello = Hello::this_process();
    hello.process_name = name.into();
    let mut bytes = Vec::new();
    encode_frame(&hello, &mut bytes).unwrap();
    stream.write_all(&bytes).unwrap();
    stream
}

/// `n` `Sync` frames, encoded.
fn syncs(n: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for seq in 0..n {
        encode_frame(&Frame::Sync { seq }, &mut bytes).unwrap();
    }
    bytes
}

/// Sends `Sync`s until the listener closes the connection; never reads. Returns when.
fn flood(mut stream: UnixStream) -> JoinHandle<Instant> {
    let bytes = syncs(1_000);
    std::thread::spawn(move || loop {
        if stream.write_all(&bytes).is_err() {
            return Instant::now();
        }
    })
}

/// The listener's resident memory, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

fn sigterm(listener: &Child) {
    kill(Pid::from_raw(listener.id() as i32), Signal::SIGTERM).unwrap();
}

/// Waits for the process to end, at most `bound`; kills it (and fails) otherwise.
fn ends_within(listener: &mut Child, bound: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = listener.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > bound {
            listener.kill().unwrap();
            listener.wait().unwrap();
            panic!("the listener did not stop within {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_peer_that_never_reads_delays_no_one_and_is_disconnected() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("deaf.sock");
    let path = dir.path().join("out.log");
    let mut listener = Reap::new(common::listen_process(&endpoint, &path, Stdio::null()));
    // A peer that syncs and syncs and never reads a reply...
    let flooder = flood(connect(&endpoint, "deaf-flooder"));
    // ...one that sent its syncs and went quiet, still not reading...
    let mut quiet = connect(&endpoint, "deaf-quiet");
    quiet.write_all(&syncs(5_000)).unwrap();
    // ...and one holding half a frame.
    let mut half = connect(&endpoint, "half-frame");
    half.write_all(&1000u32.to_le_bytes()).unwrap();
    half.write_all(&[0; 10]).unwrap();
    std::thread::sleep(Duration::from_millis(500)); // their acks pile up

    // Good workers meanwhile: every record arrives, and their syncs are answered.
    let workers: Vec<Reap> = common::spawn_workers(2, &endpoint, &[])
        .into_iter()
        .map(Reap::new)
        .collect();
    for (w, worker) in workers.into_iter().enumerate() {
        let out = worker.take().wait_with_output().unwrap();
        assert!(out.status.success(), "worker {w}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("synced true"),
            "worker {w} not answered: {text}"
        );
    }
    // The flooder is disconnected, the reason logged naming it.
    common::wait_until(LONG, "the flooder disconnected", || flooder.is_finished());
    flooder.join().unwrap();
    let notice = || {
        common::lines(&path)
            .into_iter()
            .find(|l| l.contains("'deaf-flooder'"))
    };
    common::wait_until(LONG, "a notice about the flooder", || notice().is_some());
    let notice = notice().unwrap();
    assert!(notice.contains("acknowledgements unread"), "{notice}");

    // SIGTERM with the quiet one and the half frame still connected: the listener stops now.
    sigterm(&listener);
    assert!(ends_within(&mut listener, Duration::from_secs(20)).success());
    drop((quiet, half));
    let lines = common::lines(&path);
    for w in 0..2 {
        common::check_worker(&lines, w, RECORDS);
    }
}

#[test]
fn many_peers_announcing_huge_frames_cost_what_they_sent() {
    if common::role().is_some() {
        return;
    }
    const PEERS: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("big.sock");
    let path = dir.path().join("out.log");
    let mut listener = Reap::new(common::listen_process(&endpoint, &path, Stdio::null()));
    let before = rss(listener.id());
    let mut peers = Vec::new();
    for i in 0..PEERS {
        let mut peer = connect(&endpoint, &format!("big-{i}"));
        // A record, so we know the reader got this far...
        let record = mplog::Record::new("probe", mplog::Level::INFO, format!("probe {i}"));
        let mut bytes = Vec::new();
        encode_frame(&Frame::Records(vec![record]), &mut bytes).unwrap();
        // ...then a frame announced at the limit, of which 100 bytes come.
        bytes.extend_from_slice(&(DEFAULT_MAX_FRAME as u32).to_le_bytes());
        bytes.extend_from_slice(&[0; 100]);
        peer.write_all(&bytes).unwrap();
        peers.push(peer);
    }
    common::wait_until(LONG, "the probes", || common::lines(&path).len() >= PEERS);
    // Each reader is now waiting inside the big frame: watch the memory a moment.
    let mut peak = 0;
    for _ in 0..30 {
        peak = peak.max(rss(listener.id()));
        std::thread::sleep(Duration::from_millis(10));
    }
    let grown = peak.saturating_sub(before);
    eprintln!(
        "{PEERS} peers announcing {} MiB each: the listener grew by {} KiB",
        DEFAULT_MAX_FRAME >> 20,
        grown >> 10
    );
    // Before the fix each announced frame was allocated and zeroed: 64 x 16 MiB.
    assert!(grown < 64 << 20, "grew by {grown} bytes");
    drop(peers);
    sigterm(&listener);
    assert!(ends_within(&mut listener, LONG).success());
}

#[test]
fn connections_beyond_the_cap_are_refused_clearly_and_counted() {
    if common::role().is_some() {
        return;
    }
    const CAP: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let file: Arc<dyn Handler> = Arc::new(FileHandler::new(&path).unwrap());
    let listener = QueueListener::builder()
        .handlers(vec![file])
        .max_connections(CAP)
        .start()
        .unwrap();
    let endpoint = listener.endpoint().to_path_buf();
    let mut held: Vec<UnixStream> = (0..CAP)
        .map(|i| connect(&endpoint, &format!("held-{i}")))
        .collect();
    common::wait_until(LONG, "the held connections served", || {
        listener.stats().connections == CAP as u64
    });
    // One more: closed at once, counted, and said so.
    let mut extra = UnixStream::connect(&endpoint).unwrap();
    extra.set_read_timeout(Some(LONG)).unwrap();
    assert_eq!(extra.read(&mut [0u8; 16]).unwrap_or(0), 0, "not closed");
    let refusal = || {
        common::lines(&path)
            .into_iter()
            .find(|l| l.contains("max_connections"))
    };
    common::wait_until(LONG, "a notice of the refusal", || refusal().is_some());
    let notice = refusal().unwrap();
    assert!(
        notice.contains(&format!("pid {}", std::process::id())),
        "{notice}"
    );
    assert!(
        notice.contains(&format!("{CAP} connections are open")),
        "{notice}"
    );
    assert_eq!(listener.stats().over_capacity, 1);
    // One goes: a worker gets in again.
    drop(held.pop());
    let worker = QueueHandler::builder(&endpoint)
        .transport(TransportKind::Socket)
        .build()
        .unwrap();
    worker.handle(&mplog::Record::new("app", mplog::Level::INFO, "in again"));
    assert!(
        worker.sync(LONG),
        "the worker was not served after a slot freed"
    );
    worker.close();
    drop(held);
    let stats = listener.stop();
    assert!(stats.over_capacity >= 1);
    assert!(common::lines(&path).iter().any(|l| l == "in again"));
}
