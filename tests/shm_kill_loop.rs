//! The shm crash contract: 50 times, a worker logging as fast as it can is SIGKILLed at a
//! random moment. After each call returns, the worker publishes its sequence number in a
//! small shared counter (an mmap'd file); every record up to that number must be in the
//! listener's file, exactly once and intact, after the listener drained the dead worker's
//! ring.

mod common;

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mplog::queue::transport::shm::{list_rings, ring_dir};

const KILLS: usize = 50;
const LONG: Duration = Duration::from_secs(60);
/// The variable naming the counter file of a child.
const COUNTER: &str = "MPLOG_TEST_COUNTER";

/// A `u64` counter shared between processes through a mapped file.
struct SharedCounter {
    ptr: *mut u64,
}

impl SharedCounter {
    fn map(path: &Path) -> SharedCounter {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap();
        file.set_len(4096).unwrap();
        // SAFETY: a fresh shared mapping of one page of a file we just sized to a page; it is
        // never unmapped (the process ends first), so the pointer stays valid.
        let ptr = unsafe {
            nix::libc::mmap(
                std::ptr::null_mut(),
                4096,
                nix::libc::PROT_READ | nix::libc::PROT_WRITE,
                nix::libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(ptr, nix::libc::MAP_FAILED);
        SharedCounter { ptr: ptr.cast() }
    }

    fn get(&self) -> &AtomicU64 {
        // SAFETY: page-aligned, mapped for the life of the process, only accessed atomically.
        unsafe { AtomicU64::from_ptr(self.ptr) }
    }
}

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let w: usize = role.parse().expect("worker number");
    let counter = SharedCounter::map(Path::new(&std::env::var(COUNTER).unwrap()));
    let _guard = mplog::worker::init(
        mplog::worker::builder_from_env()
            .unwrap()
            .transport(mplog::queue::transport::TransportKind::Shm)
            .ring_bytes(64 * 1024),
    )
    .unwrap();
    let log = mplog::get_logger("app.db.pool");
    for i in 0u64.. {
        log.log(mplog::Level::INFO, format!("w{w} {i} {}", common::PAYLOAD));
        // The call returned: record `i` is committed.
        counter.get().store(i + 1, Ordering::Release);
    }
}

/// A small xorshift generator seeded from the clock: a different moment each run.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn nothing_whose_call_returned_is_lost_to_sigkill() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.log");
    let listener = common::file_listener(&path);
    let rings = ring_dir(listener.endpoint());
    let mut seed = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64)
        | 1;
    let mut published = Vec::new();
    for w in 0..KILLS {
        let counter_path = dir.path().join(format!("counter-{w}"));
        let counter = SharedCounter::map(&counter_path);
        let mut child = common::spawn_child(
            &w.to_string(),
            listener.endpoint(),
            &format!("doomed-{w}"),
            &[(COUNTER, counter_path.to_str().unwrap())],
        );
        // Kill at a random moment after the first call returned: 0 to 30 ms into the run.
        let started = Instant::now();
        while counter.get().load(Ordering::Acquire) == 0 {
            assert!(started.elapsed() < LONG, "worker {w} never logged");
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_micros(next_random(&mut seed) % 30_000));
        child.kill().unwrap();
        child.wait().unwrap();
        published.push(counter.get().load(Ordering::Acquire));
        // The listener sees the death (pidfd), drains the ring, then deletes it.
        let deadline = Instant::now() + LONG;
        while list_rings(&rings)
            .iter()
            .any(|r| r.starts_with(&format!("{}-", child.id())))
        {
            assert!(Instant::now() < deadline, "ring of worker {w} never freed");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let stats = listener.stop();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(); KILLS];
    for line in text.lines() {
        let (w, seq) = common::parse_line(line);
        seen[w].push(seq);
    }
    for (w, (seqs, &returned)) in seen.iter().zip(&published).enumerate() {
        // Exactly 0..n in order, where n covers every returned call and at most the one
        // that was committed but not yet published when the kill came.
        assert!(
            seqs.iter().enumerate().all(|(i, s)| i as u64 == *s),
            "worker {w}: records missing, repeated or out of order"
        );
        let n = seqs.len() as u64;
        assert!(
            n == returned || n == returned + 1,
            "worker {w}: {n} records in the file, {returned} calls had returned"
        );
    }
    assert_eq!(stats.malformed, 0);
    let total: u64 = published.iter().sum();
    eprintln!(
        "{KILLS} kills, {total} records whose call returned, all present ({} in the file)",
        stats.records
    );
}
