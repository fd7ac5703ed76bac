//! The async sink of a [`QueueHandler`](super::QueueHandler): callers encode, a sender thread
//! writes.
//!
//! # Why callers encode
//! Passing each record by value over a channel to the sender thread cost a copy of the record
//! (its message allocated again), a ~300-byte move into the channel and another out, and a free
//! on the other thread: about half of a worker's time under `mplog bench` (callgrind). Now the
//! calling thread encodes its record straight into one shared *open chunk* (under a mutex held
//! for the few hundred nanoseconds of the encoding), and only a full chunk, of up to
//! [`CHUNK_RECORDS`] records or [`CHUNK_BYTES`] bytes, travels over the bounded channel. A
//! WARNING or worse closes its chunk at once and the sender writes it at once.
//!
//! # Order, and the lock
//! A chunk is sent while its closer still holds the lock, so chunks enter the channel in the
//! order they were filled, and the open chunk always holds the newest records. The sender
//! thread takes a partly filled chunk (on its timer, on flush, sync and close) only with
//! `try_lock`, and while it holds the lock it first takes every chunk already in the channel:
//! the records of one thread are written in the order that thread logged them. The sender
//! never writes to the socket while it holds the lock, and never waits for it (a caller may
//! hold it while it waits for room in the channel, which only the sender makes).
//!
//! # Bounds
//! The channel holds `capacity / chunk` chunks, so at most about `capacity` records wait in
//! memory; when it is full the overflow policy applies to the whole chunk being closed
//! (counted per record). Under [`Overflow::Block`] a caller waits at most the timeout for the
//! lock and then for room.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use parking_lot::{Mutex, MutexGuard};

use super::encode::encode_record;
use super::handler::Overflow;
use super::link::Link;
use crate::level::Level;
use crate::record::Record;

/// A chunk is closed once it holds this many records...
pub const CHUNK_RECORDS: u64 = 64;
/// ...or this many encoded bytes.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// The sender thread's name (the panic hook does not wait on itself).
pub(crate) const SENDER_THREAD: &str = "mplog-sender";
/// The sender thread's stack: it only moves bytes and writes.
const SENDER_STACK: usize = 256 * 1024;
/// Emptied chunk buffers kept for reuse.
const SPARE_BUFFERS: usize = 8;
/// How long `close` waits past its deadline for the sender's answer.
const CLOSE_GRACE: Duration = Duration::from_millis(100);
/// How soon the sender tries again for the open chunk when a caller holds it.
const RETRY: Duration = Duration::from_millis(1);
/// How often an idle sender looks for the acks of what it wrote: a listener restarted while
/// the worker is quiet gets the unacknowledged records again within this, not at the next
/// record.
const ACK_POLL: Duration = Duration::from_millis(100);

/// Encoded records, in the order they were logged.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    bytes: Vec<u8>,
    count: u64,
    /// Holds a WARNING or worse: write at once.
    urgent: bool,
}

/// What travels to the sender thread.
pub(crate) enum Msg {
    /// A closed chunk.
    Chunk(Chunk),
    /// The open chunk was empty and now is not: write it within the flush interval.
    Opened,
    /// Write everything, then answer.
    Flush(Sender<bool>),
    /// Write everything and wait for the listener's `Ack`, then answer.
    Sync(Sender<bool>),
    /// Write everything, say goodbye, answer, end; give up at the deadline (the caller's).
    Close(Sender<bool>, Instant),
}

/// How the sender thread batches and waits.
pub(crate) struct SenderConfig {
    pub(crate) capacity: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) batch_bytes: usize,
    pub(crate) drain_timeout: Duration,
}

/// The callers' side: the open chunk and the channel to the sender thread.
pub(crate) struct AsyncSink {
    tx: Sender<Msg>,
    open: Arc<Mutex<Chunk>>,
    chunk_records: u64,
    /// Records in chunks handed to the channel and not yet taken by the sender.
    queued: Arc<AtomicU64>,
    /// Emptied chunk buffers coming back from the sender: reusing them spares an allocation,
    /// a free on the other thread and fresh pages per chunk.
    spare: Receiver<Vec<u8>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set when close gives up: the sender stops waiting and counts what it holds.
    closing: Arc<AtomicBool>,
}

impl AsyncSink {
    /// Starts the sender thread on `link`.
    pub(crate) fn start(
        link: Link,
        config: &SenderConfig,
        closing: Arc<AtomicBool>,
    ) -> std::io::Result<AsyncSink> {
        // Small capacities (tests, tight memory) get small chunks, so the bound stays honest.
        let chunk_records = (config.capacity as u64 / 16).clamp(1, CHUNK_RECORDS);
        let chunks = (config.capacity as u64).div_ceil(chunk_records).max(1);
        let (tx, rx) = bounded(usize::try_from(chunks).unwrap_or(usize::MAX));
        let open = Arc::new(Mutex::new(Chunk::default()));
        let queued = Arc::new(AtomicU64::new(0));
        let (spare_tx, spare) = bounded(SPARE_BUFFERS);
        let sender = SenderThread {
            rx,
            open: open.clone(),
            queued: queued.clone(),
            spare: spare_tx,
            link,
            flush_interval: config.flush_interval,
            batch_bytes: config.batch_bytes,
            drain_timeout: config.drain_timeout,
            closing: closing.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(SENDER_THREAD.into())
            .stack_size(SENDER_STACK)
            .spawn(move || sender.run())?;
        Ok(AsyncSink {
            tx,
            open,
            chunk_records,
            queued,
            spare,
            thread: Mutex::new(Some(thread)),
            closing,
        })
    }

    /// Encodes `record` (with `prepared` as its message, see [`encode_record`]) into the open
    /// chunk. `Err(n)`: `n` records were dropped (the channel stayed full, or the sender ended).
    pub(crate) fn push(
        &self,
        record: &Record,
        prepared: Option<&str>,
        overflow: Overflow,
    ) -> Result<(), (u64, &'static str)> {
        let mut open = match overflow {
            Overflow::Drop => self.open.lock(),
            Overflow::Block { timeout } => {
                self.open.try_lock_for(timeout).ok_or((1, "queue full"))?
            }
        };
        let was_empty = open.count == 0;
        encode_record(record, prepared, &mut open.bytes);
        open.count += 1;
        open.urgent |= record.level >= Level::WARNING;
        if open.urgent || open.count >= self.chunk_records || open.bytes.len() >= CHUNK_BYTES {
            return self.close_chunk(open, overflow);
        }
        if was_empty {
            // Full channel: it holds chunks, and the sender looks here after taking them.
            let _ = self.tx.try_send(Msg::Opened);
        }
        Ok(())
    }

    /// Sends the open chunk, still under its lock (see the module docs on order).
    fn close_chunk(
        &self,
        mut open: MutexGuard<'_, Chunk>,
        overflow: Overflow,
    ) -> Result<(), (u64, &'static str)> {
        let bytes = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4));
        let chunk = std::mem::replace(
            &mut *open,
            Chunk {
                bytes,
                ..Chunk::default()
            },
        );
        let n = chunk.count;
        self.queued.fetch_add(n, Ordering::Relaxed);
        let sent = match overflow {
            Overflow::Drop => self.tx.try_send(Msg::Chunk(chunk)).map_err(|e| e.is_full()),
            Overflow::Block { timeout } => self
                .tx
                .send_timeout(Msg::Chunk(chunk), timeout)
                .map_err(|e| matches!(e, SendTimeoutError::Timeout(_))),
        };
        drop(open);
        sent.map_err(|full| {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            (n, if full { "queue full" } else { "handler closed" })
        })
    }

    /// Sends a control message and waits for its answer, both bounded by `timeout`.
    pub(crate) fn control(
        &self,
        make: impl FnOnce(Sender<bool>) -> Msg,
        timeout: Duration,
    ) -> Option<bool> {
        let (ack_tx, ack_rx) = bounded(1);
        self.tx.send_timeout(make(ack_tx), timeout).ok()?;
        ack_rx.recv_timeout(timeout).ok()
    }

    /// Drains, says goodbye and joins the sender, at most `timeout` (and a grace). When the
    /// sender is still held by an unreachable or silent listener then, it is told to give up
    /// (`closing`) and given a moment to count what it holds; if it still runs, returns the
    /// records that never reached it (the sender counts its own when it gets there).
    pub(crate) fn close(&self, timeout: Duration) -> Option<u64> {
        // The sender works to the same deadline and then counts what it could not deliver;
        // waiting a little past it lets that count land before `close` returns.
        let until = Instant::now() + timeout;
        let answered = self
            .control(|ack| Msg::Close(ack, until), timeout + CLOSE_GRACE)
            .is_some();
        let mut thread = self.thread.lock();
        if !answered {
            self.closing.store(true, Ordering::Release);
            // It looks at `closing` between two waits for the listener (at most
            // RECONNECT_MAX), then takes what is queued, counts it all and ends.
            let give_up = Instant::now() + super::link::RECONNECT_MAX + CLOSE_GRACE;
            while thread.as_ref().is_some_and(|t| !t.is_finished()) && Instant::now() < give_up {
                std::thread::sleep(RETRY);
            }
        }
        if thread.as_ref().is_some_and(JoinHandle::is_finished) {
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
            return None;
        }
        let open = self.open.try_lock().map_or(0, |c| c.count);
        Some(self.queued.load(Ordering::Relaxed) + open)
    }
}

/// The sender thread: takes chunks, batches them into frames on the link.
struct SenderThread {
    rx: Receiver<Msg>,
    spare: Sender<Vec<u8>>,
    open: Arc<Mutex<Chunk>>,
    queued: Arc<AtomicU64>,
    link: Link,
    flush_interval: Duration,
    batch_bytes: usize,
    drain_timeout: Duration,
    closing: Arc<AtomicBool>,
}

impl SenderThread {
    fn run(mut self) {
        let mut deadline: Option<Instant> = None;
        loop {
            let msg = match deadline {
                Some(d) => self.rx.recv_deadline(d),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Chunk(chunk)) => {
                    let urgent = chunk.urgent;
                    self.absorb(chunk);
                    deadline.get_or_insert_with(|| Instant::now() + self.flush_interval);
                    if urgent || self.link.batch_bytes() >= self.batch_bytes {
                        self.write(None);
                        deadline = self.next_deadline();
                    }
                }
                Ok(Msg::Opened) => {
                    deadline.get_or_insert_with(|| Instant::now() + self.flush_interval);
                }
                Ok(Msg::Flush(ack)) => {
                    let ok = self.collect(Instant::now() + self.drain_timeout)
                        && self.write(Some(self.drain_timeout));
                    deadline = self.next_deadline();
                    let _ = ack.send(ok);
                }
                Ok(Msg::Sync(ack)) => {
                    let ok = self.collect(Instant::now() + self.drain_timeout)
                        && self.link.sync(Instant::now() + self.drain_timeout);
                    deadline = self.next_deadline();
                    let _ = ack.send(ok);
                }
                Ok(Msg::Close(ack, until)) => {
                    self.collect(until);
                    // Past the deadline (close gave up on us): count, do not wait again.
                    let ok = !self.closing.load(Ordering::Acquire) && self.link.goodbye(until);
                    if !ok {
                        self.link.abandon();
                    }
                    let _ = ack.send(ok);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !self.take_open() {
                        deadline = Some(Instant::now() + RETRY);
                        continue;
                    }
                    self.write(None);
                    deadline = self.next_deadline();
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.take_open();
                    if !self.link.goodbye(Instant::now() + self.drain_timeout) {
                        self.link.abandon();
                    }
                    return;
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        // The open chunk counts too: its `Opened` may have been lost to a full channel.
        let open = self.open.try_lock().is_none_or(|c| c.count > 0);
        if open || self.link.has_pending() {
            return Some(Instant::now() + self.flush_interval);
        }
        self.link
            .has_unconfirmed()
            .then(|| Instant::now() + ACK_POLL)
    }

    fn absorb(&mut self, chunk: Chunk) {
        self.queued.fetch_sub(chunk.count, Ordering::Relaxed);
        self.link.push_encoded(&chunk.bytes, chunk.count);
        let mut bytes = chunk.bytes;
        if bytes.capacity() <= 2 * CHUNK_BYTES {
            bytes.clear();
            let _ = self.spare.try_send(bytes);
        }
    }

    /// Takes what the channel holds (control messages behind records are answered: the
    /// flush in progress covers them).
    fn drain_channel(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            self.take_msg(msg);
        }
    }

    fn take_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Chunk(chunk) => self.absorb(chunk),
            Msg::Opened => {}
            // A second close while the first drains is answered at once, as flush and sync.
            Msg::Flush(ack) | Msg::Sync(ack) | Msg::Close(ack, _) => {
                let _ = ack.send(true);
            }
        }
    }

    /// Takes the open chunk if no caller holds it, after everything sent before it.
    fn take_open(&mut self) -> bool {
        let lock = self.open.clone();
        let Some(mut open) = lock.try_lock() else {
            return false;
        };
        // Callers send only while holding the lock: the channel now holds every chunk
        // closed before this one.
        self.drain_channel();
        // Copied out under the lock (no write happens here), so the open chunk keeps its
        // buffer and its capacity.
        if open.count > 0 {
            self.link.push_encoded(&open.bytes, open.count);
            open.bytes.clear();
            open.count = 0;
            open.urgent = false;
        }
        true
    }

    /// Everything logged so far into the link (at most the drain timeout while a caller
    /// holds the open chunk, waiting for room the sender makes here).
    fn collect(&mut self, until: Instant) -> bool {
        loop {
            if self.take_open() {
                return true;
            }
            match self.rx.recv_timeout(RETRY) {
                Ok(msg) => self.take_msg(msg),
                Err(RecvTimeoutError::Disconnected) => return self.take_open(),
                Err(RecvTimeoutError::Timeout) if Instant::now() >= until => return false,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.link.batch_bytes() >= self.batch_bytes {
                self.write(None);
            }
        }
    }

    /// Writes the batch. Without `wait`, one connection attempt (honouring the backoff); while
    /// the listener stays unreachable and too much waits, it stops taking records (so the
    /// channel fills and the overflow policy applies) until it reconnects or close gives up.
    fn write(&mut self, wait: Option<Duration>) -> bool {
        let until = wait.map(|w| Instant::now() + w);
        if self.link.flush(until) {
            return true;
        }
        while self.link.pending_bytes() >= self.batch_bytes && wait.is_none() {
            if self.closing.load(Ordering::Acquire) {
                self.link.abandon();
                return false;
            }
            if self
                .link
                .flush(Some(Instant::now() + super::link::RECONNECT_MAX))
            {
                return true;
            }
        }
        false
    }
}
