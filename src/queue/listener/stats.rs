//! What a listener counts: per worker, and in all ([`ListenerStats`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::peer::WorkerEntry;

/// One worker's counts.
///
/// ```
/// use mplog::handler::Handler;
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).process_name("w1").build().unwrap();
/// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
/// h.close();
/// let w = &listener.stop().per_worker[0];
/// assert_eq!((w.pid, w.process_name.as_str(), w.records), (std::process::id(), "w1", 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerStats {
    /// The worker's process id (from its hello).
    pub pid: u32,
    /// Its `processName`.
    pub process_name: String,
    /// Records received from it.
    pub records: u64,
    /// Records it reported as dropped on its side.
    pub dropped: u64,
}

/// What a listener did, returned by [`ListenerHandle::stop`](super::ListenerHandle::stop).
///
/// ```
/// use mplog::handler::Handler;
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).build().unwrap();
/// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
/// h.close();
/// let stats = listener.stop();
/// assert_eq!((stats.records, stats.connections, stats.dropped, stats.malformed), (1, 1, 0, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Records handled (from every worker and in-process handler).
    pub records: u64,
    /// Frame bytes received.
    pub bytes: u64,
    /// Per worker process (connections of one pid and name are merged).
    pub per_worker: Vec<WorkerStats>,
    /// Records the workers reported dropped on their side.
    pub dropped: u64,
    /// Worker connections (those that sent a valid hello).
    pub connections: u64,
    /// Connections refused (peer uid not allowed).
    pub rejected: u64,
    /// Connections closed for a malformed, oversized, truncated or wrong-version frame.
    pub malformed: u64,
    /// Connections refused because `max_connections` were open
    /// ([`QueueListenerBuilder::max_connections`](super::QueueListenerBuilder::max_connections)).
    pub over_capacity: u64,
    /// Connections closed because the peer left its acknowledgements unread for the reply
    /// timeout ([`QueueListenerBuilder::reply_timeout`](super::QueueListenerBuilder::reply_timeout)).
    pub stalled: u64,
    /// Records the handlers gave up on: thrown away while writing failed (past a handler's
    /// held bound), or still held when a handler was closed (a reload closes the old ones).
    /// Never decreases.
    pub not_written: u64,
    /// Records the handlers hold, not yet written, because writing fails; after
    /// [`stop`](super::ListenerHandle::stop), those the last flush could not write either
    /// (closing the handlers gives up on them: they join `not_written`).
    pub held: u64,
    /// Whether the drain deadline of [`stop`](super::ListenerHandle::stop) passed before every
    /// input was drained ([`QueueListenerBuilder::drain_timeout`](super::QueueListenerBuilder::drain_timeout)).
    pub drain_cut: bool,
    /// Connections and rings still delivering when the drain deadline passed; what they had
    /// not delivered stays with them (a socket worker keeps its unacknowledged frames, a ring
    /// keeps its records) for the next listener.
    pub cut_inputs: u64,
    /// Bytes of records received or committed but not handled when the drain deadline
    /// passed (left in rings, or received and not acknowledged): the next listener gets them.
    pub undelivered_bytes: u64,
    /// Records handled by the nearest existing ancestor of their logger's name, because
    /// creating their logger would have passed a cap on names (see
    /// [`QueueListenerBuilder::max_logger_names`](super::QueueListenerBuilder::max_logger_names)).
    pub names_capped: u64,
}

/// Counters shared by the listener's threads.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) over_capacity: AtomicU64,
    pub(crate) stalled: AtomicU64,
    /// The handlers' records given up on and held, as of the last flush.
    pub(crate) not_written: AtomicU64,
    pub(crate) held: AtomicU64,
    pub(crate) names_capped: AtomicU64,
    pub(crate) stopping: AtomicBool,
    /// The drain deadline passed: inputs stop reading, the dispatch thread stops handling.
    pub(crate) cut: AtomicBool,
    pub(crate) cut_inputs: AtomicU64,
    pub(crate) undelivered_bytes: AtomicU64,
    pub(crate) workers: Mutex<Vec<Arc<WorkerEntry>>>,
}

impl Shared {
    /// Whether the drain deadline passed (checked by every input and the dispatch thread).
    pub(crate) fn cut(&self) -> bool {
        self.cut.load(Ordering::Acquire)
    }

    /// An input stopped at the drain deadline with `bytes` not delivered.
    pub(crate) fn left_at_deadline(&self, bytes: u64) {
        self.cut_inputs.fetch_add(1, Ordering::Relaxed);
        self.undelivered_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> ListenerStats {
        let s = self;
        let mut per_worker: Vec<WorkerStats> = Vec::new();
        for w in s.workers.lock().iter() {
            let (records, dropped) = w.counts();
            match per_worker
                .iter_mut()
                .find(|p| p.pid == w.pid && p.process_name == w.process_name)
            {
                Some(p) => {
                    p.records += records;
                    p.dropped = p.dropped.max(dropped);
                }
                None => per_worker.push(WorkerStats {
                    pid: w.pid,
                    process_name: w.process_name.clone(),
                    records,
                    dropped,
                }),
            }
        }
        ListenerStats {
            records: s.records.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            dropped: per_worker.iter().map(|w| w.dropped).sum(),
            per_worker,
            connections: s.connections.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            malformed: s.malformed.load(Ordering::Relaxed),
            over_capacity: s.over_capacity.load(Ordering::Relaxed),
            stalled: s.stalled.load(Ordering::Relaxed),
            not_written: s.not_written.load(Ordering::Relaxed),
            held: s.held.load(Ordering::Relaxed),
            drain_cut: s.cut.load(Ordering::Relaxed),
            cut_inputs: s.cut_inputs.load(Ordering::Relaxed),
            undelivered_bytes: s.undelivered_bytes.load(Ordering::Relaxed),
            names_capped: s.names_capped.load(Ordering::Relaxed),
        }
    }
}
