//! Many threads of one process through one `QueueHandler`, on each transport: every record
//! arrives once, each thread's in its order, while WARNINGs close chunks early, a small queue
//! makes callers wait, and another thread keeps flushing (the socket sender takes partly
//! filled chunks then).

use std::sync::Arc;
use std::time::Duration;

use mplog::handler::Handler;
use mplog::queue::transport::TransportKind;
use mplog::queue::{Overflow, QueueHandler};
use mplog::{Level, Manager};

mod common;

const THREADS: usize = 8;
const RECORDS: usize = 5_000;

#[test]
fn every_thread_keeps_its_order_through_one_socket_handler() {
    every_thread_keeps_its_order(TransportKind::Socket);
}

#[cfg(target_os = "linux")]
#[test]
fn every_thread_keeps_its_order_through_one_shm_handler() {
    every_thread_keeps_its_order(TransportKind::Shm);
}

fn every_thread_keeps_its_order(transport: TransportKind) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.log");
    let listener = common::file_listener(&path);
    let handler = Arc::new(
        QueueHandler::builder(listener.endpoint())
            .transport(transport)
            .capacity(256)
            .overflow(Overflow::Block {
                timeout: Duration::from_secs(30),
            })
            .build()
            .unwrap(),
    );
    let m = Manager::new();
    m.root().set_level(Level::DEBUG);
    m.root().add_handler(handler.clone());
    let log = m.get_logger("app.db.pool");
    std::thread::scope(|s| {
        for w in 0..THREADS {
            let log = &log;
            s.spawn(move || {
                for i in 0..RECORDS {
                    let level = if i % 97 == 0 {
                        Level::WARNING
                    } else {
                        Level::INFO
                    };
                    log.log(level, format!("w{w} {i} {}", common::PAYLOAD));
                }
            });
        }
        let handler = &handler;
        s.spawn(move || {
            for _ in 0..50 {
                assert!(handler.flush().is_ok());
                std::thread::sleep(Duration::from_millis(2));
            }
        });
    });
    handler.close();
    assert_eq!(handler.stats().dropped, 0);
    let stats = listener.stop();
    assert_eq!(stats.records, (THREADS * RECORDS) as u64);
    let lines = common::lines(&path);
    assert_eq!(lines.len(), THREADS * RECORDS);
    for w in 0..THREADS {
        common::check_worker(&lines, w, RECORDS);
    }
}
