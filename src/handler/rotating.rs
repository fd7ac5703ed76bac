//! [`RotatingFileHandler`]: a file that rolls over by size (Python's `RotatingFileHandler`).
//!
//! Before writing a line that would bring the file to `max_bytes` or more, the file is closed
//! and renamed: `app.log` -> `app.log.1`, the older `.1`..`.N-1` each moved one up and the
//! oldest (`.N`, `N = backup_count`) replaced. CPython 3.13's rules hold:
//! - `max_bytes = 0` never rolls; `backup_count = 0` never renames (the file keeps growing and
//!   nothing is lost);
//! - an empty file never rolls (a single record larger than `max_bytes` is written whole);
//! - a path that is not a regular file (`/dev/null`, a FIFO) never rolls;
//! - a `namer` maps the names (`app.log.1` -> `app.log.1.gz`), a `rotator` does the move.
//!
//! The size check is CPython's: the file's size in bytes plus the next line's length in
//! *characters* (so with non-ASCII text, or UTF-16, the same records roll at the same lines as
//! in Python).
//!
//! With [`gzip`](RotatingFileHandlerBuilder::gzip) the archives are compressed by a background
//! thread: the rollover only renames, so a rollover never stalls logging. An archive is plain
//! text under its un-suffixed name until its compression is done.
//!
//! One process per file: for several processes writing one file use
//! [`LockedRotatingFileHandler`](super::LockedRotatingFileHandler), or a queue listener.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rolling::{file_core_handler, option_setters, FileCore, Options};

/// Rolls the file over by size, keeping `backup_count` numbered archives.
///
/// The size check is Python 3.13's: the file's size in bytes plus the characters of the next
/// line, so the same records roll over at the same lines as in Python, whatever the encoding.
///
/// ```
/// use mplog::handler::{Handler, RotatingFileHandler};
/// use mplog::{Level, Record};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("app.log");
/// let h = RotatingFileHandler::new(&path, 5, 2).unwrap();
/// for msg in ["one", "two", "three"] {
///     h.handle(&Record::new("app", Level::INFO, msg));
/// }
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.log.1")).unwrap(), "two\n");
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.log.2")).unwrap(), "one\n");
/// ```
pub struct RotatingFileHandler {
    core: FileCore,
}

file_core_handler!(RotatingFileHandler);

impl RotatingFileHandler {
    /// Appends to `path`, rolling over at `max_bytes`, keeping `backup_count` archives. Opens
    /// the file now; an error names the path.
    ///
    /// ```
    /// use mplog::handler::RotatingFileHandler;
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = RotatingFileHandler::new(dir.path().join("app.log"), 10 << 20, 5).unwrap(); // 10 MiB x 6
    /// assert!(h.path().exists());
    /// assert!(RotatingFileHandler::new(dir.path().join("no/dir/app.log"), 0, 0).is_err());
    /// ```
    pub fn new(path: impl AsRef<Path>, max_bytes: u64, backup_count: usize) -> io::Result<Self> {
        Self::builder(path)
            .max_bytes(max_bytes)
            .backup_count(backup_count)
            .build()
    }

    /// A builder for every option.
    ///
    /// ```
    /// use mplog::handler::RotatingFileHandler;
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = RotatingFileHandler::builder(dir.path().join("app.log"))
    ///     .max_bytes(1 << 20)
    ///     .backup_count(5)
    ///     .gzip(true)
    ///     .delay(true)
    ///     .build()
    ///     .unwrap();
    /// # drop(h);
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> RotatingFileHandlerBuilder {
        RotatingFileHandlerBuilder {
            opts: Options::new(path.as_ref()),
        }
    }

    /// The log file's path.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::RotatingFileHandler::new(dir.path().join("app.log"), 1024, 3).unwrap();
    /// assert_eq!(h.path(), dir.path().join("app.log"));
    /// ```
    pub fn path(&self) -> PathBuf {
        self.core.path()
    }

    /// Waits until background compression (the `gzip` option) has finished; `false` if
    /// `timeout` passed first.
    ///
    /// ```
    /// use mplog::handler::{Handler, RotatingFileHandler};
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = RotatingFileHandler::builder(dir.path().join("app.log"))
    ///     .max_bytes(5).backup_count(2).gzip(true).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "one"));
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "two")); // rolls over: app.log.1.gz
    /// assert!(h.wait_compressed(Duration::from_secs(10)));
    /// assert!(dir.path().join("app.log.1.gz").exists());
    /// ```
    pub fn wait_compressed(&self, timeout: Duration) -> bool {
        self.core.wait_compressed(timeout)
    }
}

/// Builds a [`RotatingFileHandler`]; see [`RotatingFileHandler::builder`].
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let builder = mplog::handler::RotatingFileHandler::builder(dir.path().join("app.log"))
///     .max_bytes(1 << 20)
///     .backup_count(3);
/// let h = builder.build().unwrap();
/// # drop(h);
/// ```
pub struct RotatingFileHandlerBuilder {
    opts: Options,
}

option_setters!(RotatingFileHandler => RotatingFileHandlerBuilder {
    mode,
    encoding,
    delay,
    buffer,
    held_bytes,
    max_bytes,
    backup_count,
    namer,
    rotator,
    gzip
});

impl RotatingFileHandlerBuilder {
    /// Append to the file (the default).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "kept\n").unwrap();
    /// let _h = mplog::handler::RotatingFileHandler::builder(&path).append().build().unwrap();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
    /// ```
    pub fn append(self) -> Self {
        self.mode(super::FileMode::Append)
    }

    /// Truncate the file at the first open (ignored when `max_bytes > 0`, as in Python).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "old\n").unwrap();
    /// let _h = mplog::handler::RotatingFileHandler::builder(&path).truncate().build().unwrap();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), ""); // max_bytes is 0 here
    /// ```
    pub fn truncate(self) -> Self {
        self.mode(super::FileMode::Truncate)
    }

    /// Builds the handler, opening the file unless delayed.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::RotatingFileHandler::builder(dir.path().join("app.log")).build().unwrap();
    /// assert!(h.path().exists()); // opened now, not delayed
    /// ```
    pub fn build(self) -> io::Result<RotatingFileHandler> {
        Ok(RotatingFileHandler {
            core: self.opts.build()?,
        })
    }
}
