//! N worker processes x M numbered records through one listener: exactly N*M intact lines,
//! each worker's order kept; and 256 connections at once.

mod common;

use std::sync::Arc;

use mplog::handler::Handler;
use mplog::queue::QueueHandler;

const WORKERS: usize = 4;
const RECORDS: usize = 20_000;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let w: usize = role.parse().expect("worker number");
    let guard = mplog::worker::init_from_env().expect("init");
    common::log_numbered(w, RECORDS);
    drop(guard);
}

#[test]
fn every_record_of_every_process_arrives_once_and_in_order() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.log");
    let listener = common::file_listener(&path);
    let children = common::spawn_workers(WORKERS, listener.endpoint(), &[]);
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let stats = listener.stop();
    let lines = common::lines(&path);
    assert_eq!(lines.len(), WORKERS * RECORDS);
    for w in 0..WORKERS {
        common::check_worker(&lines, w, RECORDS);
    }
    assert_eq!(stats.records, (WORKERS * RECORDS) as u64);
    assert_eq!(stats.per_worker.len(), WORKERS);
    for ws in &stats.per_worker {
        assert_eq!(ws.records, RECORDS as u64, "{ws:?}");
        assert!(ws.process_name.starts_with("worker-"));
        assert_eq!(ws.dropped, 0);
    }
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.malformed, 0);
}

#[test]
fn two_hundred_fifty_six_connections_at_once() {
    if common::role().is_some() {
        return;
    }
    const CONNS: usize = 256;
    const EACH: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.log");
    let listener = common::file_listener(&path);
    let handlers: Vec<Arc<QueueHandler>> = (0..CONNS)
        .map(|i| {
            Arc::new(
                QueueHandler::builder(listener.endpoint())
                    .capacity(64)
                    .process_name(format!("conn-{i}"))
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    // Every handler connects before any finishes: all 256 are open together.
    for (i, h) in handlers.iter().enumerate() {
        h.handle(&mplog::Record::new(
            "m",
            mplog::Level::INFO,
            format!("w{i} 0 {}", common::PAYLOAD),
        ));
    }
    for h in &handlers {
        assert!(h.sync(std::time::Duration::from_secs(30)));
    }
    for (i, h) in handlers.iter().enumerate() {
        for seq in 1..EACH {
            h.handle(&mplog::Record::new(
                "m",
                mplog::Level::INFO,
                format!("w{i} {seq} {}", common::PAYLOAD),
            ));
        }
    }
    for h in &handlers {
        h.close();
    }
    let stats = listener.stop();
    assert_eq!(stats.connections, CONNS as u64);
    let lines = common::lines(&path);
    assert_eq!(lines.len(), CONNS * EACH);
    for w in 0..CONNS {
        common::check_worker(&lines, w, EACH);
    }
}
