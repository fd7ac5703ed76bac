//! [`FileHandler`]: formatted lines appended to a file (Python's `FileHandler`).
//!
//! UTF-8 (Rust strings are), append or truncate, and optionally a delayed open: with `delay`
//! the file is created at the first record.
//!
//! A file that cannot be opened or written loses nothing silently: the records not written are
//! held in order (at most [`FileHandlerBuilder::held_bytes`]), retried with each record and
//! each flush, and written first once the problem (a full disk, a missing directory) clears;
//! past the bound records are thrown away whole and counted. The error policy reports the
//! first failure, a summary while it lasts, and the recovery. A file removed while open (or
//! its directory) is noticed at the next flush after a write, or at a write a second after the
//! previous check (one `fstat`, not one per record): what was written into it since that check
//! is read back and written again to the path's new file, as soon as the path can be opened.
//! See
//! [the handler module docs](super#when-writing-fails).
//!
//! Each record is written with one `write` on a file opened with `O_APPEND`, so lines are whole
//! even when other processes append to the same file. A handler may buffer instead
//! ([`FileHandlerBuilder::buffer`]): lines gather in memory and reach the file when the buffer
//! fills, on [`Handler::flush`], and on close or drop. The queue listener flushes after each
//! batch it drains, which is what lets it write millions of lines a second.
//!
//! [`FileStream`] is the open-file part, shared with the rotating handlers.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::encoding::Encoding;
use super::outbox::{Outbox, DEFAULT_HELD_BYTES};
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

/// An open (or not yet opened) log file with its [`Outbox`]: the part of a file handler that
/// owns the file descriptor. Not thread-safe by itself: a handler keeps it behind its lock, and
/// passes its [`HandlerBase`] in for the counts and the reports.
#[derive(Debug)]
pub(crate) struct FileStream {
    path: PathBuf,
    mode: FileMode,
    file: Option<File>,
    /// Bytes formatted but not yet written, held while writing fails.
    out: Outbox,
    /// Write when `out` reaches this many bytes (0: after every record).
    buffer: usize,
    /// Bytes in the file: its size at open plus what was written since.
    size: u64,
    /// Device and inode of the open file, to notice when the path moves on.
    ident: Option<(u64, u64)>,
    /// When the file's link count was last checked, and its size and `out.written()` then.
    checked: Checked,
    /// How lines are encoded (UTF-8 lines are written as they are).
    encoding: Encoding,
    /// A line encoded in another encoding, reused from record to record.
    encoded: Vec<u8>,
}

/// A check that the open file is still linked (see `FileStream::check_linked`).
#[derive(Debug, Clone, Copy)]
struct Checked {
    size: u64,
    written: u64,
    at: Instant,
}

/// A file is checked for removal at each flush after writes, and at the first write at least
/// this long after the previous check: what the read-back after a removal may write again is
/// what was written in that window (a few records a listener flushes, at most this long for a
/// handler nobody flushes).
const CHECK_EVERY: Duration = Duration::from_secs(1);

impl FileStream {
    /// A stream holding at most `held` bytes while writing fails (at least `buffer`: what a
    /// failed write leaves is held whole).
    pub(crate) fn new(path: PathBuf, mode: FileMode, buffer: usize, held: usize) -> FileStream {
        FileStream {
            path,
            mode,
            file: None,
            out: Outbox::new(held.max(buffer)),
            buffer,
            size: 0,
            ident: None,
            checked: Checked {
                size: 0,
                written: 0,
                at: Instant::now(),
            },
            encoding: Encoding::default(),
            encoded: Vec::new(),
        }
    }

    /// Lines are written in `encoding`.
    pub(crate) fn set_encoding(&mut self, encoding: Encoding) {
        self.encoding = encoding;
    }

    /// Where the next line lands in the file: what it holds (or will hold once opened) plus
    /// what waits to be written. 0 is the start of a file (where a byte-order mark goes).
    fn position(&self) -> u64 {
        let pending = self.out.len() as u64;
        if self.file.is_some() {
            return self.size + pending;
        }
        match self.mode {
            FileMode::Truncate => pending,
            FileMode::Append => std::fs::metadata(&self.path).map_or(0, |m| m.len()) + pending,
        }
    }

    /// Encodes `line` and queues it as [`write_line`](Self::write_line) does. A line the
    /// encoding refuses (`errors` strict) is not written and is returned as the error.
    pub(crate) fn write_text(
        &mut self,
        line: &str,
        base: &HandlerBase,
    ) -> Result<(), HandlerError> {
        if self.encoding.is_utf8() {
            self.write_line(line.as_bytes(), base);
            return Ok(());
        }
        let mut encoded = std::mem::take(&mut self.encoded);
        encoded.clear();
        let at_start = self.position() == 0;
        let result = self.encoding.encode(line, at_start, &mut encoded);
        if result.is_ok() {
            self.write_line(&encoded, base);
        }
        self.encoded = encoded;
        result.map_err(|e| HandlerError::Other(e.to_string()))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file if it is not open. After the first open, later opens append (Python's
    /// `mode='w'` truncates only once: a reopen after an error must not lose the file).
    pub(crate) fn open(&mut self) -> io::Result<&mut File> {
        let file = match self.file.take() {
            Some(file) => file,
            None => {
                let mut options = OpenOptions::new();
                options.create(true);
                match self.mode {
                    FileMode::Append => options.append(true),
                    FileMode::Truncate => options.write(true).truncate(true),
                };
                let file = options.open(&self.path)?;
                self.mode = FileMode::Append;
                let meta = file.metadata().ok();
                self.size = meta.as_ref().map_or(0, |m| m.len());
                self.ident = meta.map(|m| (m.dev(), m.ino()));
                self.checked = Checked {
                    size: self.size,
                    written: self.out.written(),
                    at: Instant::now(),
                };
                file
            }
        };
        Ok(self.file.insert(file))
    }

    /// Opens the file now (a handler that is not delayed), naming the path in the error.
    pub(crate) fn open_now(&mut self) -> Result<(), HandlerError> {
        match self.open() {
            Ok(_) => Ok(()),
            Err(e) => Err(HandlerError::io(
                format!("opening {}", self.path.display()),
                e,
            )),
        }
    }

    /// Whether the file is open.
    #[allow(dead_code)] // kept for handlers that need it
    pub(crate) fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// Whether writing fails and records are held.
    pub(crate) fn is_holding(&self) -> bool {
        self.out.is_holding()
    }

    /// The size of the file including what is waiting.
    pub(crate) fn size(&self) -> u64 {
        self.size + self.out.len() as u64
    }

    /// Re-reads the size of the open file (other processes may have appended).
    pub(crate) fn refresh_size(&mut self) {
        if let Some(meta) = self.file.as_ref().and_then(|f| f.metadata().ok()) {
            self.size = meta.len();
        }
    }

    /// Closes the file (writing what is waiting) if the path no longer names it: it was
    /// renamed or removed (logrotate, another process's rollover). The next write reopens the
    /// path. Python's `WatchedFileHandler.reopenIfNeeded`.
    pub(crate) fn reopen_if_moved(&mut self, base: &HandlerBase) {
        if self.file.is_none() {
            return;
        }
        let moved = match std::fs::metadata(&self.path) {
            Ok(m) => Some((m.dev(), m.ino())) != self.ident,
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        if moved {
            // The path moved on (logrotate renamed or deleted the file) and is watched at
            // every record: what was written went where the rotation put it, so no read-back.
            // What cannot be written now stays held, for the path's new file.
            self.write_out(base);
            self.file = None;
            self.ident = None;
        }
    }

    /// Queues `line` and writes if the buffer is full (or unbuffered), or while records are
    /// held (each record retries). A failure holds the bytes and is reported through `base`.
    pub(crate) fn write_line(&mut self, line: &[u8], base: &HandlerBase) {
        if !self.out.push(line, base, &self.path.display()) {
            return; // thrown away past the bound: counted and reported
        }
        if self.file.is_none() || self.out.len() >= self.buffer || self.out.is_holding() {
            self.write_out(base);
        }
    }

    /// Writes what is waiting; returns whether all of it went out.
    fn write_out(&mut self, base: &HandlerBase) -> bool {
        if self.out.is_empty() {
            return true;
        }
        if let Err(e) = self.open() {
            self.out.fail("open", &e, base, &self.path.display());
            return false;
        }
        let Some(file) = self.file.as_mut() else {
            return false; // just opened
        };
        let before = self.out.len();
        // One write for the whole buffer (while the disk takes it): with O_APPEND, lines stay
        // whole even when other processes write the same file.
        let ok = self.out.write_to(file, base, &self.path.display());
        self.size += (before - self.out.len()) as u64;
        if !ok {
            // A failed write may leave the descriptor unusable (e.g. the file was on a
            // filesystem that went away): reopen at the next attempt.
            self.file = None;
            self.ident = None;
        } else if self.checked.at.elapsed() >= CHECK_EVERY {
            self.check_linked(base);
        }
        ok
    }

    /// Writes what is waiting and checks that the file is still there; fails while records
    /// are held (a queue listener then holds back ring commits and `Ack`s).
    pub(crate) fn flush(&mut self, base: &HandlerBase) -> io::Result<()> {
        self.write_out(base);
        self.check_linked(base);
        self.out.status(&self.path.display())
    }

    /// Notices that the open file was removed (its link count is 0: the file or its directory
    /// was deleted) since the last check (at each flush after writes, and at a write
    /// [`CHECK_EVERY`] after the last check): the records written into it since that check are
    /// read back and written again, with what is held, to the path's new file as soon as it
    /// can be opened (the directory may be gone for a while). Without this, writes into a
    /// removed file "succeed" into nowhere.
    fn check_linked(&mut self, base: &HandlerBase) {
        let Some(file) = &self.file else {
            return;
        };
        if self.out.written() == self.checked.written {
            return; // nothing written since the last check
        }
        let Ok(meta) = file.metadata() else {
            return;
        };
        if meta.nlink() > 0 {
            self.checked = Checked {
                size: meta.len(),
                written: self.out.written(),
                at: Instant::now(),
            };
            return;
        }
        let records = self.out.written() - self.checked.written;
        let (from, to) = (self.checked.size, meta.len());
        let room = self.out.room();
        let dest = self.path.display();
        match read_back(file, from, to, room) {
            Ok(bytes) => {
                base.report(&format!(
                    "{dest} was removed while open: the {records} records written to it since \
                     the last check are written again, to a new {dest}"
                ));
                self.out.prepend(bytes, records);
            }
            Err(e) => {
                base.count_not_written(records);
                base.report(&format!(
                    "{dest} was removed while open: {records} records written to it since \
                     the last check are lost ({e})"
                ));
            }
        }
        self.file = None;
        self.ident = None;
        self.write_out(base);
    }

    /// Writes what is waiting and closes the file. What cannot be written stays held (the
    /// next write reopens the path); returns whether everything went out.
    pub(crate) fn close(&mut self, base: &HandlerBase) -> bool {
        let written = self.write_out(base);
        self.check_linked(base);
        self.file = None;
        self.ident = None;
        written && !self.out.is_holding()
    }

    /// Closes for good (the handler is closed or dropped): what cannot be written now is
    /// counted as not written and reported.
    pub(crate) fn finish(&mut self, base: &HandlerBase) {
        if !self.close(base) {
            self.out.give_up(base, &self.path.display());
        }
    }
}

/// Reads bytes `from..to` back from `file`, which was removed, through `/proc/self/fd` (the
/// descriptor itself is write-only); refuses more than `room` bytes.
#[cfg(target_os = "linux")]
fn read_back(file: &File, from: u64, to: u64, room: usize) -> io::Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(to.saturating_sub(from)).unwrap_or(usize::MAX);
    if len > room {
        return Err(io::Error::other(format!(
            "{len} bytes, more than the {room} that can be held"
        )));
    }
    let reader = File::open(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let mut bytes = vec![0; len];
    reader.read_exact_at(&mut bytes, from)?;
    Ok(bytes)
}

#[cfg(not(target_os = "linux"))]
fn read_back(_: &File, _: u64, _: u64, _: usize) -> io::Result<Vec<u8>> {
    Err(io::Error::other("no /proc/self/fd to read them back from"))
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
            held_bytes: DEFAULT_HELD_BYTES,
            encoding: Encoding::default(),
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
        // A write that fails holds the line (or counts it) and reports through the base; a
        // line the encoding refuses is the error.
        stream.write_text(line, &self.base)
    }

    fn flush(&self) -> io::Result<()> {
        self.state.lock().stream.flush(&self.base)
    }

    fn close(&self) {
        self.state.lock().stream.finish(&self.base);
    }
}

impl Drop for FileHandler {
    fn drop(&mut self) {
        self.state.get_mut().stream.finish(&self.base);
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
    held_bytes: usize,
    encoding: Encoding,
}

impl FileHandlerBuilder {
    /// The file's encoding and error policy (Python's `encoding` and `errors`; default UTF-8,
    /// strict). A line the encoding refuses under `strict` is not written: the handler's error
    /// policy reports it, as Python's `handleError` does.
    ///
    /// ```
    /// use mplog::handler::{Encoding, FileHandler, Handler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let h = FileHandler::builder(&path).encoding(Encoding::new("utf-16").unwrap()).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "hi"));
    /// drop(h);
    /// assert_eq!(std::fs::read(&path).unwrap(), b"\xff\xfeh\0i\0\n\0"); // BOM, then UTF-16LE
    /// ```
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

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

    /// Hold at most `bytes` of records while writing fails ([`DEFAULT_HELD_BYTES`]); past
    /// that, records are thrown away whole and counted
    /// ([`HandlerBase::records_not_written`]). The buffer, if larger, is held whole.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// // /dev/full: every write fails with ENOSPC.
    /// let h = FileHandler::builder("/dev/full").held_bytes(64 * 1024).build().unwrap();
    /// for i in 0..10_000 {
    ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, format!("record {i:>5}")));
    /// }
    /// // 13-byte lines: 5041 fit in 64 KiB, the rest were thrown away.
    /// assert_eq!((h.base().records_held(), h.base().records_not_written()), (5041, 4959));
    /// ```
    pub fn held_bytes(mut self, bytes: usize) -> Self {
        self.held_bytes = bytes;
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
        let mut stream = FileStream::new(self.path, self.mode, self.buffer, self.held_bytes);
        stream.set_encoding(self.encoding);
        if !self.delay {
            stream.open_now()?;
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
    fn delayed_open_holds_records_until_the_directory_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later/f.log");
        let h = FileHandler::builder(&path).delay(true).build().unwrap();
        h.handle(&rec("held"));
        assert_eq!((h.base().error_count(), h.base().records_held()), (1, 1));
        assert!(h.flush().is_err());
        std::fs::create_dir(dir.path().join("later")).unwrap();
        h.handle(&rec("next"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "held\nnext\n");
        assert_eq!(h.base().records_held(), 0);
        assert!(h.flush().is_ok());
    }

    fn numbered(i: usize) -> Record {
        Record::new("a", Level::INFO, format!("line {i}"))
    }

    #[test]
    fn a_full_device_holds_records_fails_flush_and_counts_what_it_gives_up() {
        // /dev/full: every write fails with ENOSPC. "line N\n" is 7 bytes: 2 fit in 20.
        let h = FileHandler::builder("/dev/full")
            .held_bytes(20)
            .build()
            .unwrap();
        for i in 0..5 {
            h.handle(&numbered(i));
        }
        let base = h.base();
        assert_eq!((base.records_held(), base.records_not_written()), (2, 3));
        let err = h.flush().unwrap_err().to_string();
        assert!(err.contains("2 records held"), "{err}");
        assert!(err.contains("No space left on device"), "{err}");
        h.close();
        assert_eq!((base.records_held(), base.records_not_written()), (0, 5));
        let reports = base.reports();
        assert!(reports[0].contains("cannot write to /dev/full: No space left on device"));
        assert!(reports
            .last()
            .unwrap()
            .contains("closed with 2 records not written"));
    }

    #[test]
    fn records_written_into_a_removed_file_are_written_again_to_the_new_one() {
        for buffer in [0, 1 << 16] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("app.log");
            let h = FileHandler::builder(&path).buffer(buffer).build().unwrap();
            h.handle(&numbered(0));
            h.flush().unwrap();
            std::fs::remove_file(&path).unwrap();
            h.handle(&numbered(1));
            h.handle(&numbered(2));
            // Noticed at the flush: what went into the removed file is written again.
            h.flush().unwrap();
            h.handle(&numbered(3));
            h.flush().unwrap();
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                "line 1\nline 2\nline 3\n",
                "buffer {buffer}"
            );
            assert_eq!(h.base().records_not_written(), 0);
        }
    }

    #[test]
    fn a_handler_nobody_flushes_notices_a_removed_file_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let h = FileHandler::new(&path).unwrap();
        h.handle(&numbered(0));
        h.flush().unwrap();
        std::fs::remove_file(&path).unwrap();
        h.handle(&numbered(1)); // into the removed file: not checked yet
        std::thread::sleep(CHECK_EVERY + Duration::from_millis(100));
        h.handle(&numbered(2)); // the write after CHECK_EVERY checks
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "line 1\nline 2\n");
    }

    #[test]
    fn a_removed_directory_holds_records_until_it_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("logs");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("app.log");
        let h = FileHandler::new(&path).unwrap();
        h.handle(&numbered(0));
        h.flush().unwrap();
        std::fs::remove_dir_all(&sub).unwrap();
        h.handle(&numbered(1));
        assert!(h.flush().is_err(), "the path cannot be opened: held");
        h.handle(&numbered(2));
        assert_eq!(h.base().records_held(), 2);
        assert!(h.flush().is_err());
        std::fs::create_dir(&sub).unwrap();
        h.flush().unwrap();
        h.handle(&numbered(3));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "line 1\nline 2\nline 3\n"
        );
        assert_eq!(h.base().records_not_written(), 0);
        let reports = h.base().reports().concat();
        assert!(reports.contains("was removed while open"), "{reports}");
        assert!(reports.contains("No such file or directory"), "{reports}");
        assert!(reports.contains("again after"), "{reports}");
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
