//! Where a [`SysLogHandler`](super::SysLogHandler) sends: the address forms Python takes
//! (`(host, port)` or a Unix socket path), the socket types, and which of the network
//! handlers' transports ([`net`](crate::handler::net)) carries them: UDP, TCP, TLS over TCP,
//! a Unix datagram or stream socket.

use std::path::PathBuf;

use crate::handler::net::transport::{DatagramTransport, Fallback, StreamTransport, Transport};
use crate::handler::net::Address;

#[cfg(feature = "tls")]
pub(crate) use crate::handler::net::tls::TlsTarget;
#[cfg(feature = "tls")]
use crate::handler::net::tls::TlsTransport;

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
/// assert_eq!("ext://socket.SOCK_DGRAM".parse::<SockType>().unwrap(), SockType::Datagram);
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
        // `socket.SOCK_STREAM`, `ext://socket.SOCK_STREAM`, `handlers.socket.SOCK_STREAM`...
        let lower = s.trim().to_ascii_lowercase();
        let name = lower.rsplit('.').next().unwrap_or_default();
        let name = name.strip_prefix("ext://").unwrap_or(name);
        match name {
            "sock_dgram" | "dgram" | "datagram" | "udp" | "2" => Ok(SockType::Datagram),
            "sock_stream" | "stream" | "tcp" | "1" => Ok(SockType::Stream),
            _ => Err(UnknownSockType(s.to_owned())),
        }
    }
}

impl From<&SyslogAddress> for Address {
    fn from(a: &SyslogAddress) -> Address {
        match a {
            SyslogAddress::Inet { host, port } => Address::Tcp {
                host: host.clone(),
                port: *port,
            },
            SyslogAddress::Unix(path) => Address::Unix(path.clone()),
        }
    }
}

/// Without the `tls` feature there is no TLS target to have.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Debug)]
pub(crate) enum TlsTarget {}

/// The transport Python's `SysLogHandler` would use for `address` and `socktype` (TLS, when
/// asked for, is TCP): UDP by default, a Unix path as a datagram socket and else a stream
/// one; and how reports name the peer.
pub(crate) fn transport(
    address: &SyslogAddress,
    socktype: Option<SockType>,
    tls: Option<TlsTarget>,
) -> (Box<dyn Transport>, String) {
    let net = Address::from(address);
    if let Some(target) = tls {
        #[cfg(feature = "tls")]
        if let SyslogAddress::Inet { host, port } = address {
            let t = TlsTransport::new(host.clone(), *port, target);
            return (Box::new(t), format!("syslog tls {address}"));
        }
        #[cfg(not(feature = "tls"))]
        match target {}
    }
    let stream = || Box::new(StreamTransport::new(net.clone())) as Box<dyn Transport>;
    let dgram = || Box::new(DatagramTransport::new(net.clone())) as Box<dyn Transport>;
    match (address, socktype) {
        (SyslogAddress::Unix(_), None) => (
            Box::new(Fallback::new(vec![dgram(), stream()])),
            format!("syslog unix {address}"),
        ),
        (SyslogAddress::Unix(_), Some(SockType::Stream)) => {
            (stream(), format!("syslog unix stream {address}"))
        }
        (SyslogAddress::Unix(_), Some(SockType::Datagram)) => {
            (dgram(), format!("syslog unix datagram {address}"))
        }
        (SyslogAddress::Inet { .. }, Some(SockType::Stream)) => {
            (stream(), format!("syslog tcp {address}"))
        }
        (SyslogAddress::Inet { .. }, _) => (dgram(), format!("syslog udp {address}")),
    }
}
