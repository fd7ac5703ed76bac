//! Handlers: where records go.
//!
//! A handler is a small type that implements [`Handler::emit`]; everything else comes from the
//! shared [`HandlerBase`] it carries: its level, its [`Filters`], its formatter and its error
//! policy. Adding a handler touches neither the loggers nor the listener.
//!
//! The rules are Python's:
//! - the *logger* checks `record.level >= handler.level()` before calling a handler;
//! - [`Handler::handle`] runs the handler's filters (a filter may replace the record), then
//!   `emit`;
//! - an error in `emit` (a field missing from a record) goes to [`HandlerBase::handle_error`]
//!   (Python's `handleError`): a report on stderr, rate-limited, and logging goes on. A handler
//!   never panics the program.
//! - a write that fails (a full disk, a removed directory) loses nothing silently: see below.
//!
//! Each handler serialises its own writes (a mutex around format-and-write), so lines from
//! different threads never interleave.
//!
//! # When writing fails
//! The stream and file handlers (and the rotating, timed, watched and locked ones, which share
//! the file code) keep the bytes they could not write. While writes succeed nothing of this
//! costs anything: lines are buffered and written as before. When a write, or the open before
//! it, fails:
//! - the bytes not written are *held*, in order, every later record behind them, and written
//!   first by the next attempt: the next record, the next [`Handler::flush`], or a queue
//!   listener's retry timer when no record comes. Once the fault clears (space freed, the
//!   directory back) writing resumes with the held records;
//! - holding is bounded per handler (`held_bytes` on the builders, `heldBytes` in a
//!   configuration; [`DEFAULT_HELD_BYTES`]). Past it, new records are thrown away whole, never
//!   part of a line, and counted in [`HandlerBase::records_not_written`]; so are records still
//!   held when the handler is closed;
//! - while anything is held, `flush` fails: a queue listener then holds back what would claim
//!   the records are written (a shm ring's head, a `Sync`'s `Ack`) until they are;
//! - the error policy reports it ([`HandlerBase::report`]): the first failure at once, then at
//!   most every [`FAULT_SUMMARY_EVERY`] a summary such as `1200 records not written to
//!   /var/log/app.log since 2024-05-01 12:00:00: No space left on device (os error 28) (1000
//!   held, 200 thrown away)`, and a line when writing resumes.
//!
//! A file removed while open (or its whole directory) would swallow writes without an error.
//! A file handler notices it at the next flush after a write, or at a write a second after its
//! previous check (one `fstat`, not one per record): what it wrote into the removed file since
//! that check is read back and written again, held first, to the path's new file as soon as the
//! path can be opened. (The watched and locked handlers look at the path before every record,
//! as Python's do, and simply open the new file.)

#[cfg(any(feature = "smtp", feature = "http"))]
mod b64;
mod compress;
mod datagram;
mod encoding;
mod file;
#[cfg(feature = "http")]
pub mod http;
mod locked;
mod memory;
pub mod net;
mod null;
pub(crate) mod outbox;
pub(crate) mod overflow;
pub(crate) mod rolling;
mod rotating;
mod rotation;
mod schedule;
#[cfg(feature = "smtp")]
pub mod smtp;
mod socket;
mod stream;
pub mod syslog;
mod timed;
#[cfg(feature = "tls")]
mod tls;
mod watched;

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

pub use self::datagram::{Datagram, DatagramHandler};
pub use self::encoding::{Encoding, EncodingError, Errors};
pub use self::file::{FileHandler, FileHandlerBuilder, FileMode};
#[cfg(feature = "http")]
pub use self::http::{HTTPHandler, HTTPHandlerBuilder, HttpError};
pub use self::locked::{
    LockedFileHandler, LockedFileHandlerBuilder, LockedRotatingFileHandler,
    LockedRotatingFileHandlerBuilder, LockedTimedRotatingFileHandler,
    LockedTimedRotatingFileHandlerBuilder,
};
pub use self::memory::MemoryHandler;
pub use self::null::NullHandler;
pub use self::outbox::{DEFAULT_HELD_BYTES, FAULT_SUMMARY_EVERY};
pub use self::overflow::{Overflow, DEFAULT_BLOCK_TIMEOUT};
pub use self::rolling::COMPRESSION_CLOSE_TIMEOUT;
pub use self::rotating::{RotatingFileHandler, RotatingFileHandlerBuilder};
pub use self::schedule::{Clock, ManualClock, SystemClock, When, WhenError};
#[cfg(feature = "smtp")]
pub use self::smtp::{SMTPHandler, SMTPHandlerBuilder, SmtpError};
pub use self::socket::{Delivery, PickleHandler, SocketHandler, Stream};
pub use self::stream::StreamHandler;
pub use self::timed::{TimedRotatingFileHandler, TimedRotatingFileHandlerBuilder};
#[cfg(feature = "tls")]
pub use self::tls::{Identity, LoadedTls, TlsError, TlsOptions};
pub use self::watched::{WatchedFileHandler, WatchedFileHandlerBuilder};
use crate::filter::{Filter, Filters};
use crate::format::{Format, RenderError};
use crate::level::Level;
use crate::record::Record;

/// Why a handler could not emit a record.
///
/// ```
/// use mplog::handler::{FileHandler, HandlerError};
/// let dir = tempfile::tempdir().unwrap();
/// let err = FileHandler::new(dir.path().join("missing/app.log")).unwrap_err();
/// assert!(matches!(err, HandlerError::Io { .. }));
/// assert!(err.to_string().contains("missing/app.log")); // the context names the path
/// ```
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Writing or opening failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (`opening "/var/log/app.log"`).
        context: String,
        /// The OS error.
        source: io::Error,
    },
    /// The formatter could not render the record.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Anything else a handler reports.
    #[error("{0}")]
    Other(String),
}

impl HandlerError {
    /// An I/O error with what was being done.
    ///
    /// ```
    /// use mplog::handler::HandlerError;
    /// let e = HandlerError::io("opening \"/x/app.log\"", std::io::ErrorKind::NotFound.into());
    /// assert!(e.to_string().starts_with("opening \"/x/app.log\": "));
    /// ```
    pub fn io(context: impl Into<String>, source: io::Error) -> HandlerError {
        HandlerError::Io {
            context: context.into(),
            source,
        }
    }
}

/// A destination for records (Python's `Handler`).
///
/// Implement [`emit`](Handler::emit) and [`base`](Handler::base); override `flush` and `close`
/// where the handler holds buffered data or OS resources.
///
/// ```
/// use mplog::handler::{Handler, HandlerBase, HandlerError};
/// use mplog::Record;
/// use std::sync::Mutex;
///
/// #[derive(Default)]
/// struct Collect { base: HandlerBase, lines: Mutex<Vec<String>> }
/// impl Handler for Collect {
///     fn base(&self) -> &HandlerBase { &self.base }
///     fn emit(&self, record: &Record) -> Result<(), HandlerError> {
///         let mut line = String::new();
///         self.base.format(record, &mut line)?;
///         self.lines.lock().unwrap().push(line);
///         Ok(())
///     }
/// }
/// let h = Collect::default();
/// h.handle(&Record::new("a", mplog::Level::INFO, "hi"));
/// assert_eq!(*h.lines.lock().unwrap(), ["hi"]);
/// ```
pub trait Handler: Send + Sync {
    /// The shared part: level, filters, formatter, error policy.
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// let h = StreamHandler::stderr();
    /// h.base().set_level(mplog::Level::ERROR);
    /// assert_eq!(h.level(), mplog::Level::ERROR);
    /// ```
    fn base(&self) -> &HandlerBase;

    /// Formats and writes one record. Called by [`handle`](Handler::handle) after the filters.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = FileHandler::new(dir.path().join("app.log")).unwrap();
    /// h.base().add_filter(mplog::filter::from_fn(|_| false));
    /// // `emit` writes whatever it is given; the filters are `handle`'s business.
    /// h.emit(&mplog::Record::new("a", mplog::Level::INFO, "written")).unwrap();
    /// assert_eq!(std::fs::read_to_string(h.path()).unwrap(), "written\n");
    /// ```
    fn emit(&self, record: &Record) -> Result<(), HandlerError>;

    /// Writes out anything buffered.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = FileHandler::builder(dir.path().join("app.log")).buffer(4096).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "buffered"));
    /// assert_eq!(std::fs::read_to_string(h.path()).unwrap(), "");
    /// h.flush().unwrap();
    /// assert_eq!(std::fs::read_to_string(h.path()).unwrap(), "buffered\n");
    /// ```
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// Flushes and releases resources; the handler may still be called afterwards (Python
    /// reopens files lazily; handlers here do the same or drop the record quietly).
    ///
    /// ```
    /// use mplog::handler::{Handler, MemoryHandler};
    /// let target = std::sync::Arc::new(MemoryHandler::new(100, mplog::Level::CRITICAL, None));
    /// let h = MemoryHandler::new(100, mplog::Level::CRITICAL, Some(target.clone()));
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// h.close(); // flushes what is buffered to the target
    /// assert_eq!((h.buffered(), target.buffered()), (0, 1));
    /// ```
    fn close(&self) {
        let _ = self.flush();
    }

    /// Runs the filters, then `emit`; errors go to the error policy. Returns whether the
    /// record passed the filters (Python's `Handler.handle`).
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// use mplog::{Level, Record};
    /// let h = StreamHandler::new(std::io::sink());
    /// h.base().add_filter(mplog::filter::from_fn(|r| &*r.name != "noisy"));
    /// assert!(h.handle(&Record::new("app", Level::INFO, "written")));
    /// assert!(!h.handle(&Record::new("noisy", Level::INFO, "filtered out")));
    /// ```
    fn handle(&self, record: &Record) -> bool {
        let base = self.base();
        if base.filters().is_empty() {
            if let Err(e) = self.emit(record) {
                base.handle_error(record, &e);
            }
            return true;
        }
        let Some(record) = base.filters().apply(record) else {
            return false;
        };
        if let Err(e) = self.emit(&record) {
            base.handle_error(&record, &e);
        }
        true
    }

    /// The handler's level (records below it are not passed to it by loggers).
    ///
    /// ```
    /// use mplog::handler::{Handler, NullHandler};
    /// let h = NullHandler::new();
    /// assert_eq!(h.level(), mplog::Level::NOTSET); // every record
    /// ```
    fn level(&self) -> Level {
        self.base().level()
    }
}

/// What every handler has: level, filters, formatter, name, and the error policy.
///
/// ```
/// use mplog::handler::HandlerBase;
/// let base = HandlerBase::new();
/// base.set_level(mplog::Level::ERROR);
/// assert_eq!(base.level(), mplog::Level::ERROR);
/// ```
pub struct HandlerBase {
    level: AtomicU32,
    filters: Filters,
    /// `None`: the default formatter (Python's `_defaultFormatter`, `%(message)s`).
    formatter: RwLock<Option<Arc<dyn Format>>>,
    /// Whether `formatter` is set, readable without the lock.
    formatted: AtomicBool,
    name: RwLock<Option<String>>,
    errors: ErrorReporter,
    /// Records given up on: thrown away past the held bound, or held when the handler closed.
    not_written: AtomicU64,
    /// Records held while writing fails (0 while writes succeed).
    held: AtomicU64,
}

impl Default for HandlerBase {
    fn default() -> Self {
        HandlerBase::new()
    }
}

impl fmt::Debug for HandlerBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerBase")
            .field("level", &self.level())
            .field("name", &*self.name.read())
            .field("filters", &self.filters)
            .finish_non_exhaustive()
    }
}

impl HandlerBase {
    /// Level NOTSET, no filters, the default formatter (`%(message)s`).
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// assert_eq!(base.level(), mplog::Level::NOTSET);
    /// assert!(!base.has_formatter() && base.filters().is_empty() && base.name().is_none());
    /// ```
    pub fn new() -> HandlerBase {
        HandlerBase {
            level: AtomicU32::new(Level::NOTSET.as_u32()),
            filters: Filters::default(),
            formatter: RwLock::new(None),
            formatted: AtomicBool::new(false),
            name: RwLock::new(None),
            errors: ErrorReporter::default(),
            not_written: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// The level.
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// assert_eq!(base.level(), mplog::Level::NOTSET);
    /// ```
    pub fn level(&self) -> Level {
        Level::new(self.level.load(Ordering::Relaxed))
    }

    /// Sets the level.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, MemoryHandler};
    /// use mplog::Level;
    /// let m = mplog::Manager::new();
    /// let errors = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// errors.base().set_level(Level::ERROR);
    /// m.root().add_handler(errors.clone());
    /// m.root().log(Level::WARNING, "not for this handler");
    /// m.root().log(Level::ERROR, "for this one");
    /// assert_eq!(errors.buffered(), 1);
    /// ```
    pub fn set_level(&self, level: Level) {
        self.level.store(level.as_u32(), Ordering::Relaxed);
    }

    /// The filters.
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// base.add_filter(mplog::filter::from_fn(|_| true));
    /// assert!(!base.filters().is_empty());
    /// base.filters().clear();
    /// assert!(base.filters().is_empty());
    /// ```
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Adds a filter.
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// let h = StreamHandler::new(std::io::sink());
    /// h.base().add_filter(std::sync::Arc::new(mplog::filter::NameFilter::new("app")));
    /// assert!(!h.handle(&mplog::Record::new("other", mplog::Level::INFO, "m")));
    /// ```
    pub fn add_filter(&self, filter: Arc<dyn Filter>) {
        self.filters.add(filter);
    }

    /// Whether a formatter was set (else the default one, the message alone, applies).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let base = mplog::handler::HandlerBase::new();
    /// assert!(!base.has_formatter());
    /// base.set_formatter(Arc::new(mplog::Formatter::new("%(levelname)s %(message)s").unwrap()));
    /// assert!(base.has_formatter());
    /// ```
    pub fn has_formatter(&self) -> bool {
        self.formatted.load(Ordering::Acquire)
    }

    /// Replaces the formatter.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{Level, Record};
    /// let base = mplog::handler::HandlerBase::new();
    /// base.set_formatter(Arc::new(mplog::Formatter::new("%(name)s %(levelname)s %(message)s").unwrap()));
    /// let mut line = String::new();
    /// base.format(&Record::new("db", Level::ERROR, "gone"), &mut line).unwrap();
    /// assert_eq!(line, "db ERROR gone");
    /// ```
    pub fn set_formatter(&self, formatter: Arc<dyn Format>) {
        *self.formatter.write() = Some(formatter);
        self.formatted.store(true, Ordering::Release);
    }

    /// The formatter set on this handler (`None`: the default, `%(message)s`).
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// assert!(base.formatter().is_none()); // the default, `%(message)s`
    /// base.set_formatter(std::sync::Arc::new(mplog::Formatter::default()));
    /// assert!(base.formatter().is_some());
    /// ```
    pub fn formatter(&self) -> Option<Arc<dyn Format>> {
        self.formatter.read().clone()
    }

    /// Formats `record` with the handler's formatter, appending to `out`.
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// let mut line = String::from("> ");
    /// base.format(&mplog::Record::new("a", mplog::Level::INFO, "hi"), &mut line).unwrap();
    /// assert_eq!(line, "> hi"); // appended, message alone by default
    /// ```
    pub fn format(&self, record: &Record, out: &mut String) -> Result<(), RenderError> {
        match &*self.formatter.read() {
            Some(f) => f.format(record, out),
            None => {
                // Python's default formatter: the message, then exception and stack text.
                let start = out.len();
                out.push_str(&record.message);
                crate::format::append_trailers(record, start, out);
                Ok(())
            }
        }
    }

    /// The handler's name (used by configuration).
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// assert_eq!(base.name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.name.read().clone()
    }

    /// Names the handler.
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// base.set_name("console");
    /// assert_eq!(base.name().as_deref(), Some("console"));
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        *self.name.write() = Some(name.into());
    }

    /// How many errors this handler has met.
    ///
    /// ```
    /// use mplog::handler::{HandlerBase, HandlerError};
    /// let base = HandlerBase::new();
    /// let record = mplog::Record::new("a", mplog::Level::ERROR, "m");
    /// base.handle_error(&record, &HandlerError::Other("disk full".into())); // reported on stderr
    /// assert_eq!(base.error_count(), 1);
    /// ```
    pub fn error_count(&self) -> u64 {
        self.errors.count.load(Ordering::Relaxed)
    }

    pub(crate) fn count_error(&self) {
        self.errors.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Records this handler gave up on: thrown away while its writes failed (past its held
    /// bound), or still held when it was closed. Never decreases.
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// // /dev/full: every write fails with ENOSPC.
    /// let h = FileHandler::builder("/dev/full").held_bytes(10).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "held")); // 5 bytes: held
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "thrown away")); // past 10 bytes
    /// assert_eq!((h.base().records_held(), h.base().records_not_written()), (1, 1));
    /// h.close(); // gives up on what it holds
    /// assert_eq!((h.base().records_held(), h.base().records_not_written()), (0, 2));
    /// ```
    pub fn records_not_written(&self) -> u64 {
        self.not_written.load(Ordering::Relaxed)
    }

    /// Counts `n` records this handler gave up on (a handler of your own that drops records
    /// it cannot deliver says so here; a queue listener adds them to its statistics).
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// base.count_not_written(3);
    /// assert_eq!(base.records_not_written(), 3);
    /// ```
    pub fn count_not_written(&self, n: u64) {
        self.not_written.fetch_add(n, Ordering::Relaxed);
    }

    /// Records held, not yet written, while this handler's writes fail (0 while they succeed).
    ///
    /// ```
    /// use mplog::handler::{FileHandler, Handler};
    /// let h = FileHandler::new("/dev/full").unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert_eq!(h.base().records_held(), 1);
    /// assert!(h.flush().is_err()); // flush fails while anything is held
    /// ```
    pub fn records_held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The reports made so far (unit tests).
    #[cfg(test)]
    pub(crate) fn reports(&self) -> Vec<String> {
        self.errors.shown.lock().clone()
    }

    pub(crate) fn set_held(&self, n: u64) {
        self.held.store(n, Ordering::Relaxed);
    }

    /// Reports a trouble of this handler that is not about one record (a write fault, its
    /// summary, its end) through the error policy: one line on stderr, `mplog: handler 'NAME':
    /// TEXT`, within the same rate limit as [`handle_error`](HandlerBase::handle_error).
    ///
    /// ```
    /// let base = mplog::handler::HandlerBase::new();
    /// base.set_name("file");
    /// // stderr: "mplog: handler 'file': cannot write to app.log: ..."
    /// base.report("cannot write to app.log: No space left on device (os error 28)");
    /// ```
    pub fn report(&self, text: &str) {
        let name = self.name.read().clone();
        self.errors.report(|suppressed| {
            let mut line = match name {
                Some(name) => format!("mplog: handler '{name}': {text}"),
                None => format!("mplog: {text}"),
            };
            if suppressed > 0 {
                line.push_str(&format!(" ({suppressed} similar errors not shown)"));
            }
            line.push('\n');
            line
        });
    }

    /// Python's `handleError`: reports the failure on stderr (at most
    /// [`ERROR_REPORTS_PER_SECOND`] a second per handler, then a count of what was
    /// suppressed) and returns; logging goes on.
    ///
    /// ```
    /// use mplog::handler::{HandlerBase, HandlerError};
    /// let base = HandlerBase::new();
    /// base.set_name("file");
    /// let record = mplog::Record::new("a", mplog::Level::ERROR, "m");
    /// // stderr: "--- Logging error ---\nhandler 'file': disk full\n..."
    /// base.handle_error(&record, &HandlerError::Other("disk full".into()));
    /// assert_eq!(base.error_count(), 1);
    /// ```
    pub fn handle_error(&self, record: &Record, error: &HandlerError) {
        self.errors.count.fetch_add(1, Ordering::Relaxed);
        let name = self.name.read().clone();
        self.errors.report(|suppressed| {
            let mut text = String::from("--- Logging error ---\n");
            if let Some(name) = name {
                text.push_str(&format!("handler '{name}': "));
            }
            text.push_str(&format!(
                "{error}\nMessage: {:?}\nLogged from logger '{}' at {}:{}\n",
                record.message, record.name, record.pathname, record.lineno
            ));
            if suppressed > 0 {
                text.push_str(&format!("({suppressed} similar errors not shown)\n"));
            }
            text
        });
    }
}

/// At most this many error reports a second per handler reach stderr.
pub const ERROR_REPORTS_PER_SECOND: u32 = 5;

#[derive(Default)]
struct ErrorReporter {
    count: AtomicU64,
    window: Mutex<Option<(Instant, u32, u64)>>,
    /// What was reported, for the unit tests to read.
    #[cfg(test)]
    shown: Mutex<Vec<String>>,
}

impl ErrorReporter {
    fn report(&self, text: impl FnOnce(u64) -> String) {
        let now = Instant::now();
        let suppressed = {
            let mut w = self.window.lock();
            let (start, shown, suppressed) = w.get_or_insert((now, 0, 0));
            if now.duration_since(*start) >= Duration::from_secs(1) {
                let s = *suppressed;
                *w = Some((now, 1, 0));
                s
            } else if *shown < ERROR_REPORTS_PER_SECOND {
                *shown += 1;
                0
            } else {
                *suppressed += 1;
                return;
            }
        };
        let text = text(suppressed);
        #[cfg(test)]
        self.shown.lock().push(text.clone());
        use std::io::Write as _;
        // Nowhere else to tell: a failing stderr ends the report.
        let _ = io::stderr().write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(HandlerBase);
    impl Handler for Failing {
        fn base(&self) -> &HandlerBase {
            &self.0
        }
        fn emit(&self, _: &Record) -> Result<(), HandlerError> {
            Err(HandlerError::Other("boom".into()))
        }
    }

    #[test]
    fn errors_are_counted_and_logging_goes_on() {
        let h = Failing(HandlerBase::new());
        for _ in 0..20 {
            assert!(h.handle(&Record::new("a", Level::ERROR, "m")));
        }
        assert_eq!(h.base().error_count(), 20);
    }

    #[test]
    fn filters_run_before_emit() {
        let h = Failing(HandlerBase::new());
        h.base().add_filter(crate::filter::from_fn(|_| false));
        assert!(!h.handle(&Record::new("a", Level::ERROR, "m")));
        assert_eq!(h.base().error_count(), 0);
    }
}
