//! 8 processes x 32 threads logging at once through the shm transport: every record arrives
//! once, intact, each thread's order kept (one ring per thread), and every ring is freed.

mod common;

use mplog::queue::transport::shm::{list_rings, ring_dir};
use mplog::queue::transport::TransportKind;

const PROCESSES: usize = 8;
const THREADS: usize = 32;
const RECORDS: usize = 2_000;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let p: usize = role.parse().expect("process number");
    let guard = mplog::worker::init(
        mplog::worker::builder_from_env()
            .unwrap()
            .transport(TransportKind::Shm),
    )
    .unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || common::log_numbered(p * THREADS + t, RECORDS));
        }
    });
    drop(guard);
}

#[test]
fn every_thread_of_every_process_keeps_its_order() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.log");
    let listener = common::file_listener(&path);
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            common::spawn_child(
                &p.to_string(),
                listener.endpoint(),
                &format!("worker-{p}"),
                &[],
            )
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let rings = ring_dir(listener.endpoint());
    let stats = listener.stop();
    let lines = common::lines(&path);
    assert_eq!(lines.len(), PROCESSES * THREADS * RECORDS);
    // One pass (check_worker per thread would read the file 256 times).
    let mut next = vec![0usize; PROCESSES * THREADS];
    for line in &lines {
        let (w, seq) = common::parse_line(line);
        assert_eq!(seq as usize, next[w], "thread {w}: order not kept");
        next[w] += 1;
    }
    assert!(next.iter().all(|n| *n == RECORDS), "records missing");
    assert_eq!(stats.records, (PROCESSES * THREADS * RECORDS) as u64);
    assert_eq!(stats.per_worker.len(), PROCESSES, "{:?}", stats.per_worker);
    for ws in &stats.per_worker {
        assert_eq!(ws.records, (THREADS * RECORDS) as u64, "{ws:?}");
        assert_eq!(ws.dropped, 0, "{ws:?}");
    }
    assert_eq!(stats.malformed, 0);
    assert!(list_rings(&rings).is_empty(), "rings left behind");
}
