//! [`Record`]: one logging event, owned and serialisable so it can cross processes.
//!
//! A record carries every attribute of Python's `LogRecord` (name, level, message, location,
//! times, thread, process, exception and stack text, user `extra` fields). It is built once,
//! at the call site, only when the logger is enabled for its level; the message is rendered
//! there and never again. Everything is owned (`Arc`/`Cow<'static, str>`), so a record can be
//! queued, sent to another process with serde, and handled there unchanged.
//!
//! Python derives `filename` and `module` from `pathname`; so do [`Record::filename`] and
//! [`Record::module`]. Rust's module path is kept as well, as [`Record::module_path`].
//!
//! A record that came from a Python process (see [`compat::pickle`](crate::compat::pickle))
//! also keeps the values Python computed where mplog would compute its own
//! ([`PythonAttrs`]: the float times, `filename`, `module`), so it prints as Python prints it.

use std::backtrace::Backtrace;
use std::borrow::Cow;
use std::cell::RefCell;
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::level::Level;

/// The value of a user `extra` field.
///
/// ```
/// use mplog::record::Value;
/// assert_eq!(Value::from("db"), Value::Str("db".into()));
/// assert_eq!(Value::from(3u8), Value::Int(3));
/// assert_eq!(Value::from(2.5), Value::Float(2.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean (`True`/`False` when printed, as in Python).
    Bool(bool),
    /// Python's `None`.
    None,
}

macro_rules! value_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                // Values past i64::MAX saturate: extra fields are for display, not arithmetic.
                Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
    )*};
}
value_from_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Str(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::None, Into::into)
    }
}

/// The standard attribute names of a record, plus `message` and `asctime`: an `extra` field may
/// not use any of them (Python raises `KeyError` in `makeRecord`).
pub const RESERVED_FIELDS: [&str; 25] = [
    "name",
    "msg",
    "args",
    "levelname",
    "levelno",
    "pathname",
    "filename",
    "module",
    "module_path",
    "exc_info",
    "exc_text",
    "stack_info",
    "lineno",
    "funcName",
    "created",
    "msecs",
    "relativeCreated",
    "thread",
    "threadName",
    "processName",
    "process",
    "taskName",
    "message",
    "asctime",
    "level",
];

/// Whether `key` is a reserved field name (see [`RESERVED_FIELDS`]). A `const fn`, so the
/// logging macros reject `extra` keys such as `name = ..` at compile time.
///
/// ```
/// assert!(mplog::record::is_reserved_field("asctime"));
/// assert!(!mplog::record::is_reserved_field("user"));
/// ```
pub const fn is_reserved_field(key: &str) -> bool {
    let mut i = 0;
    while i < RESERVED_FIELDS.len() {
        if const_eq(RESERVED_FIELDS[i].as_bytes(), key.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// An `extra` field that would overwrite a standard one.
///
/// ```
/// let err = mplog::Record::new("app", mplog::Level::INFO, "hi")
///     .with_extra("name", "x")
///     .unwrap_err();
/// assert_eq!(err.to_string(), "Attempt to overwrite 'name' in LogRecord");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Attempt to overwrite '{0}' in LogRecord")]
pub struct ReservedField(pub String);

/// Where a log call was made: filled in by the logging macros from `file!()`, `line!()` and
/// `module_path!()`.
///
/// ```
/// let here = mplog::record::Location { pathname: file!(), lineno: line!(), module_path: module_path!() };
/// assert!(here.lineno > 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Source file, as `file!()` gives it.
    pub pathname: &'static str,
    /// Line number.
    pub lineno: u32,
    /// Rust module path.
    pub module_path: &'static str,
}

/// The attributes of a record made by a Python process that mplog would otherwise derive from
/// its own fields: kept as Python sent them, so formatting prints what Python prints
/// (`relativeCreated` is a float of Python's making that no nanosecond count reproduces;
/// `filename` and `module` are Python's `os.path` results).
///
/// ```
/// use mplog::record::PythonAttrs;
/// let mut r = mplog::Record::new("py", mplog::Level::INFO, "from Python");
/// r.python = Some(Box::new(PythonAttrs {
///     created: 1700000000.25, msecs: 250.0, relative_created: 12.345678,
///     filename: "app.py".into(), module: "app".into(),
/// }));
/// assert_eq!((r.created(), r.msecs(), r.relative_created()), (1700000000.25, 250.0, 12.345678));
/// assert_eq!((r.filename(), r.module()), ("app.py", "app"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PythonAttrs {
    /// `created`, seconds since the epoch.
    pub created: f64,
    /// `msecs`.
    pub msecs: f64,
    /// `relativeCreated`, milliseconds.
    pub relative_created: f64,
    /// `filename`.
    pub filename: String,
    /// `module`.
    pub module: String,
}

/// One logging event (Python's `LogRecord`).
///
/// ```
/// use mplog::{Level, Record};
/// let r = Record::new("app.db", Level::INFO, "connected").with_extra("host", "db1").unwrap();
/// assert_eq!(r.level_name, "INFO");
/// assert_eq!(r.get_extra("host"), Some(&mplog::record::Value::Str("db1".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The logger's dotted name.
    pub name: Arc<str>,
    /// The level number (`levelno`).
    pub level: Level,
    /// The level's name when the record was made (`levelname`); kept so a custom level
    /// registered only in the worker prints the same in the listener.
    pub level_name: Cow<'static, str>,
    /// The message, rendered once (Python's `getMessage()`).
    pub message: Cow<'static, str>,
    /// Source path of the call (`pathname`).
    pub pathname: Cow<'static, str>,
    /// Line of the call (`lineno`).
    pub lineno: u32,
    /// Rust module path of the call.
    pub module_path: Cow<'static, str>,
    /// Function name of the call (`funcName`).
    pub func_name: Cow<'static, str>,
    /// Creation time, nanoseconds since the Unix epoch (`created` is this in seconds).
    pub created_ns: i64,
    /// Nanoseconds between the start of logging in the producing process and this record.
    pub relative_created_ns: i64,
    /// OS thread id of the caller (`thread`).
    pub thread: u64,
    /// Thread name (`threadName`).
    pub thread_name: Arc<str>,
    /// Process id (`process`).
    pub process: u32,
    /// Process name (`processName`), see [`set_process_name`].
    pub process_name: Arc<str>,
    /// Task name (`taskName`), if the caller set one.
    pub task_name: Option<Arc<str>>,
    /// Rendered error text (`exc_text`): the error and its chain of causes.
    pub exc_text: Option<String>,
    /// Rendered stack (`stack_info`).
    pub stack_info: Option<String>,
    /// User fields (`extra`), in the order given.
    pub extra: Vec<(Cow<'static, str>, Value)>,
    /// For a record made by a Python process: the values Python computed (see
    /// [`PythonAttrs`]); `None` for records made here. Not carried by mplog's own wire (a
    /// forwarded Python record prints its times from `created_ns`, to the nanosecond).
    #[serde(skip)]
    pub python: Option<Box<PythonAttrs>>,
}

impl Record {
    /// A record stamped now, on this thread and process, with no location.
    ///
    /// ```
    /// let r = mplog::Record::new("app", mplog::Level::WARNING, format!("{} left", 3));
    /// assert_eq!(&*r.message, "3 left");
    /// ```
    pub fn new(name: &str, level: Level, message: impl Into<Cow<'static, str>>) -> Record {
        Record::with_name(Arc::from(name), level, message.into(), None)
    }

    /// The constructor behind the macros: the logger's shared name, no copy.
    pub(crate) fn with_name(
        name: Arc<str>,
        level: Level,
        message: Cow<'static, str>,
        location: Option<&Location>,
    ) -> Record {
        let created_ns = now_ns();
        let (thread, thread_name, process_name) = current_thread();
        let (pathname, lineno, module_path) = match location {
            Some(l) => (l.pathname, l.lineno, l.module_path),
            None => ("", 0, ""),
        };
        Record {
            name,
            level,
            level_name: level.name(),
            message,
            pathname: Cow::Borrowed(pathname),
            lineno,
            module_path: Cow::Borrowed(module_path),
            func_name: Cow::Borrowed(""),
            created_ns,
            relative_created_ns: created_ns - start_ns(),
            thread,
            thread_name,
            process: PROCESS_ID.load(Ordering::Relaxed),
            process_name,
            task_name: None,
            exc_text: None,
            stack_info: None,
            extra: Vec::new(),
            python: None,
        }
    }

    /// Adds a user field, refusing the reserved names (see [`RESERVED_FIELDS`]).
    ///
    /// ```
    /// use mplog::record::Value;
    /// let r = mplog::Record::new("http", mplog::Level::INFO, "served")
    ///     .with_extra("status", 200).unwrap()
    ///     .with_extra("path", "/api").unwrap();
    /// assert_eq!(r.get_extra("status"), Some(&Value::Int(200)));
    /// assert!(r.clone().with_extra("message", "x").is_err()); // reserved, as in Python
    /// ```
    pub fn with_extra(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) -> Result<Record, ReservedField> {
        let key = key.into();
        if is_reserved_field(&key) {
            return Err(ReservedField(key.into_owned()));
        }
        self.extra.push((key, value.into()));
        Ok(self)
    }

    /// Sets the exception text from an error and its chain of causes (see [`render_error`]).
    ///
    /// ```
    /// let err = std::io::Error::new(std::io::ErrorKind::NotFound, "no config");
    /// let r = mplog::Record::new("app", mplog::Level::ERROR, "start failed").with_error(&err);
    /// assert_eq!(r.exc_text.as_deref(), Some("Error: no config"));
    /// ```
    pub fn with_error(mut self, error: &(dyn StdError + '_)) -> Record {
        self.exc_text = Some(render_error(error));
        self
    }

    /// Captures the current stack as `stack_info`, headed like Python's
    /// (`Stack (most recent call last):`).
    ///
    /// ```
    /// let r = mplog::Record::new("a", mplog::Level::ERROR, "m").with_stack();
    /// assert!(r.stack_info.unwrap().starts_with("Stack (most recent call last):"));
    /// ```
    pub fn with_stack(mut self) -> Record {
        self.stack_info = Some(format!(
            "Stack (most recent call last):\n{}",
            Backtrace::force_capture()
        ));
        self
    }

    /// The value of an `extra` field.
    ///
    /// ```
    /// let r = mplog::Record::new("a", mplog::Level::INFO, "m").with_extra("user", "ann").unwrap();
    /// assert_eq!(r.get_extra("user"), Some(&mplog::record::Value::Str("ann".into())));
    /// assert_eq!(r.get_extra("ip"), None);
    /// ```
    pub fn get_extra(&self, key: &str) -> Option<&Value> {
        self.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The file name part of `pathname` (Python's `filename`).
    ///
    /// ```
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.pathname = "src/db/pool.rs".into();
    /// assert_eq!(r.filename(), "pool.rs");
    /// assert_eq!(r.module(), "pool");
    /// ```
    pub fn filename(&self) -> &str {
        if let Some(py) = &self.python {
            return &py.filename;
        }
        self.pathname
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&self.pathname)
    }

    /// `filename` without its extension (Python's `module`).
    ///
    /// ```
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.pathname = "src/queue/listener.rs".into();
    /// assert_eq!(r.module(), "listener");
    /// ```
    pub fn module(&self) -> &str {
        if let Some(py) = &self.python {
            return &py.module;
        }
        let f = self.filename();
        f.rsplit_once('.').map_or(f, |(stem, _)| stem)
    }

    /// Creation time in seconds since the epoch (Python's `created`).
    ///
    /// ```
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 2_500_000_000; // 2.5 s after the epoch
    /// assert_eq!(r.created(), 2.5);
    /// ```
    pub fn created(&self) -> f64 {
        if let Some(py) = &self.python {
            return py.created;
        }
        self.created_ns as f64 / 1e9
    }

    /// The millisecond part of the creation time (Python's `msecs`), computed from the integer
    /// nanoseconds so that 999.9999 ms never rounds up to 1000.
    ///
    /// ```
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 1_700_000_000_999_999_999;
    /// assert!(r.msecs() < 1000.0 && r.msecs() >= 999.0);
    /// ```
    pub fn msecs(&self) -> f64 {
        if let Some(py) = &self.python {
            return py.msecs;
        }
        (self.created_ns.rem_euclid(1_000_000_000) / 1_000_000) as f64
    }

    /// Milliseconds since logging started in the producing process (`relativeCreated`).
    ///
    /// ```
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.relative_created_ns = 1_500_000;
    /// assert_eq!(r.relative_created(), 1.5);
    /// ```
    pub fn relative_created(&self) -> f64 {
        if let Some(py) = &self.python {
            return py.relative_created;
        }
        self.relative_created_ns as f64 / 1e6
    }
}

/// Renders an error and its sources, one per line: `Error: top`, then `Caused by: inner`.
///
/// ```
/// let inner = std::io::Error::other("disk full");
/// let outer = std::io::Error::other(MyErr(inner));
/// # #[derive(Debug)] struct MyErr(std::io::Error);
/// # impl std::fmt::Display for MyErr { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { f.write_str("write failed") } }
/// # impl std::error::Error for MyErr { fn source(&self) -> Option<&(dyn std::error::Error + 'static)> { Some(&self.0) } }
/// let text = mplog::record::render_error(&outer);
/// assert_eq!(text, "Error: write failed\nCaused by: disk full");
/// ```
pub fn render_error(error: &(dyn StdError + '_)) -> String {
    let mut text = String::new();
    let _ = write!(text, "Error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, "\nCaused by: {cause}");
        source = cause.source();
    }
    text
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

static START_NS: LazyLock<i64> = LazyLock::new(now_ns);

/// When logging started in this process (Python's `logging._startTime`), in epoch nanoseconds.
pub(crate) fn start_ns() -> i64 {
    *START_NS
}

static PROCESS_ID: AtomicU32 = AtomicU32::new(0);
static PROCESS_NAME: LazyLock<RwLock<Arc<str>>> = LazyLock::new(|| {
    PROCESS_ID.store(std::process::id(), Ordering::Relaxed);
    // A child made by any `fork` (not only `fork_worker`) must see its own pid at once: the
    // queue handler compares it with its owner's to go inert in the child.
    #[allow(unsafe_code)]
    // SAFETY: `refresh_pid_in_child` only calls getpid(2) and stores an atomic, both
    // async-signal-safe, as pthread_atfork's child handler must be.
    let _ = unsafe { nix::libc::pthread_atfork(None, None, Some(refresh_pid_in_child)) };
    let name = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "MainProcess".to_owned());
    RwLock::new(Arc::from(name))
});

extern "C" fn refresh_pid_in_child() {
    PROCESS_ID.store(std::process::id(), Ordering::Relaxed);
}

/// This process's id, from the cache (one atomic load, no system call); right in a forked
/// child too.
pub(crate) fn current_pid() -> u32 {
    match PROCESS_ID.load(Ordering::Relaxed) {
        0 => {
            LazyLock::force(&PROCESS_NAME);
            PROCESS_ID.load(Ordering::Relaxed)
        }
        pid => pid,
    }
}

/// Sets the `processName` of the records this process makes from now on (default: the
/// executable's file name). Worker pools name their children `worker-1`, `worker-2`, ...
///
/// ```
/// mplog::record::set_process_name("worker-3");
/// assert_eq!(&*mplog::record::process_name(), "worker-3");
/// ```
pub fn set_process_name(name: &str) {
    *PROCESS_NAME.write() = Arc::from(name);
    GENERATION.fetch_add(1, Ordering::Release);
}

/// The current `processName`.
///
/// ```
/// mplog::record::set_process_name("worker-1");
/// assert_eq!(&*mplog::record::process_name(), "worker-1");
/// let r = mplog::Record::new("a", mplog::Level::INFO, "m");
/// assert_eq!(&*r.process_name, "worker-1");
/// ```
pub fn process_name() -> Arc<str> {
    PROCESS_NAME.read().clone()
}

/// Bumped when the process name changes and after `fork`, so that every thread refreshes what
/// it cached (thread id, process name) at its next record.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Refreshes the cached process id and thread ids; call in a child right after `fork`.
pub(crate) fn reinit_after_fork() {
    LazyLock::force(&PROCESS_NAME);
    PROCESS_ID.store(std::process::id(), Ordering::Relaxed);
    GENERATION.fetch_add(1, Ordering::Release);
}

/// What a thread stamps on its records, cached so that making a record takes no lock.
struct ThreadInfo {
    generation: u64,
    id: u64,
    name: Arc<str>,
    process_name: Arc<str>,
}

thread_local! {
    static THREAD: RefCell<Option<ThreadInfo>> = const { RefCell::new(None) };
}

/// (thread id, thread name, process name) of the calling thread.
fn current_thread() -> (u64, Arc<str>, Arc<str>) {
    let generation = GENERATION.load(Ordering::Acquire);
    let copy = |info: &ThreadInfo| (info.id, info.name.clone(), info.process_name.clone());
    THREAD
        .try_with(|cell| {
            let mut slot = cell.borrow_mut();
            match &*slot {
                Some(info) if info.generation == generation => copy(info),
                _ => {
                    let info = thread_info(generation);
                    let out = copy(&info);
                    *slot = Some(info);
                    out
                }
            }
        })
        // During thread-local destruction: compute without caching.
        .unwrap_or_else(|_| copy(&thread_info(generation)))
}

fn thread_info(generation: u64) -> ThreadInfo {
    let process_name = process_name();
    let id = u64::try_from(nix::unistd::gettid().as_raw()).unwrap_or(0);
    let name = match std::thread::current().name() {
        Some(n) => Arc::from(n),
        None => Arc::from(format!("Thread-{id}")),
    };
    ThreadInfo {
        generation,
        id,
        name,
        process_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msecs_never_rounds_to_1000() {
        let mut r = Record::new("a", Level::INFO, "m");
        r.created_ns = 1_700_000_000_999_999_999;
        assert_eq!(r.msecs(), 999.0);
        r.created_ns = 1_700_000_000_123_456_789;
        assert_eq!(r.msecs(), 123.0);
        assert!((r.created() - 1_700_000_000.123_456_8).abs() < 1e-6);
    }

    #[test]
    fn reserved_extra_keys_are_refused() {
        for key in ["message", "asctime", "levelname", "funcName", "process"] {
            let err = Record::new("a", Level::INFO, "m")
                .with_extra(key, 1)
                .unwrap_err();
            assert_eq!(err, ReservedField(key.to_owned()));
        }
        assert!(Record::new("a", Level::INFO, "m")
            .with_extra("user", "bob")
            .is_ok());
    }

    #[test]
    fn thread_and_process_are_stamped() {
        let r = Record::new("a", Level::INFO, "m");
        assert_eq!(r.process, std::process::id());
        assert!(r.thread > 0);
        let name = std::thread::Builder::new()
            .name("io-7".into())
            .spawn(|| Record::new("a", Level::INFO, "m").thread_name)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(&*name, "io-7");
    }

    #[test]
    fn serde_round_trip_keeps_everything() {
        let r = Record::new("app.db", Level::new(25), "hello")
            .with_extra("n", 5)
            .unwrap()
            .with_extra("ok", true)
            .unwrap();
        let bytes = postcard::to_allocvec(&r).unwrap();
        let back: Record = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn relative_created_counts_from_start() {
        let r = Record::new("a", Level::INFO, "m");
        assert!(r.relative_created_ns >= 0);
        assert_eq!(r.relative_created_ns, r.created_ns - start_ns());
    }
}
