//! Shared-memory rings: the fastest local path, and nothing lost when a worker is killed.
//!
//! # Behaviour first
//! Every thread that logs through a shm [`QueueHandler`](crate::queue::QueueHandler) gets a
//! ring of its own: a file in the listener's ring directory ([`ring_dir`]), mapped shared by
//! the worker and the listener. The calling thread encodes its record (postcard, into a
//! reused thread-local buffer) and copies it into the ring; the record becomes visible to the
//! listener only when it is completely written (the tail is advanced with `Release` after the
//! bytes). No system call is made on this path unless the listener sleeps, and then one
//! `futex` wake. There is no sender thread and no lock shared between processes: a
//! process-shared pthread mutex hangs its peers when its holder dies (the `ipmpsc` design hung
//! in 17 of 41 worker kills), so none is used.
//!
//! **When a ring is full** (the listener is slow, stopped or restarting) the caller *sleeps*
//! on a futex word of the ring, which the listener's next commit wakes (spinning collapsed
//! throughput on 2 cores; each sleep is bounded, so a dead listener is polled, not waited for
//! forever) until there is room, at most the
//! [`Overflow::Block`](crate::queue::Overflow::Block) timeout; then, or at
//! once under [`Overflow::Drop`](crate::queue::Overflow::Drop), the record is dropped, counted
//! and the count reported to the listener (`Report`/`Goodbye` on the control socket), as on the
//! socket transport.
//!
//! **Crash contract**: a record whose log call returned is in the mapping, which outlives the
//! worker. When a worker dies (even by SIGKILL) the listener notices through a pidfd, drains
//! the rings of that process to their tail and only then deletes them. A half-written record
//! is never read: the tail did not move past it. So [`Delivery::Sync`](crate::queue::Delivery)
//! costs nothing more here: every shm record is already committed when the call returns.
//!
//! **Listener restart**: the listener advances a ring's `head` (the consumer position, in the
//! shared header) only after the records before it were handled *and* the handlers flushed.
//! A listener that is killed and restarted at the same endpoint finds the ring files still in
//! the directory, re-attaches and resumes at `head`: nothing committed is lost. The
//! exactly-once window: records whose flush completed but whose head store had not happened
//! when the listener died (microseconds after each flush) are written again by the new
//! listener; records handled but not yet flushed are not duplicated (they never reached the
//! file, and are read again).
//!
//! **Set-up**: the worker creates its ring (under a temporary name, renamed into place once
//! the header is complete) and announces it on its control socket (the socket transport's
//! connection, carrying `Hello`, `Ring`, `Report` and `Goodbye`; the records themselves are
//! the bytes of the socket's record encoding, which the listener's dispatch thread decodes the
//! same way for both transports); the listener also scans the
//! directory at start and every [`SCAN_INTERVAL`], so rings made while no listener ran are
//! found. Thread exit marks a ring closed; the listener deletes it once drained.
//!
//! # Figures (reference machine, 2 cores)
//! A prototype with one single-producer ring per child reached 16.8 M msgs/s (6.9 M/s with
//! formatting and writing a file), about 80 ns per call, and lost nothing over SIGKILLs of its
//! workers. Measured figures of this implementation are in the README's Performance section.
//!
//! # Limits
//! - Workers must run as the listener's user (the ring directory is 0700 and the listener
//!   checks each ring file's owner against its allowed uids); a worker that finds the
//!   listener's socket owned by another user uses the socket transport instead.
//! - Workers and listener must share a pid namespace: the listener tells a dead producer by
//!   the pid (and start time) in the ring header, which another namespace would misread.
//! - A record larger than half a ring ([`QueueHandlerBuilder::ring_bytes`]) travels through
//!   it in pieces (up to [`DEFAULT_MAX_FRAME`](crate::queue::wire::DEFAULT_MAX_FRAME)), which
//!   the listener puts back together in a private buffer: in order, whatever the ring's size.
//!   A listener killed after committing some of its pieces loses that one record (the next
//!   listener skips the rest and logs the loss).
//! - Exactly once holds except in the window described above (a listener killed between its
//!   flush and the head store writes that batch again), and only if a batch's output fits the
//!   handlers' buffers: an unbuffered handler writes before the flush, which widens the window
//!   to the whole batch. A SIGKILL in the middle of the listener's `write(2)` can leave a torn
//!   last line in the file, followed by the whole batch again from the next listener.
//!
//! [`QueueHandlerBuilder::ring_bytes`]: crate::queue::QueueHandlerBuilder::ring_bytes
//!
//! # Where the rings live
//! In `/dev/shm/mplog-<uid>-<hash of the endpoint path>/` when `/dev/shm` exists (tmpfs: no
//! write-back of dirty pages to a disk), else beside the socket in `<endpoint>.rings/`. The
//! directory is 0700 and must belong to the caller; ring files are 0600.
//!
//! The unsafe code (mapping, header layout, futex, pidfd) is in `transport/shm/ring.rs`
//! (crate-internal), each invariant next to the code that relies on it; this file and the
//! users of the transport are safe code.

pub(crate) mod owner;
#[allow(unsafe_code)] // the only module whose code is unsafe throughout; see its docs
pub(crate) mod ring;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::ring::{HeaderInfo, PidFd, Producer, Ring, RingError, WriteError};

pub use crate::queue::handler::DEFAULT_RING_BYTES;
/// A listener looks for rings nobody announced this often.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// Names after the first that [`ring_dir`] tries in `/dev/shm` when other users took the
/// earlier ones; then it uses `<endpoint>.rings` beside the socket.
pub const ALTERNATE_DIRS: u32 = 8;
/// A ring file's name ends with this.
pub const RING_SUFFIX: &str = ".ring";

/// The directory holding the rings of the listener at `endpoint` (the socket path).
///
/// ```
/// use mplog::queue::transport::shm::ring_dir;
/// let a = ring_dir("/tmp/mplog-1/mplog.sock".as_ref());
/// assert_eq!(a, ring_dir("/tmp/mplog-1/mplog.sock".as_ref()));
/// assert_ne!(a, ring_dir("/tmp/mplog-2/mplog.sock".as_ref()));
/// ```
pub fn ring_dir(endpoint: &Path) -> PathBuf {
    // The same path whether named relatively or through a symlinked directory.
    let endpoint = match (endpoint.parent(), endpoint.file_name()) {
        (Some(parent), Some(name)) => fs::canonicalize(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })
        .map(|p| p.join(name))
        .unwrap_or_else(|_| endpoint.to_path_buf()),
        _ => endpoint.to_path_buf(),
    };
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let uid = nix::unistd::getuid().as_raw();
        let hash = fnv1a(endpoint.as_os_str().as_encoded_bytes());
        // The name is predictable, and /dev/shm writable by all: a name another user took
        // first is passed over (listener and workers pass over the same ones).
        let taken =
            |dir: &Path| fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir() || m.uid() != uid);
        let mut names = std::iter::once(format!("mplog-{uid}-{hash:016x}"))
            .chain((1..=ALTERNATE_DIRS).map(|n| format!("mplog-{uid}-{hash:016x}-{n}")));
        if let Some(free) = names.find_map(|name| Some(shm.join(name)).filter(|d| !taken(d))) {
            return free;
        }
    }
    endpoint.with_extension("rings")
}

/// FNV-1a, 64 bits: a stable name for a path (not a security measure: the directory's owner
/// and mode are checked).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Creates `dir` (0700) if needed and checks that it is ours and private: in a shared
/// `/dev/shm`, another user could have made it first.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(dir)?;
    let uid = nix::unistd::getuid().as_raw();
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "ring directory {} is not a private directory of uid {uid}",
                dir.display()
            ),
        ));
    }
    Ok(())
}

static RING_NUMBER: AtomicU64 = AtomicU64::new(0);

/// A ring this process made: its file name in the directory, the shared ring, its producer.
#[derive(Debug)]
pub(crate) struct NewRing {
    /// The file name (no directory), as announced to the listener.
    pub(crate) name: String,
    /// The mapping.
    pub(crate) ring: Arc<Ring>,
    /// Its only producer.
    pub(crate) producer: Producer,
}

/// Creates a ring of `capacity` data bytes in `dir` for the calling process, under a
/// temporary name renamed into place once the header is complete (a scanning listener never
/// sees a half-made ring).
pub(crate) fn create_ring(
    dir: &Path,
    capacity: usize,
    process_name: &str,
) -> Result<NewRing, RingError> {
    ensure_dir(dir)?;
    let pid = std::process::id();
    let n = RING_NUMBER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "{pid}-{n}-{}{RING_SUFFIX}",
        crate::record::now_ns() % 1_000_000
    );
    let tmp = dir.join(format!(".{name}.tmp"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_CLOEXEC)
        .open(&tmp)?;
    let info = HeaderInfo {
        capacity: capacity
            .clamp(ring::MIN_CAPACITY, ring::MAX_CAPACITY)
            .next_power_of_two(),
        pid,
        start_time: process_start_time(pid).unwrap_or(0),
        process_name: process_name.to_owned(),
    };
    let made = Ring::create(&file, &info).and_then(|(ring, producer)| {
        fs::rename(&tmp, dir.join(&name))?;
        Ok((ring, producer))
    });
    match made {
        Ok((ring, producer)) => Ok(NewRing {
            name,
            ring,
            producer,
        }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Maps the ring `name` of `dir` for reading, validating its header; also returns the uid
/// that owns the file (the listener checks it against its allowed uids, as `SO_PEERCRED` on
/// the socket).
pub(crate) fn open_ring(dir: &Path, name: &str) -> Result<(Arc<Ring>, u32), RingError> {
    if !is_ring_name(name) {
        return Err(RingError::Header(format!("not a ring file name: {name:?}")));
    }
    let file: File = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NOFOLLOW)
        .open(dir.join(name))?;
    let uid = file.metadata()?.uid();
    Ok((Ring::open(&file)?, uid))
}

/// Whether `name` can be a ring file's name (no separators, no temporary files).
///
/// ```
/// use mplog::queue::transport::shm::is_ring_name;
/// assert!(is_ring_name("4242-0-17.ring"));
/// assert!(!is_ring_name(".4242-0-17.ring.tmp"));
/// assert!(!is_ring_name("../x.ring"));
/// ```
pub fn is_ring_name(name: &str) -> bool {
    name.ends_with(RING_SUFFIX)
        && !name.starts_with('.')
        && !name.contains('/')
        && name.len() <= 128
}

/// The ring files in `dir` (empty if it does not exist), sorted: what a listener at that
/// endpoint would drain.
///
/// ```
/// use mplog::queue::transport::shm::{list_rings, ring_dir};
/// let dir = ring_dir("/nonexistent/mplog.sock".as_ref());
/// assert!(list_rings(&dir).is_empty());
/// ```
pub fn list_rings(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| is_ring_name(n))
        .collect();
    names.sort();
    names
}

/// A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`), which
/// together with the pid names a process for good: a reused pid has another start time.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: skip past it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Opens a pidfd for the producer of a ring, or `None` if that process is gone (its pid no
/// longer exists, or now names a process with another start time).
pub(crate) fn producer_alive(info: &HeaderInfo) -> Option<PidFd> {
    let fd = PidFd::open(info.pid).ok()?;
    // Checked after opening: the descriptor now pins the process the start time describes.
    if info.start_time != 0 && process_start_time(info.pid) != Some(info.start_time) {
        return None;
    }
    (!fd.has_exited()).then_some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_names_this_process() {
        let t = process_start_time(std::process::id()).unwrap();
        assert!(t > 0);
        let tmp = tempfile::tempdir().unwrap();
        let mut new = create_ring(&tmp.path().join("r"), 4096, "me").unwrap();
        new.producer.write(b"x").unwrap();
        assert!(producer_alive(new.ring.info()).is_some());
        let mut other = new.ring.info().clone();
        other.start_time += 1;
        assert!(producer_alive(&other).is_none());
    }

    #[test]
    fn a_foreign_or_open_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(ensure_dir(&open).is_err());
        assert!(ensure_dir(&dir.path().join("new")).is_ok());
    }

    #[test]
    fn only_ring_files_are_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        let new = create_ring(&dir, 4096, "x").unwrap();
        fs::write(dir.join(".half.ring.tmp"), b"").unwrap();
        fs::write(dir.join("other"), b"").unwrap();
        assert_eq!(list_rings(&dir), vec![new.name]);
    }
}
