//! The engine behind every file handler of issue 4: one emit path for rotating by size, by
//! time or both, watching the path, and the inter-process lock. The public handlers
//! (`rotating.rs`, `timed.rs`, `watched.rs`, `locked.rs`) are thin shells choosing options.
//!
//! One record, in order (CPython's `BaseRotatingHandler.emit`, plus the lock):
//! 1. format the line (once: Python formats twice, for the size check and the write);
//! 2. locked: take the [`FLockRLock`]; locked or watched: reopen if the path now names another
//!    file (another process rolled over, or logrotate moved it); locked: re-read the size and
//!    the shared next rollover time from the lock file;
//! 3. roll over if due (time first, then size); a failed rollover is reported through the
//!    error policy and the record is still written, to the current file;
//! 4. write the line with one `write` (`O_APPEND`), then release the lock.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveTime;
use parking_lot::Mutex;

use super::compress::Compressor;
use super::encoding::Encoding;
use super::file::{FileMode, FileStream};
use super::outbox::DEFAULT_HELD_BYTES;
use super::rotation::{Archive, ArchiveLock, Namer, Rotator};
use super::schedule::{Clock, Schedule, SystemClock, When};
use super::{HandlerBase, HandlerError};
use crate::lock::FLockRLock;
use crate::record::Record;

/// How long `close` waits for background compression to finish.
///
/// ```
/// assert_eq!(mplog::handler::COMPRESSION_CLOSE_TIMEOUT.as_secs(), 60);
/// ```
pub const COMPRESSION_CLOSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Time rotation state.
struct TimeRule {
    schedule: Schedule,
    clock: Arc<dyn Clock>,
    rollover_at: i64,
}

/// The open file and its rotation rules.
struct Rolling {
    stream: FileStream,
    delay: bool,
    max_bytes: u64,
    time: Option<TimeRule>,
    archive: Archive,
    line: String,
}

/// A `std::fs::metadata` that is not a regular file (a device, a FIFO): never rolled over
/// (bpo-45401). A missing path rolls as usual.
fn not_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Writes what is waiting and closes the file before a rollover; a failure (reported by the
/// stream, which holds the records) postpones the rollover.
fn close_for_rollover(stream: &mut FileStream, base: &HandlerBase) -> Result<(), HandlerError> {
    if stream.close(base) {
        Ok(())
    } else {
        Err(HandlerError::Other(format!(
            "rollover of {} postponed: records are held until writing works again",
            stream.path().display()
        )))
    }
}

impl Rolling {
    /// Rolls over if due. `Ok(true)` when the next rollover time changed. The size check is
    /// CPython's: the file's size in bytes plus the line's length in characters.
    fn maybe_roll(&mut self, chars: u64, base: &HandlerBase) -> Result<bool, HandlerError> {
        // While writes fail (records held) or the file cannot be opened, the write reports
        // it; rolling over waits until writing works again.
        if self.stream.is_holding() || self.stream.open().is_err() {
            return Ok(false);
        }
        if let Some(time) = &mut self.time {
            let now = time.clock.now();
            if now >= time.rollover_at {
                if not_regular(self.stream.path()) {
                    time.rollover_at = time.schedule.compute_rollover(&*time.clock, now);
                } else {
                    self.roll_time(now, base)?;
                }
                return Ok(true);
            }
        }
        if self.max_bytes > 0 {
            let pos = self.stream.size();
            // Never roll an empty file (gh-116263): one huge record would roll forever.
            if pos > 0 && pos + chars >= self.max_bytes && !not_regular(self.stream.path()) {
                self.roll_size(base)?;
            }
        }
        Ok(false)
    }

    fn reopen(&mut self) -> Result<(), HandlerError> {
        if !self.delay {
            self.stream.open_now()?;
        }
        Ok(())
    }

    fn roll_size(&mut self, base: &HandlerBase) -> Result<(), HandlerError> {
        close_for_rollover(&mut self.stream, base)?;
        match &self.time {
            Some(time) => {
                let now = time.clock.now();
                let suffix = time
                    .schedule
                    .suffix_for(&*time.clock, time.rollover_at, now);
                let stem = self.archive.stamped(&suffix);
                let name = self.archive.next_indexed(&stem);
                self.archive.roll_stamped(&name, &time.schedule, true)?;
            }
            None => self.archive.roll_numbered()?,
        }
        self.reopen()
    }

    /// Python 3.13's `TimedRotatingFileHandler.doRollover`.
    fn roll_time(&mut self, now: i64, base: &HandlerBase) -> Result<(), HandlerError> {
        let Some(time) = &mut self.time else {
            return Ok(());
        };
        let suffix = time
            .schedule
            .suffix_for(&*time.clock, time.rollover_at, now);
        let stem = self.archive.stamped(&suffix);
        let indexed = self.max_bytes > 0;
        let name = if indexed {
            self.archive.next_indexed(&stem)
        } else {
            stem
        };
        if !indexed && self.archive.already_rolled(&name) {
            // Already rolled over (by another handler or process): never overwrite. Python
            // returns here and keeps retrying at every record; we move on to the next interval
            // and follow the path to the new file.
            time.rollover_at = time.schedule.compute_rollover(&*time.clock, now);
            self.stream.reopen_if_moved(base);
            return Ok(());
        }
        close_for_rollover(&mut self.stream, base)?;
        let schedule = time.schedule.clone();
        self.archive.roll_stamped(&name, &schedule, indexed)?;
        time.rollover_at = time.schedule.compute_rollover(&*time.clock, now);
        self.reopen()
    }
}

/// The shared implementation of the rotating, watched and locked handlers.
pub(crate) struct FileCore {
    pub(crate) base: Arc<HandlerBase>,
    state: Mutex<Rolling>,
    lock: Option<FLockRLock>,
    watch: bool,
}

/// What the lock file says: `rollover_at=<20 digits>\n`.
const SHARED_PREFIX: &str = "rollover_at=";

fn read_shared(file: &std::fs::File) -> Option<i64> {
    let mut buf = [0u8; 64];
    let n = file.read_at(&mut buf, 0).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    text.strip_prefix(SHARED_PREFIX)?.trim().parse().ok()
}

fn write_shared(file: &std::fs::File, at: i64) -> io::Result<()> {
    let text = format!("{SHARED_PREFIX}{at:020}\n");
    file.write_all_at(text.as_bytes(), 0)
}

impl FileCore {
    pub(crate) fn base(&self) -> &HandlerBase {
        &self.base
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.state.lock().stream.path().to_path_buf()
    }

    /// The next time rollover (seconds since the epoch), for time-rotating handlers.
    pub(crate) fn rollover_at(&self) -> Option<i64> {
        self.state.lock().time.as_ref().map(|t| t.rollover_at)
    }

    pub(crate) fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut state = self.state.lock();
        let st = &mut *state;
        st.line.clear();
        self.base.format(record, &mut st.line)?;
        st.line.push('\n');
        let guard = match &self.lock {
            Some(lock) => Some(lock.acquire().map_err(|e| HandlerError::io("locking", e))?),
            None => None,
        };
        if self.watch || guard.is_some() {
            st.stream.reopen_if_moved(&self.base);
        }
        if let Some(g) = &guard {
            if st.max_bytes > 0 {
                st.stream.refresh_size();
            }
            if let (Some(time), Some(shared)) = (&mut st.time, read_shared(g.file())) {
                // Another process may have rolled over and moved the time on.
                time.rollover_at = time.rollover_at.max(shared);
            }
        }
        let chars = if st.max_bytes > 0 {
            st.line.chars().count() as u64
        } else {
            0
        };
        match st.maybe_roll(chars, &self.base) {
            Ok(changed) => {
                if let (true, Some(g), Some(time)) = (changed, &guard, &st.time) {
                    if let Err(e) = write_shared(g.file(), time.rollover_at) {
                        self.base
                            .handle_error(record, &HandlerError::io("writing the lock file", e));
                    }
                }
            }
            Err(e) => self.base.handle_error(record, &e),
        }
        let Rolling { stream, line, .. } = st;
        // A write that fails holds the line (or counts it) and reports through the base; a
        // line the encoding refuses is the error.
        stream.write_text(line, &self.base)
    }

    pub(crate) fn flush(&self) -> io::Result<()> {
        self.state.lock().stream.flush(&self.base)
    }

    pub(crate) fn close(&self) {
        self.state.lock().stream.finish(&self.base);
        self.wait_compressed(COMPRESSION_CLOSE_TIMEOUT);
    }

    /// Waits for background compression; `false` if `timeout` passed first.
    pub(crate) fn wait_compressed(&self, timeout: Duration) -> bool {
        self.state.lock().archive.wait_compressed(timeout)
    }
}

impl Drop for FileCore {
    fn drop(&mut self) {
        self.state.get_mut().stream.finish(&self.base);
    }
}

/// Every option of the file handlers; each public builder exposes its own subset.
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) path: PathBuf,
    pub(crate) mode: FileMode,
    pub(crate) delay: bool,
    pub(crate) buffer: usize,
    pub(crate) held_bytes: usize,
    pub(crate) max_bytes: u64,
    pub(crate) backup_count: usize,
    pub(crate) namer: Option<Namer>,
    pub(crate) rotator: Option<Rotator>,
    pub(crate) gzip: bool,
    pub(crate) time: Option<TimeOptions>,
    pub(crate) lock_path: Option<PathBuf>,
    pub(crate) locked: bool,
    pub(crate) watch: bool,
    pub(crate) encoding: Encoding,
}

/// The time options (`when`, `interval`, `utc`, `at_time`, `clock`).
#[derive(Clone)]
pub(crate) struct TimeOptions {
    pub(crate) when: When,
    pub(crate) interval: u32,
    pub(crate) utc: bool,
    pub(crate) at_time: Option<NaiveTime>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for TimeOptions {
    fn default() -> Self {
        TimeOptions {
            when: When::Hours,
            interval: 1,
            utc: false,
            at_time: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A `HandlerError` as an `io::Error` of the same kind (the builders return `io::Result`).
pub(crate) fn to_io(e: HandlerError) -> io::Error {
    match e {
        HandlerError::Io { context, source } => {
            io::Error::new(source.kind(), format!("{context}: {source}"))
        }
        other => io::Error::other(other.to_string()),
    }
}

impl Options {
    pub(crate) fn new(path: &Path) -> Options {
        Options {
            path: path.to_path_buf(),
            mode: FileMode::Append,
            delay: false,
            buffer: 0,
            held_bytes: DEFAULT_HELD_BYTES,
            max_bytes: 0,
            backup_count: 0,
            namer: None,
            rotator: None,
            gzip: false,
            time: None,
            lock_path: None,
            locked: false,
            watch: false,
            encoding: Encoding::default(),
        }
    }

    /// `<path>.lock` unless set.
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.lock_path.clone().unwrap_or_else(|| {
            let mut p = self.path.clone().into_os_string();
            p.push(".lock");
            PathBuf::from(p)
        })
    }

    pub(crate) fn build(self) -> io::Result<FileCore> {
        let base = Arc::new(HandlerBase::new());
        let lock = if self.locked {
            Some(FLockRLock::new(self.lock_file())?)
        } else {
            None
        };
        // Rotation needs append: `w` would wipe the previous run's log (Python forces `a`
        // when max_bytes > 0, and always for time rotation).
        let mode = if self.max_bytes > 0 || self.time.is_some() || self.locked {
            FileMode::Append
        } else {
            self.mode
        };
        let buffer = if self.locked { 0 } else { self.buffer };
        let mut stream = FileStream::new(self.path.clone(), mode, buffer, self.held_bytes);
        stream.set_encoding(self.encoding);
        let archive_lock = ArchiveLock::new(lock.clone());
        let gzip = self
            .gzip
            .then(|| Compressor::new(archive_lock.clone(), Arc::clone(&base)));
        let archive = Archive::new(
            &self.path,
            self.backup_count,
            self.namer,
            self.rotator,
            gzip,
            archive_lock,
        );
        let time = match self.time {
            Some(t) => {
                let schedule = Schedule::new(t.when, t.interval, t.utc, t.at_time);
                let start = std::fs::metadata(&self.path)
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or_else(|| t.clock.now(), |d| d.as_secs() as i64);
                let mut rollover_at = schedule.compute_rollover(&*t.clock, start);
                if let Some(lock) = &lock {
                    // Processes share one schedule: the first one sets it in the lock file.
                    let g = lock.acquire()?;
                    match read_shared(g.file()) {
                        Some(shared) => rollover_at = shared,
                        None => write_shared(g.file(), rollover_at)?,
                    }
                }
                Some(TimeRule {
                    schedule,
                    clock: t.clock,
                    rollover_at,
                })
            }
            None => None,
        };
        if !self.delay {
            stream.open_now().map_err(to_io)?;
        }
        Ok(FileCore {
            base,
            state: Mutex::new(Rolling {
                stream,
                delay: self.delay,
                max_bytes: self.max_bytes,
                time,
                archive,
                line: String::new(),
            }),
            lock,
            watch: self.watch,
        })
    }
}

/// Implements [`Handler`](super::Handler) for a shell type holding a `core: FileCore`.
macro_rules! file_core_handler {
    ($t:ty) => {
        impl $crate::handler::Handler for $t {
            fn base(&self) -> &$crate::handler::HandlerBase {
                self.core.base()
            }

            fn emit(
                &self,
                record: &$crate::record::Record,
            ) -> Result<(), $crate::handler::HandlerError> {
                self.core.emit(record)
            }

            fn flush(&self) -> std::io::Result<()> {
                self.core.flush()
            }

            fn close(&self) {
                self.core.close()
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("path", &self.core.path())
                    .field("base", self.core.base())
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use file_core_handler;

/// Builder methods over `self.opts: Options`, each documented once here; `$h` is the handler
/// the builder builds, named in the examples.
macro_rules! option_setters {
    ($h:ident => $t:ty { $($name:ident),* $(,)? }) => {
        impl $t { $( $crate::handler::rolling::option_setters!(@one $h, $name); )* }
    };
    (@one $h:ident, mode) => {
        /// Append (default) or truncate at the first open; rotation forces append.
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::FileMode;
        /// let dir = tempfile::tempdir().unwrap();
        /// let path = dir.path().join("app.log");
        /// std::fs::write(&path, "old run\n").unwrap();
        /// let _h = H::builder(&path).mode(FileMode::Truncate).build().unwrap();
        /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        /// ```
        pub fn mode(mut self, mode: $crate::handler::FileMode) -> Self {
            self.opts.mode = mode;
            self
        }
    };
    (@one $h:ident, encoding) => {
        /// The file's encoding and error policy (Python's `encoding` and `errors`; default
        /// UTF-8, strict). A byte-order mark (`utf-16`, `utf-8-sig`) starts each new file,
        /// after a rollover too, as in Python. A line the encoding refuses under `strict` is not
        /// written: the handler's error policy reports it.
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::{Encoding, Errors, Handler};
        /// let dir = tempfile::tempdir().unwrap();
        /// let enc = Encoding::new("ascii").unwrap().errors(Errors::XmlCharRefReplace);
        /// let h = H::builder(dir.path().join("app.log")).encoding(enc).build().unwrap();
        /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "5 €"));
        /// h.flush().unwrap();
        /// assert_eq!(std::fs::read(h.path()).unwrap(), b"5 &#8364;\n");
        /// ```
        pub fn encoding(mut self, encoding: $crate::handler::Encoding) -> Self {
            self.opts.encoding = encoding;
            self
        }
    };
    (@one $h:ident, delay) => {
        /// Open the file at the first record rather than now (and after a rollover, at the
        /// next record).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// let dir = tempfile::tempdir().unwrap();
        /// let path = dir.path().join("app.log");
        /// let h = H::builder(&path).delay(true).build().unwrap();
        /// assert!(!path.exists()); // created by the first record
        /// # drop(h);
        /// ```
        pub fn delay(mut self, delay: bool) -> Self {
            self.opts.delay = delay;
            self
        }
    };
    (@one $h:ident, buffer) => {
        /// Gather up to `bytes` of lines before writing (0, the default: write every
        /// record); written on flush, close, drop and before a rollover.
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::Handler;
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).buffer(4096).build().unwrap();
        /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "pending"));
        /// assert_eq!(std::fs::read_to_string(h.path()).unwrap(), "");
        /// h.flush().unwrap();
        /// assert_eq!(std::fs::read_to_string(h.path()).unwrap(), "pending\n");
        /// ```
        pub fn buffer(mut self, bytes: usize) -> Self {
            self.opts.buffer = bytes;
            self
        }
    };
    (@one $h:ident, held_bytes) => {
        /// Hold at most `bytes` of records while writing fails
        /// ([`DEFAULT_HELD_BYTES`](crate::handler::DEFAULT_HELD_BYTES)); past that, records are
        /// thrown away whole and counted (`base().records_not_written()`).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::Handler;
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).held_bytes(1 << 20).build().unwrap();
        /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "written"));
        /// assert_eq!((h.base().records_held(), h.base().records_not_written()), (0, 0));
        /// ```
        pub fn held_bytes(mut self, bytes: usize) -> Self {
            self.opts.held_bytes = bytes;
            self
        }
    };
    (@one $h:ident, max_bytes) => {
        /// Roll over before a line would bring the file to `bytes` (0: never by size).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::Handler;
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).max_bytes(5).backup_count(3).build().unwrap();
        /// for msg in ["one", "two"] {
        ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, msg));
        /// }
        /// assert_eq!(std::fs::read_to_string(h.path()).unwrap(), "two\n"); // "one" was archived
        /// ```
        pub fn max_bytes(mut self, bytes: u64) -> Self {
            self.opts.max_bytes = bytes;
            self
        }
    };
    (@one $h:ident, backup_count) => {
        /// How many archives to keep (0: size rotation never renames; time rotation keeps
        /// all).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::Handler;
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).max_bytes(5).backup_count(1).build().unwrap();
        /// for msg in ["one", "two", "three"] {
        ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, msg));
        /// }
        /// let archives = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name())
        ///     .filter(|n| n != "app.log" && !n.to_string_lossy().ends_with(".lock")).count();
        /// assert_eq!(archives, 1); // only the newest is kept
        /// ```
        pub fn backup_count(mut self, count: usize) -> Self {
            self.opts.backup_count = count;
            self
        }
    };
    (@one $h:ident, namer) => {
        /// Maps each default archive name (`app.log.1`, `app.log.2024-01-01`) to the name
        /// used (Python's `namer`).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::Handler;
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).max_bytes(5).backup_count(3)
        ///     .namer(|name| format!("{name}.old")).build().unwrap();
        /// for msg in ["one", "two"] {
        ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, msg));
        /// }
        /// let mut names = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name());
        /// assert!(names.any(|n| n.to_string_lossy().ends_with(".old")));
        /// ```
        pub fn namer(mut self, namer: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
            self.opts.namer = Some(std::sync::Arc::new(namer));
            self
        }
    };
    (@one $h:ident, rotator) => {
        /// Moves the log to its archive name, `(source, dest)` (Python's `rotator`; the
        /// default renames). It runs on the logging thread: see `gzip` for compression off it.
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
        /// use mplog::handler::Handler;
        /// let calls = Arc::new(AtomicUsize::new(0));
        /// let counter = calls.clone();
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).max_bytes(5).backup_count(3)
        ///     .rotator(move |src, dst| { counter.fetch_add(1, Ordering::Relaxed); std::fs::rename(src, dst) })
        ///     .build().unwrap();
        /// for msg in ["one", "two"] {
        ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, msg));
        /// }
        /// assert_eq!(calls.load(Ordering::Relaxed), 1);
        /// ```
        pub fn rotator(
            mut self,
            rotator: impl Fn(&std::path::Path, &std::path::Path) -> std::io::Result<()>
                + Send
                + Sync
                + 'static,
        ) -> Self {
            self.opts.rotator = Some(std::sync::Arc::new(rotator));
            self
        }
    };
    (@one $h:ident, gzip) => {
        /// Compress archives with gzip (`.gz` after the name) on a background thread, so a
        /// rollover never waits for compression.
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use mplog::handler::Handler;
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).max_bytes(5).backup_count(3).gzip(true).build().unwrap();
        /// for msg in ["one", "two"] {
        ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, msg));
        /// }
        /// assert!(h.wait_compressed(std::time::Duration::from_secs(10)));
        /// let mut names = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name());
        /// assert!(names.any(|n| n.to_string_lossy().ends_with(".gz")));
        /// ```
        pub fn gzip(mut self, gzip: bool) -> Self {
            self.opts.gzip = gzip;
            self
        }
    };
    (@one $h:ident, lock_path) => {
        /// Where the lock file is (default: `<log path>.lock`).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// let dir = tempfile::tempdir().unwrap();
        /// let h = H::builder(dir.path().join("app.log")).lock_path(dir.path().join("app.lk")).build().unwrap();
        /// assert!(dir.path().join("app.lk").exists());
        /// assert!(!dir.path().join("app.log.lock").exists());
        /// # drop(h);
        /// ```
        pub fn lock_path(mut self, path: impl AsRef<std::path::Path>) -> Self {
            self.opts.lock_path = Some(path.as_ref().to_path_buf());
            self
        }
    };
    (@one $h:ident, when) => {
        /// The unit (default `When::Hours`).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use std::sync::Arc;
        /// use mplog::handler::{ManualClock, When};
        /// let dir = tempfile::tempdir().unwrap();
        /// let clock = Arc::new(ManualClock::new(1_704_067_200)); // 2024-01-01 00:00:00 UTC
        /// let h = H::builder(dir.path().join("app.log")).when(When::Minutes).utc(true).clock(clock)
        ///     .build().unwrap();
        /// assert_eq!(h.rollover_at(), 1_704_067_200 + 60);
        /// ```
        pub fn when(mut self, when: $crate::handler::When) -> Self {
            self.opts.time.get_or_insert_with(Default::default).when = when;
            self
        }
    };
    (@one $h:ident, interval) => {
        /// How many units between rollovers (default 1).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use std::sync::Arc;
        /// use mplog::handler::{ManualClock, When};
        /// let dir = tempfile::tempdir().unwrap();
        /// let clock = Arc::new(ManualClock::new(1_704_067_200)); // 2024-01-01 00:00:00 UTC
        /// let h = H::builder(dir.path().join("app.log")).when(When::Minutes).interval(15).utc(true)
        ///     .clock(clock).build().unwrap();
        /// assert_eq!(h.rollover_at(), 1_704_067_200 + 15 * 60);
        /// ```
        pub fn interval(mut self, interval: u32) -> Self {
            self.opts.time.get_or_insert_with(Default::default).interval = interval;
            self
        }
    };
    (@one $h:ident, utc) => {
        /// Compute rollovers and suffixes in UTC rather than local time.
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use std::sync::Arc;
        /// use mplog::handler::{ManualClock, When};
        /// let dir = tempfile::tempdir().unwrap();
        /// let noon = 1_704_067_200 + 12 * 3600; // 2024-01-01 12:00 UTC, 13:00 at UTC+1
        /// let at = |utc| H::builder(dir.path().join(format!("{utc}.log"))).when(When::Midnight).utc(utc)
        ///     .clock(Arc::new(ManualClock::new(noon).with_utc_offset(3600))).build().unwrap().rollover_at();
        /// assert_eq!(at(true), 1_704_153_600); // midnight UTC
        /// assert_eq!(at(false), 1_704_153_600 - 3600); // local midnight
        /// ```
        pub fn utc(mut self, utc: bool) -> Self {
            self.opts.time.get_or_insert_with(Default::default).utc = utc;
            self
        }
    };
    (@one $h:ident, at_time) => {
        /// The time of day of `MIDNIGHT` and weekly rollovers (default: midnight).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use std::sync::Arc;
        /// use mplog::handler::{ManualClock, When};
        /// let dir = tempfile::tempdir().unwrap();
        /// let clock = Arc::new(ManualClock::new(1_704_067_200)); // 2024-01-01 00:00:00 UTC
        /// let h = H::builder(dir.path().join("app.log")).when(When::Midnight).utc(true).clock(clock)
        ///     .at_time(chrono::NaiveTime::from_hms_opt(3, 0, 0)).build().unwrap();
        /// assert_eq!(h.rollover_at(), 1_704_067_200 + 3 * 3600); // 03:00 today
        /// ```
        pub fn at_time(mut self, at: Option<chrono::NaiveTime>) -> Self {
            self.opts.time.get_or_insert_with(Default::default).at_time = at;
            self
        }
    };
    (@one $h:ident, clock) => {
        /// Where the time comes from (default: the system clock and local zone).
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($h), " as H;")]
        /// use std::sync::Arc;
        /// use mplog::handler::{ManualClock, When};
        /// let dir = tempfile::tempdir().unwrap();
        /// let clock = Arc::new(ManualClock::new(1_000_000_000));
        /// let h = H::builder(dir.path().join("app.log")).when(When::Seconds).interval(10).clock(clock)
        ///     .build().unwrap();
        /// assert_eq!(h.rollover_at(), 1_000_000_010); // the injected time, not the system's
        /// ```
        pub fn clock(mut self, clock: std::sync::Arc<dyn $crate::handler::Clock>) -> Self {
            self.opts.time.get_or_insert_with(Default::default).clock = clock;
            self
        }
    };
}
pub(crate) use option_setters;
