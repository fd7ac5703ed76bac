//! [`FLockRLock`]: an inter-process lock on `flock(2)` that is also reentrant and safe across the
//! threads of one process.
//!
//! # Behaviour
//! - **Between processes** the lock is an exclusive `flock` on a lock file (any path; the locked
//!   file handlers put it beside the log as `<log>.lock`). The kernel releases it when the
//!   holder dies, so a crashed process never leaves the others stuck.
//! - **Between threads** of one process: `flock` belongs to an *open file description*, so two
//!   threads sharing one descriptor would both "hold" it. An in-process owner slot (a mutex and
//!   a condition variable) lets one thread at a time take the file lock.
//! - **Reentrant**: the owning thread may acquire again; the lock is released when the last
//!   guard drops.
//! - **Non-blocking** ([`FLockRLock::try_acquire`]) returns at once, `Ok(None)` when another
//!   thread or process holds the lock. It never waits on the in-process slot either (the classic
//!   bug is a "non-blocking" path that blocks behind a sibling thread).
//! - **Timed** ([`FLockRLock::acquire_timeout`]): POSIX has no timed `flock`, so it polls with
//!   `LOCK_NB` and a short backoff (at most [`POLL_MAX`]) until the deadline.
//! - **After `fork`** the child gets its own lock: the descriptor it inherited shares the
//!   parent's open file description (and so the parent's lock), so the child drops it *without
//!   unlocking*, opens the file again, and forgets any ownership copied from the parent. Guards
//!   copied into the child do nothing when dropped there.
//!
//! Reentrancy is per `FLockRLock` value: clones share one lock; two values made with
//! [`FLockRLock::new`] on the same path exclude each other like two processes would.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::FlockArg;
use nix::unistd::{getpid, Pid};
use parking_lot::{Condvar, Mutex};

/// The longest pause between two tries of [`FLockRLock::acquire_timeout`].
///
/// ```
/// assert!(mplog::lock::POLL_MAX <= std::time::Duration::from_millis(100));
/// ```
pub const POLL_MAX: Duration = Duration::from_millis(20);

/// An inter-process, reentrant, thread-safe lock on `flock`.
///
/// ```
/// use mplog::lock::FLockRLock;
/// let dir = tempfile::tempdir().unwrap();
/// let lock = FLockRLock::new(dir.path().join("app.log.lock")).unwrap();
/// let outer = lock.acquire().unwrap();
/// let inner = lock.acquire().unwrap(); // reentrant
/// drop(inner);
/// drop(outer); // released here
/// assert!(lock.try_acquire().unwrap().is_some());
/// ```
#[derive(Clone)]
pub struct FLockRLock {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    owner: Mutex<Owner>,
    freed: Condvar,
    /// Touched only by the owning thread (and by fork recovery).
    file: Mutex<Slot>,
}

struct Owner {
    pid: Pid,
    thread: Option<ThreadId>,
    count: usize,
}

struct Slot {
    pid: Pid,
    file: Option<Arc<File>>,
}

impl fmt::Debug for FLockRLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FLockRLock")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// How long to wait for the lock.
#[derive(Clone, Copy)]
enum Wait {
    Forever,
    No,
    Until(Instant),
}

impl FLockRLock {
    /// A lock on the file at `path`, created if missing (its content is free for the caller:
    /// the timed locked handlers keep their next rollover time there). Opening now means a
    /// bad path is reported here, naming it.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let err = mplog::lock::FLockRLock::new(dir.path().join("no/such/dir.lock")).unwrap_err();
    /// assert!(err.to_string().contains("no/such/dir.lock"));
    /// ```
    pub fn new(path: impl AsRef<Path>) -> io::Result<FLockRLock> {
        let path = path.as_ref().to_path_buf();
        let file = open_lock_file(&path)?;
        let pid = getpid();
        Ok(FLockRLock {
            inner: Arc::new(Inner {
                path,
                owner: Mutex::new(Owner {
                    pid,
                    thread: None,
                    count: 0,
                }),
                freed: Condvar::new(),
                file: Mutex::new(Slot {
                    pid,
                    file: Some(Arc::new(file)),
                }),
            }),
        })
    }

    /// The lock file's path.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let lock = mplog::lock::FLockRLock::new(dir.path().join("app.lock")).unwrap();
    /// assert_eq!(lock.path(), dir.path().join("app.lock"));
    /// assert!(lock.path().exists()); // created by `new`
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Waits until the lock is free, then takes it.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let lock = mplog::lock::FLockRLock::new(dir.path().join("x.lock")).unwrap();
    /// let guard = lock.acquire().unwrap();
    /// assert_eq!(guard.depth(), 1);
    /// ```
    pub fn acquire(&self) -> io::Result<FLockGuard<'_>> {
        self.lock(Wait::Forever)?
            .ok_or_else(|| io::Error::other("lock not taken"))
    }

    /// Takes the lock if it is free right now; `Ok(None)` if another thread or process holds
    /// it. Never blocks.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("x.lock");
    /// let a = mplog::lock::FLockRLock::new(&path).unwrap();
    /// let b = mplog::lock::FLockRLock::new(&path).unwrap(); // another holder, as a process would be
    /// let held = a.acquire().unwrap();
    /// assert!(b.try_acquire().unwrap().is_none());
    /// drop(held);
    /// assert!(b.try_acquire().unwrap().is_some());
    /// ```
    pub fn try_acquire(&self) -> io::Result<Option<FLockGuard<'_>>> {
        self.lock(Wait::No)
    }

    /// Takes the lock, waiting at most `timeout`; `Ok(None)` if it was not free in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("x.lock");
    /// let a = mplog::lock::FLockRLock::new(&path).unwrap();
    /// let b = mplog::lock::FLockRLock::new(&path).unwrap();
    /// let _held = a.acquire().unwrap();
    /// assert!(b.acquire_timeout(Duration::from_millis(50)).unwrap().is_none());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> io::Result<Option<FLockGuard<'_>>> {
        self.lock(Wait::Until(Instant::now() + timeout))
    }

    fn lock(&self, wait: Wait) -> io::Result<Option<FLockGuard<'_>>> {
        let me = thread::current().id();
        let pid = getpid();
        {
            let mut owner = self.inner.owner.lock();
            if owner.pid != pid {
                // A forked child: whatever was held belonged to the parent.
                *owner = Owner {
                    pid,
                    thread: None,
                    count: 0,
                };
            }
            if owner.thread == Some(me) {
                let file = self.current_file(pid)?;
                owner.count += 1;
                return Ok(Some(self.guard(file, pid)));
            }
            while owner.thread.is_some() {
                match wait {
                    Wait::No => return Ok(None),
                    Wait::Forever => self.inner.freed.wait(&mut owner),
                    Wait::Until(deadline) => {
                        if self
                            .inner
                            .freed
                            .wait_until(&mut owner, deadline)
                            .timed_out()
                            && owner.thread.is_some()
                        {
                            return Ok(None);
                        }
                    }
                }
            }
            owner.thread = Some(me);
            owner.count = 0;
        }
        // This thread owns the in-process slot: take the file lock without holding the owner
        // mutex, so siblings can still ask (and `try_acquire` still returns at once).
        let taken = self.current_file(pid).and_then(|file| {
            let got = flock_until(&file, wait, &self.inner.path)?;
            Ok(got.then_some(file))
        });
        let mut owner = self.inner.owner.lock();
        match taken {
            Ok(Some(file)) => {
                owner.count = 1;
                Ok(Some(self.guard(file, pid)))
            }
            other => {
                owner.thread = None;
                drop(owner);
                self.inner.freed.notify_one();
                other.map(|_| None)
            }
        }
    }

    /// The lock file of this process, reopened after a fork.
    fn current_file(&self, pid: Pid) -> io::Result<Arc<File>> {
        let mut slot = self.inner.file.lock();
        if slot.pid != pid {
            // Closing the inherited descriptor does not unlock the parent's lock: the parent
            // still has its own descriptor on that open file description. An explicit
            // LOCK_UN here would release it.
            slot.file = None;
            slot.pid = pid;
        }
        match &slot.file {
            Some(file) => Ok(Arc::clone(file)),
            None => {
                let file = Arc::new(open_lock_file(&self.inner.path)?);
                slot.file = Some(Arc::clone(&file));
                Ok(file)
            }
        }
    }

    fn guard(&self, file: Arc<File>, pid: Pid) -> FLockGuard<'_> {
        FLockGuard {
            lock: self,
            file,
            pid,
            _not_send: PhantomData,
        }
    }

    fn release(&self, pid: Pid) {
        if getpid() != pid {
            return; // a guard copied into a forked child: the lock is the parent's
        }
        let mut owner = self.inner.owner.lock();
        if owner.pid != pid || owner.count == 0 {
            return;
        }
        owner.count -= 1;
        if owner.count > 0 {
            return;
        }
        let mut slot = self.inner.file.lock();
        if let Some(file) = &slot.file {
            if flock(file, FlockArg::Unlock).is_err() {
                // Closing our only descriptor releases the lock as surely.
                slot.file = None;
            }
        }
        drop(slot);
        owner.thread = None;
        drop(owner);
        self.inner.freed.notify_one();
    }
}

/// Holds an [`FLockRLock`]; releases one level of it when dropped. Not `Send`: the thread
/// that took the lock releases it.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let lock = mplog::lock::FLockRLock::new(dir.path().join("g.lock")).unwrap();
/// {
///     let _guard = lock.acquire().unwrap();
///     // ... critical section shared with other processes ...
/// } // released here
/// assert!(lock.try_acquire().unwrap().is_some());
/// ```
pub struct FLockGuard<'a> {
    lock: &'a FLockRLock,
    file: Arc<File>,
    pid: Pid,
    _not_send: PhantomData<*const ()>,
}

impl FLockGuard<'_> {
    /// The lock file, for data the lock holders share (read and write it with
    /// `std::os::unix::fs::FileExt::{read_at, write_at}`).
    ///
    /// ```
    /// use std::os::unix::fs::FileExt;
    /// let dir = tempfile::tempdir().unwrap();
    /// let lock = mplog::lock::FLockRLock::new(dir.path().join("x.lock")).unwrap();
    /// let g = lock.acquire().unwrap();
    /// g.file().write_at(b"42", 0).unwrap();
    /// ```
    pub fn file(&self) -> &File {
        &self.file
    }

    /// How many guards this thread holds on the lock, this one included.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let lock = mplog::lock::FLockRLock::new(dir.path().join("x.lock")).unwrap();
    /// let outer = lock.acquire().unwrap();
    /// let inner = lock.acquire().unwrap(); // re-entrant, like Python's RLock
    /// assert_eq!((outer.depth(), inner.depth()), (2, 2));
    /// drop(inner);
    /// assert_eq!(outer.depth(), 1);
    /// ```
    pub fn depth(&self) -> usize {
        self.lock.inner.owner.lock().count
    }
}

impl fmt::Debug for FLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FLockGuard")
            .field("path", &self.lock.inner.path)
            .finish_non_exhaustive()
    }
}

impl Drop for FLockGuard<'_> {
    fn drop(&mut self) {
        self.lock.release(self.pid);
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("opening lock file {}: {e}", path.display()),
            )
        })
}

/// `flock(2)`, retried on EINTR.
///
/// nix's `Flock<T>` would unlock in its `Drop`; after a fork that would release the parent's
/// lock through the shared open file description, so this module keeps the plain call.
fn flock(file: &File, arg: FlockArg) -> Result<(), Errno> {
    loop {
        #[allow(deprecated)]
        match nix::fcntl::flock(file.as_raw_fd(), arg) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// Takes the file lock; `Ok(false)` when it was busy and `wait` says to give up.
fn flock_until(file: &File, wait: Wait, path: &Path) -> io::Result<bool> {
    let fail = |e: Errno| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("locking {}: {e}", path.display()),
        )
    };
    match wait {
        Wait::Forever => flock(file, FlockArg::LockExclusive)
            .map(|()| true)
            .map_err(fail),
        Wait::No => match flock(file, FlockArg::LockExclusiveNonblock) {
            Ok(()) => Ok(true),
            Err(Errno::EWOULDBLOCK) => Ok(false),
            Err(e) => Err(fail(e)),
        },
        Wait::Until(deadline) => {
            let mut pause = Duration::from_millis(1);
            loop {
                match flock(file, FlockArg::LockExclusiveNonblock) {
                    Ok(()) => return Ok(true),
                    Err(Errno::EWOULDBLOCK) => {}
                    Err(e) => return Err(fail(e)),
                }
                let now = Instant::now();
                if now >= deadline {
                    return Ok(false);
                }
                thread::sleep(pause.min(deadline - now));
                pause = (pause * 2).min(POLL_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn reentrant_and_released_by_the_last_guard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.lock");
        let a = FLockRLock::new(&path).unwrap();
        let other = FLockRLock::new(&path).unwrap();
        let g1 = a.acquire().unwrap();
        let g2 = a.try_acquire().unwrap().unwrap();
        assert_eq!(g2.depth(), 2);
        drop(g1);
        assert!(other.try_acquire().unwrap().is_none());
        drop(g2);
        assert!(other.try_acquire().unwrap().is_some());
    }

    #[test]
    fn try_acquire_does_not_wait_behind_a_sibling_thread() {
        let dir = tempfile::tempdir().unwrap();
        let lock = FLockRLock::new(dir.path().join("t.lock")).unwrap();
        let held = lock.acquire().unwrap();
        let l2 = lock.clone();
        let start = Instant::now();
        let got = thread::spawn(move || l2.try_acquire().map(|g| g.is_some()).unwrap())
            .join()
            .unwrap();
        assert!(!got);
        assert!(start.elapsed() < Duration::from_secs(5));
        drop(held);
    }

    #[test]
    fn threads_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let lock = FLockRLock::new(dir.path().join("n.lock")).unwrap();
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                let inside = Arc::clone(&inside);
                thread::spawn(move || {
                    for _ in 0..200 {
                        let _g = lock.acquire().unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn timeout_gives_up_then_succeeds_once_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("to.lock");
        let a = FLockRLock::new(&path).unwrap();
        let b = FLockRLock::new(&path).unwrap();
        let (taken_tx, taken_rx) = std::sync::mpsc::channel();
        let holder = thread::spawn(move || {
            let held = a.acquire().unwrap();
            taken_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(80));
            drop(held);
        });
        taken_rx.recv().unwrap();
        assert!(b
            .acquire_timeout(Duration::from_millis(20))
            .unwrap()
            .is_none());
        assert!(b
            .acquire_timeout(Duration::from_secs(30))
            .unwrap()
            .is_some());
        holder.join().unwrap();
    }
}
