//! The worker's end of one listener link: connection, reconnect backoff, the batch being
//! filled, and the frames kept until the listener confirms them. Used by the sender thread
//! (async delivery) or under the handler's mutex (sync delivery); never shared between the two.
//!
//! # At least once
//! Every sealed frame stays in the link until an `Ack` of the listener covers it (the listener
//! acknowledges what its handlers wrote and flushed, see the [`wire`](super::wire) docs). When
//! a connection breaks (the listener was killed, or restarted), every frame not yet covered is
//! sent again, first and in order, after the hello on the next connection. So a listener
//! killed at any moment loses nothing a worker still holds, and the restarted listener may
//! receive again what the killed one wrote but had not yet acknowledged: at most the window.
//!
//! # Bounds
//! - **The window** (`window`, [`DEFAULT_WINDOW`](super::handler::DEFAULT_WINDOW)): bytes of
//!   record frames written but not yet confirmed. Once it is reached the link waits for acks
//!   before it writes another record frame (the sender thread then stops taking records and
//!   the callers' overflow policy applies), so a listener that is alive but slow pushes back,
//!   and what a restarted listener receives twice is bounded by it (plus the one frame that
//!   crossed it). Control frames (`Report`, `Sync`) do not count: the listener does not
//!   acknowledge a `Report` on its own, and it must never hold back a record frame.
//! - Writes never block on the socket: when it is full the link waits for room or acks,
//!   a moment at a time ([`SEND_POLL`]), until the caller's deadline. A slow listener is not a
//!   dead one: its connection is kept (dropping it would make it receive everything
//!   unacknowledged twice).
//! - **`max_pending`**: bytes kept in all while the listener is unreachable. Beyond it the
//!   oldest frames are given up: their records are counted as dropped (the handler's stats say
//!   so) and the count reaches the listener in a `Report` frame once it is back, where it is
//!   logged naming the worker. Records given up after they were written may be in the killed
//!   listener's file; nothing confirmed them, so they count as dropped all the same.
//! - A frame whose connection ends without any ack [`MAX_DELIVERY_ATTEMPTS`] times in a row is
//!   given up (counted): a frame the listener refuses (one beyond its `max_frame`) must not
//!   hold back everything behind it forever.
//!
//! A write cut part-way leaves the listener a truncated frame, which it discards: the whole
//! frame is sent again. Kept frames live in one reused buffer, compacted now and then: keeping
//! them costs no allocation per record.

use std::collections::VecDeque;
use std::io;
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
/// Connections in a row that may end with the oldest kept frame written and nothing
/// acknowledged before that frame is given up (counted as dropped).
pub const MAX_DELIVERY_ATTEMPTS: u32 = 8;

/// Longest single wait of a write that found the socket full, or the window, before it looks
/// again (it wakes at once when room or an ack comes).
pub const SEND_POLL: Duration = Duration::from_millis(5);

/// Frames written between two looks at the listener's replies: keeps the acks waiting in the
/// socket few, so the listener never finds this worker's socket full.
const READ_REPLIES_EVERY: u32 = 64;
/// Largest frame a worker accepts from its listener (only `Ack`s come that way).
const MAX_REPLY: usize = 64;
/// Confirmed bytes at the front of the buffer are reclaimed once they are at least this many
/// and at least as many as the kept bytes behind them (each byte moved once, on average).
const COMPACT_MIN: usize = 64 * 1024;

/// Counters shared by a handler and its link.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

/// One kept frame: where it ends in the buffer, how many records it holds.
#[derive(Debug, Clone, Copy)]
struct Kept {
    end: usize,
    records: u64,
}

pub(crate) struct Link {
    transport: Box<dyn Transport>,
    hello: Hello,
    conn: Option<Box<dyn Connection>>,
    backoff: Duration,
    next_attempt: Instant,
    batch: RecordBatch,
    /// The kept frames are `out[head..]`: first those written to the current connection and
    /// not yet confirmed (`..written`), then those waiting to be written.
    out: Vec<u8>,
    head: usize,
    written: usize,
    /// The kept frames, oldest first (`end` is an offset in `out`).
    frames: VecDeque<Kept>,
    /// Leading kept frames written whole to the current connection.
    written_frames: usize,
    /// Frames of the current connection its listener acknowledged (its last `Ack`).
    confirmed: u64,
    /// Bytes of the record frames written whole to the current connection and not yet
    /// acknowledged (what the window bounds).
    in_flight: usize,
    /// Leading kept frames already counted in `sent` (a frame written again is not recounted).
    counted: usize,
    /// Frames confirmed or given up since the link began: kept frame `i` is number
    /// `retired + i + 1`.
    retired: u64,
    /// Frames given up (not confirmed) since the link began.
    given_up: u64,
    /// Connections in a row that ended with the oldest frame written and no ack.
    failed_attempts: u32,
    /// Frames written since the replies were last read.
    unread: u32,
    /// A reply read in part.
    reply: [u8; PREFIX_LEN + MAX_REPLY],
    reply_len: usize,
    counters: Arc<Counters>,
    reported_dropped: u64,
    seq: u64,
    window: usize,
    max_pending: usize,
}

impl Link {
    /// A link keeping at most `window` bytes written but unconfirmed, and `max_pending` bytes
    /// in all while the listener is unreachable.
    pub(crate) fn new(
        transport: Box<dyn Transport>,
        hello: Hello,
        counters: Arc<Counters>,
        window: usize,
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
            head: 0,
            written: 0,
            frames: VecDeque::new(),
            written_frames: 0,
            confirmed: 0,
            in_flight: 0,
            counted: 0,
            retired: 0,
            given_up: 0,
            failed_attempts: 0,
            unread: 0,
            reply: [0; PREFIX_LEN + MAX_REPLY],
            reply_len: 0,
            counters,
            reported_dropped: 0,
            seq: 0,
            window: window.min(max_pending).max(1),
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
        !self.batch.is_empty() || self.written < self.out.len()
    }

    /// Whether frames wait for the listener's ack (written or not).
    pub(crate) fn has_unconfirmed(&self) -> bool {
        !self.frames.is_empty()
    }

    /// Bytes sealed and not yet written to the current connection.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.out.len() - self.written
    }

    /// Whether more than `max_pending` bytes are kept (written or not), the open batch
    /// included: the caller of a sync-delivery handler then waits for room, or drops.
    fn is_full(&self) -> bool {
        self.out.len() - self.head + self.batch.bytes() > self.max_pending
    }

    /// Waits until `max_pending` leaves room for more, writing and taking acks meanwhile, at
    /// most until `until` (without it, not at all). `false`: still full.
    pub(crate) fn make_room(&mut self, until: Option<Instant>) -> bool {
        loop {
            if !self.is_full() {
                return true;
            }
            let written = self.flush(until);
            if !self.is_full() {
                return true;
            }
            let now = Instant::now();
            match until {
                Some(until) if now < until => {
                    if written {
                        self.read_replies(Some(until.min(now + SEND_POLL)));
                    }
                }
                _ => return false,
            }
        }
    }

    /// Where kept frame `i` starts in `out`.
    fn frame_start(&self, i: usize) -> usize {
        match i {
            0 => self.head,
            _ => self.frames[i - 1].end,
        }
    }

    fn seal(&mut self) {
        if !self.batch.is_empty() {
            let n = self.batch.seal_into(&mut self.out);
            self.frames.push_back(Kept {
                end: self.out.len(),
                records: n as u64,
            });
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
            self.frames.push_back(Kept {
                end: self.out.len(),
                records: 0,
            });
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
                        // The backoff is reset by the first ack, not here: a listener that
                        // accepts and closes at once must not be hammered.
                        self.conn = Some(conn);
                        return true;
                    }
                }
                self.retry_later(now);
            }
            match until {
                Some(until) if now < until => {
                    std::thread::sleep(self.next_attempt.min(until).saturating_duration_since(now));
                }
                _ => return false,
            }
        }
    }

    fn retry_later(&mut self, now: Instant) {
        self.next_attempt = now + self.backoff;
        self.backoff = (self.backoff * 2).min(RECONNECT_MAX);
    }

    /// Drops the connection: every kept frame is written again on the next one.
    fn disconnect(&mut self) {
        if self.conn.take().is_none() {
            return;
        }
        let refused = self.written_frames > 0 && self.confirmed == 0;
        self.written = self.head;
        self.written_frames = 0;
        self.confirmed = 0;
        self.in_flight = 0;
        self.unread = 0;
        self.reply_len = 0;
        self.retry_later(Instant::now());
        if refused {
            self.failed_attempts += 1;
            if self.failed_attempts >= MAX_DELIVERY_ATTEMPTS {
                self.failed_attempts = 0;
                self.give_up_oldest();
            }
        }
    }

    /// Seals the batch and writes the kept frames not yet written to the current connection,
    /// as far as the window allows. Returns whether all were written (they wait for their
    /// ack). Without `until`: one connection attempt (honouring the backoff), no wait; with
    /// it, retries, waits for room (the socket's, the window's) until then.
    pub(crate) fn flush(&mut self, until: Option<Instant>) -> bool {
        self.seal();
        if self.written == self.out.len() && self.written > self.head {
            // Nothing new to write, some unconfirmed: take the acks, and notice a listener
            // that went away (so its frames go to the next one now, not at the next record).
            self.read_replies(None);
        }
        while self.written < self.out.len() {
            if !self.connect(until) {
                self.trim_pending();
                return false;
            }
            if self.unread >= READ_REPLIES_EVERY || self.in_flight >= self.window / 2 {
                self.read_replies(None);
            }
            let limit = self.write_limit();
            let Some(conn) = self.conn.as_mut() else {
                continue; // lost while reading: reconnect and write everything again
            };
            let sent = match limit > self.written {
                true => conn.try_send(&self.out[self.written..limit]),
                false => Err(io::ErrorKind::WouldBlock.into()), // the window is full
            };
            match sent {
                Ok(n) if n > 0 => self.wrote(self.written + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The listener is slow, not gone: wait for room (the socket's, or the
                    // window's: its acks), a moment at a time, then again.
                    let now = Instant::now();
                    let Some(until) = until.filter(|&u| now < u) else {
                        return false;
                    };
                    let moment = until.min(now + SEND_POLL);
                    if limit == self.written {
                        self.read_replies(Some(moment));
                    } else if conn.wait(moment - now).is_ok() {
                        self.read_replies(None);
                    } else {
                        self.disconnect();
                    }
                }
                _ => {
                    // Acks the listener sent before it went are still there to read.
                    self.read_replies(None);
                    self.disconnect();
                }
            }
        }
        true
    }

    /// Where the next write ends: whole frames (the one begun first, whatever the window),
    /// then record frames while the window is not reached, control frames always.
    fn write_limit(&self) -> usize {
        let mut limit = self.written;
        let mut flight = self.in_flight;
        for i in self.written_frames..self.frames.len() {
            let k = self.frames[i];
            let start = self.frame_start(i);
            if k.records > 0 && start >= self.written {
                if flight >= self.window {
                    break;
                }
                flight += k.end - start;
            }
            limit = k.end;
        }
        limit
    }

    /// Records that `out[..to]` reached the current connection.
    fn wrote(&mut self, to: usize) {
        self.written = to;
        while let Some(&k) = self.frames.get(self.written_frames) {
            if k.end > to {
                break;
            }
            if self.written_frames >= self.counted {
                self.counters.sent.fetch_add(k.records, Ordering::Relaxed);
                self.counted = self.written_frames + 1;
            }
            if k.records > 0 {
                self.in_flight += k.end - self.frame_start(self.written_frames);
            }
            self.written_frames += 1;
            self.unread += 1;
        }
    }

    /// Reads the listener's replies: what is there now (`wait` is `None`), or until an ack
    /// moves or `wait` passes. Returns whether an ack moved. A connection that ends or sends
    /// anything but acks is dropped (its frames are written again on the next one).
    fn read_replies(&mut self, wait: Option<Instant>) -> bool {
        self.unread = 0;
        let mut moved = false;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return moved;
            };
            let buf = &mut self.reply[self.reply_len..];
            let got = match wait {
                Some(until) if !moved => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return moved;
                    }
                    conn.recv(buf, left)
                }
                _ => conn.try_recv(buf),
            };
            match got {
                Ok(0) => {
                    self.disconnect();
                    return moved;
                }
                Ok(n) => {
                    self.reply_len += n;
                    match self.take_acks() {
                        Ok(m) => moved |= m,
                        Err(()) => {
                            self.disconnect();
                            return moved;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if wait.is_none() || moved {
                        return moved;
                    }
                }
                Err(_) => {
                    self.disconnect();
                    return moved;
                }
            }
        }
    }

    /// Applies the complete acks in the reply buffer. `Err`: not an ack, or an ack covering
    /// frames never written (not our listener's, or a broken one).
    fn take_acks(&mut self) -> Result<bool, ()> {
        let mut at = 0;
        let mut moved = false;
        while self.reply_len - at >= PREFIX_LEN {
            let mut prefix = [0u8; PREFIX_LEN];
            prefix.copy_from_slice(&self.reply[at..at + PREFIX_LEN]);
            let len = u32::from_le_bytes(prefix) as usize;
            if len > MAX_REPLY {
                return Err(());
            }
            if self.reply_len - at < PREFIX_LEN + len {
                break;
            }
            let body = &self.reply[at + PREFIX_LEN..at + PREFIX_LEN + len];
            let frame: Frame = postcard::from_bytes(body).map_err(|_| ())?;
            at += PREFIX_LEN + len;
            match frame {
                Frame::Ack { frames } => moved |= self.confirm(frames)?,
                _ => return Err(()),
            }
        }
        self.reply.copy_within(at..self.reply_len, 0);
        self.reply_len -= at;
        Ok(moved)
    }

    /// The listener covered the first `frames` frames of this connection: forget them.
    fn confirm(&mut self, frames: u64) -> Result<bool, ()> {
        if frames <= self.confirmed {
            return Ok(false);
        }
        let n = usize::try_from(frames - self.confirmed).map_err(|_| ())?;
        if n > self.written_frames {
            return Err(());
        }
        let acked: usize = (0..n)
            .filter(|&i| self.frames[i].records > 0)
            .map(|i| self.frames[i].end - self.frame_start(i))
            .sum();
        self.in_flight -= acked;
        self.head = self.frames[n - 1].end;
        self.frames.drain(..n);
        self.written_frames -= n;
        self.counted = self.counted.saturating_sub(n);
        self.retired += n as u64;
        self.confirmed = frames;
        self.failed_attempts = 0;
        self.backoff = RECONNECT_MIN;
        self.compact();
        Ok(true)
    }

    /// Moves the kept bytes to the front of the buffer when the space before them is worth it.
    fn compact(&mut self) {
        if self.head == self.out.len() {
            self.out.clear();
        } else if self.head >= COMPACT_MIN && self.head >= self.out.len() - self.head {
            self.out.copy_within(self.head.., 0);
            self.out.truncate(self.out.len() - self.head);
        } else {
            return;
        }
        let shift = self.head;
        for k in &mut self.frames {
            k.end -= shift;
        }
        self.written -= shift;
        self.head = 0;
    }

    /// Gives up the oldest kept frame (the connection is down): counted as dropped.
    fn give_up_oldest(&mut self) -> bool {
        let start = self.head;
        let Some(k) = self.frames.pop_front() else {
            return false;
        };
        if self.written_frames > 0 && k.records > 0 {
            self.in_flight -= k.end - start;
        }
        self.counters
            .dropped
            .fetch_add(k.records, Ordering::Relaxed);
        self.head = k.end;
        self.written = self.written.max(self.head);
        self.written_frames = self.written_frames.saturating_sub(1);
        self.counted = self.counted.saturating_sub(1);
        self.retired += 1;
        self.given_up += 1;
        true
    }

    /// Gives up the oldest frames while more than `max_pending` bytes are kept (counted).
    fn trim_pending(&mut self) {
        while self.out.len() - self.head > self.max_pending && self.give_up_oldest() {}
        self.compact();
    }

    /// Gives up everything kept (counted), when giving up at exit.
    pub(crate) fn abandon(&mut self) {
        self.seal();
        while self.give_up_oldest() {}
        self.compact();
    }

    /// Writes everything, then `Sync`, and waits for the listener's ack of it: on `true`
    /// every record before was handled and flushed by the listener, none given up.
    pub(crate) fn sync(&mut self, until: Instant) -> bool {
        self.seq += 1;
        let seq = self.seq;
        self.seal();
        self.push_control(&Frame::Sync { seq });
        let given_up = self.given_up;
        self.settle(until) && self.given_up == given_up
    }

    /// Writes until every kept frame is acknowledged (reconnecting and writing again as
    /// needed), at most until `until`.
    fn settle(&mut self, until: Instant) -> bool {
        let target = self.retired + self.frames.len() as u64;
        loop {
            if self.retired >= target {
                return true;
            }
            if !self.flush(Some(until)) {
                return false;
            }
            if self.retired < target && !self.read_replies(Some(until)) && self.conn.is_some() {
                return false; // the deadline passed
            }
        }
    }

    /// Syncs (everything acknowledged), then says goodbye, at most until `until`. `false`: the
    /// listener did not acknowledge everything in time (what is kept is the caller's to give
    /// up).
    pub(crate) fn goodbye(&mut self, until: Instant) -> bool {
        if !self.sync(until) {
            self.conn = None;
            return false;
        }
        let sent = self.counters.sent.load(Ordering::Relaxed);
        let dropped = self.counters.dropped.load(Ordering::Relaxed);
        self.reported_dropped = dropped;
        self.push_control(&Frame::Goodbye { sent, dropped });
        // Not acknowledged (the sync was): closing right after it leaves no reply unread.
        self.flush(Some(until));
        self.conn = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::level::Level;
    use crate::queue::wire::FrameReader;

    /// What the fake listener side holds: the bytes of each connection, and whether the
    /// current one is open.
    #[derive(Default)]
    struct Wire {
        connections: Vec<Vec<u8>>,
        /// Replies waiting for the worker on the current connection.
        replies: Vec<u8>,
        open: bool,
        /// Refuse connections (the listener is down).
        down: bool,
    }

    #[derive(Debug, Clone, Default)]
    struct FakeTransport(Arc<Mutex<WireBox>>);

    #[derive(Default)]
    struct WireBox(Wire);

    impl std::fmt::Debug for WireBox {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wire")
        }
    }

    struct FakeConn(Arc<Mutex<WireBox>>, usize);

    impl Connection for FakeConn {
        fn send(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut w = self.0.lock().unwrap();
            if !w.0.open || w.0.connections.len() != self.1 + 1 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            w.0.connections[self.1].extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
            self.try_recv(buf).map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
                _ => e,
            })
        }
        fn try_send(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.send(bytes)
        }
        fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut w = self.0.lock().unwrap();
            if w.0.connections.len() != self.1 + 1 {
                return Ok(0);
            }
            if w.0.replies.is_empty() {
                // Like a socket: what the peer sent before it closed is read first.
                return match w.0.open {
                    true => Err(io::ErrorKind::WouldBlock.into()),
                    false => Ok(0),
                };
            }
            let n = buf.len().min(w.0.replies.len());
            buf[..n].copy_from_slice(&w.0.replies[..n]);
            w.0.replies.drain(..n);
            Ok(n)
        }
        fn wait(&self, _: Duration) -> io::Result<()> {
            Ok(())
        }
        fn try_clone(&self) -> io::Result<Box<dyn Connection>> {
            Ok(Box::new(FakeConn(self.0.clone(), self.1)))
        }
    }

    impl Transport for FakeTransport {
        fn connect(&self) -> io::Result<Box<dyn Connection>> {
            let mut w = self.0.lock().unwrap();
            if w.0.down {
                return Err(io::ErrorKind::ConnectionRefused.into());
            }
            w.0.connections.push(Vec::new());
            w.0.replies.clear();
            w.0.open = true;
            Ok(Box::new(FakeConn(
                self.0.clone(),
                w.0.connections.len() - 1,
            )))
        }
        fn endpoint(&self) -> String {
            "fake".into()
        }
    }

    impl FakeTransport {
        fn with<T>(&self, f: impl FnOnce(&mut Wire) -> T) -> T {
            f(&mut self.0.lock().unwrap().0)
        }

        /// The listener acknowledges the first `frames` frames of the current connection.
        fn ack(&self, frames: u64) {
            self.with(|w| encode_frame(&Frame::Ack { frames }, &mut w.replies).unwrap());
        }

        /// The messages of the numbered records on connection `c` (hello skipped).
        fn records(&self, c: usize) -> Vec<String> {
            let bytes = self.with(|w| w.connections[c].clone());
            let mut reader = FrameReader::new(&bytes[..]);
            reader.read_hello().unwrap();
            let mut out = Vec::new();
            while let Ok(Some(frame)) = reader.next_frame() {
                if let Frame::Records(v) = frame {
                    out.extend(v.into_iter().map(|r| r.message.into_owned()));
                }
            }
            out
        }

        /// The listener is killed: the connection ends.
        fn kill(&self) {
            self.with(|w| w.open = false);
        }
    }

    fn link(t: &FakeTransport, window: usize, max_pending: usize) -> (Link, Arc<Counters>) {
        let counters = Arc::<Counters>::default();
        let link = Link::new(
            Box::new(t.clone()),
            Hello::this_process(),
            counters.clone(),
            window,
            max_pending,
        );
        (link, counters)
    }

    fn log(link: &mut Link, from: usize, to: usize) {
        for i in from..to {
            link.push(&Record::new("a", Level::INFO, format!("r{i}")), None);
            assert!(link.flush(None));
        }
    }

    fn names(from: usize, to: usize) -> Vec<String> {
        (from..to).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn unacknowledged_frames_are_sent_again_after_a_reconnect() {
        let t = FakeTransport::default();
        let (mut link, counters) = link(&t, 1 << 20, 4 << 20);
        log(&mut link, 0, 5);
        t.ack(3); // the listener wrote r0..r2, then was killed
        t.kill();
        t.with(|w| w.down = true);
        link.push(&Record::new("a", Level::INFO, "r5"), None);
        assert!(!link.flush(None)); // unreachable: kept
        t.with(|w| w.down = false);
        link.next_attempt = Instant::now();
        assert!(link.flush(None));
        assert_eq!(t.records(0), names(0, 5));
        // The ack of r0..r2 was read before the connection was found closed: only r3.. again.
        assert_eq!(t.records(1), names(3, 6));
        assert_eq!(counters.sent.load(Ordering::Relaxed), 6); // each counted once
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_window_holds_writes_until_acks_come() {
        let t = FakeTransport::default();
        let one = {
            let mut b = RecordBatch::default();
            b.push(&Record::new("a", Level::INFO, "r0"));
            let mut out = Vec::new();
            b.seal_into(&mut out);
            out.len()
        };
        let (mut link, _) = link(&t, 3 * one, 4 << 20);
        for i in 0..5 {
            link.push(&Record::new("a", Level::INFO, format!("r{i}")), None);
            link.flush(None);
        }
        assert_eq!(t.records(0), names(0, 3)); // the window: three frames in flight
        assert!(!link.flush(None));
        t.ack(2);
        assert!(link.flush(None));
        assert_eq!(t.records(0), names(0, 5));
    }

    #[test]
    fn beyond_max_pending_the_oldest_are_given_up_and_counted() {
        let t = FakeTransport::default();
        t.with(|w| w.down = true);
        let (mut link, counters) = link(&t, 300, 300);
        for i in 0..20 {
            link.push(&Record::new("a", Level::INFO, format!("r{i}")), None);
            assert!(!link.flush(None));
        }
        let dropped = counters.dropped.load(Ordering::Relaxed);
        assert!(dropped > 0 && dropped < 20, "{dropped}");
        t.with(|w| w.down = false);
        link.next_attempt = Instant::now();
        if !link.flush(None) {
            // The window (= max_pending here) is full: the listener acknowledges.
            t.ack(link.written_frames as u64);
            assert!(link.flush(None));
        }
        // The newest survive, in order, then a Report of the drops.
        let got = t.records(0);
        assert_eq!(got, names(dropped as usize, 20));
        let bytes = t.with(|w| w.connections[0].clone());
        let mut reader = FrameReader::new(&bytes[..]);
        reader.read_hello().unwrap();
        let reported = std::iter::from_fn(|| reader.next_frame().ok().flatten())
            .any(|f| f == Frame::Report { sent: 0, dropped });
        assert!(reported);
    }

    #[test]
    fn a_frame_the_listener_keeps_refusing_is_given_up() {
        let t = FakeTransport::default();
        let (mut link, counters) = link(&t, 1 << 20, 4 << 20);
        log(&mut link, 0, 1);
        for attempt in 1..=MAX_DELIVERY_ATTEMPTS {
            t.kill(); // closed without an ack, every time
            for _ in 0..2 {
                // The first finds the connection closed, the second reconnects and writes.
                link.next_attempt = Instant::now();
                link.flush(None);
            }
            let expect = u64::from(attempt == MAX_DELIVERY_ATTEMPTS);
            assert_eq!(counters.dropped.load(Ordering::Relaxed), expect);
        }
        // Given up: only its drop report is left to send.
        assert!(link.frames.iter().all(|k| k.records == 0));
        assert_eq!(t.records(MAX_DELIVERY_ATTEMPTS as usize - 1), names(0, 1));
    }

    #[test]
    fn an_ack_for_frames_never_written_drops_the_connection() {
        let t = FakeTransport::default();
        let (mut link, _) = link(&t, 1 << 20, 4 << 20);
        log(&mut link, 0, 2);
        t.ack(7);
        link.read_replies(None);
        assert!(link.conn.is_none());
        assert_eq!(link.frames.len(), 2); // kept, for the next connection
    }
}
