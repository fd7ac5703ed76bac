//! [`QueueHandler`]: the worker's handler, which sends prepared records to a listener.
//!
//! # Two transports
//! With [`TransportKind::Shm`] (the default on Linux) `emit` encodes the record into the
//! calling thread's ring in shared memory and returns: no channel, no sender thread, and the
//! record survives a SIGKILL of the worker from that moment on; a full ring is waited for
//! (sleeping) or dropped by the same [`Overflow`] policy, and `flush`/`sync` wait until the
//! listener handled and flushed what was committed. See
//! [`transport::shm`](super::transport::shm). The rest of this page describes the socket
//! transport ([`TransportKind::Socket`]).
//!
//! # What the caller pays, and what happens when the queue is full
//! `emit` does Python's `prepare` (the message becomes final text, exception and stack text
//! folded in) and encodes the result, without copying the record, into the handler's open
//! chunk; a full chunk (or one holding a WARNING or worse) goes onto a bounded in-memory
//! channel. That is all the work on the calling thread (the details, and why, are in the
//! sender module). A sender thread batches chunks into frames: a frame is written when it
//! reaches [`DEFAULT_BATCH_BYTES`], when a WARNING or worse arrives, after at most the flush
//! interval ([`DEFAULT_FLUSH_INTERVAL`], so `tail -f` stays live), and on flush/close.
//!
//! When the channel is full (the listener is slow or gone) the [`Overflow`] policy decides:
//! - [`Overflow::Block`] (default): the caller waits for room, at most `timeout`
//!   ([`DEFAULT_BLOCK_TIMEOUT`]); after that the record is dropped, counted, and the drop
//!   reported on stderr through the handler's (rate-limited) error policy.
//! - [`Overflow::Drop`]: the record is dropped at once and counted.
//!
//! Drop counts travel to the listener (`Report` and `Goodbye` frames), which logs a warning
//! naming the worker. While the listener is unreachable the sender reconnects with backoff
//! ([`RECONNECT_MIN`](super::link::RECONNECT_MIN) to [`RECONNECT_MAX`](super::link::RECONNECT_MAX)),
//! keeping up to [`DEFAULT_MAX_PENDING`] encoded bytes plus the channel's records meanwhile.
//!
//! # A listener killed: at least once
//! The listener acknowledges what its handlers wrote and flushed; the worker keeps every
//! record until then, and sends what was not acknowledged again, first and in order, to the
//! listener it reconnects to. So a listener SIGKILLed and restarted loses nothing, on either
//! delivery; the records the killed listener wrote but had not yet acknowledged are written
//! twice, at most the window's worth ([`DEFAULT_WINDOW`], [`QueueHandlerBuilder::window`]) per
//! worker and kill. A kill in the middle of the listener's `write(2)` may also leave one torn
//! line in its file: the start of a line whose record is written again, whole, later, and on
//! the same line the first line the restarted listener writes. Only when the listener stays
//! away long enough that more than [`DEFAULT_MAX_PENDING`] bytes wait are the oldest records
//! given up; they are counted as dropped here (even those the killed listener may have
//! written: nothing confirmed them), and the count reaches the next listener, which logs it
//! naming the worker.
//!
//! # Delivery
//! [`Delivery::Async`] (default) is described above. With [`Delivery::Sync`] there is no sender
//! thread: the log call encodes its record and writes it to the socket itself, under a mutex,
//! and returns only once `write(2)` accepted it, so a process killed by SIGKILL right after the
//! call loses nothing it logged. It costs a system call per record. A listener killed after
//! the call returned loses nothing either: the record is kept until acknowledged, and written
//! again to the restarted listener by the next call, `flush`, `sync` or `close`.
//!
//! # Shutdown
//! [`close`](Handler::close) (reached by `mplog::shutdown()`, the worker guard, the panic hook
//! and the `atexit` hook) drains the channel, writes everything, sends `Goodbye` and waits for
//! the listener to acknowledge it all, at most the drain timeout ([`DEFAULT_DRAIN_TIMEOUT`]): a
//! dead listener cannot hang an exit, and what it never acknowledged is counted as dropped.
//! Records logged after `close` are dropped and counted.
//!
//! # Record size
//! A record of any size up to [`max_record`](QueueHandlerBuilder::max_record) encoded bytes
//! ([`DEFAULT_MAX_RECORD`]: a 16 MiB message and its other fields) is delivered on both
//! transports, in order with the handler's other records: on the socket it travels in a frame
//! of its own size (the listener's default frame limit,
//! [`DEFAULT_MAX_FRAME`](super::wire::DEFAULT_MAX_FRAME), holds the largest record and the
//! batch around it); on shm, a record larger than half the ring is carried through the ring in
//! pieces and put back together by the listener (see the ring's `pieces` module). A larger
//! record is refused at the call: counted as dropped (the count reaches the listener) and
//! reported through the handler's error policy (stderr by default), whatever the overflow
//! policy. Checking costs one sum of field lengths per record; only a record near the limit
//! is encoded to measure it.
//!
//! A handler made by [`ListenerHandle::local_handler`](super::ListenerHandle::local_handler)
//! is the in-process variant: the same type, pushing straight onto the listener thread's
//! channel with the same overflow policy and no socket.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, SendTimeoutError, Sender};
use parking_lot::Mutex;

use super::encode::{encode_record, encoded_len_bound};
use super::link::{Counters, Link};
use super::listener::DispatchMsg;
#[cfg(target_os = "linux")]
use super::ring_sink::RingSink;
pub(crate) use super::sender::SENDER_THREAD;
use super::sender::{AsyncSink, Msg, SenderConfig};
use super::transport::{socket::SocketTransport, Transport, TransportKind};
use super::wire::Hello;
pub use super::wire::DEFAULT_MAX_RECORD;
use super::QueueError;
use crate::format::RenderError;
use crate::handler::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// Records the channel holds by default.
pub const DEFAULT_CAPACITY: usize = 16 * 1024;
/// A partly filled batch is written after at most this long.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// A batch is written once its encoded records reach this many bytes.
pub const DEFAULT_BATCH_BYTES: usize = 64 * 1024;
/// Data bytes of each thread's ring on the shm transport (1 MiB: ~10,000 records of ~100
/// bytes).
pub const DEFAULT_RING_BYTES: usize = 1 << 20;
/// Encoded bytes kept while the listener is unreachable (beyond it, oldest frames are dropped).
pub const DEFAULT_MAX_PENDING: usize = 4 * 1024 * 1024;
/// Encoded bytes written to the listener and not yet acknowledged (1 MiB: ~7,000 records of
/// ~100 bytes, as a shm ring). Beyond it the worker waits for acks; it is also the most a
/// restarted listener receives twice from one worker.
pub const DEFAULT_WINDOW: usize = 1024 * 1024;
/// Longest wait of flush, close and the exit hooks for the listener.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub use crate::handler::overflow::{Overflow, DEFAULT_BLOCK_TIMEOUT};

/// When a log call returns.
///
/// ```
/// use mplog::queue::{Delivery, QueueHandler, QueueListener};
/// let listener = QueueListener::builder().start().unwrap();
/// let h = QueueHandler::builder(listener.endpoint()).delivery(Delivery::Sync).build().unwrap();
/// mplog::handler::Handler::handle(&h, &mplog::Record::new("a", mplog::Level::ERROR, "on the socket"));
/// assert_eq!(h.stats().sent, 1); // written before `handle` returned
/// assert_eq!(listener.stop().records, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Once the record is in the in-memory queue (fast; a sender thread writes batches).
    #[default]
    Async,
    /// Once the record was written to the socket: it survives a SIGKILL of the worker right
    /// after the call, and one of the listener (kept until the listener acknowledges it).
    Sync,
}

/// Counts of one handler.
///
/// ```
/// use mplog::handler::Handler;
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).build().unwrap();
/// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
/// h.close();
/// assert_eq!(h.stats(), mplog::queue::HandlerStats { sent: 1, dropped: 0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandlerStats {
    /// Records written to the transport (or handed to the in-process listener); a record
    /// written again after a reconnect counts once.
    pub sent: u64,
    /// Records lost: queue full, listener unreachable for too long (records written to a
    /// listener that went away before acknowledging them count here too, whether or not it
    /// wrote them), or logged after close.
    pub dropped: u64,
}

#[allow(clippy::large_enum_variant)] // one per handler
enum Sink {
    Async(AsyncSink),
    Sync(Mutex<Link>),
    Local(Sender<DispatchMsg>),
    /// Shared-memory rings written by the calling thread (see `ring_sink`).
    #[cfg(target_os = "linux")]
    Shm(RingSink),
}

pub(crate) struct Inner {
    sink: Sink,
    overflow: Overflow,
    counters: Arc<Counters>,
    drain_timeout: Duration,
    /// Set by close: the sender gives up waiting for an unreachable listener.
    closing: Arc<AtomicBool>,
    closed: AtomicBool,
    /// The process that made the handler; in a forked child it does nothing.
    owner_pid: u32,
    /// Largest encoded record sent (see the module docs); none for the in-process variant.
    max_record: Option<usize>,
}

/// Live handlers, drained by the exit hooks.
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Sends records to a [`QueueListener`](super::QueueListener) (Python's `QueueHandler`).
///
/// ```
/// use mplog::queue::{QueueHandler, QueueListener};
/// use mplog::handler::{FileHandler, Handler};
/// use std::sync::Arc;
///
/// let dir = tempfile::tempdir().unwrap();
/// let file = Arc::new(FileHandler::new(dir.path().join("app.log")).unwrap());
/// let listener = QueueListener::builder().handlers(vec![file]).start().unwrap();
///
/// let handler = Arc::new(QueueHandler::builder(listener.endpoint()).build().unwrap());
/// let m = mplog::Manager::new();
/// m.root().add_handler(handler.clone());
/// m.root().log(mplog::Level::WARNING, "disk almost full");
/// handler.close(); // drains: the record is with the listener
/// let stats = listener.stop();
/// assert_eq!(stats.records, 1);
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.log")).unwrap(), "disk almost full\n");
/// ```
pub struct QueueHandler {
    base: HandlerBase,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for QueueHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueHandler")
            .field("overflow", &self.inner.overflow)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Builds a [`QueueHandler`]; see [`QueueHandler::builder`].
///
/// ```
/// use mplog::queue::{Delivery, QueueHandler};
/// let builder = QueueHandler::builder("/tmp/nowhere/mplog.sock").delivery(Delivery::Sync);
/// let h = builder.drain_timeout(std::time::Duration::from_millis(50)).build().unwrap();
/// # mplog::handler::Handler::close(&h);
/// ```
#[derive(Debug, Clone)]
pub struct QueueHandlerBuilder {
    endpoint: PathBuf,
    capacity: usize,
    overflow: Overflow,
    delivery: Delivery,
    flush_interval: Duration,
    batch_bytes: usize,
    max_pending: usize,
    window: usize,
    drain_timeout: Duration,
    process_name: Option<String>,
    transport: TransportKind,
    ring_bytes: usize,
    listener_uid: Option<u32>,
    max_record: usize,
}

impl QueueHandler {
    /// A builder for a handler sending to the listener socket at `endpoint`.
    ///
    /// ```
    /// use mplog::queue::{Delivery, Overflow, QueueHandler};
    /// use std::time::Duration;
    /// // The listener need not be up yet: the sender connects (and reconnects) on its own.
    /// let h = QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .capacity(1024)
    ///     .overflow(Overflow::Drop)
    ///     .delivery(Delivery::Async)
    ///     .flush_interval(Duration::from_millis(10))
    ///     .drain_timeout(Duration::from_millis(50))
    ///     .build()
    ///     .unwrap();
    /// mplog::handler::Handler::close(&h); // returns within the drain timeout
    /// ```
    pub fn builder(endpoint: impl AsRef<Path>) -> QueueHandlerBuilder {
        QueueHandlerBuilder {
            endpoint: endpoint.as_ref().to_path_buf(),
            capacity: DEFAULT_CAPACITY,
            overflow: Overflow::default(),
            delivery: Delivery::default(),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            batch_bytes: DEFAULT_BATCH_BYTES,
            max_pending: DEFAULT_MAX_PENDING,
            window: DEFAULT_WINDOW,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            process_name: None,
            transport: TransportKind::default(),
            ring_bytes: DEFAULT_RING_BYTES,
            listener_uid: None,
            max_record: DEFAULT_MAX_RECORD,
        }
    }

    /// The in-process variant onto a listener's dispatch channel.
    pub(crate) fn local(tx: Sender<DispatchMsg>, overflow: Overflow) -> QueueHandler {
        QueueHandler::from_inner(Inner {
            sink: Sink::Local(tx),
            overflow,
            counters: Arc::default(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            closing: Arc::default(),
            closed: AtomicBool::new(false),
            owner_pid: crate::record::current_pid(),
            max_record: None,
        })
    }

    fn from_inner(inner: Inner) -> QueueHandler {
        let inner = Arc::new(inner);
        let mut live = LIVE.lock();
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&inner));
        QueueHandler {
            base: HandlerBase::new(),
            inner,
        }
    }

    /// Python's `QueueHandler.prepare`: a copy of `record` whose message is the handler's
    /// formatting of it (default: the message plus exception and stack text), with
    /// `exc_text` and `stack_info` cleared, so the listener prints it without formatting
    /// the exception twice.
    ///
    /// ```
    /// use mplog::queue::QueueHandler;
    /// let h = QueueHandler::builder("/tmp/x.sock")
    ///     .drain_timeout(std::time::Duration::from_millis(50))
    ///     .build()
    ///     .unwrap();
    /// let mut r = mplog::Record::new("a", mplog::Level::ERROR, "failed");
    /// r.exc_text = Some("Error: boom".into());
    /// let p = h.prepare(&r).unwrap();
    /// assert_eq!(&*p.message, "failed\nError: boom");
    /// assert_eq!(p.exc_text, None);
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn prepare(&self, record: &Record) -> Result<Record, RenderError> {
        Ok(prepared_record(record, self.prepared_text(record)?))
    }

    /// The message [`prepare`](QueueHandler::prepare) gives the record, or `None` when that is
    /// the record's own message unchanged (no formatter, no exception or stack text).
    fn prepared_text(&self, record: &Record) -> Result<Option<String>, RenderError> {
        if record.exc_text.is_none() && record.stack_info.is_none() && !self.base.has_formatter() {
            return Ok(None);
        }
        let mut text = String::with_capacity(record.message.len() + 64);
        self.base.format(record, &mut text)?;
        Ok(Some(text))
    }

    /// Records sent and dropped so far.
    ///
    /// ```
    /// use mplog::handler::Handler;
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert!(h.sync(std::time::Duration::from_secs(5)));
    /// assert_eq!((h.stats().sent, h.stats().dropped), (1, 0));
    /// # listener.stop();
    /// ```
    pub fn stats(&self) -> HandlerStats {
        self.inner.stats()
    }

    /// Writes everything queued and waits until the listener has handled and flushed it (a
    /// `Sync`/`Ack` round trip; after a reconnect, what was not yet acknowledged is written
    /// again first), at most `timeout`. Returns whether the listener confirmed it all.
    ///
    /// ```
    /// use mplog::handler::Handler;
    /// use std::time::Duration;
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "checkpoint"));
    /// assert!(h.sync(Duration::from_secs(5))); // the listener handled and flushed it
    /// assert_eq!(listener.stats().records, 1);
    /// # listener.stop();
    /// ```
    pub fn sync(&self, timeout: Duration) -> bool {
        self.inner.sync(timeout)
    }
}

impl Handler for QueueHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let inner = &self.inner;
        // An inherited handler in a forked child has no sender thread: see `spawn`. The test
        // is on this process, not on `record.process`: a relayed or hand-built record may
        // carry any pid.
        if inner.is_foreign() || inner.closed.load(Ordering::Relaxed) {
            inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let text = self.prepared_text(record)?;
        inner.push(record, text)
    }

    /// Writes what is queued (waits at most the drain timeout).
    fn flush(&self) -> io::Result<()> {
        if self.inner.flush(self.inner.drain_timeout) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "queue handler: listener unreachable, records still queued",
            ))
        }
    }

    /// Drains, says goodbye and stops the sender (bounded by the drain timeout). Idempotent.
    fn close(&self) {
        self.inner.close();
    }
}

impl Drop for QueueHandler {
    fn drop(&mut self) {
        // The last handle gone: drain like Python's shutdown would.
        if Arc::strong_count(&self.inner) == 1 {
            self.inner.close();
        }
    }
}

impl Inner {
    fn is_foreign(&self) -> bool {
        crate::record::current_pid() != self.owner_pid
    }

    pub(crate) fn stats(&self) -> HandlerStats {
        #[cfg(target_os = "linux")]
        if let Sink::Shm(rings) = &self.sink {
            return HandlerStats {
                sent: rings.sent(),
                dropped: self.counters.dropped.load(Ordering::Relaxed),
            };
        }
        HandlerStats {
            sent: self.counters.sent.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    fn dropped(&self, n: u64, why: &str) -> Result<(), HandlerError> {
        self.counters.dropped.fetch_add(n, Ordering::Relaxed);
        match self.overflow {
            Overflow::Drop => Ok(()),
            Overflow::Block { .. } => Err(HandlerError::Other(format!(
                "queue handler: record dropped ({why})"
            ))),
        }
    }

    /// Refuses (counted, reported) a record whose encoding is larger than `max` bytes.
    fn check_size(
        &self,
        record: &Record,
        prepared: Option<&str>,
        max: usize,
    ) -> Result<(), HandlerError> {
        if encoded_len_bound(record, prepared) <= max {
            return Ok(());
        }
        let mut bytes = Vec::new();
        encode_record(record, prepared, &mut bytes);
        if bytes.len() <= max {
            return Ok(());
        }
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        // The socket sinks send the count in their next `Report` or `Goodbye`.
        #[cfg(target_os = "linux")]
        if let Sink::Shm(rings) = &self.sink {
            rings.report(self.counters.dropped.load(Ordering::Relaxed));
        }
        Err(HandlerError::Other(format!(
            "queue handler: record of {} bytes refused, larger than the largest record ({max} \
             bytes, see QueueHandlerBuilder::max_record)",
            bytes.len()
        )))
    }

    #[cfg(target_os = "linux")]
    fn push_shm(
        &self,
        rings: &RingSink,
        record: &Record,
        prepared: Option<&str>,
    ) -> Result<(), HandlerError> {
        match rings.push(record, prepared, self.overflow) {
            Ok(()) => Ok(()),
            Err(refused) => {
                let result = self.dropped(1, &refused.reason());
                rings.report(self.counters.dropped.load(Ordering::Relaxed));
                result
            }
        }
    }

    /// Sends `record`, with `prepared` as its message when [`QueueHandler::prepare`] changes
    /// it. Every sink but the in-process one encodes `record` on this thread: no copy of it
    /// is made.
    fn push(&self, record: &Record, prepared: Option<String>) -> Result<(), HandlerError> {
        let prepared_ref = prepared.as_deref();
        if let Some(max) = self.max_record {
            self.check_size(record, prepared_ref, max)?;
        }
        match &self.sink {
            Sink::Async(sink) => sink
                .push(record, prepared_ref, self.overflow)
                .or_else(|(n, why)| self.dropped(n, why)),
            #[cfg(target_os = "linux")]
            Sink::Shm(rings) => self.push_shm(rings, record, prepared_ref),
            Sink::Sync(link) => {
                let until = match self.overflow {
                    Overflow::Block { timeout } => Some(Instant::now() + timeout),
                    Overflow::Drop => None,
                };
                let mut link = link.lock();
                // Bounded like the async queue: a listener that takes nothing (stuck, not
                // gone) makes callers wait for room, then drop.
                if !link.make_room(until) {
                    return self.dropped(1, "listener not keeping up");
                }
                link.push(record, prepared_ref);
                if link.flush(until) {
                    Ok(())
                } else {
                    // Kept (bounded) for the next attempt; a timeout under Block is reported.
                    match self.overflow {
                        Overflow::Drop => Ok(()),
                        Overflow::Block { .. } => Err(HandlerError::Other(
                            "queue handler: listener unreachable, record kept for retry".into(),
                        )),
                    }
                }
            }
            Sink::Local(tx) => self.push_local(tx, prepared_record(record, prepared)),
        }
    }

    /// Hands a prepared record to the in-process listener.
    fn push_local(&self, tx: &Sender<DispatchMsg>, record: Record) -> Result<(), HandlerError> {
        let result = match self.overflow {
            Overflow::Drop => tx
                .try_send(DispatchMsg::Local(record))
                .map_err(|e| e.is_full()),
            Overflow::Block { timeout } => tx
                .send_timeout(DispatchMsg::Local(record), timeout)
                .map_err(|e| matches!(e, SendTimeoutError::Timeout(_))),
        };
        match result {
            Ok(()) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(true) => self.dropped(1, "queue full"),
            Err(false) => self.dropped(1, "listener stopped"),
        }
    }

    fn local_barrier(tx: &Sender<DispatchMsg>, timeout: Duration) -> bool {
        let (ack_tx, ack_rx) = bounded(1);
        if tx
            .send_timeout(DispatchMsg::Barrier(ack_tx), timeout)
            .is_err()
        {
            return false;
        }
        ack_rx.recv_timeout(timeout).is_ok()
    }

    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        if self.is_foreign() || self.closed.load(Ordering::Relaxed) {
            return true;
        }
        match &self.sink {
            Sink::Async(sink) => sink.control(Msg::Flush, timeout).unwrap_or(false),
            Sink::Sync(link) => link.lock().flush(Some(Instant::now() + timeout)),
            Sink::Local(tx) => Inner::local_barrier(tx, timeout),
            #[cfg(target_os = "linux")]
            Sink::Shm(rings) => rings.flush(timeout),
        }
    }

    fn sync(&self, timeout: Duration) -> bool {
        if self.is_foreign() || self.closed.load(Ordering::Relaxed) {
            return false;
        }
        match &self.sink {
            Sink::Async(sink) => sink.control(Msg::Sync, timeout).unwrap_or(false),
            Sink::Sync(link) => link.lock().sync(Instant::now() + timeout),
            Sink::Local(tx) => Inner::local_barrier(tx, timeout),
            // The listener moves a ring's head only after its handlers wrote and flushed.
            #[cfg(target_os = "linux")]
            Sink::Shm(rings) => rings.flush(timeout),
        }
    }

    pub(crate) fn close(&self) {
        if self.is_foreign() || self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let timeout = self.drain_timeout;
        match &self.sink {
            Sink::Async(sink) => {
                if let Some(left) = sink.close(timeout) {
                    // The listener is unreachable: stop waiting, count what is left.
                    self.closing.store(true, Ordering::Release);
                    self.counters.dropped.fetch_add(left, Ordering::Relaxed);
                }
            }
            Sink::Sync(link) => {
                let mut link = link.lock();
                if !link.goodbye(Instant::now() + timeout) {
                    link.abandon();
                }
            }
            Sink::Local(tx) => {
                Inner::local_barrier(tx, timeout);
            }
            #[cfg(target_os = "linux")]
            Sink::Shm(rings) => {
                rings.close(timeout, self.counters.dropped.load(Ordering::Relaxed));
            }
        }
    }
}

/// Whether the listener's socket belongs to another user: its ring directory is private to
/// that user, so such a worker sends through the socket (where the uid allow-list decides).
#[cfg(target_os = "linux")]
fn listener_of_another_user(endpoint: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(endpoint).is_ok_and(|m| m.uid() != nix::unistd::getuid().as_raw())
}

/// A copy of `record` with `prepared` (see [`QueueHandler::prepare`]) as its message, when
/// there is one.
fn prepared_record(record: &Record, prepared: Option<String>) -> Record {
    let mut copy = record.clone();
    if let Some(text) = prepared {
        copy.message = Cow::Owned(text);
        copy.exc_text = None;
        copy.stack_info = None;
    }
    copy
}

/// Drains every live handler of this process, each bounded by `timeout` (the exit hooks).
pub(crate) fn drain_all(timeout: Duration, close: bool) {
    let live: Vec<Arc<Inner>> = LIVE.lock().iter().filter_map(Weak::upgrade).collect();
    for inner in live {
        if close {
            inner.close();
        } else {
            inner.flush(timeout);
        }
    }
}

impl QueueHandlerBuilder {
    /// Records the channel holds ([`DEFAULT_CAPACITY`]); at least 1.
    ///
    /// ```
    /// use mplog::queue::{Overflow, QueueHandler};
    /// // A small queue that drops rather than waits when the sender falls behind.
    /// let h = QueueHandler::builder("/tmp/nowhere/mplog.sock").capacity(256).overflow(Overflow::Drop)
    ///     .drain_timeout(std::time::Duration::from_millis(50)).build().unwrap();
    /// assert_eq!(h.stats().dropped, 0);
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records.max(1);
        self
    }

    /// What happens when the channel is full ([`Overflow::Block`] by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mplog::queue::{Overflow, QueueHandler};
    /// // Wait up to 10 ms for room, then drop, count and report.
    /// let h = QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .overflow(Overflow::Block { timeout: Duration::from_millis(10) })
    ///     .drain_timeout(Duration::from_millis(50)).build().unwrap();
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// When a log call returns ([`Delivery::Async`] by default).
    ///
    /// ```
    /// use mplog::queue::{Delivery, QueueHandler, QueueListener};
    /// let listener = QueueListener::builder().start().unwrap();
    /// // Each call returns once its record is on the socket: nothing is lost to a SIGKILL after it.
    /// let h = QueueHandler::builder(listener.endpoint()).delivery(Delivery::Sync).build().unwrap();
    /// mplog::handler::Handler::handle(&h, &mplog::Record::new("a", mplog::Level::ERROR, "m"));
    /// assert_eq!(h.stats().sent, 1);
    /// # listener.stop();
    /// ```
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Longest time a record waits in a partly filled batch ([`DEFAULT_FLUSH_INTERVAL`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// // A quiet worker's records reach the listener within 5 ms rather than 20.
    /// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .flush_interval(Duration::from_millis(5))
    ///     .drain_timeout(Duration::from_millis(50)).build().unwrap();
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Batch size that triggers a write ([`DEFAULT_BATCH_BYTES`]).
    ///
    /// ```
    /// // Smaller writes, sooner: a batch goes out at 16 KiB instead of 64.
    /// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .batch_bytes(16 * 1024)
    ///     .drain_timeout(std::time::Duration::from_millis(50)).build().unwrap();
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes.max(1);
        self
    }

    /// Encoded bytes kept while the listener is unreachable ([`DEFAULT_MAX_PENDING`]).
    ///
    /// ```
    /// // Keep at most 1 MiB of records while the listener is down (the oldest go first).
    /// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .max_pending(1024 * 1024)
    ///     .drain_timeout(std::time::Duration::from_millis(50)).build().unwrap();
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn max_pending(mut self, bytes: usize) -> Self {
        self.max_pending = bytes;
        self
    }

    /// Encoded bytes written to the listener and not yet acknowledged ([`DEFAULT_WINDOW`];
    /// at most `max_pending`), socket transport only. Beyond it the worker waits for the
    /// listener's acks before writing more; a listener killed and restarted receives this
    /// much again at most (those records appear twice in its files).
    ///
    /// ```
    /// // Fewer duplicates after a listener restart, at some cost in throughput.
    /// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .window(256 * 1024)
    ///     .drain_timeout(std::time::Duration::from_millis(50)).build().unwrap();
    /// # mplog::handler::Handler::close(&h);
    /// ```
    pub fn window(mut self, bytes: usize) -> Self {
        self.window = bytes;
        self
    }

    /// Longest wait of flush and close ([`DEFAULT_DRAIN_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .drain_timeout(Duration::from_millis(100)).build().unwrap();
    /// mplog::handler::Handler::handle(&h, &mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// let start = Instant::now();
    /// mplog::handler::Handler::close(&h); // no listener: gives up after about 100 ms
    /// assert!(start.elapsed() < Duration::from_secs(3));
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The `processName` announced in the hello (default: the process's, see
    /// [`set_process_name`](crate::record::set_process_name)).
    ///
    /// ```
    /// use mplog::handler::Handler;
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).process_name("worker-7").build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// h.close();
    /// assert_eq!(listener.stop().per_worker[0].process_name, "worker-7");
    /// ```
    pub fn process_name(mut self, name: impl Into<String>) -> Self {
        self.process_name = Some(name.into());
        self
    }

    /// Which transport carries the records ([`TransportKind::default`]: shm on Linux). With
    /// [`TransportKind::Shm`] the delivery setting makes no difference: every record is
    /// committed to shared memory, and so survives a SIGKILL, when the log call returns. A
    /// worker whose listener's socket belongs to another user uses the socket regardless (the
    /// rings live in a directory private to the listener's user).
    ///
    /// ```
    /// use mplog::queue::{transport::TransportKind, QueueHandler, QueueListener};
    /// use mplog::handler::Handler;
    /// let listener = QueueListener::builder().start().unwrap();
    /// for kind in [TransportKind::Socket, TransportKind::Shm] {
    ///     let h = QueueHandler::builder(listener.endpoint()).transport(kind).build().unwrap();
    ///     h.handle(&mplog::Record::new("app", mplog::Level::INFO, "hello"));
    ///     assert!(h.sync(std::time::Duration::from_secs(30)), "{kind:?}");
    ///     h.close();
    /// }
    /// assert_eq!(listener.stop().records, 2);
    /// ```
    pub fn transport(mut self, transport: TransportKind) -> Self {
        self.transport = transport;
        self
    }

    /// Data bytes of each thread's ring, shm transport only ([`DEFAULT_RING_BYTES`]; rounded
    /// up to a power of two, at least 4 KiB). A record larger than half of it travels in pieces.
    ///
    /// ```
    /// use mplog::queue::QueueHandler;
    /// // 64 KiB per logging thread: less shared memory, fills sooner when the listener lags.
    /// let b = QueueHandler::builder("/tmp/nowhere/mplog.sock").ring_bytes(64 * 1024);
    /// # let _ = b;
    /// ```
    pub fn ring_bytes(mut self, bytes: usize) -> Self {
        self.ring_bytes = bytes;
        self
    }

    /// Sends only to a listener running as `uid` (default: `MPLOG_LISTENER_UID` if set, else
    /// this process's uid); checked with `SO_PEERCRED` before anything is sent, see
    /// [`SocketTransport::listener_uid`].
    ///
    /// ```
    /// use mplog::queue::QueueHandler;
    /// // Workers running as an application user, logging to a listener run by root.
    /// let b = QueueHandler::builder("/run/app/mplog.sock").listener_uid(0);
    /// # let _ = b;
    /// ```
    pub fn listener_uid(mut self, uid: u32) -> Self {
        self.listener_uid = Some(uid);
        self
    }

    /// Largest record sent, in encoded bytes ([`DEFAULT_MAX_RECORD`]); a larger one is refused
    /// at the call, counted as dropped and reported through the handler's error policy. The
    /// listener's [`max_frame`](super::QueueListenerBuilder::max_frame) must hold it plus the
    /// batch around it (the defaults do); on shm at most
    /// [`DEFAULT_MAX_FRAME`](super::wire::DEFAULT_MAX_FRAME) is carried whatever this says.
    ///
    /// ```
    /// use mplog::queue::QueueHandler;
    /// // Nothing above 1 MiB leaves this process.
    /// let b = QueueHandler::builder("/tmp/nowhere/mplog.sock").max_record(1 << 20);
    /// # let _ = b;
    /// ```
    pub fn max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// Starts the handler (and its sender thread, for async delivery). The listener need not
    /// be up: the sender connects when it has something to write, and reconnects.
    ///
    /// ```
    /// // Builds at once, listener or not: the sender connects when it has something to write.
    /// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
    ///     .drain_timeout(std::time::Duration::from_millis(50)).build();
    /// assert!(h.is_ok());
    /// # mplog::handler::Handler::close(&h.unwrap());
    /// ```
    pub fn build(self) -> Result<QueueHandler, QueueError> {
        let mut hello = Hello::this_process();
        if let Some(name) = &self.process_name {
            hello.process_name.clone_from(name);
        }
        let counters = Arc::<Counters>::default();
        let socket = SocketTransport::new(&self.endpoint);
        let transport: Box<dyn Transport> = Box::new(match self.listener_uid {
            Some(uid) => socket.listener_uid(uid),
            None => socket,
        });
        let closing = Arc::<AtomicBool>::default();
        let sink = self.sink(transport, hello, &counters, &closing)?;
        Ok(QueueHandler::from_inner(Inner {
            sink,
            overflow: self.overflow,
            counters,
            drain_timeout: self.drain_timeout,
            closing,
            closed: AtomicBool::new(false),
            owner_pid: crate::record::current_pid(),
            max_record: Some(self.max_record),
        }))
    }

    /// The sink for the chosen transport and delivery.
    fn sink(
        &self,
        transport: Box<dyn Transport>,
        hello: Hello,
        counters: &Arc<Counters>,
        closing: &Arc<AtomicBool>,
    ) -> Result<Sink, QueueError> {
        #[cfg(target_os = "linux")]
        if self.transport == TransportKind::Shm && !listener_of_another_user(&self.endpoint) {
            return Ok(Sink::Shm(RingSink::new(
                transport,
                &self.endpoint,
                hello,
                self.ring_bytes,
            )));
        }
        let link = Link::new(
            transport,
            hello,
            counters.clone(),
            self.window,
            self.max_pending,
        );
        Ok(match self.delivery {
            Delivery::Sync => Sink::Sync(Mutex::new(link)),
            Delivery::Async => {
                let config = SenderConfig {
                    capacity: self.capacity,
                    flush_interval: self.flush_interval,
                    batch_bytes: self.batch_bytes,
                    drain_timeout: self.drain_timeout,
                };
                Sink::Async(
                    AsyncSink::start(link, &config, closing.clone()).map_err(QueueError::Thread)?,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::FileHandler;
    use crate::queue::QueueListener;
    use crate::Level;

    #[test]
    fn close_counts_what_an_unreachable_listener_never_got() {
        let dir = tempfile::tempdir().expect("temp dir");
        // The socket transport's sender (a shm ring would keep them for a later listener).
        let handler = QueueHandler::builder(dir.path().join("nobody-listens.sock"))
            .transport(TransportKind::Socket)
            .drain_timeout(Duration::from_millis(50))
            .build()
            .expect("handler");
        for i in 0..3 {
            handler.handle(&Record::new("app", Level::INFO, format!("record {i}")));
        }
        handler.close();
        // Counted by the time close returns, not some time later.
        assert_eq!(handler.stats().dropped, 3);
        assert_eq!(handler.stats().sent, 0);
    }

    #[test]
    fn a_record_made_in_another_process_is_still_sent() {
        // Relayed, deserialised or hand-built records carry someone else's pid.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("app.log");
        let file: Arc<dyn Handler> = Arc::new(FileHandler::new(&path).expect("log file"));
        let listener = QueueListener::builder()
            .handlers(vec![file])
            .start()
            .expect("listener");
        let handler = QueueHandler::builder(listener.endpoint())
            .build()
            .expect("handler");
        let mut record = Record::new("relay", Level::INFO, "from pid 1");
        record.process = 1;
        handler.handle(&record);
        handler.close();
        assert_eq!(handler.stats().dropped, 0);
        assert_eq!(listener.stop().records, 1);
        let text = std::fs::read_to_string(&path).expect("log text");
        assert_eq!(text, "from pid 1\n");
    }
}
