//! The worker's end of one listener link: connection, reconnect backoff, the batch being
//! filled and the frames waiting to be written. Used by the sender thread (async delivery) or
//! under the handler's mutex (sync delivery); never shared between the two.
//!
//! Frames are written whole or resent whole: when a write fails part-way, every frame that was
//! completely handed to the old connection counts as sent, and the rest (the torn frame
//! included, which the listener discards as truncated) is sent again after the hello on the
//! next connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::transport::{Connection, Transport};
use super::wire::{encode_frame, Frame, Hello, RecordBatch, PREFIX_LEN};
use crate::record::Record;

/// First wait between reconnect attempts; doubles up to [`RECONNECT_MAX`].
pub const RECONNECT_MIN: Duration = Duration::from_millis(10);
/// Longest wait between reconnect attempts (a restarted listener is found within this).
pub const RECONNECT_MAX: Duration = Duration::from_secs(1);

/// Counters shared by a handler and its link.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

pub(crate) struct Link {
    transport: Box<dyn Transport>,
    hello: Hello,
    conn: Option<Box<dyn Connection>>,
    backoff: Duration,
    next_attempt: Instant,
    batch: RecordBatch,
    /// Sealed frames not yet written.
    out: Vec<u8>,
    /// (end offset in `out`, records in that frame), oldest first.
    frames: VecDeque<(usize, u64)>,
    counters: Arc<Counters>,
    reported_dropped: u64,
    seq: u64,
    /// Bytes kept while the listener is unreachable; beyond it the oldest frames are dropped.
    max_pending: usize,
}

impl Link {
    pub(crate) fn new(
        transport: Box<dyn Transport>,
        hello: Hello,
        counters: Arc<Counters>,
        max_pending: usize,
    ) -> Link {
        Link {
            transport,
            hello,
            conn: None,
            backoff: RECONNECT_MIN,
            next_attempt: Instant::now(),
            batch: RecordBatch::default(),
            out: Vec::new(),
            frames: VecDeque::new(),
            counters,
            reported_dropped: 0,
            seq: 0,
            max_pending,
        }
    }

    /// Encodes a record into the open batch.
    pub(crate) fn push(&mut self, record: &Record, prepared: Option<&str>) {
        self.batch.push_prepared(record, prepared);
    }

    /// Appends records encoded by the handler's callers to the open batch.
    pub(crate) fn push_encoded(&mut self, bytes: &[u8], count: u64) {
        self.batch.push_encoded(bytes, count);
    }

    /// Bytes in the open batch.
    pub(crate) fn batch_bytes(&self) -> usize {
        self.batch.bytes()
    }

    /// Whether anything waits to be written.
    pub(crate) fn has_pending(&self) -> bool {
        !self.batch.is_empty() || !self.out.is_empty()
    }

    /// Bytes sealed and waiting for a connection.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.out.len()
    }

    fn seal(&mut self) {
        if !self.batch.is_empty() {
            let n = self.batch.seal_into(&mut self.out);
            self.frames.push_back((self.out.len(), n as u64));
        }
        let dropped = self.counters.dropped.load(Ordering::Relaxed);
        if dropped != self.reported_dropped {
            self.reported_dropped = dropped;
            let sent = self.counters.sent.load(Ordering::Relaxed);
            self.push_control(&Frame::Report { sent, dropped });
        }
    }

    fn push_control(&mut self, frame: &Frame) {
        if encode_frame(frame, &mut self.out).is_ok() {
            self.frames.push_back((self.out.len(), 0));
        }
    }

    /// Connects (with the hello) unless connected; honours the backoff unless `until` allows
    /// waiting, in which case it retries until then.
    fn connect(&mut self, until: Option<Instant>) -> bool {
        loop {
            if self.conn.is_some() {
                return true;
            }
            let now = Instant::now();
            if now >= self.next_attempt {
                if let Ok(mut conn) = self.transport.connect() {
                    let mut hello = Vec::new();
                    if encode_frame(&self.hello, &mut hello).is_ok()
                        && conn.send_all(&hello).is_ok()
                    {
                        self.conn = Some(conn);
                        self.backoff = RECONNECT_MIN;
                        return true;
                    }
                }
                self.next_attempt = now + self.backoff;
                self.backoff = (self.backoff * 2).min(RECONNECT_MAX);
            }
            match until {
                Some(until) if now < until => {
                    std::thread::sleep(self.next_attempt.min(until).saturating_duration_since(now));
                }
                _ => return false,
            }
        }
    }

    /// Seals the batch and writes every waiting frame. Returns whether all was written.
    pub(crate) fn flush(&mut self, until: Option<Instant>) -> bool {
        self.seal();
        while !self.out.is_empty() {
            if !self.connect(until) {
                self.trim_pending();
                return false;
            }
            let Some(conn) = self.conn.as_mut() else {
                return false;
            };
            match conn.send_all(&self.out) {
                Ok(()) => {
                    let records: u64 = self.frames.drain(..).map(|(_, n)| n).sum();
                    self.counters.sent.fetch_add(records, Ordering::Relaxed);
                    self.out.clear();
                }
                Err((written, _)) => {
                    self.conn = None;
                    self.consume_written(written);
                }
            }
        }
        true
    }

    /// Forgets the frames wholly written before a failure; the rest is resent.
    fn consume_written(&mut self, written: usize) {
        let mut cut = 0;
        let mut records = 0;
        while let Some(&(end, n)) = self.frames.front() {
            if end > written {
                break;
            }
            cut = end;
            records += n;
            self.frames.pop_front();
        }
        self.counters.sent.fetch_add(records, Ordering::Relaxed);
        self.out.drain(..cut);
        for f in &mut self.frames {
            f.0 -= cut;
        }
    }

    /// Drops the oldest frames while more than `max_pending` bytes wait (counted).
    fn trim_pending(&mut self) {
        while self.out.len() > self.max_pending {
            let Some((end, n)) = self.frames.pop_front() else {
                break;
            };
            self.counters.dropped.fetch_add(n, Ordering::Relaxed);
            self.out.drain(..end);
            for f in &mut self.frames {
                f.0 -= end;
            }
        }
    }

    /// Drops everything waiting (counted), when giving up at exit.
    pub(crate) fn abandon(&mut self) {
        self.seal();
        let n: u64 = self.frames.drain(..).map(|(_, n)| n).sum();
        self.counters.dropped.fetch_add(n, Ordering::Relaxed);
        self.out.clear();
    }

    /// Writes everything, then `Sync` and waits for the listener's `Ack`: on `true` every
    /// record before was handled and flushed by the listener.
    pub(crate) fn sync(&mut self, until: Instant) -> bool {
        self.seq += 1;
        let seq = self.seq;
        self.seal();
        self.push_control(&Frame::Sync { seq });
        if !self.flush(Some(until)) {
            return false;
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        match read_ack(conn.as_mut(), until) {
            Some(got) if got >= seq => true,
            _ => {
                self.conn = None;
                false
            }
        }
    }

    /// Flushes and says goodbye, waiting at most until `until`.
    pub(crate) fn goodbye(&mut self, until: Instant) -> bool {
        self.seal();
        let sent = self.counters.sent.load(Ordering::Relaxed)
            + self.frames.iter().map(|(_, n)| n).sum::<u64>();
        let dropped = self.counters.dropped.load(Ordering::Relaxed);
        self.reported_dropped = dropped;
        self.push_control(&Frame::Goodbye { sent, dropped });
        let ok = self.flush(Some(until));
        self.conn = None;
        ok
    }
}

/// Largest frame a worker accepts from its listener (only `Ack`s come that way).
const MAX_REPLY: usize = 64;

/// Reads frames until an `Ack`; returns its number.
fn read_ack(conn: &mut dyn Connection, until: Instant) -> Option<u64> {
    let mut buf = [0u8; PREFIX_LEN + MAX_REPLY];
    let mut have = 0;
    loop {
        while have >= PREFIX_LEN {
            let mut prefix = [0u8; PREFIX_LEN];
            prefix.copy_from_slice(&buf[..PREFIX_LEN]);
            let len = u32::from_le_bytes(prefix) as usize;
            if len > MAX_REPLY {
                return None;
            }
            if have < PREFIX_LEN + len {
                break;
            }
            let frame: Frame = postcard::from_bytes(&buf[PREFIX_LEN..PREFIX_LEN + len]).ok()?;
            buf.copy_within(PREFIX_LEN + len..have, 0);
            have -= PREFIX_LEN + len;
            if let Frame::Ack { seq } = frame {
                return Some(seq);
            }
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        match conn.recv(&mut buf[have..], left) {
            Ok(0) => return None,
            Ok(n) => have += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}
