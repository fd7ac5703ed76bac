//! Where a [`SysLogHandler`](super::SysLogHandler) sends: the address forms Python takes
//! (`(host, port)` or a Unix socket path), the socket types, and one open connection of each
//! kind (UDP, TCP, TLS over TCP, Unix datagram or stream).
//!
//! A connection sends one already-framed message at a time and reports every failure; it
//! never retries by itself (the handler decides, see its module docs).

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

/// The standard syslog ports.
pub const SYSLOG_UDP_PORT: u16 = 514;
/// TCP (RFC 6587 has no port of its own; 514 is what relays use).
pub const SYSLOG_TCP_PORT: u16 = 514;
/// Syslog over TLS (RFC 5425).
pub const SYSLOG_TLS_PORT: u16 = 6514;

/// Where to send: Python's `address` argument.
///
/// ```
/// use mplog::handler::syslog::SyslogAddress;
/// let relay = SyslogAddress::inet("logs.example.com", 514);
/// let local = SyslogAddress::unix("/dev/log");
/// assert_eq!(relay.to_string(), "logs.example.com:514");
/// assert_eq!(local.to_string(), "/dev/log");
/// assert_eq!(SyslogAddress::default().to_string(), "localhost:514"); // Python's default
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogAddress {
    /// `(host, port)`.
    Inet {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix socket path (e.g. `/dev/log`).
    Unix(PathBuf),
}

impl SyslogAddress {
    /// `(host, port)`.
    ///
    /// ```
    /// let a = mplog::handler::syslog::SyslogAddress::inet("127.0.0.1", 5514);
    /// assert_eq!(a.to_string(), "127.0.0.1:5514");
    /// ```
    pub fn inet(host: impl Into<String>, port: u16) -> SyslogAddress {
        SyslogAddress::Inet {
            host: host.into(),
            port,
        }
    }

    /// A Unix socket path.
    ///
    /// ```
    /// let a = mplog::handler::syslog::SyslogAddress::unix("/run/systemd/journal/syslog");
    /// assert!(matches!(a, mplog::handler::syslog::SyslogAddress::Unix(_)));
    /// ```
    pub fn unix(path: impl Into<PathBuf>) -> SyslogAddress {
        SyslogAddress::Unix(path.into())
    }
}

impl Default for SyslogAddress {
    fn default() -> Self {
        SyslogAddress::inet("localhost", SYSLOG_UDP_PORT)
    }
}

impl std::fmt::Display for SyslogAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyslogAddress::Inet { host, port } if host.contains(':') => {
                write!(f, "[{host}]:{port}")
            }
            SyslogAddress::Inet { host, port } => write!(f, "{host}:{port}"),
            SyslogAddress::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Python's `socktype`: datagrams or a stream. Unset, a `(host, port)` address uses UDP, and a
/// Unix path tries a datagram socket first, then a stream one (Python's order).
///
/// ```
/// use mplog::handler::syslog::SockType;
/// assert_eq!("SOCK_STREAM".parse::<SockType>().unwrap(), SockType::Stream);
/// assert_eq!("udp".parse::<SockType>().unwrap(), SockType::Datagram);
/// assert_eq!("1".parse::<SockType>().unwrap(), SockType::Stream); // socket.SOCK_STREAM
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_DGRAM`: UDP, or a Unix datagram socket.
    Datagram,
    /// `SOCK_STREAM`: TCP, or a Unix stream socket.
    Stream,
}

/// A `socktype` that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown socktype '{0}' (SOCK_DGRAM or SOCK_STREAM, 2 or 1, udp or tcp)")]
pub struct UnknownSockType(pub String);

impl std::str::FromStr for SockType {
    type Err = UnknownSockType;
    fn from_str(s: &str) -> Result<SockType, UnknownSockType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sock_dgram" | "socket.sock_dgram" | "dgram" | "datagram" | "udp" | "2" => {
                Ok(SockType::Datagram)
            }
            "sock_stream" | "socket.sock_stream" | "stream" | "tcp" | "1" => Ok(SockType::Stream),
            _ => Err(UnknownSockType(s.to_owned())),
        }
    }
}

/// How to open a connection: the address, the socket type and, for TLS, its configuration.
#[derive(Clone)]
pub(crate) struct Connector {
    pub(crate) address: SyslogAddress,
    pub(crate) socktype: Option<SockType>,
    pub(crate) tls: Option<TlsTarget>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("address", &self.address)
            .field("socktype", &self.socktype)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Connector {
    /// Whether messages go over a stream (and so need framing to be told apart).
    pub(crate) fn is_stream(&self) -> bool {
        self.tls.is_some() || self.socktype == Some(SockType::Stream)
    }

    /// Opens a connection (for TLS, through the handshake).
    pub(crate) fn connect(&self) -> io::Result<Conn> {
        match &self.address {
            SyslogAddress::Unix(path) => self.connect_unix(path),
            SyslogAddress::Inet { host, port } => {
                let addrs = (host.as_str(), *port)
                    .to_socket_addrs()?
                    .collect::<Vec<_>>();
                if addrs.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{host}: getaddrinfo returned no address"),
                    ));
                }
                match self.socktype {
                    None | Some(SockType::Datagram) if self.tls.is_none() => udp(&addrs),
                    _ => {
                        let tcp = self.tcp(&addrs)?;
                        match &self.tls {
                            None => Ok(Conn::Tcp(tcp)),
                            Some(target) => target.connect(tcp, self.timeout),
                        }
                    }
                }
            }
        }
    }

    fn tcp(&self, addrs: &[SocketAddr]) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(addr, self.timeout) {
                Ok(s) => {
                    s.set_write_timeout(Some(self.timeout))?;
                    s.set_read_timeout(Some(self.timeout))?;
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::NotFound.into()))
    }

    /// Python's `_connect_unixsocket`: the socket type asked for, or datagram then stream.
    fn connect_unix(&self, path: &std::path::Path) -> io::Result<Conn> {
        let dgram = || -> io::Result<Conn> {
            let s = UnixDatagram::unbound()?;
            s.connect(path)?;
            s.set_write_timeout(Some(self.timeout))?;
            Ok(Conn::UnixDatagram(s))
        };
        let stream = || -> io::Result<Conn> {
            let s = UnixStream::connect(path)?;
            s.set_write_timeout(Some(self.timeout))?;
            s.set_read_timeout(Some(self.timeout))?;
            Ok(Conn::UnixStream(s))
        };
        match self.socktype {
            Some(SockType::Datagram) => dgram(),
            Some(SockType::Stream) => stream(),
            None => dgram().or_else(|_| stream()),
        }
    }
}

fn udp(addrs: &[SocketAddr]) -> io::Result<Conn> {
    let mut last = None;
    for addr in addrs {
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        // Connected, so that the kernel reports a refusing port (ICMP) as an error on a
        // later send instead of the record vanishing without a word.
        match UdpSocket::bind(bind).and_then(|s| s.connect(addr).map(|()| s)) {
            Ok(s) => return Ok(Conn::Udp(s)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::NotFound.into()))
}

/// How long a new TLS 1.3 connection waits for the relay's verdict on the client (see
/// `TlsTarget::connect`); a relay that says nothing costs this once per connection.
#[cfg(feature = "tls")]
const TLS13_VERDICT_WAIT: Duration = Duration::from_millis(250);

/// The TLS configuration and the name to verify the relay's certificate against.
#[cfg(feature = "tls")]
#[derive(Clone)]
pub(crate) struct TlsTarget {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) name: rustls::pki_types::ServerName<'static>,
}

/// Without the `tls` feature there is no TLS target to have.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(crate) enum TlsTarget {}

#[cfg(feature = "tls")]
impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS verifying {:?}", self.name)
    }
}

#[cfg(not(feature = "tls"))]
impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl TlsTarget {
    /// Runs the handshake over `tcp`, so a refused certificate is an error of the connect,
    /// naming the cause.
    #[cfg(feature = "tls")]
    fn connect(&self, mut tcp: TcpStream, timeout: Duration) -> io::Result<Conn> {
        let mut conn = rustls::ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        let tls13 = conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let mut stream = Box::new(rustls::StreamOwned::new(conn, tcp));
        // In TLS 1.3 the client's handshake ends before the server has judged the client's
        // certificate: a refusal comes as an alert afterwards, and whatever was written
        // meanwhile would be lost without a word. So wait, briefly, for the server's first
        // word (its session tickets, or the alert) before calling the connection open.
        if tls13 {
            stream.sock.set_read_timeout(Some(TLS13_VERDICT_WAIT))?;
            let read = stream.conn.read_tls(&mut stream.sock);
            stream.sock.set_read_timeout(Some(timeout))?;
            match read {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the relay closed the TLS connection after the handshake",
                    ))
                }
                Ok(_) => {
                    stream.conn.process_new_packets().map_err(|e| {
                        io::Error::new(io::ErrorKind::ConnectionRefused, format!("TLS: {e}"))
                    })?;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Conn::Tls(stream))
    }

    #[cfg(not(feature = "tls"))]
    fn connect(&self, _: TcpStream, _: Duration) -> io::Result<Conn> {
        match *self {}
    }
}

/// One open connection.
pub(crate) enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    UnixDatagram(UnixDatagram),
    UnixStream(UnixStream),
}

impl Conn {
    /// Sends one message (datagram sockets) or writes bytes to the stream.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Udp(s) => sent_whole(s.send(bytes)?, bytes),
            Conn::UnixDatagram(s) => sent_whole(s.send(bytes)?, bytes),
            Conn::Tcp(s) => s.write_all(bytes),
            Conn::UnixStream(s) => s.write_all(bytes),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => {
                s.write_all(bytes)?;
                s.flush()
            }
        }
    }

    /// Whether a stream connection is still worth writing to: a relay that stopped closed
    /// it, and a write would still "succeed" into the kernel's buffer and be lost. `Err`: the
    /// relay ended it with an error (a TLS alert), which the records written last may have
    /// met too.
    pub(crate) fn check_open(&mut self) -> io::Result<bool> {
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let fd = match self {
            Conn::Tcp(s) => s.as_raw_fd(),
            Conn::UnixStream(s) => s.as_raw_fd(),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => return tls_check_open(s),
            Conn::Udp(_) | Conn::UnixDatagram(_) => return Ok(true),
        };
        let mut byte = [0u8; 1];
        match recv(fd, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT) {
            Ok(0) => Ok(false),
            Ok(_) => Ok(true), // a relay that talks is alive
            Err(nix::errno::Errno::EAGAIN) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(feature = "tls")]
/// A TLS relay has closed when its socket is at end of file or it sent `close_notify`, and
/// failed when it sent an alert; what else it sent (session tickets) is read and kept by
/// rustls, without blocking.
fn tls_check_open(
    s: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
) -> io::Result<bool> {
    s.sock.set_nonblocking(true)?;
    let read = s.conn.read_tls(&mut s.sock);
    s.sock.set_nonblocking(false)?;
    match read {
        Ok(0) => Ok(false),
        Ok(_) => match s.conn.process_new_packets() {
            Ok(state) => Ok(!state.peer_has_closed()),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("TLS: the relay ended the connection: {e}"),
            )),
        },
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    }
}

fn sent_whole(n: usize, bytes: &[u8]) -> io::Result<()> {
    if n == bytes.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("datagram truncated: {n} of {} bytes sent", bytes.len()),
        ))
    }
}
