//! Python's records: what `logging.handlers.SocketHandler` and `DatagramHandler` send, taken
//! on TCP, UDP, a Unix stream socket or a Unix datagram socket.
//!
//! # What arrives, and what becomes of it
//! Each stream frame and each datagram is a 4-byte big-endian length and a pickle of the
//! record's attribute dict ([`crate::compat::pickle`]). The readers decode them on their own
//! threads with the data-only decoder (nothing a pickle says is imported or called), within
//! [`Limits`] checked before anything is allocated, and hand whole batches of [`Record`]s, in
//! each peer's order, to the dispatch thread: a Python record then goes through the same
//! hierarchy, filters and formatters as an mplog worker's, with its own `process`,
//! `processName`, `thread`, `threadName`, `created`, `msecs`, `pathname`, `lineno`,
//! `funcName`, `exc_text`, `stack_info` and extra fields.
//!
//! # Safe by construction
//! - TCP and UDP bind the loopback address unless an address is named ([`PythonInput::parse`]);
//!   an allow-list of peer addresses ([`AllowedPeer`]) refuses connections and datagrams from
//!   anywhere else (counted in [`ListenerStats::rejected`], logged);
//! - the Unix sockets are created `0600`; the stream one also checks its peer's uid against the
//!   listener's allowed uids (`SO_PEERCRED`);
//! - a bad frame (code opcodes, a length over the limit, nesting too deep, not a record)
//!   closes that one connection, the reason logged with the peer's address, pid and
//!   `processName` ([`ListenerStats::malformed`]); a bad datagram is dropped, counted
//!   ([`ListenerStats::bad_datagrams`]) and logged. Nobody else is held up;
//! - each connection has one reader thread whose memory grows with the bytes its peer sent
//!   (never with a length it announced), at most `max_connections` Python connections at once.
//!
//! [`ListenerStats::rejected`]: crate::queue::ListenerStats::rejected
//! [`ListenerStats::malformed`]: crate::queue::ListenerStats::malformed
//! [`ListenerStats::bad_datagrams`]: crate::queue::ListenerStats::bad_datagrams

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::python_dgram;
use super::python_stream;
use crate::compat::pickle::Limits;
use crate::level::Level;
use crate::queue::listener::dispatch::DispatchMsg;
use crate::queue::listener::peer::{register_python_peer, WorkerEntry};
use crate::queue::listener::{ListenerHandle, QueueListenerBuilder, Shared};
use crate::queue::QueueError;
use crate::record::Record;

/// Python's `logging.handlers.DEFAULT_TCP_LOGGING_PORT`.
pub const DEFAULT_TCP_PORT: u16 = 9020;
/// Python's `logging.handlers.DEFAULT_UDP_LOGGING_PORT`.
pub const DEFAULT_UDP_PORT: u16 = 9021;
/// Records a stream reader hands to the dispatch thread at once, at most.
const BATCH_RECORDS: usize = 256;
/// Pickle bytes a reader gathers in one batch, at most (bounds the listener's memory with
/// the dispatch channel's capacity).
const BATCH_BYTES: usize = 1 << 20;

/// Where the listener takes Python's records.
///
/// ```
/// use mplog::queue::listener::PythonInput;
/// // A port alone binds the loopback address: other hosts are not let in by accident.
/// assert_eq!(PythonInput::parse("tcp", "9020").unwrap().to_string(), "tcp 127.0.0.1:9020");
/// assert_eq!(PythonInput::parse("udp", "0.0.0.0:9021").unwrap().to_string(), "udp 0.0.0.0:9021");
/// assert!(PythonInput::parse("tcp", "localhost:x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonInput {
    /// `SocketHandler(host, port)`: length-prefixed pickles on a TCP stream.
    Tcp(SocketAddr),
    /// `DatagramHandler(host, port)`: one length-prefixed pickle per UDP datagram.
    Udp(SocketAddr),
    /// `SocketHandler(path, None)`: the same on a Unix stream socket (created `0600`).
    UnixStream(PathBuf),
    /// `DatagramHandler(path, None)`: the same on a Unix datagram socket (created `0600`).
    UnixDgram(PathBuf),
}

impl PythonInput {
    /// Reads `[HOST:]PORT` (`tcp`, `udp`) or a path (`unix-stream`, `unix-dgram`; also
    /// spelt with `_`). A port alone means the loopback address `127.0.0.1`; `HOST` must be
    /// an IP address (`[::1]:9020` for IPv6).
    ///
    /// ```
    /// use mplog::queue::listener::PythonInput;
    /// assert!(matches!(PythonInput::parse("unix_dgram", "/run/app/log.sock"), Ok(PythonInput::UnixDgram(_))));
    /// assert!(PythonInput::parse("ftp", "21").is_err());
    /// ```
    pub fn parse(kind: &str, text: &str) -> Result<PythonInput, String> {
        let net = |text: &str| -> Result<SocketAddr, String> {
            if let Ok(port) = text.parse::<u16>() {
                return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
            }
            text.parse::<SocketAddr>().map_err(|_| {
                format!("{text:?} is neither PORT nor IP:PORT (a port alone binds 127.0.0.1)")
            })
        };
        let path = |text: &str| -> Result<PathBuf, String> {
            if text.is_empty() {
                Err("an empty socket path".into())
            } else {
                Ok(PathBuf::from(text))
            }
        };
        match kind.replace('_', "-").as_str() {
            "tcp" => net(text).map(PythonInput::Tcp),
            "udp" => net(text).map(PythonInput::Udp),
            "unix-stream" => path(text).map(PythonInput::UnixStream),
            "unix-dgram" => path(text).map(PythonInput::UnixDgram),
            other => Err(format!(
                "unknown Python input {other:?} (tcp, udp, unix-stream, unix-dgram)"
            )),
        }
    }
}

impl fmt::Display for PythonInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PythonInput::Tcp(a) => write!(f, "tcp {a}"),
            PythonInput::Udp(a) => write!(f, "udp {a}"),
            PythonInput::UnixStream(p) => write!(f, "unix-stream {}", p.display()),
            PythonInput::UnixDgram(p) => write!(f, "unix-dgram {}", p.display()),
        }
    }
}

/// An address, or a network (`ADDRESS/BITS`), allowed to send Python records over TCP or UDP.
///
/// ```
/// use mplog::queue::listener::AllowedPeer;
/// let lan: AllowedPeer = "10.1.0.0/16".parse().unwrap();
/// assert!(lan.contains("10.1.200.3".parse().unwrap()));
/// assert!(!lan.contains("10.2.0.1".parse().unwrap()));
/// let one: AllowedPeer = "::1".parse().unwrap();
/// assert!(one.contains("::1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<AllowedPeer>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedPeer {
    address: IpAddr,
    bits: u8,
}

impl AllowedPeer {
    /// Whether `ip` is this address or in this network (an IPv4 peer seen as `::ffff:a.b.c.d`
    /// matches its IPv4 form).
    ///
    /// ```
    /// let p: mplog::queue::listener::AllowedPeer = "127.0.0.1".parse().unwrap();
    /// assert!(p.contains("::ffff:127.0.0.1".parse().unwrap()));
    /// ```
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.bits),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.bits),
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
}

impl FromStr for AllowedPeer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let address: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or ADDRESS/BITS"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|&b| b <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0..={max}"))?,
        };
        Ok(AllowedPeer { address, bits })
    }
}

impl fmt::Display for AllowedPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.bits)
    }
}

/// The Python inputs a builder was given.
#[derive(Debug, Clone, Default)]
pub(crate) struct PythonConfig {
    pub(crate) inputs: Vec<PythonInput>,
    pub(crate) allow: Vec<AllowedPeer>,
    pub(crate) limits: Limits,
}

impl QueueListenerBuilder {
    /// Also takes Python's records here (see [`PythonInput`]); may be given several times.
    ///
    /// ```
    /// use mplog::queue::{listener::PythonInput, QueueListener};
    /// let listener = QueueListener::builder()
    ///     .python_input(PythonInput::parse("tcp", "0").unwrap()) // port 0: any free port
    ///     .start()
    ///     .unwrap();
    /// let bound = listener.python_inputs();
    /// assert!(matches!(bound[0], PythonInput::Tcp(a) if a.ip().is_loopback() && a.port() != 0));
    /// listener.stop();
    /// ```
    pub fn python_input(mut self, input: PythonInput) -> Self {
        self.python.inputs.push(input);
        self
    }

    /// Only these peers may send Python records over TCP or UDP (default: any peer that
    /// reaches the bound address, which is only this host unless an address was named).
    ///
    /// ```
    /// use mplog::queue::{listener::PythonInput, QueueListener};
    /// let listener = QueueListener::builder()
    ///     .python_input(PythonInput::parse("udp", "0.0.0.0:0").unwrap())
    ///     .python_allow(["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()])
    ///     .start()
    ///     .unwrap();
    /// assert_eq!(listener.stop().rejected, 0);
    /// ```
    pub fn python_allow(mut self, peers: impl IntoIterator<Item = AllowedPeer>) -> Self {
        self.python.allow.extend(peers);
        self
    }

    /// The bounds Python pickles are decoded within ([`Limits::default`]: 16 MiB frames,
    /// nesting 32 deep, 64 MiB decoded).
    ///
    /// ```
    /// use mplog::compat::pickle::Limits;
    /// let limits = Limits { max_frame: 1 << 20, ..Limits::default() };
    /// let listener = mplog::queue::QueueListener::builder().python_limits(limits).start().unwrap();
    /// listener.stop();
    /// ```
    pub fn python_limits(mut self, limits: Limits) -> Self {
        self.python.limits = limits;
        self
    }
}

impl ListenerHandle {
    /// The Python inputs as bound (a port 0 replaced by the port the system chose).
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// assert!(listener.python_inputs().is_empty());
    /// # listener.stop();
    /// ```
    pub fn python_inputs(&self) -> Vec<PythonInput> {
        self.python
            .as_ref()
            .map(|p| p.bound.clone())
            .unwrap_or_default()
    }
}

/// What every Python reader needs.
#[derive(Clone)]
pub(super) struct Ctx {
    pub(super) shared: Arc<Shared>,
    pub(super) tx: Sender<DispatchMsg>,
    pub(super) allow: Arc<[AllowedPeer]>,
    pub(super) allowed_uids: Arc<[u32]>,
    pub(super) limits: Limits,
    pub(super) max_connections: usize,
    /// Python stream connections being served.
    pub(super) live: Arc<AtomicUsize>,
}

impl Ctx {
    pub(super) fn notice(&self, level: Level, text: String) {
        // Only fails once the dispatch thread is gone: the listener is stopping.
        if self.tx.send(DispatchMsg::Notice(level, text)).is_err() {}
    }

    /// Whether an IP peer may send; refused ones are counted and logged.
    pub(super) fn admit(&self, peer: &SocketAddr, what: &str) -> bool {
        if self.allow.is_empty() || self.allow.iter().any(|a| a.contains(peer.ip())) {
            return true;
        }
        self.shared.rejected.fetch_add(1, Ordering::Relaxed);
        let allowed: Vec<String> = self.allow.iter().map(ToString::to_string).collect();
        self.notice(
            Level::WARNING,
            format!(
                "refused {what} from {peer}: not in the allowed peers [{}]",
                allowed.join(", ")
            ),
        );
        false
    }

    /// The statistics entry of a Python peer, named after its first record.
    pub(super) fn register(&self, address: &str, first: &Record) -> Arc<WorkerEntry> {
        register_python_peer(
            &self.shared,
            first.process,
            &first.process_name,
            address.to_owned(),
        )
    }

    /// Hands a batch to the dispatch thread; false once it is gone (stopping).
    pub(super) fn send(&self, peer: &Arc<WorkerEntry>, records: &mut Vec<Record>) -> bool {
        if records.is_empty() {
            return true;
        }
        let records = std::mem::replace(records, Vec::with_capacity(BATCH_RECORDS));
        self.tx
            .send(DispatchMsg::Records {
                peer: peer.clone(),
                records,
            })
            .is_ok()
    }

    /// Whether a batch of `records` holding `bytes` pickle bytes is full.
    pub(super) fn batch_full(records: usize, bytes: usize) -> bool {
        records >= BATCH_RECORDS || bytes >= BATCH_BYTES
    }
}

/// The last record's logger, thread and process names: the next record's, when equal, share
/// them. The dispatch thread then finds its logger by pointer (see its logger cache), and the
/// names' text is freed once.
#[derive(Default)]
pub(super) struct Names {
    name: Option<Arc<str>>,
    thread: Option<Arc<str>>,
    process: Option<Arc<str>>,
}

impl Names {
    pub(super) fn share(&mut self, record: &mut Record) {
        fn one(last: &mut Option<Arc<str>>, current: &mut Arc<str>) {
            match last {
                Some(l) if **l == **current => *current = l.clone(),
                _ => *last = Some(current.clone()),
            }
        }
        one(&mut self.name, &mut record.name);
        one(&mut self.thread, &mut record.thread_name);
        one(&mut self.process, &mut record.process_name);
    }
}

/// The running Python inputs of a listener.
pub(crate) struct PythonInputs {
    bound: Vec<PythonInput>,
    threads: Mutex<Vec<JoinHandle<Vec<JoinHandle<()>>>>>,
    /// Socket files to remove at stop.
    paths: Vec<PathBuf>,
}

impl PythonInputs {
    /// Binds every input (all or none) and starts their threads.
    pub(crate) fn start(
        config: PythonConfig,
        allowed_uids: &[u32],
        max_connections: usize,
        shared: Arc<Shared>,
        tx: Sender<DispatchMsg>,
    ) -> Result<Option<PythonInputs>, QueueError> {
        if config.inputs.is_empty() {
            return Ok(None);
        }
        let ctx = Ctx {
            shared,
            tx,
            allow: config.allow.into(),
            allowed_uids: allowed_uids.into(),
            limits: config.limits,
            max_connections,
            live: Arc::default(),
        };
        let mut bound = Vec::new();
        let mut starts = Vec::new();
        let mut paths = Vec::new();
        for input in &config.inputs {
            let (address, start) = match input {
                PythonInput::Tcp(_) | PythonInput::UnixStream(_) => {
                    python_stream::bind(input).map_err(QueueError::Bind)?
                }
                PythonInput::Udp(_) | PythonInput::UnixDgram(_) => {
                    python_dgram::bind(input).map_err(QueueError::Bind)?
                }
            };
            if let PythonInput::UnixStream(p) | PythonInput::UnixDgram(p) = &address {
                paths.push(p.clone());
            }
            bound.push(address);
            starts.push(start);
        }
        let mut threads = Vec::new();
        for (start, address) in starts.into_iter().zip(&bound) {
            let ctx = ctx.clone();
            let name = address.to_string();
            let thread = std::thread::Builder::new()
                .name(format!(
                    "mplog-py-{}",
                    name.split(' ').next().unwrap_or("in")
                ))
                .spawn(move || start(ctx))
                .map_err(QueueError::Thread)?;
            threads.push(thread);
        }
        Ok(Some(PythonInputs {
            bound,
            threads: Mutex::new(threads),
            paths,
        }))
    }

    /// Stops taking connections and datagrams, lets every reader hand on what its peer had
    /// sent (until it is quiet for [`STOP_GRACE`](crate::queue::listener::STOP_GRACE)), and
    /// removes the socket files. Called with the listener's `stopping` flag set.
    pub(crate) fn stop(&self) {
        for t in std::mem::take(&mut *self.threads.lock()) {
            for reader in t.join().unwrap_or_default() {
                if reader.join().is_err() {}
            }
        }
        for p in &self.paths {
            // Already gone (removed by hand) is what we want.
            if std::fs::remove_file(p).is_err() {}
        }
    }
}

/// A bound input's loop: runs until the listener stops; returns the threads it started.
pub(super) type Start = Box<dyn FnOnce(Ctx) -> Vec<JoinHandle<()>> + Send>;

/// Makes a Unix socket file private to the listener's user.
pub(super) fn private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Removes a stale socket file (nothing listening on it) before binding; a live one is left
/// alone, and the bind fails.
pub(super) fn remove_stale(path: &std::path::Path) {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if is_socket
        && std::os::unix::net::UnixStream::connect(path).is_err()
        && std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.connect(path))
            .is_err()
    {
        // A race with another remover ends the same way.
        if std::fs::remove_file(path).is_err() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_and_partial_bytes() {
        let p: AllowedPeer = "192.168.1.128/25".parse().unwrap();
        assert!(p.contains("192.168.1.200".parse().unwrap()));
        assert!(!p.contains("192.168.1.127".parse().unwrap()));
        let any: AllowedPeer = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("8.8.8.8".parse().unwrap()));
        assert!(!any.contains("::2".parse().unwrap()));
        let v6: AllowedPeer = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("x/8".parse::<AllowedPeer>().is_err());
    }

    #[test]
    fn inputs_parse_as_documented() {
        let tcp = PythonInput::parse("tcp", "[::1]:9020").unwrap();
        assert_eq!(tcp, PythonInput::Tcp("[::1]:9020".parse().unwrap()));
        assert!(PythonInput::parse("unix-stream", "").is_err());
        assert!(PythonInput::parse("udp", "70000").is_err());
    }
}
