//! What a socket path must be before anything is bound or connected to it, and who must be
//! at the other end of a worker's connection.
//!
//! A Unix socket's address is a fixed `sun_path` array ([`SUN_PATH_MAX`] bytes on Linux,
//! the terminating NUL included): a longer path cannot be bound or connected to, and the
//! system's own error ("path must be shorter than SUN_LEN", or `ENAMETOOLONG`) names neither
//! the path nor the limit, so [`check_socket_path`] does. A worker connects only to a listener
//! of the expected uid ([`expected_listener_uid`]): its own by default, or the one named in
//! [`ENV_LISTENER_UID`]; a socket put at the endpoint by another user gets nothing.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

/// Bytes of `sun_path` in `struct sockaddr_un` on Linux, the terminating NUL included: a
/// socket path may be at most one less.
pub const SUN_PATH_MAX: usize = 108;

/// The uid a worker expects its listener to run as (a number), when not its own.
pub const ENV_LISTENER_UID: &str = "MPLOG_LISTENER_UID";

/// Checks that `path` can name a Unix socket: not empty, short enough for `sun_path`, in a
/// directory that exists. The error names the path (and the limit).
///
/// ```
/// use mplog::queue::transport::address::{check_socket_path, SUN_PATH_MAX};
/// assert!(check_socket_path("/tmp/app.sock".as_ref()).is_ok());
/// let long = format!("/tmp/{}.sock", "x".repeat(SUN_PATH_MAX));
/// let err = check_socket_path(long.as_ref()).unwrap_err();
/// assert!(err.to_string().contains("107 bytes"), "{err}");
/// assert!(check_socket_path("/nonexistent-dir/app.sock".as_ref()).is_err());
/// assert!(check_socket_path("".as_ref()).is_err());
/// ```
pub fn check_socket_path(path: &Path) -> io::Result<()> {
    let len = path.as_os_str().len();
    if len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the socket path is empty (give the listener's socket path)",
        ));
    }
    if len >= SUN_PATH_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "socket path {} is {len} bytes long; a Unix socket path may be at most {} bytes \
                 (sun_path holds {SUN_PATH_MAX} with the terminating NUL): choose a shorter one",
                path.display(),
                SUN_PATH_MAX - 1
            ),
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the directory {} of socket path {} does not exist",
                parent.display(),
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The uid a worker's listener must run as: [`ENV_LISTENER_UID`] if set, else the worker's
/// own. A value that is not a uid is an error naming it.
///
/// ```
/// use mplog::queue::transport::address::expected_listener_uid;
/// std::env::remove_var("MPLOG_LISTENER_UID");
/// assert_eq!(expected_listener_uid().unwrap(), nix::unistd::getuid().as_raw());
/// ```
pub fn expected_listener_uid() -> io::Result<u32> {
    match std::env::var(ENV_LISTENER_UID) {
        Err(std::env::VarError::NotPresent) => Ok(nix::unistd::getuid().as_raw()),
        Ok(text) => text.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{ENV_LISTENER_UID}={text:?} is not a user id (a number)"),
            )
        }),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{ENV_LISTENER_UID}: {e}"),
        )),
    }
}

/// Checks, with the kernel's word (`SO_PEERCRED`), that the process listening at the other
/// end of `stream` runs as `uid`; the error names the path, the uid found and its pid.
///
/// ```
/// use std::os::unix::net::{UnixListener, UnixStream};
/// use mplog::queue::transport::address::check_listener;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("l.sock");
/// let _listening = UnixListener::bind(&path).unwrap();
/// let stream = UnixStream::connect(&path).unwrap();
/// let me = nix::unistd::getuid().as_raw();
/// assert!(check_listener(&stream, &path, me).is_ok());
/// assert!(check_listener(&stream, &path, me.wrapping_add(1)).is_err());
/// ```
pub fn check_listener(stream: &UnixStream, path: &Path, uid: u32) -> io::Result<()> {
    let cred = getsockopt(stream, PeerCredentials)?;
    if cred.uid() == uid {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "the socket {} is served by uid {} (pid {}), not by the listener's uid {uid}: \
             nothing sent (set {ENV_LISTENER_UID} or QueueHandlerBuilder::listener_uid if the \
             listener runs as another user)",
            path.display(),
            cred.uid(),
            cred.pid()
        ),
    ))
}
