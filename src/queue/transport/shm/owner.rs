//! One endpoint, one listener: the ring directory of an endpoint belongs to the listener that
//! holds an exclusive `flock` on it, for as long as that listener lives.
//!
//! Every listener on a path scans the same directory; two of them would drain the same rings
//! (the records of one listener's workers ending in the other's files, two consumers of one
//! ring calling it corrupt). So a listener takes the lock before it binds its socket and keeps
//! it until it has stopped draining and committed what it handled; a second listener on the
//! same path is refused with an error naming the holder's pid. The kernel drops the lock when
//! its holder dies, however it dies: a SIGKILLed listener's directory is taken over by the
//! next one, which drains what the rings hold.
//!
//! The lock is on the directory itself, not on a file in it (nothing for a worker or a cleaner
//! to trip over). A directory can be removed and made again between `open` and `flock` (a
//! listener stopping, a worker recreating it): after locking, the path must still name the
//! locked directory, or the lock is taken again on the new one.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// Attempts at locking a directory that keeps being replaced under us.
const LOCK_ATTEMPTS: u32 = 16;

/// The lock on an endpoint's ring directory; released on drop (after removing the directory
/// if it is empty).
#[derive(Debug)]
pub(crate) struct DirLock {
    dir: PathBuf,
    lock: Option<Flock<File>>,
}

impl DirLock {
    /// Creates `dir` if needed (private, ours, see [`super::ensure_dir`]) and locks it, or
    /// fails naming the live listener that holds it (`AddrInUse`).
    pub(crate) fn acquire(dir: &Path, endpoint: &Path) -> io::Result<DirLock> {
        for _ in 0..LOCK_ATTEMPTS {
            super::ensure_dir(dir)?;
            let file = OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
                .open(dir)?;
            let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(locked) => locked,
                Err((file, Errno::EWOULDBLOCK)) => {
                    let holder = holder_pid(&file)
                        .map(|pid| format!(" (pid {pid})"))
                        .unwrap_or_default();
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "another listener{holder} is still serving endpoint {}: it holds \
                             the ring directory {}; stop it first (it may have lost its socket \
                             file to a cleaner, and still drains its workers' rings)",
                            endpoint.display(),
                            dir.display()
                        ),
                    ));
                }
                Err((_, e)) => return Err(e.into()),
            };
            let same = fs::symlink_metadata(dir)
                .and_then(|path| Ok((path, locked.metadata()?)))
                .is_ok_and(|(path, held)| (path.dev(), path.ino()) == (held.dev(), held.ino()));
            if same {
                return Ok(DirLock {
                    dir: dir.to_path_buf(),
                    lock: Some(locked),
                });
            }
            // Removed (and perhaps made again) between open and flock: lock the one there now.
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("the ring directory {} keeps being replaced", dir.display()),
        ))
    }
}

impl DirLock {
    /// The locked directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Still holding the lock: a listener taking over finds either this directory, empty
        // and gone, or one it makes itself. Not empty (rings left for the next listener): kept.
        let _ = fs::remove_dir(&self.dir);
        drop(self.lock.take());
    }
}

/// The pid holding a `flock` on `file`, from `/proc/locks` (`N: FLOCK ADVISORY WRITE pid
/// major:minor:inode ...`), when the system says.
fn holder_pid(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    let id = format!(
        "{:02x}:{:02x}:{}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev),
        meta.ino()
    );
    let locks = fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "FLOCK", _, _, pid, what, ..] if *what == id => pid.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("rings");
        let endpoint = tmp.path().join("app.sock");
        let first = DirLock::acquire(&dir, &endpoint).expect("first");
        // flock locks belong to the open file: a second open in this process conflicts too.
        let err = DirLock::acquire(&dir, &endpoint).expect_err("held");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(!dir.exists(), "an empty directory goes with its lock");
        let _second = DirLock::acquire(&dir, &endpoint).expect("free again");
    }
}
