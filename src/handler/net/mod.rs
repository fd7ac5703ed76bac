//! What the network handlers share: where the peer is ([`Address`]), how they behave when it
//! is slow or away ([`NetOptions`]), and what they count ([`NetStats`]).
//!
//! # Python's behaviour, and what it does not do
//! Python's `SocketHandler` connects at the first record, and after a failure waits
//! `retryStart` (1 s), then `retryFactor` (2.0) times longer after each further failure, up to
//! `retryMax` (30 s); a connection that breaks is retried at once. Records logged meanwhile
//! are lost, silently, and the caller waits on the network (up to a 1 s timeout per attempt).
//!
//! mplog's network handlers keep the backoff, and add what a user expects:
//! - the caller never touches the network: it encodes its record into a bounded buffer
//!   ([`DEFAULT_MAX_PENDING`] bytes) and returns; one thread per handler connects and sends;
//! - while the peer is away, records wait in that buffer and are sent, in order, once it is
//!   back; when the buffer is full the oldest are dropped, counted ([`NetStats::dropped`]) and
//!   reported through the handler's error policy;
//! - while the peer is there but slower than the program logs, the [`Overflow`] policy
//!   decides: wait for room at most its timeout (the default, 1 s), or drop at once;
//! - `flush` waits (within [`DEFAULT_FLUSH_TIMEOUT`]) until what was logged before it is
//!   sent; `close` does the same within [`DEFAULT_DRAIN_TIMEOUT`], then counts what it could
//!   not send as dropped. Nothing is dropped without being counted and reported.
//!
//! `close_on_error` (Python's `closeOnError`) keeps its meaning: a connection error closes the
//! connection quietly (it is always closed and retried here; without the flag, the first
//! error of each outage is reported).
//!
//! Every network handler runs on this: [`SocketHandler`](super::SocketHandler) and
//! [`DatagramHandler`](super::DatagramHandler), [`SysLogHandler`](super::syslog::SysLogHandler)
//! (UDP, TCP, TLS, Unix sockets), and the request-per-record ones, `SMTPHandler` and
//! `HTTPHandler` (a request that cannot reach its server keeps the record and backs off; one
//! the server refuses is dropped, counted and reported). For those two, `close` may wait one
//! request's own timeout beyond the drain timeout: a request under way is not cut.
//!
//! A handler made before a `fork` does not send from the child (the connection and the thread
//! belong to the parent): the child's records are counted as dropped, and that is reported
//! once. Make the handler in the child.

mod backoff;
mod outbox;
pub(crate) mod output;
pub(crate) mod request;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub(crate) mod transport;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::handler::overflow::Overflow;

/// Python's `retryStart`: the first wait after a failed connection attempt.
pub const DEFAULT_RETRY_START: Duration = Duration::from_secs(1);
/// Python's `retryFactor`: each further failure multiplies the wait by this.
pub const DEFAULT_RETRY_FACTOR: f64 = 2.0;
/// Python's `retryMax`: the longest wait between attempts.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(30);
/// Python's `makeSocket(timeout=1)`: how long a connection attempt or a write may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Encoded bytes kept while the peer is away or slow (beyond it, the oldest are dropped).
pub const DEFAULT_MAX_PENDING: usize = 4 * 1024 * 1024;
/// Longest wait of `flush` for the peer.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait of `close` (and of the handler's drop) to send what is buffered.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a network handler sends: `host:port` (TCP or UDP by handler), or a Unix socket path
/// (Python's `port=None`).
///
/// ```
/// use mplog::handler::net::Address;
/// assert_eq!(Address::from_python("localhost", Some(9020)).to_string(), "localhost:9020");
/// assert_eq!(Address::from_python("/run/log.sock", None), Address::Unix("/run/log.sock".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A host name or address, and a port.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix socket path.
    Unix(PathBuf),
}

impl Address {
    /// Python's `(host, port)` arguments: a port means a network address, `None` a Unix
    /// socket path in `host`.
    ///
    /// ```
    /// use mplog::handler::net::Address;
    /// assert!(matches!(Address::from_python("127.0.0.1", Some(9021)), Address::Tcp { port: 9021, .. }));
    /// ```
    pub fn from_python(host: &str, port: Option<u16>) -> Address {
        match port {
            Some(port) => Address::Tcp {
                host: host.to_owned(),
                port,
            },
            None => Address::Unix(PathBuf::from(host)),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "{host}:{port}"),
            Address::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// How a network handler connects, buffers and waits (see the [module docs](self)).
///
/// ```
/// use std::time::Duration;
/// use mplog::handler::net::NetOptions;
/// let o = NetOptions::default();
/// assert_eq!((o.retry_start, o.retry_factor, o.retry_max), (Duration::from_secs(1), 2.0, Duration::from_secs(30)));
/// assert!(!o.close_on_error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetOptions {
    /// First wait after a failed connection attempt ([`DEFAULT_RETRY_START`]).
    pub retry_start: Duration,
    /// Factor of each further wait ([`DEFAULT_RETRY_FACTOR`]).
    pub retry_factor: f64,
    /// Longest wait ([`DEFAULT_RETRY_MAX`]).
    pub retry_max: Duration,
    /// Connection and write timeout ([`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// Bytes buffered while the peer is away or slow ([`DEFAULT_MAX_PENDING`]).
    pub max_pending: usize,
    /// What a caller does when the buffer is full and the peer is there but slow.
    pub overflow: Overflow,
    /// Python's `closeOnError`: connection errors close the connection without a report.
    pub close_on_error: bool,
    /// Longest wait of `flush` ([`DEFAULT_FLUSH_TIMEOUT`]).
    pub flush_timeout: Duration,
    /// Longest wait of `close` ([`DEFAULT_DRAIN_TIMEOUT`]).
    pub drain_timeout: Duration,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            retry_start: DEFAULT_RETRY_START,
            retry_factor: DEFAULT_RETRY_FACTOR,
            retry_max: DEFAULT_RETRY_MAX,
            timeout: DEFAULT_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            overflow: Overflow::default(),
            close_on_error: false,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

/// What a network handler has done with its records.
///
/// ```
/// let s = mplog::handler::net::NetStats::default();
/// assert_eq!((s.sent, s.dropped, s.pending), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetStats {
    /// Records the peer's connection took whole.
    pub sent: u64,
    /// Records dropped (buffer full, peer unreachable at close, too large, after close).
    pub dropped: u64,
    /// Records waiting in the buffer.
    pub pending: u64,
}
