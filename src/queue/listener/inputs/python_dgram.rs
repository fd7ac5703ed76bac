//! Python's `DatagramHandler` on UDP or a Unix datagram socket: one thread per socket, each
//! datagram a 4-byte big-endian length (which must match the rest) and a pickle. A bad
//! datagram is dropped, counted and logged; the next one is read as if nothing happened.

use std::collections::HashMap;
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::python::{private, remove_stale, Ctx, Names, PythonInput, Start};
use crate::compat::pickle::decode_datagram;
use crate::level::Level;
use crate::queue::listener::peer::WorkerEntry;
use crate::queue::listener::READ_POLL;
use crate::record::Record;

/// Largest datagram read whole (UDP's own limit is 65,507 bytes; a Unix datagram can be
/// larger, up to the sender's buffer). A longer one arrives cut, and is refused by its prefix.
const MAX_DATAGRAM: usize = 256 * 1024;
/// Peers (address, pid, processName) counted apart; past it, new ones share one entry.
const MAX_PEERS: usize = 1024;

enum Socket {
    Udp(UdpSocket),
    Unix(UnixDatagram, String),
}

/// Binds `input` (UDP or Unix datagram); the address as bound, and its reading loop.
pub(super) fn bind(input: &PythonInput) -> io::Result<(PythonInput, Start)> {
    let (socket, bound) = match input {
        PythonInput::Udp(addr) => {
            let s = UdpSocket::bind(addr)?;
            let bound = PythonInput::Udp(s.local_addr()?);
            (Socket::Udp(s), bound)
        }
        PythonInput::UnixDgram(path) => {
            remove_stale(path);
            let s = UnixDatagram::bind(path)?;
            private(path)?;
            (Socket::Unix(s, path.display().to_string()), input.clone())
        }
        _ => return Err(io::Error::other("not a datagram input")),
    };
    // A burst from many senders waits in the kernel while a batch is dispatched.
    let fd = match &socket {
        Socket::Udp(s) => s.as_fd(),
        Socket::Unix(s, _) => s.as_fd(),
    };
    let sock = socket2::SockRef::from(&fd);
    if sock.recv_buffer_size().is_ok_and(|n| n < 4 << 20) {
        // The system may cap it (net.core.rmem_max): what it grants is what we have.
        if sock.set_recv_buffer_size(4 << 20).is_err() {}
    }
    match &socket {
        Socket::Udp(s) => s.set_nonblocking(true)?,
        Socket::Unix(s, _) => s.set_nonblocking(true)?,
    }
    Ok((bound, Box::new(move |ctx| read_loop(socket, &ctx))))
}

/// Reads datagrams until the listener stops (then what is queued in the socket, and ends).
fn read_loop(socket: Socket, ctx: &Ctx) -> Vec<JoinHandle<()>> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut peers: HashMap<(String, u32, Arc<str>), Arc<WorkerEntry>> = HashMap::new();
    let mut batch: Vec<Record> = Vec::new();
    let mut batch_peer: Option<Arc<WorkerEntry>> = None;
    let mut batch_bytes = 0;
    let mut names = Names::default();
    loop {
        let received = match &socket {
            Socket::Udp(s) => s.recv_from(&mut buf).map(|(n, a)| (n, Some(a))),
            Socket::Unix(s, _) => s.recv(&mut buf).map(|n| (n, None)),
        };
        let (n, from) = match received {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Some(p) = &batch_peer {
                    if !ctx.send(p, &mut batch) {
                        break;
                    }
                    batch_bytes = 0;
                }
                if ctx.shared.stopping.load(Ordering::Acquire) {
                    break;
                }
                wait_readable(&socket);
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                ctx.notice(Level::ERROR, format!("Python datagram input: {e}"));
                std::thread::sleep(READ_POLL);
                continue;
            }
        };
        if let Some(from) = &from {
            if !ctx.admit(from, "a datagram") {
                continue;
            }
        }
        let address = match (&from, &socket) {
            (Some(a), _) => a.to_string(),
            (None, Socket::Unix(_, path)) => path.clone(),
            (None, Socket::Udp(_)) => String::new(),
        };
        ctx.shared.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let mut record = match decode_datagram(&buf[..n], &ctx.limits) {
            Ok(r) => r,
            Err(e) => {
                ctx.shared.bad_datagrams.fetch_add(1, Ordering::Relaxed);
                ctx.notice(
                    Level::ERROR,
                    format!("dropped a datagram of {n} bytes from Python peer {address}: {e}"),
                );
                continue;
            }
        };
        names.share(&mut record);
        let entry = peer_entry(&mut peers, ctx, address, &record);
        if batch_peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, &entry)) {
            let p = batch_peer.take().expect("checked");
            if !ctx.send(&p, &mut batch) {
                break;
            }
            batch_bytes = 0;
        }
        batch_bytes += n;
        batch.push(record);
        if Ctx::batch_full(batch.len(), batch_bytes) {
            if !ctx.send(&entry, &mut batch) {
                break;
            }
            batch_bytes = 0;
        }
        batch_peer = Some(entry);
    }
    Vec::new()
}

/// The statistics entry of a datagram's sender: by address, pid and `processName`, at most
/// [`MAX_PEERS`] of them (later ones share one entry).
fn peer_entry(
    peers: &mut HashMap<(String, u32, Arc<str>), Arc<WorkerEntry>>,
    ctx: &Ctx,
    address: String,
    record: &Record,
) -> Arc<WorkerEntry> {
    let key = (address, record.process, record.process_name.clone());
    if let Some(e) = peers.get(&key) {
        return e.clone();
    }
    if peers.len() >= MAX_PEERS {
        let others = ("(more peers)".to_owned(), 0, Arc::from("(more peers)"));
        if let Some(e) = peers.get(&others) {
            return e.clone();
        }
        let mut stand_in = Record::new("", record.level, "");
        stand_in.process = 0;
        stand_in.process_name = others.2.clone();
        let e = ctx.register(&others.0, &stand_in);
        peers.insert(others, e.clone());
        return e;
    }
    let e = ctx.register(&key.0, record);
    peers.insert(key, e.clone());
    e
}

fn wait_readable(socket: &Socket) {
    let fd = match socket {
        Socket::Udp(s) => s.as_fd(),
        Socket::Unix(s, _) => s.as_fd(),
    };
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    let ms = u16::try_from(READ_POLL.as_millis()).unwrap_or(u16::MAX);
    // Woken early or late, the loop reads again: an error here is the next read's error.
    if poll(&mut fds, PollTimeout::from(ms)).is_err() {}
}
