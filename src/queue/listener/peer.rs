//! One peer of the listener (a worker's connection, or a shm ring): its identity, its counts
//! and its decoding state. Shared by the inputs, which create entries, and the dispatch
//! thread, which decodes with them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::Shared;
use crate::queue::decode::Decoder;

/// Acknowledges a connection's frames once the handlers flushed their records (the socket
/// input's replies; the dispatch thread calls it, and must never wait on the peer in it).
pub(crate) trait Acknowledge: Send + Sync {
    /// Covers the first `frames` frames of the connection; `urgent` when it answers a `Sync`
    /// (written at once; other acks may be held a moment and merged).
    fn confirm(self: Arc<Self>, frames: u64, urgent: bool);
}

/// One connection's worker and its counts (merged per pid and name in the stats).
#[derive(Debug)]
pub(crate) struct WorkerEntry {
    pub(crate) pid: u32,
    pub(crate) process_name: String,
    pub(crate) records: AtomicU64,
    pub(crate) dropped: AtomicU64,
    /// Decodes this connection's record frames; used by the dispatch thread only, which
    /// decodes straight into one reused record (no allocation per record, and every buffer
    /// is allocated and freed on one thread).
    pub(crate) decoder: Mutex<Decoder>,
    /// Set by the dispatch thread when a record frame was malformed: the reader closes.
    pub(crate) bad: AtomicBool,
    /// A Python peer's address (`host:port`, or the Unix socket's path); `None` for mplog's
    /// own workers.
    pub(crate) address: Option<String>,
}

impl WorkerEntry {
    /// How the listener's notices name this worker.
    pub(crate) fn who(&self) -> String {
        match &self.address {
            Some(a) => format!("Python peer {a} '{}' (pid {})", self.process_name, self.pid),
            None => format!("worker '{}' (pid {})", self.process_name, self.pid),
        }
    }

    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.records.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}

/// Frees a connection's decoding state (its sets of names, its reused record) when its
/// reader or ring drainer ends: the statistics entry stays, its memory need not.
pub(crate) struct ReleaseDecoder(pub(crate) Arc<WorkerEntry>);

impl Drop for ReleaseDecoder {
    fn drop(&mut self) {
        *self.0.decoder.lock() = Decoder::default();
    }
}

/// Adds a worker entry (a connection, or a shm ring) to the listener's statistics.
///
/// A worker that reconnects reports its running drop count again: the new entry starts from
/// what the worker's earlier entries reported, so only growth is logged as new drops.
pub(crate) fn register_worker(shared: &Shared, pid: u32, process_name: &str) -> Arc<WorkerEntry> {
    let mut workers = shared.workers.lock();
    let reported = workers
        .iter()
        .filter(|w| w.pid == pid && w.process_name == process_name)
        .map(|w| w.dropped.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let entry = Arc::new(WorkerEntry {
        pid,
        process_name: process_name.to_owned(),
        records: AtomicU64::new(0),
        dropped: AtomicU64::new(reported),
        decoder: Mutex::new(Decoder::default()),
        bad: AtomicBool::new(false),
        address: None,
    });
    workers.push(entry.clone());
    entry
}

/// Adds a Python peer (a `SocketHandler` connection, or a `DatagramHandler`'s address, pid
/// and `processName`) to the listener's statistics.
pub(crate) fn register_python_peer(
    shared: &Shared,
    pid: u32,
    process_name: &str,
    address: String,
) -> Arc<WorkerEntry> {
    let entry = Arc::new(WorkerEntry {
        pid,
        process_name: process_name.to_owned(),
        records: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        decoder: Mutex::new(Decoder::default()),
        bad: AtomicBool::new(false),
        address: Some(address),
    });
    shared.workers.lock().push(entry.clone());
    entry
}
