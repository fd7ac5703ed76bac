//! Transports: how frames travel between a worker and its listener.
//!
//! One small pair of traits in front ([`Transport`] for the worker's side, [`Acceptor`] for the
//! listener's), one file per variant behind them. [`socket`]: Unix domain stream sockets
//! carrying the batched frames of [`wire`](super::wire), portable, and the only one for remote
//! listeners. [`shm`] (Linux): single-producer rings in shared memory written by the calling
//! thread, the default local transport; it keeps a socket connection as its control channel
//! (hello, ring announcements, drop reports) and moves the records through the rings.
//! [`address`]: what a socket path must be (its length limit, its directory) and who must
//! serve it (a worker checks its listener's uid before sending anything).
//!
//! # Why batched frames on a socket, and not ipc-channel
//! Measured on the reference machine (2 cores) with 4 child processes and ~100-byte records:
//!
//! | path | messages/s |
//! |---|---|
//! | batched frames on a Unix socket (one `write` per ~64 KiB) | 14.0 M |
//! | one `write` per message | 1.3 M |
//! | ipc-channel (one `sendmsg`/`recvmsg` per message) | 0.7 M |
//!
//! So the per-record path is a batched byte stream; ipc-channel stays off it and may serve only
//! the control plane (handing a descriptor to a child), where its cost does not matter.
//!
//! The design named the `interprocess` crate for local sockets. On Unix, `std::os::unix::net`
//! is the same system calls with no extra dependency, and it gives us the raw descriptor for
//! `SO_PEERCRED` and `MSG_NOSIGNAL`; `interprocess` would matter for Windows named pipes, which
//! a second file here can add behind the same traits.

pub mod address;
#[cfg(target_os = "linux")]
pub mod shm;
pub mod socket;

use std::fmt;
use std::io;
use std::time::Duration;

/// Which path a worker's records take to a local listener.
///
/// ```
/// use mplog::queue::transport::TransportKind;
/// assert_eq!("shm".parse::<TransportKind>(), Ok(TransportKind::Shm));
/// assert_eq!("socket".parse::<TransportKind>(), Ok(TransportKind::Socket));
/// assert!("carrier-pigeon".parse::<TransportKind>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Batched frames on the Unix socket, written by a sender thread.
    Socket,
    /// Shared-memory rings written by the calling thread (Linux only; elsewhere the socket is
    /// used instead).
    Shm,
}

impl Default for TransportKind {
    /// [`Shm`](TransportKind::Shm) on Linux, [`Socket`](TransportKind::Socket) elsewhere.
    fn default() -> Self {
        if cfg!(target_os = "linux") {
            TransportKind::Shm
        } else {
            TransportKind::Socket
        }
    }
}

impl std::str::FromStr for TransportKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shm" => Ok(TransportKind::Shm),
            "socket" => Ok(TransportKind::Socket),
            other => Err(format!("{other:?} is neither \"shm\" nor \"socket\"")),
        }
    }
}

/// One established connection, either end.
///
/// ```
/// use std::time::Duration;
/// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
/// let dir = tempfile::tempdir().unwrap();
/// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
/// let mut worker = SocketTransport::new(acceptor.path()).connect().unwrap();
/// let (mut listener_side, _peer) = acceptor.accept().unwrap();
/// worker.send_all(b"frame").unwrap();
/// let mut buf = [0u8; 16];
/// let n = listener_side.recv(&mut buf, Duration::from_secs(5)).unwrap();
/// assert_eq!(&buf[..n], b"frame");
/// ```
pub trait Connection: Send {
    /// Writes some of `bytes` and returns how many (never raises `SIGPIPE`; a gone peer is an
    /// error).
    ///
    /// ```
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let mut conn = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let (gone, _) = acceptor.accept().unwrap();
    /// assert_eq!(conn.send(b"abc").unwrap(), 3);
    /// drop(gone);
    /// let err = loop { if let Err(e) = conn.send(b"x") { break e } }; // an error, not SIGPIPE
    /// println!("{err}");
    /// ```
    fn send(&mut self, bytes: &[u8]) -> io::Result<usize>;

    /// Writes all of `bytes`; on error, returns how many were written before it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let mut conn = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let (mut peer, _) = acceptor.accept().unwrap();
    /// conn.send_all(b"hello").map_err(|(written, e)| (written, e.kind())).unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(peer.recv(&mut buf, Duration::from_secs(5)).unwrap(), 5);
    /// ```
    fn send_all(&mut self, mut bytes: &[u8]) -> Result<(), (usize, io::Error)> {
        let mut done = 0;
        while !bytes.is_empty() {
            match self.send(bytes) {
                Ok(0) => return Err((done, io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    done += n;
                    bytes = &bytes[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err((done, e)),
            }
        }
        Ok(())
    }

    /// Reads what is available into `buf`, waiting at most `timeout` (`Ok(0)`: end of stream;
    /// a timeout is an error of kind `WouldBlock` or `TimedOut`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let conn = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let (mut peer, _) = acceptor.accept().unwrap();
    /// drop(conn);
    /// let mut buf = [0u8; 8];
    /// assert_eq!(peer.recv(&mut buf, Duration::from_secs(5)).unwrap(), 0); // end of stream
    /// ```
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;

    /// Writes what fits now without waiting (an error of kind `WouldBlock` when nothing
    /// fits): the listener's replies never wait on a peer that does not read.
    ///
    /// ```
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let _worker = SocketTransport::new(acceptor.path()).connect().unwrap(); // never reads
    /// let (mut conn, _) = acceptor.accept().unwrap();
    /// let full = loop {
    ///     match conn.try_send(&[0u8; 4096]) {
    ///         Ok(_) => continue,
    ///         Err(e) => break e,
    ///     }
    /// };
    /// assert_eq!(full.kind(), std::io::ErrorKind::WouldBlock); // returned at once
    /// ```
    fn try_send(&mut self, bytes: &[u8]) -> io::Result<usize>;

    /// Reads what is available now without waiting (`Ok(0)`: end of stream; an error of kind
    /// `WouldBlock` when nothing is there).
    ///
    /// ```
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let mut worker = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let (mut listener_side, _) = acceptor.accept().unwrap();
    /// let mut buf = [0u8; 8];
    /// let err = worker.try_recv(&mut buf).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// listener_side.send_all(b"ack").map_err(|(_, e)| e).unwrap();
    /// assert_eq!(worker.try_recv(&mut buf).unwrap(), 3);
    /// ```
    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Waits, at most `timeout`, until a [`try_send`](Connection::try_send) could write or
    /// there is something to read (the peer closing included): a writer that found the socket
    /// full wakes as soon as either happens.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let worker = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let _accepted = acceptor.accept().unwrap();
    /// let started = Instant::now();
    /// worker.wait(Duration::from_secs(5)).unwrap(); // an empty socket can be written at once
    /// assert!(started.elapsed() < Duration::from_secs(5));
    /// ```
    fn wait(&self, timeout: Duration) -> io::Result<()>;

    /// A second handle on the same connection (the listener answers `Sync` from another thread).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let mut conn = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let (peer, _) = acceptor.accept().unwrap();
    /// let mut writer = peer.try_clone().unwrap(); // e.g. for another thread
    /// writer.send_all(b"ack").map_err(|(_, e)| e).unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(conn.recv(&mut buf, Duration::from_secs(5)).unwrap(), 3);
    /// ```
    fn try_clone(&self) -> io::Result<Box<dyn Connection>>;
}

/// The worker's side: how to reach a listener.
///
/// ```
/// use mplog::queue::transport::{socket::SocketTransport, Transport};
/// let t = SocketTransport::new("/run/app/mplog.sock");
/// assert_eq!(t.endpoint(), "/run/app/mplog.sock");
/// assert!(t.connect().is_err()); // nobody listens there
/// ```
pub trait Transport: Send + Sync + fmt::Debug {
    /// Opens a connection (no hello yet).
    ///
    /// ```
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let t = SocketTransport::new(dir.path().join("t.sock"));
    /// assert!(t.connect().is_err()); // not yet listening
    /// let _acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// assert!(t.connect().is_ok());
    /// ```
    fn connect(&self) -> io::Result<Box<dyn Connection>>;

    /// Where it connects, for messages.
    ///
    /// ```
    /// use mplog::queue::transport::{socket::SocketTransport, Transport};
    /// let t = SocketTransport::new("/run/app/mplog.sock");
    /// println!("cannot reach the listener at {}", t.endpoint());
    /// ```
    fn endpoint(&self) -> String;
}

/// Who is at the other end of an accepted connection.
///
/// ```
/// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
/// let dir = tempfile::tempdir().unwrap();
/// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
/// let _worker = SocketTransport::new(acceptor.path()).connect().unwrap();
/// let (_conn, peer) = acceptor.accept().unwrap();
/// assert_eq!(peer.pid as u32, std::process::id()); // the kernel's word, not the worker's
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The peer's user id, from the kernel (`SO_PEERCRED`).
    pub uid: u32,
    /// The peer's process id, from the kernel.
    pub pid: i32,
}

/// The listener's side: where connections arrive.
///
/// ```
/// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
/// let dir = tempfile::tempdir().unwrap();
/// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
/// assert!(acceptor.try_accept().unwrap().is_none()); // nobody yet
/// let _worker = SocketTransport::new(acceptor.endpoint()).connect().unwrap();
/// assert!(acceptor.try_accept().unwrap().is_some());
/// ```
pub trait Acceptor: Send + Sync {
    /// Waits for the next connection.
    ///
    /// ```
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let _worker = SocketTransport::new(acceptor.path()).connect().unwrap();
    /// let (_conn, peer) = acceptor.accept().unwrap();
    /// assert_eq!(peer.uid, nix::unistd::getuid().as_raw());
    /// ```
    fn accept(&self) -> io::Result<(Box<dyn Connection>, Peer)>;

    /// A connection already waiting, without blocking (`None` when there is none): stop
    /// serves the backlog before it closes the endpoint, so no worker that connected in time
    /// is turned away.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = mplog::queue::transport::socket::SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// use mplog::queue::transport::Acceptor;
    /// assert!(acceptor.try_accept().unwrap().is_none()); // returns at once
    /// ```
    fn try_accept(&self) -> io::Result<Option<(Box<dyn Connection>, Peer)>>;

    /// Makes a blocked [`accept`](Acceptor::accept) return (used by stop).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::queue::transport::{socket::SocketAcceptor, Acceptor};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = Arc::new(SocketAcceptor::bind(dir.path().join("t.sock")).unwrap());
    /// let a = acceptor.clone();
    /// let waiting = std::thread::spawn(move || a.accept().is_ok());
    /// acceptor.wake(); // the blocked accept returns
    /// waiting.join().unwrap();
    /// ```
    fn wake(&self);

    /// Where workers connect, for messages and `MPLOG_ENDPOINT`.
    ///
    /// ```
    /// use mplog::queue::transport::{socket::SocketAcceptor, Acceptor};
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// assert_eq!(acceptor.endpoint(), dir.path().join("t.sock").display().to_string());
    /// ```
    fn endpoint(&self) -> String;
}

/// Adapts a [`Connection`] to `io::Read` with a fixed timeout per read.
pub(crate) struct ReadWithTimeout {
    pub(crate) conn: Box<dyn Connection>,
    pub(crate) timeout: Duration,
}

impl io::Read for ReadWithTimeout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.recv(buf, self.timeout)
    }
}
