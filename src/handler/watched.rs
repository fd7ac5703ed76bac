//! [`WatchedFileHandler`]: a file handler that follows its path (Python's
//! `WatchedFileHandler`), for logs rotated by an outside tool such as logrotate.
//!
//! Before each record the handler `stat`s the path: if it now names another file (device or
//! inode changed) or nothing, the old file is closed and the path opened (created) again.
//! That costs one `stat` per record. Unix only, as in Python.

use std::io;
use std::path::{Path, PathBuf};

use super::rolling::{file_core_handler, option_setters, FileCore, Options};

/// Reopens its file when the path is moved or removed.
///
/// ```
/// use mplog::handler::{Handler, WatchedFileHandler};
/// use mplog::{Level, Record};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("app.log");
/// let h = WatchedFileHandler::new(&path).unwrap();
/// h.handle(&Record::new("app", Level::INFO, "before"));
/// std::fs::rename(&path, dir.path().join("app.log.1")).unwrap(); // logrotate
/// h.handle(&Record::new("app", Level::INFO, "after"));
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
/// ```
pub struct WatchedFileHandler {
    core: FileCore,
}

file_core_handler!(WatchedFileHandler);

impl WatchedFileHandler {
    /// Appends to `path`, opening it now.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::WatchedFileHandler::new(dir.path().join("app.log")).unwrap();
    /// assert!(h.path().exists());
    /// ```
    pub fn new(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::builder(path).build()
    }

    /// A builder for mode and delay.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::WatchedFileHandler::builder(dir.path().join("a.log"))
    ///     .delay(true)
    ///     .build()
    ///     .unwrap();
    /// assert!(!dir.path().join("a.log").exists());
    /// # drop(h);
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> WatchedFileHandlerBuilder {
        let mut opts = Options::new(path.as_ref());
        opts.watch = true;
        WatchedFileHandlerBuilder { opts }
    }

    /// The log file's path.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::WatchedFileHandler::new(dir.path().join("app.log")).unwrap();
    /// assert_eq!(h.path(), dir.path().join("app.log"));
    /// ```
    pub fn path(&self) -> PathBuf {
        self.core.path()
    }
}

/// Builds a [`WatchedFileHandler`]; see [`WatchedFileHandler::builder`].
///
/// ```
/// use mplog::handler::{FileMode, WatchedFileHandler};
/// let dir = tempfile::tempdir().unwrap();
/// let builder = WatchedFileHandler::builder(dir.path().join("app.log")).mode(FileMode::Truncate);
/// let h = builder.build().unwrap();
/// # drop(h);
/// ```
pub struct WatchedFileHandlerBuilder {
    opts: Options,
}

option_setters!(WatchedFileHandler => WatchedFileHandlerBuilder { mode, delay, held_bytes, encoding });

impl WatchedFileHandlerBuilder {
    /// Builds the handler, opening the file unless delayed.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::WatchedFileHandler::builder(dir.path().join("app.log")).build().unwrap();
    /// assert!(h.path().exists()); // opened now, not delayed
    /// ```
    pub fn build(self) -> io::Result<WatchedFileHandler> {
        Ok(WatchedFileHandler {
            core: self.opts.build()?,
        })
    }
}
