//! The Unix socket input: the acceptor loop and one reader per connection (hello, then
//! frames, in order, to the dispatch thread).
//!
//! Each reader counts its connection's frames; the dispatch thread confirms them once the
//! handlers flushed their records (a record frame when its batch is flushed, a `Sync` at
//! once), and [`replies`](super::replies) writes the `Ack`s without ever waiting on the peer. A
//! peer that leaves its acks unread is disconnected, and the reason logged. A peer that closes
//! with acks unread (a worker killed) resets the connection: that is its end, not an error.
//!
//! At most `max_connections` ([`DEFAULT_MAX_CONNECTIONS`]) connections are served at once; one
//! more is closed at once, counted ([`ListenerStats::over_capacity`]) and logged with the
//! peer's pid. Each connection's memory grows with the bytes it sent, never with a length it
//! announced (see [`FrameReader`]).
//!
//! [`ListenerStats::over_capacity`]: crate::queue::ListenerStats::over_capacity

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::replies::{Replies, Reply};
use crate::level::Level;
use crate::queue::decode::is_records;
use crate::queue::listener::dispatch::DispatchMsg;
use crate::queue::listener::peer::{register_worker, ReleaseDecoder, WorkerEntry};
use crate::queue::listener::{Shared, HELLO_TIMEOUT, READER_STACK, READ_POLL, STOP_GRACE};
use crate::queue::transport::{Acceptor, Connection, Peer, ReadWithTimeout};
use crate::queue::wire::{Frame, FrameReader, Hello, WireError};

/// Connections a listener serves at once unless configured otherwise (each costs a reader
/// thread and two descriptors: keep `ulimit -n` above twice this).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// What every reader needs.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) shared: Arc<Shared>,
    pub(crate) tx: Sender<DispatchMsg>,
    pub(crate) max_frame: usize,
    pub(crate) allowed_uids: Vec<u32>,
    /// Most connections served at once.
    pub(crate) max_connections: usize,
    /// Connections being served (a reader each).
    pub(crate) live: Arc<AtomicUsize>,
    /// Writes every connection's acks.
    pub(crate) replies: Arc<Replies>,
    /// How long a peer may leave its acks unread (for the message).
    pub(crate) reply_timeout: Duration,
    /// The shm rings (Linux), which `Ring` frames announce.
    #[cfg(target_os = "linux")]
    pub(crate) rings: Option<Arc<super::rings::RingSet>>,
}

/// One connection being served: counted in `live` until its reader ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The reading side of a connection: reads wait at most [`READ_POLL`], and end at once once
/// the peer is marked stalled (even while it trickles the bytes of a frame).
struct PeerStream {
    inner: ReadWithTimeout,
    reply: Arc<Reply>,
}

impl io::Read for PeerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.reply.stalled() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the peer does not read its replies",
            ));
        }
        match self.inner.read(buf) {
            // Everything the peer sent was read first (POSIX orders it so): the end.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(0),
            other => other,
        }
    }
}

impl Context {
    fn notice(&self, level: Level, text: String) {
        let _ = self.tx.send(DispatchMsg::Notice(level, text));
    }
}

/// Accepts until stop; returns the reader threads for stop to join.
///
/// On stop it still serves what arrived before: the connection it was woken with may be a
/// worker's (the wake-up connection itself is empty and ends quietly), and the backlog may
/// hold more.
pub(crate) fn accept_loop(acceptor: Arc<dyn Acceptor>, ctx: Context) -> Vec<JoinHandle<()>> {
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    let mut failures = 0u32;
    loop {
        let accepted = acceptor.accept();
        if ctx.shared.stopping.load(Ordering::Acquire) {
            if let Ok((conn, peer)) = accepted {
                serve(conn, peer, &ctx, &mut readers);
            }
            while let Ok(Some((conn, peer))) = acceptor.try_accept() {
                serve(conn, peer, &ctx, &mut readers);
            }
            break;
        }
        match accepted {
            Ok((conn, peer)) => serve(conn, peer, &ctx, &mut readers),
            Err(e) => {
                // EMFILE and friends: say so, back off a little, keep serving.
                failures += 1;
                if failures <= 3 || failures.is_multiple_of(1000) {
                    ctx.notice(Level::ERROR, format!("accept failed: {e}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    readers
}

/// Checks the peer's uid and the connection cap, and starts a reader for an accepted
/// connection.
fn serve(conn: Box<dyn Connection>, peer: Peer, ctx: &Context, readers: &mut Vec<JoinHandle<()>>) {
    let live = ctx.live.load(Ordering::Acquire);
    if live >= ctx.max_connections {
        ctx.shared.over_capacity.fetch_add(1, Ordering::Relaxed);
        ctx.notice(
            Level::WARNING,
            format!(
                "refused a connection from pid {} (uid {}): {live} connections are open, \
                 the most this listener serves (max_connections)",
                peer.pid, peer.uid
            ),
        );
        return;
    }
    if !ctx.allowed_uids.contains(&peer.uid) {
        ctx.shared.rejected.fetch_add(1, Ordering::Relaxed);
        ctx.notice(
            Level::WARNING,
            format!(
                "refused a connection from uid {} (pid {}): not in the allowed uids {:?}",
                peer.uid, peer.pid, ctx.allowed_uids
            ),
        );
        return;
    }
    readers.retain(|r| !r.is_finished());
    let reader_ctx = ctx.clone();
    ctx.live.fetch_add(1, Ordering::AcqRel);
    let slot = Slot(ctx.live.clone());
    let spawned = std::thread::Builder::new()
        .name(format!("mplog-reader-{}", peer.pid))
        .stack_size(READER_STACK)
        .spawn(move || {
            let _slot = slot;
            read_connection(conn, peer, reader_ctx);
        });
    match spawned {
        Ok(t) => readers.push(t),
        Err(e) => ctx.notice(Level::ERROR, format!("cannot start a reader thread: {e}")),
    }
}

fn read_connection(conn: Box<dyn Connection>, peer: Peer, ctx: Context) {
    let who = format!("pid {}", peer.pid);
    // Acks go out on a second handle, written by the replies thread.
    let reply = match conn.try_clone() {
        Ok(second) => ctx.replies.reply(second),
        Err(e) => {
            ctx.notice(
                Level::ERROR,
                format!("closed the connection of {who}: cannot answer it: {e}"),
            );
            return;
        }
    };
    let mut reader = FrameReader::with_max_frame(
        PeerStream {
            inner: ReadWithTimeout {
                conn,
                timeout: READ_POLL,
            },
            reply: reply.clone(),
        },
        ctx.max_frame,
    );
    let started = Instant::now();
    let hello = loop {
        match reader.read_hello() {
            Ok(h) => break h,
            Err(e) if e.is_timeout() => {
                if started.elapsed() > HELLO_TIMEOUT || ctx.shared.stopping.load(Ordering::Acquire)
                {
                    bad_input(
                        &ctx,
                        &who,
                        &WireError::Io {
                            offset: 0,
                            source: std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "no hello in time",
                            ),
                        },
                    );
                    return;
                }
            }
            // Closed before sending a byte: a probe (stop's wake-up, a second listener
            // checking whether this one is alive), not a worker.
            Err(WireError::Truncated {
                offset: 0, have: 0, ..
            }) => return,
            Err(e) => {
                bad_input(&ctx, &who, &e);
                return;
            }
        }
    };
    ctx.shared.connections.fetch_add(1, Ordering::Relaxed);
    let worker = register(&ctx, &hello);
    let _release = ReleaseDecoder(worker.clone());
    let who = worker.who();
    let mut quiet_since: Option<Instant> = None;
    // Frames of this connection read so far (what its acks count).
    let mut frames = 0u64;
    loop {
        if worker.bad.load(Ordering::Acquire) {
            break; // the dispatch thread found a malformed record frame and said why
        }
        if reply.stalled() {
            stalled(&ctx, &who);
            break;
        }
        if ctx.shared.cut() {
            // The drain deadline (listener/mod.rs): what this worker did not get acknowledged
            // it keeps, and sends to the next listener.
            ctx.shared.left_at_deadline(0);
            break;
        }
        let offset = reader.offset();
        let frame = match reader.next_frame_bytes() {
            Ok(Some(bytes)) if is_records(bytes) => {
                frames += 1;
                let msg = DispatchMsg::Frame {
                    worker: worker.clone(),
                    bytes: bytes.to_vec(),
                    offset,
                    confirm: Some((reply.clone(), frames)),
                };
                ctx.shared
                    .bytes
                    .fetch_add(reader.offset() - offset, Ordering::Relaxed);
                quiet_since = None;
                if ctx.tx.send(msg).is_err() {
                    break; // the dispatch thread is gone: the listener is stopping
                }
                continue;
            }
            Ok(Some(bytes)) => match postcard::from_bytes::<Frame>(bytes) {
                Ok(frame) => {
                    frames += 1;
                    frame
                }
                Err(e) => {
                    let reason = e.to_string();
                    bad_input(&ctx, &who, &WireError::Malformed { offset, reason });
                    break;
                }
            },
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                if ctx.shared.stopping.load(Ordering::Acquire) {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= STOP_GRACE {
                        break;
                    }
                }
                continue;
            }
            Err(_) if reply.stalled() => {
                stalled(&ctx, &who);
                break;
            }
            Err(e) => {
                bad_input(&ctx, &who, &e);
                break;
            }
        };
        quiet_since = None;
        ctx.shared
            .bytes
            .fetch_add(reader.offset() - offset, Ordering::Relaxed);
        let sent = match frame {
            // A record frame starts with its variant index and went to the dispatch thread
            // above, undecoded: none reaches this point.
            Frame::Records(_) => Ok(()),
            // Acknowledged once everything before it is written and flushed.
            Frame::Sync { .. } => ctx.tx.send(DispatchMsg::Sync {
                ack: reply.clone(),
                frames,
            }),
            // Not acknowledged: a shm worker's control connection never reads, and a worker
            // syncs before its goodbye.
            Frame::Report { dropped, .. } | Frame::Goodbye { dropped, .. } => {
                report_dropped(&ctx, &worker, &who, dropped);
                Ok(())
            }
            Frame::Ring { name } => {
                #[cfg(target_os = "linux")]
                if let Some(rings) = &ctx.rings {
                    rings.attach(&name);
                }
                #[cfg(not(target_os = "linux"))]
                let _ = name;
                Ok(())
            }
            Frame::Ack { .. } => {
                bad_input(
                    &ctx,
                    &who,
                    &WireError::Malformed {
                        offset,
                        reason: "a worker sent Ack".into(),
                    },
                );
                break;
            }
        };
        if sent.is_err() {
            break; // the dispatch thread is gone: the listener is stopping
        }
    }
}

/// A worker's running count of dropped records: logged when it grows.
fn report_dropped(ctx: &Context, worker: &WorkerEntry, who: &str, dropped: u64) {
    let before = worker.dropped.fetch_max(dropped, Ordering::Relaxed);
    if dropped > before {
        ctx.notice(
            Level::WARNING,
            format!(
                "{who} dropped {} records ({dropped} in all): its queue was full or the \
                 listener unreachable",
                dropped - before
            ),
        );
    }
}

fn stalled(ctx: &Context, who: &str) {
    ctx.shared.stalled.fetch_add(1, Ordering::Relaxed);
    ctx.notice(
        Level::WARNING,
        format!(
            "closed the connection of {who}: it left its acknowledgements unread for {:?}",
            ctx.reply_timeout
        ),
    );
}

fn register(ctx: &Context, hello: &Hello) -> Arc<WorkerEntry> {
    register_worker(&ctx.shared, hello.pid, &hello.process_name)
}

fn bad_input(ctx: &Context, who: &str, error: &WireError) {
    ctx.shared.malformed.fetch_add(1, Ordering::Relaxed);
    let level = match error {
        WireError::Truncated { .. } => Level::WARNING,
        _ => Level::ERROR,
    };
    ctx.notice(level, format!("closed the connection of {who}: {error}"));
}
