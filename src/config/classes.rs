//! Handler classes: Python's names (and mplog's) mapped to the crate's handlers, with the
//! arguments each takes, checked before anything is created.
//!
//! A handler entry's keys other than `class`, `level`, `formatter` and `filters` are the
//! class's own arguments, as Python passes them to the constructor. An argument the class does
//! not take is an error naming it (Python's `TypeError: unexpected keyword argument`).

use std::path::PathBuf;

use chrono::NaiveTime;
use serde_json::Value;

use super::error::{ConfigError, ErrorKind};
use super::value::{self, describe, Entry};
use crate::handler::{Encoding, Errors, FileMode, When, DEFAULT_HELD_BYTES};
use crate::level::Level;

/// Which handler a class builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Stream,
    File,
    Watched,
    Rotating,
    Timed,
    LockedFile,
    LockedRotating,
    LockedTimed,
    Memory,
    Null,
    Socket,
    Datagram,
    SysLog,
    Smtp,
    Http,
}

/// Arguments of the plain file handler, in snake_case.
const FILE_ARGS: &[&str] = &["filename", "mode", "encoding", "errors", "delay"];

impl Kind {
    /// The class's own arguments beyond the file ones it takes.
    fn extra_args(self) -> Vec<&'static str> {
        if super::network::is_network(self) {
            return super::network::args(self);
        }
        let own: &[&str] = match self {
            Kind::Stream => &["stream"],
            Kind::File | Kind::Watched | Kind::LockedFile | Kind::Null => &[],
            Kind::Rotating | Kind::LockedRotating => &["max_bytes", "backup_count", "gzip"],
            Kind::Timed | Kind::LockedTimed => &[
                "when",
                "interval",
                "backup_count",
                "utc",
                "at_time",
                "max_bytes",
                "gzip",
            ],
            Kind::Memory => &["capacity", "flush_level", "target", "flush_on_close"],
            _ => &[],
        };
        own.to_vec()
    }

    /// Whether the handler can gather lines before writing (mplog's `buffer` option).
    fn buffers(self) -> bool {
        matches!(self, Kind::File | Kind::Rotating | Kind::Timed)
    }

    fn is_file(self) -> bool {
        !matches!(self, Kind::Stream | Kind::Memory | Kind::Null)
            && !super::network::is_network(self)
    }

    fn is_locked(self) -> bool {
        matches!(
            self,
            Kind::LockedFile | Kind::LockedRotating | Kind::LockedTimed
        )
    }

    /// Every argument name the class takes (snake_case).
    pub(crate) fn args(self) -> Vec<&'static str> {
        let mut args: Vec<&'static str> = Vec::new();
        if self.is_file() {
            args.extend_from_slice(FILE_ARGS);
        }
        if self.is_locked() {
            args.push("lock_path");
        }
        args.extend(self.extra_args());
        if self.buffers() {
            args.push("buffer");
        }
        if self.is_file() || self == Kind::Stream {
            args.push("held_bytes");
        }
        args
    }
}

/// The classes, by their short name.
const CLASSES: &[(&str, Kind)] = &[
    ("StreamHandler", Kind::Stream),
    ("FileHandler", Kind::File),
    ("WatchedFileHandler", Kind::Watched),
    ("RotatingFileHandler", Kind::Rotating),
    ("TimedRotatingFileHandler", Kind::Timed),
    ("LockedFileHandler", Kind::LockedFile),
    ("LockedRotatingFileHandler", Kind::LockedRotating),
    ("LockedTimedRotatingFileHandler", Kind::LockedTimed),
    // concurrent-log-handler's classes do what the locked handlers do.
    ("ConcurrentRotatingFileHandler", Kind::LockedRotating),
    ("ConcurrentTimedRotatingFileHandler", Kind::LockedTimed),
    ("MemoryHandler", Kind::Memory),
    ("NullHandler", Kind::Null),
    ("SocketHandler", Kind::Socket),
    ("DatagramHandler", Kind::Datagram),
    ("SysLogHandler", Kind::SysLog),
    ("SMTPHandler", Kind::Smtp),
    ("HTTPHandler", Kind::Http),
];

/// Python's handler classes mplog does not have.
const UNAVAILABLE: &[&str] = &[
    "NTEventLogHandler",
    "QueueHandler",
    "BufferingHandler",
    "BaseRotatingHandler",
    "Handler",
];

/// The class `name` names: `logging.StreamHandler`, `logging.handlers.RotatingFileHandler`,
/// `handlers.MemoryHandler` (fileConfig's spelling), `mplog.LockedFileHandler` or the short
/// name alone.
pub(crate) fn resolve(name: &str) -> Result<Kind, ErrorKind> {
    let short = [
        "logging.handlers.",
        "logging.",
        "handlers.",
        "mplog.handler.",
        "mplog.",
        "concurrent_log_handler.",
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p))
    .unwrap_or(name);
    if let Some((_, kind)) = CLASSES.iter().find(|(n, _)| *n == short) {
        return Ok(*kind);
    }
    if UNAVAILABLE.contains(&short) {
        return Err(ErrorKind::Unavailable(name.to_owned()));
    }
    Err(ErrorKind::UnknownClass(name.to_owned()))
}

/// Where a stream handler writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// A handler's own arguments, checked; defaults are Python's.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) filename: Option<PathBuf>,
    pub(crate) mode: FileMode,
    pub(crate) delay: bool,
    pub(crate) buffer: usize,
    /// mplog's `held_bytes`: what a file or stream handler holds while writing fails.
    pub(crate) held_bytes: usize,
    pub(crate) max_bytes: u64,
    pub(crate) backup_count: usize,
    pub(crate) gzip: bool,
    pub(crate) when: When,
    pub(crate) interval: u32,
    pub(crate) utc: bool,
    pub(crate) at_time: Option<NaiveTime>,
    pub(crate) lock_path: Option<PathBuf>,
    pub(crate) stream: Stream,
    pub(crate) capacity: usize,
    pub(crate) flush_level: Level,
    pub(crate) target: Option<String>,
    pub(crate) flush_on_close: bool,
    /// `encoding` and `errors` of the file handlers.
    pub(crate) encoding: Encoding,
    /// A stream handler's `terminator`, set by a `.` attribute.
    pub(crate) terminator: Option<String>,
    /// A network class's arguments (`network/`).
    pub(crate) network: Option<super::network::Spec>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            filename: None,
            encoding: Encoding::default(),
            mode: FileMode::Append,
            delay: false,
            buffer: 0,
            held_bytes: DEFAULT_HELD_BYTES,
            max_bytes: 0,
            backup_count: 0,
            gzip: false,
            when: When::Hours,
            interval: 1,
            utc: false,
            at_time: None,
            lock_path: None,
            stream: Stream::Stderr,
            capacity: 0,
            flush_level: Level::ERROR,
            target: None,
            flush_on_close: true,
            terminator: None,
            network: None,
        }
    }
}

fn mode(v: &Value) -> Result<FileMode, ErrorKind> {
    match v.as_str() {
        Some("a") => Ok(FileMode::Append),
        Some("w") => Ok(FileMode::Truncate),
        _ => Err(ErrorKind::Invalid(format!(
            "mode {} is not supported (use \"a\" or \"w\")",
            describe(v)
        ))),
    }
}

fn stream(v: &Value) -> Result<Stream, ErrorKind> {
    match v.as_str() {
        Some("ext://sys.stdout" | "sys.stdout" | "stdout") => Ok(Stream::Stdout),
        Some("ext://sys.stderr" | "sys.stderr" | "stderr") => Ok(Stream::Stderr),
        _ => Err(ErrorKind::Invalid(format!(
            "stream {} is not supported (use \"ext://sys.stdout\" or \"ext://sys.stderr\")",
            describe(v)
        ))),
    }
}

/// Python's `encoding` (a codec name) as an [`Encoding`], strict until `errors` says otherwise.
fn encoding(v: &Value) -> Result<Encoding, ErrorKind> {
    Encoding::new(&value::string(v)?).map_err(|e| ErrorKind::Invalid(e.to_string()))
}

fn errors(v: &Value) -> Result<Errors, ErrorKind> {
    value::string(v)?
        .parse::<Errors>()
        .map_err(|e| ErrorKind::Invalid(e.to_string()))
}

/// A path; `ext://sys.stdout` there is a stream, which Python's `os.fspath` refuses too.
fn filename(v: &Value) -> Result<PathBuf, ErrorKind> {
    let s = value::string(v)?;
    if s == super::convert::STDOUT || s == super::convert::STDERR {
        return Err(ErrorKind::Invalid(format!(
            "{s:?} is a stream, not a file name (use logging.StreamHandler with stream: {s})"
        )));
    }
    Ok(PathBuf::from(s))
}

fn at_time(v: &Value) -> Result<NaiveTime, ErrorKind> {
    let s = value::string(v)?;
    NaiveTime::parse_from_str(&s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(&s, "%H:%M"))
        .map_err(|_| ErrorKind::Invalid(format!("atTime {s:?} is not a time (HH:MM or HH:MM:SS)")))
}

fn sized<T: TryFrom<u64>>(v: &Value) -> Result<T, ErrorKind> {
    let n = value::integer(v)?;
    T::try_from(n).map_err(|_| ErrorKind::Invalid(format!("{n} is too large")))
}

/// Reads the arguments of a `kind` handler from what is left of its entry.
pub(crate) fn args(kind: Kind, class: &str, entry: &mut Entry<'_>) -> Result<Args, ConfigError> {
    let accepted = kind.args();
    if let Some((_, key, _)) = entry
        .items
        .iter()
        .find(|(c, _, _)| !accepted.contains(&&**c))
    {
        return Err(entry.error(
            key,
            ErrorKind::UnexpectedArgument {
                key: (*key).to_owned(),
                class: class.to_owned(),
            },
        ));
    }
    let mut a = Args {
        network: (super::network::is_network(kind))
            .then(|| super::network::read(kind, entry))
            .transpose()?,
        filename: entry.get("filename", filename)?,
        ..Args::default()
    };
    if kind.is_file() && a.filename.is_none() {
        return Err(ConfigError::new(
            entry.path.clone(),
            ErrorKind::Missing("filename"),
        ));
    }
    if let Some(m) = entry.get("mode", mode)? {
        if kind.is_locked() && m != FileMode::Append {
            return Err(entry.error(
                "mode",
                ErrorKind::Invalid("the locked handlers only append (mode \"a\")".into()),
            ));
        }
        a.mode = m;
    }
    let enc = entry.get("encoding", encoding)?.unwrap_or_default();
    a.encoding = enc.errors(entry.get("errors", errors)?.unwrap_or_default());
    macro_rules! opt {
        ($field:ident, $key:literal, $convert:expr) => {
            if let Some(v) = entry.get($key, $convert)? {
                a.$field = v;
            }
        };
    }
    opt!(delay, "delay", value::boolean);
    opt!(buffer, "buffer", sized);
    opt!(held_bytes, "held_bytes", sized);
    opt!(max_bytes, "max_bytes", value::integer);
    opt!(backup_count, "backup_count", sized);
    opt!(gzip, "gzip", value::boolean);
    opt!(utc, "utc", value::boolean);
    opt!(stream, "stream", stream);
    opt!(flush_on_close, "flush_on_close", value::boolean);
    opt!(flush_level, "flush_level", value::level);
    opt!(when, "when", |v| value::string(v)?
        .parse::<When>()
        .map_err(|e| ErrorKind::Invalid(e.to_string())));
    opt!(interval, "interval", |v| match sized::<u32>(v)? {
        0 => Err(ErrorKind::Invalid("interval must be at least 1".into())),
        n => Ok(n),
    });
    a.at_time = entry.get("at_time", at_time)?;
    a.lock_path = entry.get("lock_path", |v| value::string(v).map(PathBuf::from))?;
    a.target = entry.get("target", value::string)?;
    if kind == Kind::Memory {
        a.capacity = entry
            .get("capacity", sized)?
            .ok_or_else(|| ConfigError::new(entry.path.clone(), ErrorKind::Missing("capacity")))?;
    }
    entry.finish(&accepted)?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_short_and_mplog_names_resolve() {
        for name in [
            "logging.StreamHandler",
            "StreamHandler",
            "mplog.StreamHandler",
        ] {
            assert_eq!(resolve(name).unwrap(), Kind::Stream);
        }
        assert_eq!(
            resolve("logging.handlers.RotatingFileHandler").unwrap(),
            Kind::Rotating
        );
        assert_eq!(resolve("handlers.MemoryHandler").unwrap(), Kind::Memory);
        assert_eq!(
            resolve("logging.handlers.NTEventLogHandler")
                .unwrap_err()
                .to_string(),
            "handler class 'logging.handlers.NTEventLogHandler' is not available in mplog"
        );
        let e = resolve("myapp.Fancy").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "handler class 'myapp.Fancy' is not available: mplog loads no Python code"
            ) && e.contains("Registry::new().handler(\"myapp.Fancy\", ...)"),
            "{e}"
        );
    }

    fn read(kind: Kind, v: serde_json::Value) -> Result<Args, ConfigError> {
        let mut entry = Entry::new("handlers.h".into(), &v).unwrap();
        args(kind, "C", &mut entry)
    }

    #[test]
    fn arguments_are_checked_per_class() {
        let a = read(
            Kind::Timed,
            json!({"filename": "a.log", "when": "midnight", "atTime": "03:30", "backupCount": 7}),
        )
        .unwrap();
        assert_eq!(a.when, When::Midnight);
        assert_eq!(a.at_time, NaiveTime::from_hms_opt(3, 30, 0));
        assert_eq!(a.backup_count, 7);
        let e = read(Kind::File, json!({"filename": "a", "maxBytes": 3})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "handlers.h: maxBytes: unexpected argument 'maxBytes' for handler class 'C'"
        );
        let e = read(Kind::Rotating, json!({"filename": "a", "maxBytes": "10MB"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "handlers.h: maxBytes: expected an integer, got \"10MB\""
        );
        assert!(read(Kind::File, json!({})).is_err());
        assert!(read(Kind::Stream, json!({"stream": "ext://sys.stdin"})).is_err());
        assert!(read(Kind::File, json!({"filename": "a", "encoding": "klingon"})).is_err());
        assert!(read(Kind::File, json!({"filename": "a", "errors": "nope"})).is_err());
        let a = read(
            Kind::File,
            json!({"filename": "a", "encoding": "Latin-1", "errors": "replace"}),
        );
        assert_eq!(
            a.unwrap().encoding,
            Encoding::new("latin1").unwrap().errors(Errors::Replace)
        );
        assert!(read(Kind::Memory, json!({"target": "x"})).is_err());
        assert!(read(Kind::Timed, json!({"filename": "a", "when": "W9"})).is_err());
        assert!(read(Kind::LockedFile, json!({"filename": "a", "mode": "w"})).is_err());
        let m = read(
            Kind::Memory,
            json!({"capacity": 10, "flushLevel": "warning"}),
        )
        .unwrap();
        assert_eq!((m.capacity, m.flush_level), (10, Level::WARNING));
        let f = read(Kind::File, json!({"filename": "a", "heldBytes": 1024})).unwrap();
        assert_eq!(f.held_bytes, 1024);
        let s = read(Kind::Stream, json!({"held_bytes": 0})).unwrap();
        assert_eq!(s.held_bytes, 0);
        assert!(read(Kind::Memory, json!({"capacity": 1, "heldBytes": 1})).is_err());
    }
}
