//! Unix domain stream sockets: the portable local transport.
//!
//! The listener binds a socket file; a private endpoint ([`SocketAcceptor::bind_private`])
//! lives in a fresh directory of mode 0700 with the socket at 0600, so only the owner can even
//! reach it, and the listener still checks every peer's uid (`SO_PEERCRED`). Writes use
//! `MSG_NOSIGNAL`: a worker whose listener died gets `EPIPE`, never a fatal `SIGPIPE`, and a
//! send timeout ([`SEND_TIMEOUT`]) keeps a stuck listener from holding a worker forever.

use std::fs;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{getsockopt, recv, send, sockopt::PeerCredentials, MsgFlags};

use super::address::{check_listener, check_socket_path, expected_listener_uid};
use super::{Acceptor, Connection, Peer, Transport};

/// A worker waits at most this long for one `write` to a listener that stopped reading; then
/// the connection is dropped and re-established.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket file's name inside a private endpoint directory.
pub const SOCKET_NAME: &str = "mplog.sock";

/// A connected Unix stream socket.
///
/// ```
/// use std::time::Duration;
/// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Acceptor, Transport};
/// let dir = tempfile::tempdir().unwrap();
/// let acceptor = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
/// let mut conn = SocketTransport::new(acceptor.path()).connect().unwrap(); // a SocketConnection
/// let _accepted = acceptor.accept().unwrap();
/// let mut buf = [0u8; 8];
/// assert!(conn.recv(&mut buf, Duration::from_millis(10)).is_err()); // nothing sent: timeout
/// ```
#[derive(Debug)]
pub struct SocketConnection {
    stream: UnixStream,
    read_timeout: Option<Duration>,
}

impl SocketConnection {
    fn new(stream: UnixStream) -> io::Result<SocketConnection> {
        stream.set_write_timeout(Some(SEND_TIMEOUT))?;
        Ok(SocketConnection {
            stream,
            read_timeout: None,
        })
    }
}

impl Connection for SocketConnection {
    fn send(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.stream);
        send(fd, bytes, MsgFlags::MSG_NOSIGNAL).map_err(io::Error::from)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        if self.read_timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        self.stream.read(buf)
    }

    fn try_send(&mut self, bytes: &[u8]) -> io::Result<usize> {
        // MSG_DONTWAIT: this call alone does not wait; the descriptor stays blocking for
        // the other handles on the same socket (O_NONBLOCK would be shared with them).
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.stream);
        send(fd, bytes, MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT).map_err(io::Error::from)
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.stream);
        recv(fd, buf, MsgFlags::MSG_DONTWAIT).map_err(io::Error::from)
    }

    fn wait(&self, timeout: Duration) -> io::Result<()> {
        let mut fds = [PollFd::new(
            self.stream.as_fd(),
            PollFlags::POLLIN | PollFlags::POLLOUT,
        )];
        // Rounded up to a millisecond: a zero timeout would not wait at all.
        let ms = u16::try_from(timeout.as_millis().max(1)).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn try_clone(&self) -> io::Result<Box<dyn Connection>> {
        Ok(Box::new(SocketConnection::new(self.stream.try_clone()?)?))
    }
}

/// Connects to a listener's socket file.
///
/// ```
/// use mplog::queue::transport::{socket::SocketTransport, Transport};
/// let t = SocketTransport::new("/nonexistent/mplog.sock");
/// assert!(t.connect().is_err());
/// ```
#[derive(Debug)]
pub struct SocketTransport {
    path: PathBuf,
    /// The uid the listener must run as (`None`: [`expected_listener_uid`] at each connect).
    listener_uid: Option<u32>,
    /// A refused listener was reported on stderr (once per transport: it retries).
    reported: AtomicBool,
}

impl SocketTransport {
    /// A transport to the socket at `path`.
    ///
    /// ```
    /// use mplog::queue::transport::{socket::SocketTransport, Transport};
    /// assert_eq!(SocketTransport::new("/tmp/app.sock").endpoint(), "/tmp/app.sock");
    /// ```
    pub fn new(path: impl AsRef<Path>) -> SocketTransport {
        SocketTransport {
            path: path.as_ref().to_path_buf(),
            listener_uid: None,
            reported: AtomicBool::new(false),
        }
    }

    /// Connects only to a listener running as `uid` (default: [`ENV_LISTENER_UID`] if set,
    /// else this process's uid). The check is the kernel's (`SO_PEERCRED`), made before
    /// anything is sent.
    ///
    /// ```
    /// use mplog::queue::transport::{socket::{SocketAcceptor, SocketTransport}, Transport};
    /// let dir = tempfile::tempdir().unwrap();
    /// let _ours = SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// let me = nix::unistd::getuid().as_raw();
    /// let other = SocketTransport::new(dir.path().join("t.sock")).listener_uid(me.wrapping_add(1));
    /// let err = other.connect().err().unwrap(); // not the listener it expects
    /// assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    /// ```
    ///
    /// [`ENV_LISTENER_UID`]: super::address::ENV_LISTENER_UID
    pub fn listener_uid(mut self, uid: u32) -> SocketTransport {
        self.listener_uid = Some(uid);
        self
    }
}

impl Transport for SocketTransport {
    fn connect(&self) -> io::Result<Box<dyn Connection>> {
        check_socket_path(&self.path)?;
        let stream = UnixStream::connect(&self.path)?;
        let checked = match self.listener_uid {
            Some(uid) => Ok(uid),
            None => expected_listener_uid(),
        }
        .and_then(|uid| check_listener(&stream, &self.path, uid));
        if let Err(e) = checked {
            // Retried with backoff by the caller: said once, not at every attempt.
            if !self.reported.swap(true, Ordering::Relaxed) {
                eprintln!("mplog: {e}");
            }
            return Err(e);
        }
        Ok(Box::new(SocketConnection::new(stream)?))
    }

    fn endpoint(&self) -> String {
        self.path.display().to_string()
    }
}

/// A listening socket file (removed again on drop, with its private directory if it made one).
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// let dir = tempfile::tempdir().unwrap();
/// let acceptor = mplog::queue::transport::socket::SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
/// let mode = std::fs::metadata(acceptor.path()).unwrap().permissions().mode();
/// assert_eq!(mode & 0o777, 0o600);
/// drop(acceptor);
/// assert!(!dir.path().join("t.sock").exists());
/// ```
#[derive(Debug)]
pub struct SocketAcceptor {
    listener: UnixListener,
    path: PathBuf,
    private_dir: Option<PathBuf>,
    /// Device and inode of the socket file this acceptor bound: the path still names it
    /// while they match.
    bound: (u64, u64),
    /// Set by [`wake`](Acceptor::wake): a waiting `accept` returns.
    woken: AtomicBool,
    /// The socket file was found removed or replaced (said once).
    lost: AtomicBool,
}

/// How often a waiting `accept` looks at the wake flag and at the socket file.
pub const ACCEPT_POLL: Duration = Duration::from_millis(250);

static PRIVATE_DIRS: AtomicU64 = AtomicU64::new(0);

impl SocketAcceptor {
    /// Binds `path`, replacing a stale socket file nobody listens on; the socket gets mode 0600.
    /// Anything else already at `path` (a log file given as the endpoint by mistake, a
    /// directory, a symlink) is left alone and refused with an error naming it.
    ///
    /// ```
    /// use mplog::queue::transport::socket::SocketAcceptor;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("t.sock");
    /// drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // a stale socket file
    /// let live = SocketAcceptor::bind(&path).unwrap(); // replaces it
    /// let err = SocketAcceptor::bind(&path).unwrap_err(); // a live one is refused
    /// assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    /// std::fs::write(dir.path().join("app.log"), "keep me").unwrap();
    /// assert!(SocketAcceptor::bind(dir.path().join("app.log")).is_err()); // not a socket
    /// # drop(live);
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<SocketAcceptor> {
        let path = path.as_ref().to_path_buf();
        check_socket_path(&path)?;
        // `symlink_metadata`: a symlink is not followed, so it is never taken for a socket.
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a socket; not replacing it (choose another endpoint)",
                        path.display()
                    ),
                ));
            }
            match UnixStream::connect(&path) {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("a listener already serves {}", path.display()),
                    ))
                }
                Err(_) => fs::remove_file(&path)?,
            }
        }
        let listener = UnixListener::bind(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display()))
        })?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
        let meta = fs::symlink_metadata(&path)?;
        Ok(SocketAcceptor {
            listener,
            path,
            private_dir: None,
            bound: (meta.dev(), meta.ino()),
            woken: AtomicBool::new(false),
            lost: AtomicBool::new(false),
        })
    }

    /// Whether the socket path still names this acceptor's socket: `false` once a cleaner
    /// removed it or another listener bound a new socket there (new workers then cannot
    /// reach this listener).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = mplog::queue::transport::socket::SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// assert!(acceptor.still_bound());
    /// std::fs::remove_file(acceptor.path()).unwrap(); // a /tmp cleaner
    /// assert!(!acceptor.still_bound());
    /// ```
    pub fn still_bound(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.bound)
    }

    /// Binds a socket in a fresh directory of mode 0700 under the temporary directory.
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// let acceptor = mplog::queue::transport::socket::SocketAcceptor::bind_private().unwrap();
    /// let dir = acceptor.path().parent().unwrap().to_path_buf();
    /// assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    /// drop(acceptor);
    /// assert!(!dir.exists()); // removed with the socket
    /// ```
    pub fn bind_private() -> io::Result<SocketAcceptor> {
        let base = std::env::temp_dir();
        loop {
            let n = PRIVATE_DIRS.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!(
                "mplog-{}-{}-{n}",
                std::process::id(),
                crate::record::now_ns() % 1_000_000_000
            ));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    // The umask may have narrowed it further; make it exactly 0700.
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
                    let mut acceptor = SocketAcceptor::bind(dir.join(SOCKET_NAME))?;
                    acceptor.private_dir = Some(dir);
                    return Ok(acceptor);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The socket file.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let acceptor = mplog::queue::transport::socket::SocketAcceptor::bind(dir.path().join("t.sock")).unwrap();
    /// assert_eq!(acceptor.path(), dir.path().join("t.sock"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl SocketAcceptor {
    fn accepted(stream: UnixStream) -> io::Result<(Box<dyn Connection>, Peer)> {
        // Linux does not pass the listener's O_NONBLOCK on to accepted sockets; be explicit.
        stream.set_nonblocking(false)?;
        let cred = getsockopt(&stream, PeerCredentials)?;
        let peer = Peer {
            uid: cred.uid(),
            pid: cred.pid(),
        };
        Ok((Box::new(SocketConnection::new(stream)?), peer))
    }
}

impl Acceptor for SocketAcceptor {
    /// Waits for a connection, looking every [`ACCEPT_POLL`] at the wake flag (so `wake`
    /// works even when the socket file is gone and cannot be connected to) and at the socket
    /// file: the first look that finds it removed or replaced returns an error saying so
    /// (later ones do not repeat it), and the listener goes on serving whoever is connected.
    fn accept(&self) -> io::Result<(Box<dyn Connection>, Peer)> {
        loop {
            if self.woken.load(Ordering::Acquire) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "woken to stop"));
            }
            let mut fds = [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
            let ms = u16::try_from(ACCEPT_POLL.as_millis()).unwrap_or(u16::MAX);
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => {}
                Ok(_) => match self.try_accept()? {
                    Some(accepted) => return Ok(accepted),
                    None => continue, // taken by nobody else; a spurious wake-up
                },
                Err(e) => return Err(e.into()),
            }
            if !self.still_bound() && !self.lost.swap(true, Ordering::AcqRel) {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "the socket file {} was removed or replaced: new workers cannot reach \
                         this listener (those connected, and their rings, are still served); \
                         stop it (SIGTERM) and start a listener again",
                        self.path.display()
                    ),
                ));
            }
        }
    }

    fn try_accept(&self) -> io::Result<Option<(Box<dyn Connection>, Peer)>> {
        self.listener.set_nonblocking(true)?;
        let result = self.listener.accept();
        self.listener.set_nonblocking(false)?;
        match result {
            Ok((stream, _)) => SocketAcceptor::accepted(stream).map(Some),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        // Faster than the next poll, when the file is still ours to connect to (a probe:
        // the listener closes it without a word).
        if self.still_bound() {
            let _ = UnixStream::connect(&self.path);
        }
    }

    fn endpoint(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for SocketAcceptor {
    fn drop(&mut self) {
        // Only our own socket: another listener may have bound a new one at the path.
        if self.still_bound() {
            let _ = fs::remove_file(&self.path);
        }
        if let Some(dir) = &self.private_dir {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_refuses_to_replace_a_file_that_is_not_a_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("app.log");
        fs::write(&path, "precious\n").expect("user file");
        let err = SocketAcceptor::bind(&path).expect_err("a regular file is not replaced");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(&path).expect("still there"),
            "precious\n"
        );
    }

    #[test]
    fn bind_replaces_a_stale_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stale.sock");
        // A socket file nobody listens on any more (its listener dropped without unlinking).
        drop(UnixListener::bind(&path).expect("first bind"));
        assert!(path.exists());
        let acceptor = SocketAcceptor::bind(&path).expect("stale socket replaced");
        assert!(UnixStream::connect(acceptor.path()).is_ok());
    }

    #[test]
    fn bind_refuses_a_live_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("live.sock");
        let _live = SocketAcceptor::bind(&path).expect("first bind");
        let err = SocketAcceptor::bind(&path).expect_err("in use");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
