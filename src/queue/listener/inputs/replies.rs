//! The socket input's replies: every connection's acknowledgements, written by one thread that
//! never waits on a peer.
//!
//! Once the handlers flushed a connection's frames, the dispatch thread calls
//! [`Reply::confirm`](Acknowledge::confirm): it raises the connection's count and queues the
//! connection here, once however many frames it confirms before this thread gets to it (so the
//! queue holds at most one entry per connection, and the dispatch thread never blocks). This
//! thread writes one `Ack` with the newest count, without waiting (`try_send`).
//!
//! Acks are cumulative, so they are rationed: at most one per connection every [`ACK_DELAY`],
//! the newest count replacing older ones meanwhile, except the answer to a `Sync`, which goes at
//! once. A worker logging one record per frame (sync delivery) would otherwise cost the
//! listener an ack, a wake-up and a system call per handful of records; the delay is far
//! shorter than what a worker's window takes to fill.
//!
//! A peer that does not read finds its socket full: its ack waits here (one small frame per
//! connection) and is tried again every [`RETRY`]. If it stays unwritten for the reply timeout
//! ([`DEFAULT_REPLY_TIMEOUT`]), the connection is marked stalled: its reader closes it and logs
//! why. A peer, whatever it does, costs the others one non-blocking `send`.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use crate::queue::listener::peer::Acknowledge;
use crate::queue::transport::Connection;
use crate::queue::wire::{encode_frame, Frame};

/// How long a peer may leave its acknowledgements unread (its socket full) before its
/// connection is closed.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often acks that did not fit are tried again.
pub const RETRY: Duration = Duration::from_millis(10);
/// Least time between two acks of one connection, unless the later answers a `Sync`.
pub const ACK_DELAY: Duration = Duration::from_millis(2);

enum Msg {
    /// A connection's count moved.
    Confirmed(Arc<Reply>),
    /// Write what is queued, try the waiting ones once more, end.
    Stop,
}

/// One connection's acknowledgements.
pub(crate) struct Reply {
    /// Frames of the connection handled and flushed (raised by the dispatch thread).
    confirmed: AtomicU64,
    /// The count answers a `Sync`: write it at once.
    urgent: AtomicBool,
    /// In the writer's queue.
    queued: AtomicBool,
    /// The peer left its replies unread past the timeout: its reader closes the connection.
    stalled: AtomicBool,
    queue: Sender<Msg>,
    /// The writer thread's side (only that thread locks it).
    out: Mutex<Out>,
}

struct Out {
    /// The write handle; dropped when the peer is gone or stalled (the socket closes when the
    /// reader's handle goes too).
    conn: Option<Box<dyn Connection>>,
    /// The count in the last ack encoded.
    acked: u64,
    /// An ack not yet (wholly) written.
    pending: Vec<u8>,
    /// When the last ack was written.
    last: Option<Instant>,
    /// Since when an ack waits for room.
    blocked_since: Option<Instant>,
    /// In the writer's list of connections to look at again.
    waiting: bool,
}

impl Acknowledge for Reply {
    fn confirm(self: Arc<Self>, frames: u64, urgent: bool) {
        self.confirmed.fetch_max(frames, Ordering::AcqRel);
        if urgent {
            self.urgent.store(true, Ordering::Release);
        }
        if !self.queued.swap(true, Ordering::AcqRel) {
            // Fails only once the writer stopped: the listener is gone, nobody waits.
            let queue = self.queue.clone();
            let _ = queue.send(Msg::Confirmed(self));
        }
    }
}

/// What became of a connection's newest ack.
enum Written {
    /// Written (or nothing to write, or nobody to write to).
    Done,
    /// To be tried again at that time.
    Later(Instant),
    /// The peer has not read for the reply timeout.
    Stalled,
}

impl Reply {
    /// Whether the peer stopped reading its replies and is to be disconnected.
    pub(crate) fn stalled(&self) -> bool {
        self.stalled.load(Ordering::Acquire)
    }

    /// Writes the newest ack as far as it goes without waiting, unless the last went out less
    /// than [`ACK_DELAY`] ago (and this one answers no `Sync`).
    fn write(&self, now: Instant, timeout: Duration) -> Written {
        let mut out = self.out.lock();
        loop {
            if out.pending.is_empty() {
                let frames = self.confirmed.load(Ordering::Acquire);
                if frames <= out.acked {
                    out.blocked_since = None;
                    return Written::Done;
                }
                let due = out.last.map(|t| t + ACK_DELAY);
                if let Some(due) = due.filter(|&d| d > now) {
                    if !self.urgent.load(Ordering::Acquire) {
                        return Written::Later(due);
                    }
                }
                self.urgent.store(false, Ordering::Release);
                out.acked = frames;
                if encode_frame(&Frame::Ack { frames }, &mut out.pending).is_err() {
                    return Written::Done; // an Ack always encodes
                }
            }
            let Out { conn, pending, .. } = &mut *out;
            let Some(conn) = conn.as_mut() else {
                out.pending.clear();
                return Written::Done;
            };
            match conn.try_send(pending) {
                Ok(n) => {
                    pending.drain(..n);
                    if pending.is_empty() {
                        out.last = Some(now);
                        out.blocked_since = None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let since = *out.blocked_since.get_or_insert(now);
                    if now.duration_since(since) >= timeout {
                        self.stalled.store(true, Ordering::Release);
                        out.conn = None;
                        out.pending.clear();
                        return Written::Stalled;
                    }
                    return Written::Later(now + RETRY);
                }
                Err(_) => {
                    // The peer is gone: its reader sees the end of the stream.
                    out.conn = None;
                    out.pending.clear();
                    return Written::Done;
                }
            }
        }
    }
}

/// The writer thread of a listener's replies.
pub(crate) struct Replies {
    queue: Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Replies {
    /// Starts the writer thread; a peer that leaves its acks unread for `timeout` is stalled.
    pub(crate) fn start(timeout: Duration) -> io::Result<Replies> {
        let (queue, rx) = unbounded();
        let thread = std::thread::Builder::new()
            .name("mplog-replies".into())
            .stack_size(super::super::READER_STACK)
            .spawn(move || run(&rx, timeout))?;
        Ok(Replies {
            queue,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The replies of a new connection, written on `conn` (a second handle on it).
    pub(crate) fn reply(&self, conn: Box<dyn Connection>) -> Arc<Reply> {
        Arc::new(Reply {
            confirmed: AtomicU64::new(0),
            urgent: AtomicBool::new(false),
            queued: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            queue: self.queue.clone(),
            out: Mutex::new(Out {
                conn: Some(conn),
                acked: 0,
                pending: Vec::new(),
                last: None,
                blocked_since: None,
                waiting: false,
            }),
        })
    }

    /// Writes what was confirmed so far (without waiting) and ends the thread. Called once
    /// the dispatch thread has ended, so every confirmation is in the queue.
    pub(crate) fn stop(&self) {
        if let Some(thread) = self.thread.lock().take() {
            // Fails only if the thread is gone already.
            let _ = self.queue.send(Msg::Stop);
            let _ = thread.join();
        }
    }
}

/// Writes `reply`'s ack; keeps it in `waiting` (once) if it is to be looked at again.
fn look_at(reply: Arc<Reply>, waiting: &mut Vec<(Instant, Arc<Reply>)>, timeout: Duration) {
    let now = Instant::now();
    match reply.write(now, timeout) {
        Written::Later(at) => {
            let mut out = reply.out.lock();
            if !out.waiting {
                out.waiting = true;
                drop(out);
                waiting.push((at, reply));
            }
        }
        Written::Done | Written::Stalled => {}
    }
}

fn run(rx: &Receiver<Msg>, timeout: Duration) {
    let mut waiting: Vec<(Instant, Arc<Reply>)> = Vec::new();
    let mut stop = false;
    while !stop {
        let first = match waiting.iter().map(|(at, _)| *at).min() {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_deadline(at),
        };
        let mut next = match first {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Msg::Stop),
        };
        while let Some(msg) = next {
            match msg {
                Msg::Confirmed(reply) => {
                    // Cleared before the count is read: a later confirm queues it again.
                    reply.queued.store(false, Ordering::Release);
                    look_at(reply, &mut waiting, timeout);
                }
                Msg::Stop => stop = true,
            }
            next = rx.try_recv().ok();
        }
        let now = Instant::now();
        let due: Vec<Arc<Reply>> = {
            let (due, later): (Vec<_>, Vec<_>) =
                waiting.drain(..).partition(|(at, _)| stop || *at <= now);
            waiting = later;
            due.into_iter().map(|(_, r)| r).collect()
        };
        for reply in due {
            reply.out.lock().waiting = false;
            if stop {
                // One last try: whatever fits now; the rest is given up with the listener.
                reply.urgent.store(true, Ordering::Release);
                reply.write(now, timeout);
            } else {
                look_at(reply, &mut waiting, timeout);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::transport::socket::{SocketAcceptor, SocketTransport};
    use crate::queue::transport::{Acceptor, Transport};
    use crate::queue::wire::FrameReader;

    #[test]
    fn a_peer_that_never_reads_is_stalled_and_the_others_still_get_their_acks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let acceptor = SocketAcceptor::bind(dir.path().join("r.sock")).expect("bind");
        let transport = SocketTransport::new(acceptor.path());
        let _deaf = transport.connect().expect("connect"); // never reads
        let (deaf_side, _) = acceptor.accept().expect("accept");
        let good = transport.connect().expect("connect");
        let (good_side, _) = acceptor.accept().expect("accept");
        let replies = Replies::start(Duration::from_millis(300)).expect("writer");
        let deaf = replies.reply(deaf_side);
        let fine = replies.reply(good_side);
        // The good peer reads every ack as it comes.
        let seen = Arc::new(AtomicU64::new(0));
        let reading = {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = FrameReader::new(crate::queue::transport::ReadWithTimeout {
                    conn: good,
                    timeout: Duration::from_secs(10),
                });
                while let Ok(Some(Frame::Ack { frames })) = reader.next_frame() {
                    assert!(frames > seen.load(Ordering::Relaxed), "acks go forward");
                    seen.store(frames, Ordering::Relaxed);
                }
            })
        };
        let started = Instant::now();
        let mut n = 0;
        while !deaf.stalled() {
            assert!(started.elapsed() < Duration::from_secs(30), "never stalled");
            n += 1;
            deaf.clone().confirm(n, false);
            fine.clone().confirm(n, false);
            std::thread::sleep(Duration::from_micros(50));
        }
        assert!(!fine.stalled());
        fine.clone().confirm(n + 1, true);
        while seen.load(Ordering::Relaxed) < n + 1 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the good peer's acks stopped"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        replies.stop();
        drop((deaf, fine)); // the write handles close: the reading thread sees the end
        reading.join().expect("reader");
    }
}
