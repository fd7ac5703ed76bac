//! The Unix socket input: the acceptor loop and one reader per connection (hello, then
//! frames, in order, to the dispatch thread).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::level::Level;
use crate::queue::decode::is_records;
use crate::queue::listener::dispatch::DispatchMsg;
use crate::queue::listener::peer::{register_worker, ReleaseDecoder, WorkerEntry};
use crate::queue::listener::{Shared, HELLO_TIMEOUT, READER_STACK, READ_POLL, STOP_GRACE};
use crate::queue::transport::{Acceptor, Connection, Peer, ReadWithTimeout};
use crate::queue::wire::{Frame, FrameReader, Hello, WireError};

/// What every reader needs.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) shared: Arc<Shared>,
    pub(crate) tx: Sender<DispatchMsg>,
    pub(crate) max_frame: usize,
    pub(crate) allowed_uids: Vec<u32>,
    /// The shm rings (Linux), which `Ring` frames announce.
    #[cfg(target_os = "linux")]
    pub(crate) rings: Option<Arc<super::rings::RingSet>>,
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
                if failures <= 3 || failures % 1000 == 0 {
                    ctx.notice(Level::ERROR, format!("accept failed: {e}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    readers
}

/// Checks the peer's uid and starts a reader for an accepted connection.
fn serve(conn: Box<dyn Connection>, peer: Peer, ctx: &Context, readers: &mut Vec<JoinHandle<()>>) {
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
    let spawned = std::thread::Builder::new()
        .name(format!("mplog-reader-{}", peer.pid))
        .stack_size(READER_STACK)
        .spawn(move || read_connection(conn, peer, reader_ctx));
    match spawned {
        Ok(t) => readers.push(t),
        Err(e) => ctx.notice(Level::ERROR, format!("cannot start a reader thread: {e}")),
    }
}

fn read_connection(conn: Box<dyn Connection>, peer: Peer, ctx: Context) {
    let reply = conn.try_clone().ok();
    let mut reader = FrameReader::with_max_frame(
        ReadWithTimeout {
            conn,
            timeout: READ_POLL,
        },
        ctx.max_frame,
    );
    let who = format!("pid {}", peer.pid);
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
    loop {
        if worker.bad.load(Ordering::Acquire) {
            break; // the dispatch thread found a malformed record frame and said why
        }
        let offset = reader.offset();
        let frame = match reader.next_frame_bytes() {
            Ok(Some(bytes)) if is_records(bytes) => {
                let msg = DispatchMsg::Frame {
                    worker: worker.clone(),
                    bytes: bytes.to_vec(),
                    offset,
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
                Ok(frame) => frame,
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
            Frame::Sync { seq } => match &reply {
                Some(reply) => match reply.try_clone() {
                    Ok(reply) => ctx.tx.send(DispatchMsg::Sync { seq, reply }),
                    Err(_) => Ok(()),
                },
                None => Ok(()),
            },
            Frame::Report { dropped, .. } | Frame::Goodbye { dropped, .. } => {
                let before = worker.dropped.fetch_max(dropped, Ordering::Relaxed);
                if dropped > before {
                    ctx.notice(
                        Level::WARNING,
                        format!(
                            "{who} dropped {} records ({dropped} in all): its queue was full or the listener unreachable",
                            dropped - before
                        ),
                    );
                }
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
