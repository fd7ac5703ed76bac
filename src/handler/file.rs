//! [`FileHandler`]: formatted lines appended to a file (Python's `FileHandler`).
//!
//! UTF-8 (Rust strings are), append or truncate, and optionally a delayed open: with `delay`
//! the file is created at the first record. A file that cannot be opened or written is reported
//! through the handler's error policy and retried with the next record, so logging resumes once
//! the problem (a missing directory, a full disk) clears.
//!
//! Each record is written with one `write` on a file opened with `O_APPEND`, so lines are whole
//! even when other processes append to the same file. A handler may buffer instead
//! ([`FileHandlerBuilder::buffer`]): lines gather in memory and reach the file when the buffer
//! fills, on [`Handler::flush`], and on close or drop. The queue listener flushes after each
//! batch it drains, which is what lets it write millions of lines a second.
//!
//! [`FileStream`] is the open-file part, shared with the rotating handlers.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// How a file is opened (Python's `mode`).
///
/// ```
/// use mplog::handler::{FileHandler, FileMode};
/// assert_eq!(FileMode::default(), FileMode::Append);
/// let dir = tempfile::tempdir().unwrap();
/// let h = FileHandler::builder(dir.path().join("app.log")).mode(FileMode::Truncate).build().unwrap();
/// # drop(h);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileMode {
    /// `"a"`: keep what is there and append (the default).
    #[default]
    Append,
    /// `"w"`: truncate at the first open.
    Truncate,
}

/// An open (or not yet opened) log file with an output buffer: the part of a file handler that
/// owns the file descriptor. Not thread-safe by itself: a handler keeps it behind its lock.
#[derive(Debug)]
pub(crate) struct FileStream {
    path: PathBuf,
    mode: FileMode,
    file: Option<File>,
    /// Bytes formatted but not yet written.
    pending: Vec<u8>,
    /// Write when `pending` reaches this many bytes (0: after every record).
    buffer: usize,
    /// Bytes in the file: its size at open plus what was written since.
    size: u64,
    /// Device and inode of the open file, to notice when the path moves on.
    ident: Option<(u64, u64)>,
}

impl FileStream {
    pub(crate) fn new(path: PathBuf, mode: FileMode, buffer: usize) -> FileStream {
        FileStream {
            path,
            mode,
            file: None,
            pending: Vec::new(),
            buffer,
            size: 0,
            ident: None,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file if it is not open. After the first open, later opens append (Python's
    /// `mode='w'` truncates only once: a reopen after an error must not lose the file).
    pub(crate) fn open(&mut self) -> Result<&mut File, HandlerError> {
        if self.file.is_none() {
            let mut options = OpenOptions::new();
            options.create(true);
            match self.mode {
                FileMode::Append => options.append(true),
                FileMode::Truncate => options.write(true).truncate(true),
            };
            let file = options
                .open(&self.path)
                .map_err(|e| HandlerError::io(format!("opening {}", self.path.display()), e))?;
            self.mode = FileMode::Append;
            let meta = file.metadata().ok();
            self.size = meta.as_ref().map_or(0, |m| m.len());
            self.ident = meta.map(|m| (m.dev(), m.ino()));
            self.file = Some(file);
        }
        // Just set above when it was missing.
        self.file
            .as_mut()
            .ok_or_else(|| HandlerError::Other("file not open".into()))
    }

    /// Whether the file is open.
    #[allow(dead_code)] // kept for handlers that need it
    pub(crate) fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// The size of the file including what is pending.
    pub(crate) fn size(&self) -> u64 {
        self.size + self.pending.len() as u64
    }

    /// Re-reads the size of the open file (other processes may have appended).
    pub(crate) fn refresh_size(&mut self) {
        if let Some(meta) = self.file.as_ref().and_then(|f| f.metadata().ok()) {
            self.size = meta.len();
        }
    }

    /// Closes the file (writing what is pending) if the path no longer names it: it was
    /// renamed or removed (logrotate, another process's rollover). The next write reopens the
    /// path. Python's `WatchedFileHandler.reopenIfNeeded`.
    pub(crate) fn reopen_if_moved(&mut self) -> Result<(), HandlerError> {
        if self.file.is_none() {
            return Ok(());
        }
        let moved = match std::fs::metadata(&self.path) {
            Ok(m) => Some((m.dev(), m.ino())) != self.ident,
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        if moved {
            self.close()?;
        }
        Ok(())
    }

    /// Queues `line` and writes if the buffer is full (or unbuffered).
    pub(crate) fn write_line(&mut self, line: &[u8]) -> Result<(), HandlerError> {
        self.open()?;
        self.pending.extend_from_slice(line);
        if self.pending.len() >= self.buffer {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes what is pending. On failure the pending bytes are dropped (they may be partly
    /// written) and the error says how many.
    pub(crate) fn write_pending(&mut self) -> Result<(), HandlerError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let n = self.pending.len();
        if let Err(e) = self.open() {
            self.pending.clear();
            return Err(e);
        }
        // One write for the whole buffer: with O_APPEND, lines stay whole even when other
        // processes write the same file.
        let written = match self.file.as_mut() {
            Some(file) => file.write_all(&self.pending),
            None => Ok(()),
        };
        self.pending.clear();
        match written {
            Ok(()) => {
                self.size += n as u64;
                Ok(())
            }
            Err(e) => {
                // A failed write may leave the descriptor unusable (e.g. the file was on a
                // filesystem that went away): reopen at the next record.
                self.file = None;
                Err(HandlerError::io(
                    format!("writing {n} bytes to {}", self.path.display()),
                    e,
                ))
            }
        }
    }

    /// Writes what is pending and closes the file.
    pub(crate) fn close(&mut self) -> Result<(), HandlerError> {
        let result = self.write_pending();
        self.file = None;
        self.ident = None;
        result
    }
}

/// Appends formatted records to a file.
///
/// ```
/// use mplog::handler::{FileHandler, Handler};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("app.log");
/// let h = FileHandler::new(&path).unwrap();
/// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "started"));
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "started\n");
/// ```
#[derive(Debug)]
pub struct FileHandler {
    base: HandlerBase,
    state: Mutex<FileState>,
}

#[derive(Debug)]
struct FileState {
    stream: FileStream,
    line: String,
}

impl FileHandler {
    /// Appends to `path`, opening it now: an error here names the path (Python raises at
    /// construction too).
    ///
    /// ```
    /// use mplog::handler::FileHandler;
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(FileHandler::new(dir.path().join("app.log")).is_ok());
    /// let err = FileHandler::new(dir.path().join("missing/app.log")).unwrap_err();
    /// assert!(err.to_string().contains("missing/app.log"));
    /// ```
    pub fn new(path: impl AsRef<Path>) -> Result<FileHandler, HandlerError> {
        FileHandler::builder(path).build()
    }

    /// A builder for mode, delay and buffering.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, FileMode};
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = FileHandler::builder(dir.path().join("x.log"))
    ///     .mode(FileMode::Truncate)
    ///     .delay(true)
    ///     .build()
    ///     .unwrap();
    /// assert!(!dir.path().join("x.log").exists()); // delayed: opened at the first record
    /// # drop(h);
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> FileHandlerBuilder {
        FileHandlerBuilder {
            path: path.as_ref().to_path_buf(),
            mode: FileMode::Append,
            delay: false,
            buffer: 0,
        }
    }

    /// The file's path.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::FileHandler::new(dir.path().join("app.log")).unwrap();
    /// assert_eq!(h.path(), dir.path().join("app.log"));
    /// ```
    pub fn path(&self) -> PathBuf {
        self.state.lock().stream.path().to_path_buf()
    }
}

impl Handler for FileHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut state = self.state.lock();
        let FileState { stream, line } = &mut *state;
        line.clear();
        self.base.format(record, line)?;
        line.push('\n');
        stream.write_line(line.as_bytes())
    }

    fn flush(&self) -> io::Result<()> {
        self.state
            .lock()
            .stream
            .write_pending()
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn close(&self) {
        let mut state = self.state.lock();
        if let Err(e) = state.stream.close() {
            let record = Record::new("mplog", crate::Level::ERROR, "closing file handler");
            drop(state);
            self.base.handle_error(&record, &e);
        }
    }
}

impl Drop for FileHandler {
    fn drop(&mut self) {
        let _ = self.state.get_mut().stream.close();
    }
}

/// Builds a [`FileHandler`]; see [`FileHandler::builder`].
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let builder = mplog::handler::FileHandler::builder(dir.path().join("app.log")).buffer(64 * 1024);
/// let h = builder.build().unwrap();
/// assert_eq!(h.path(), dir.path().join("app.log"));
/// ```
#[derive(Debug, Clone)]
pub struct FileHandlerBuilder {
    path: PathBuf,
    mode: FileMode,
    delay: bool,
    buffer: usize,
}

impl FileHandlerBuilder {
    /// Append (default) or truncate.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, FileMode, Handler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "old run\n").unwrap();
    /// let h = FileHandler::builder(&path).mode(FileMode::Truncate).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "new run"));
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "new run\n");
    /// ```
    pub fn mode(mut self, mode: FileMode) -> Self {
        self.mode = mode;
        self
    }

    /// Open the file at the first record rather than now.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let h = FileHandler::builder(&path).delay(true).build().unwrap();
    /// assert!(!path.exists());
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "first"));
    /// assert!(path.exists());
    /// ```
    pub fn delay(mut self, delay: bool) -> Self {
        self.delay = delay;
        self
    }

    /// Gather up to `bytes` of lines before writing (0, the default: write every record).
    /// Buffered lines are written on flush, close and drop.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let h = FileHandler::builder(&path).buffer(64 * 1024).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "pending"));
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    /// drop(h); // written on flush, close and drop
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "pending\n");
    /// ```
    pub fn buffer(mut self, bytes: usize) -> Self {
        self.buffer = bytes;
        self
    }

    /// Builds the handler, opening the file unless delayed.
    ///
    /// ```
    /// use mplog::handler::FileHandler;
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = FileHandler::builder(dir.path().join("app.log")).build().unwrap();
    /// assert!(h.path().exists()); // opened now, not delayed
    /// ```
    pub fn build(self) -> Result<FileHandler, HandlerError> {
        let mut stream = FileStream::new(self.path, self.mode, self.buffer);
        if !self.delay {
            stream.open()?;
        }
        Ok(FileHandler {
            base: HandlerBase::new(),
            state: Mutex::new(FileState {
                stream,
                line: String::new(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn rec(msg: &'static str) -> Record {
        Record::new("a", Level::INFO, msg)
    }

    #[test]
    fn append_keeps_and_truncate_clears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.log");
        std::fs::write(&path, "old\n").unwrap();
        FileHandler::new(&path).unwrap().handle(&rec("new"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\nnew\n");
        let h = FileHandler::builder(&path)
            .mode(FileMode::Truncate)
            .build()
            .unwrap();
        h.handle(&rec("only"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "only\n");
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/f.log");
        let err = FileHandler::new(&path).unwrap_err().to_string();
        assert!(err.contains("nope/f.log"), "{err}");
    }

    #[test]
    fn delayed_open_recovers_once_the_directory_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later/f.log");
        let h = FileHandler::builder(&path).delay(true).build().unwrap();
        h.handle(&rec("lost"));
        assert_eq!(h.base().error_count(), 1);
        std::fs::create_dir(dir.path().join("later")).unwrap();
        h.handle(&rec("kept"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
    }

    #[test]
    fn buffered_lines_reach_the_file_on_flush_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.log");
        let h = FileHandler::builder(&path).buffer(1 << 16).build().unwrap();
        h.handle(&rec("one"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        h.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        h.handle(&rec("two"));
        drop(h);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
    }
}
