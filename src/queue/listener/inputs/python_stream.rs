//! Python's `SocketHandler` on TCP or a Unix stream socket: an acceptor, and one reader per
//! connection (frames: a 4-byte big-endian length, then the pickle), in order, to the
//! dispatch thread in batches.

use std::io::{self, BufReader, Read};
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use super::python::{private, remove_stale, Ctx, Names, PythonInput, Start};
use crate::compat::pickle::{decode_record, read_frame, FrameError, PREFIX_LEN};
use crate::level::Level;
use crate::queue::listener::peer::WorkerEntry;
use crate::queue::listener::{READER_STACK, READ_POLL, STOP_GRACE};

/// Reading buffer of a connection (a read takes many of Python's small frames at once).
const READ_BUFFER: usize = 64 * 1024;
/// A frame buffer grown past this by one large record is released after it.
const KEEP_FRAME_BUFFER: usize = 1 << 20;

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, String),
}

enum Stream {
    Tcp(std::net::TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

/// Binds `input` (TCP or Unix stream); the address as bound, and its accept loop.
pub(super) fn bind(input: &PythonInput) -> io::Result<(PythonInput, Start)> {
    let (listener, bound) = match input {
        PythonInput::Tcp(addr) => {
            let l = TcpListener::bind(addr)?;
            let bound = PythonInput::Tcp(l.local_addr()?);
            (Listener::Tcp(l), bound)
        }
        PythonInput::UnixStream(path) => {
            remove_stale(path);
            let l = UnixListener::bind(path)?;
            private(path)?;
            let name = path.display().to_string();
            (Listener::Unix(l, name), input.clone())
        }
        _ => return Err(io::Error::other("not a stream input")),
    };
    match &listener {
        Listener::Tcp(l) => l.set_nonblocking(true)?,
        Listener::Unix(l, _) => l.set_nonblocking(true)?,
    }
    Ok((bound, Box::new(move |ctx| accept_loop(listener, ctx))))
}

/// Accepts until the listener stops; returns the reader threads.
fn accept_loop(listener: Listener, ctx: Ctx) -> Vec<JoinHandle<()>> {
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    let mut failures = 0u32;
    loop {
        let stopping = ctx.shared.stopping.load(Ordering::Acquire);
        // What is in the backlog when stop comes is still served.
        if !stopping && !wait_readable(&listener, READ_POLL) {
            continue;
        }
        let accepted = match &listener {
            Listener::Tcp(l) => l.accept().and_then(|(s, peer)| {
                if !ctx.admit(&peer, "a connection") {
                    return Ok(None);
                }
                s.set_nonblocking(false)?;
                Ok(Some((Stream::Tcp(s), peer.to_string())))
            }),
            Listener::Unix(l, path) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                let cred = getsockopt(&s, PeerCredentials).map_err(io::Error::from)?;
                let uid = cred.uid();
                if !ctx.allowed_uids.contains(&uid) {
                    ctx.shared.rejected.fetch_add(1, Ordering::Relaxed);
                    ctx.notice(
                        Level::WARNING,
                        format!(
                            "refused a Python connection on {path} from uid {uid} (pid {}): \
                             not in the allowed uids {:?}",
                            cred.pid(),
                            ctx.allowed_uids
                        ),
                    );
                    return Ok(None);
                }
                Ok(Some((Stream::Unix(s), path.clone())))
            }),
        };
        match accepted {
            Ok(Some((stream, address))) => serve(stream, address, &ctx, &mut readers),
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stopping {
                    break;
                }
            }
            Err(e) => {
                failures += 1;
                if failures <= 3 || failures.is_multiple_of(1000) {
                    ctx.notice(Level::ERROR, format!("Python input: accept failed: {e}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    readers
}

fn wait_readable(listener: &Listener, timeout: Duration) -> bool {
    let fd = match listener {
        Listener::Tcp(l) => l.as_fd(),
        Listener::Unix(l, _) => l.as_fd(),
    };
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}

/// One connection being served (counted until its reader ends).
struct Slot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn serve(stream: Stream, address: String, ctx: &Ctx, readers: &mut Vec<JoinHandle<()>>) {
    let live = ctx.live.load(Ordering::Acquire);
    if live >= ctx.max_connections {
        ctx.shared.over_capacity.fetch_add(1, Ordering::Relaxed);
        ctx.notice(
            Level::WARNING,
            format!(
                "refused a Python connection from {address}: {live} Python connections are \
                 open, the most this listener serves (max_connections)"
            ),
        );
        return;
    }
    let timeout = match &stream {
        Stream::Tcp(s) => s.set_read_timeout(Some(READ_POLL)),
        Stream::Unix(s) => s.set_read_timeout(Some(READ_POLL)),
    };
    if let Err(e) = timeout {
        ctx.notice(
            Level::ERROR,
            format!("Python connection from {address}: {e}"),
        );
        return;
    }
    readers.retain(|r| !r.is_finished());
    ctx.live.fetch_add(1, Ordering::AcqRel);
    let slot = Slot(ctx.live.clone());
    let reader_ctx = ctx.clone();
    let spawned = std::thread::Builder::new()
        .name("mplog-py-reader".into())
        .stack_size(READER_STACK)
        .spawn(move || {
            let _slot = slot;
            read_connection(stream, &address, &reader_ctx);
        });
    match spawned {
        Ok(t) => readers.push(t),
        Err(e) => ctx.notice(Level::ERROR, format!("cannot start a reader thread: {e}")),
    }
}

/// Reads with a timeout so the stop flag is seen; after stop, the connection's end is when
/// it stays quiet for [`STOP_GRACE`]. A reset after the peer's last bytes is its end.
struct Quiet<'a> {
    stream: Stream,
    ctx: &'a Ctx,
    quiet_since: Option<Instant>,
}

impl Read for Quiet<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(n) => {
                    self.quiet_since = None;
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.ctx.shared.stopping.load(Ordering::Acquire)
                        && self.quiet_since.get_or_insert_with(Instant::now).elapsed() >= STOP_GRACE
                    {
                        return Ok(0);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads frames until the connection ends (or a bad frame closes it).
fn read_connection(stream: Stream, address: &str, ctx: &Ctx) {
    ctx.shared.connections.fetch_add(1, Ordering::Relaxed);
    let mut reader = BufReader::with_capacity(
        READ_BUFFER,
        Quiet {
            stream,
            ctx,
            quiet_since: None,
        },
    );
    let mut frame = Vec::new();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut peer: Option<Arc<WorkerEntry>> = None;
    let mut names = Names::default();
    let who = |peer: &Option<Arc<WorkerEntry>>| match peer {
        Some(p) => p.who(),
        None => format!("Python peer {address}"),
    };
    loop {
        let outcome = match read_frame(&mut reader, &mut frame, &ctx.limits) {
            Ok(None) => break,
            Ok(Some(pickle)) => {
                let len = pickle.len();
                ctx.shared
                    .bytes
                    .fetch_add((PREFIX_LEN + len) as u64, Ordering::Relaxed);
                batch_bytes += len;
                decode_record(pickle, &ctx.limits).map_err(FrameError::Pickle)
            }
            Err(e) => Err(e),
        };
        if frame.capacity() > KEEP_FRAME_BUFFER {
            frame = Vec::new();
        }
        match outcome {
            Ok(mut record) => {
                names.share(&mut record);
                let entry = peer.get_or_insert_with(|| ctx.register(address, &record));
                batch.push(record);
                if Ctx::batch_full(batch.len(), batch_bytes) || reader.buffer().is_empty() {
                    batch_bytes = 0;
                    if !ctx.send(entry, &mut batch) {
                        return; // the dispatch thread is gone
                    }
                }
            }
            Err(FrameError::Io(e)) => {
                ctx.notice(
                    Level::WARNING,
                    format!("the connection of {} ended in a frame: {e}", who(&peer)),
                );
                break;
            }
            Err(FrameError::Pickle(e)) => {
                ctx.shared.malformed.fetch_add(1, Ordering::Relaxed);
                ctx.notice(
                    Level::ERROR,
                    format!("closed the connection of {}: {e}", who(&peer)),
                );
                break;
            }
        }
    }
    if let Some(p) = &peer {
        // The records read before the end (or a bad frame) are handled.
        if !ctx.send(p, &mut batch) {}
    }
}
