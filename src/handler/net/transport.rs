//! How a network handler reaches its peer: a stream (TCP, Unix) or datagrams (UDP, Unix), each
//! opened, written within a timeout, and closed by the output thread alone.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::{Duration, Instant};

use nix::sys::socket::{recv, MsgFlags};

use super::Address;

/// Why a message could not be sent.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The peer is unreachable or the connection broke: retry the message on a new one.
    Connection(io::Error),
    /// This message can never be sent (larger than a datagram can be): drop it.
    Message(io::Error),
}

/// The output thread's link to its peer.
pub(crate) trait Transport: Send + 'static {
    /// Opens the connection (stream) or the socket (datagram).
    fn open(&mut self, timeout: Duration) -> io::Result<()>;
    /// Whether it is open.
    fn is_open(&self) -> bool;
    /// Whether the peer closed an open connection (a stream receiver never writes to us, so
    /// anything readable is its end). Checked before writing, so that records written after
    /// a receiver went away are not handed to a dead connection.
    fn peer_closed(&mut self) -> bool {
        false
    }
    /// Closes the connection.
    fn close(&mut self);
    /// Sends one message whole, waiting for the peer at most until `deadline()`, which is
    /// asked again every [`WAIT_SLICE`] (a close can bring it forward).
    fn send(&mut self, message: &[u8], deadline: &dyn Fn() -> Instant) -> Result<(), SendError>;
}

/// How long one blocking write waits before the deadline is asked again.
pub(crate) const WAIT_SLICE: Duration = Duration::from_millis(50);

/// The write timeout for the next slice, or `None` when the deadline has passed.
pub(crate) fn slice(deadline: &dyn Fn() -> Instant) -> Option<Duration> {
    let left = deadline().checked_duration_since(Instant::now())?;
    (!left.is_zero()).then(|| left.min(WAIT_SLICE))
}

/// An interrupted or timed-out slice: ask the deadline and go on.
pub(crate) fn try_again(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the peer stopped reading")
}

/// Resolves `host:port` as Python's `socket.create_connection` does (every address, in order).
fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host}:{port} resolves to no address"),
        ));
    }
    Ok(addrs)
}

/// Connects to the first address of `host:port` that accepts within `timeout` (Python's
/// `socket.create_connection`), with Nagle off: records are small and each is written whole.
pub(crate) fn connect_tcp(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in resolve(host, port)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::NotConnected.into()))
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A TCP or Unix stream connection (`SocketHandler`, and SysLogHandler over TCP).
pub(crate) struct StreamTransport {
    address: Address,
    conn: Option<Stream>,
}

impl StreamTransport {
    pub(crate) fn new(address: Address) -> StreamTransport {
        StreamTransport {
            address,
            conn: None,
        }
    }
}

impl Transport for StreamTransport {
    fn open(&mut self, timeout: Duration) -> io::Result<()> {
        let timeout = timeout.max(Duration::from_millis(1));
        let stream = match &self.address {
            Address::Tcp { host, port } => Stream::Tcp(connect_tcp(host, *port, timeout)?),
            Address::Unix(path) => {
                let socket =
                    socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
                // A listener whose backlog is full would block a plain connect: bounded here.
                socket.connect_timeout(&socket2::SockAddr::unix(path)?, timeout)?;
                Stream::Unix(UnixStream::from(std::os::fd::OwnedFd::from(socket)))
            }
        };
        self.conn = Some(stream);
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.conn.is_some()
    }

    fn peer_closed(&mut self) -> bool {
        let fd = match &self.conn {
            Some(Stream::Tcp(s)) => s.as_raw_fd(),
            Some(Stream::Unix(s)) => s.as_raw_fd(),
            None => return false,
        };
        let mut byte = [0u8; 1];
        match recv(fd, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT) {
            Ok(0) => true,
            Ok(_) => false,
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => false,
            Err(_) => true,
        }
    }

    fn close(&mut self) {
        self.conn = None;
    }

    fn send(&mut self, message: &[u8], deadline: &dyn Fn() -> Instant) -> Result<(), SendError> {
        let result = match &mut self.conn {
            Some(Stream::Tcp(s)) => {
                write_stream(s, message, deadline, TcpStream::set_write_timeout)
            }
            Some(Stream::Unix(s)) => {
                write_stream(s, message, deadline, UnixStream::set_write_timeout)
            }
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        result.map_err(SendError::Connection)
    }
}

/// [`write_whole`] on a stream (`Write` for `&S`: the timeout and the writes share it).
fn write_stream<S>(
    s: &S,
    message: &[u8],
    deadline: &dyn Fn() -> Instant,
    set_timeout: fn(&S, Option<Duration>) -> io::Result<()>,
) -> io::Result<()>
where
    for<'a> &'a S: Write,
{
    write_whole(
        message,
        deadline,
        |t| set_timeout(s, Some(t)),
        |b| {
            let mut s = s;
            s.write(b)
        },
    )
}

/// Writes all of `message` by slices of [`WAIT_SLICE`]; a peer that takes nothing until the
/// deadline is an error.
fn write_whole(
    message: &[u8],
    deadline: &dyn Fn() -> Instant,
    mut set_timeout: impl FnMut(Duration) -> io::Result<()>,
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> io::Result<()> {
    let mut done = 0;
    while done < message.len() {
        set_timeout(slice(deadline).ok_or_else(timed_out)?)?;
        match write(&message[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if try_again(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

enum Datagram {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

/// A UDP or Unix datagram socket (`DatagramHandler`, and SysLogHandler over UDP or a Unix
/// datagram socket): one message, one datagram. The socket is connected to the peer, so that
/// a peer that is not there says so (a missing Unix socket at `open`; a refusing UDP port, by
/// ICMP, at a later send) and its records are kept and retried rather than sent into nothing.
pub(crate) struct DatagramTransport {
    address: Address,
    socket: Option<Datagram>,
}

impl DatagramTransport {
    pub(crate) fn new(address: Address) -> DatagramTransport {
        DatagramTransport {
            address,
            socket: None,
        }
    }
}

impl Transport for DatagramTransport {
    fn open(&mut self, _timeout: Duration) -> io::Result<()> {
        self.socket = Some(match &self.address {
            Address::Tcp { host, port } => {
                let target = resolve(host, *port)?[0];
                let local: SocketAddr = if target.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let s = UdpSocket::bind(local)?;
                s.connect(target)?;
                Datagram::Udp(s)
            }
            Address::Unix(path) => {
                let s = UnixDatagram::unbound()?;
                s.connect(path)?;
                Datagram::Unix(s)
            }
        });
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.socket.is_some()
    }

    fn close(&mut self) {
        self.socket = None;
    }

    fn send(&mut self, message: &[u8], deadline: &dyn Fn() -> Instant) -> Result<(), SendError> {
        // A full Unix datagram queue makes `send` wait: by slices, up to the deadline.
        let result = loop {
            let Some(timeout) = slice(deadline) else {
                break Err(timed_out());
            };
            let sent = match &self.socket {
                Some(Datagram::Udp(s)) => s
                    .set_write_timeout(Some(timeout))
                    .and_then(|()| s.send(message)),
                Some(Datagram::Unix(s)) => s
                    .set_write_timeout(Some(timeout))
                    .and_then(|()| s.send(message)),
                None => Err(io::ErrorKind::NotConnected.into()),
            };
            match sent {
                Err(e) if try_again(&e) => {}
                other => break other,
            }
        };
        match result {
            Ok(n) if n == message.len() => Ok(()),
            Ok(n) => Err(SendError::Message(io::Error::other(format!(
                "datagram cut to {n} of {} bytes",
                message.len()
            )))),
            // EMSGSIZE: no datagram this large can ever be sent.
            Err(e) if e.raw_os_error() == Some(nix::libc::EMSGSIZE) => Err(SendError::Message(e)),
            Err(e) => Err(SendError::Connection(e)),
        }
    }
}

/// The first of several transports that opens (Python's SysLogHandler on a Unix path with no
/// `socktype`: a datagram socket, else a stream one). Each connection chooses again.
pub(crate) struct Fallback {
    choices: Vec<Box<dyn Transport>>,
    current: Option<usize>,
}

impl Fallback {
    pub(crate) fn new(choices: Vec<Box<dyn Transport>>) -> Fallback {
        Fallback {
            choices,
            current: None,
        }
    }
}

impl Transport for Fallback {
    fn open(&mut self, timeout: Duration) -> io::Result<()> {
        self.current = None;
        let mut last = None;
        for (i, t) in self.choices.iter_mut().enumerate() {
            match t.open(timeout) {
                Ok(()) => {
                    self.current = Some(i);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::NotConnected.into()))
    }

    fn is_open(&self) -> bool {
        self.current.is_some_and(|i| self.choices[i].is_open())
    }

    fn peer_closed(&mut self) -> bool {
        match self.current {
            Some(i) => self.choices[i].peer_closed(),
            None => false,
        }
    }

    fn close(&mut self) {
        if let Some(i) = self.current.take() {
            self.choices[i].close();
        }
    }

    fn send(&mut self, message: &[u8], deadline: &dyn Fn() -> Instant) -> Result<(), SendError> {
        match self.current {
            Some(i) => self.choices[i].send(message, deadline),
            None => Err(SendError::Connection(io::ErrorKind::NotConnected.into())),
        }
    }
}
