//! [`ConfigError`]: what went wrong, and where, in a configuration.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a configuration was refused. Nothing of a refused configuration is applied.
///
/// ```
/// use mplog::config::ErrorKind;
/// let k = ErrorKind::UnknownLevel("NTOSET".into());
/// assert_eq!(k.to_string(), "unknown level 'NTOSET'");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// The file is not valid TOML, JSON, YAML or INI.
    #[error("invalid {format}: {message}")]
    Syntax {
        /// `TOML`, `JSON`, `YAML` or `INI`.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// The file's extension names no known format.
    #[error(
        "cannot tell the format from the extension {0:?} \
         (use .toml, .json, .yaml, .yml, .ini, .conf or .cfg)"
    )]
    UnknownExtension(String),
    /// `version` is missing.
    #[error("dictionary doesn't specify a version")]
    NoVersion,
    /// `version` is not 1.
    #[error("unsupported version: {0}")]
    Version(String),
    /// A value of the wrong type.
    #[error("expected {expected}, got {got}")]
    Type {
        /// What was expected (`an integer`).
        expected: &'static str,
        /// What was found, as written (`"10MB"`).
        got: String,
    },
    /// A level name that is not registered.
    #[error("unknown level '{0}'")]
    UnknownLevel(String),
    /// A key this place does not take.
    #[error("unknown key '{key}'{hint}")]
    UnknownKey {
        /// The key.
        key: String,
        /// What is accepted instead, or empty.
        hint: String,
    },
    /// A required key is missing.
    #[error("missing required key '{0}'")]
    Missing(&'static str),
    /// A handler class that is neither Python's nor mplog's, nor registered.
    #[error(
        "handler class '{0}' is not available: mplog loads no Python code. A Rust program \
         provides it with mplog::config::Registry::new().handler(\"{0}\", ...) and loads the \
         file with DictConfig::from_path_with (or QueueListener::from_config_with)"
    )]
    UnknownClass(String),
    /// A Python handler class mplog has no counterpart for (yet).
    #[error("handler class '{0}' is not available in mplog")]
    Unavailable(String),
    /// A handler argument the class does not take (Python's `TypeError`).
    #[error("unexpected argument '{key}' for handler class '{class}'")]
    UnexpectedArgument {
        /// The argument.
        key: String,
        /// The class as written.
        class: String,
    },
    /// A reference to a formatter, filter or handler that is not defined.
    #[error("undefined {what} '{name}'")]
    Undefined {
        /// `formatter`, `filter` or `handler`.
        what: &'static str,
        /// The name referred to.
        name: String,
    },
    /// MemoryHandler targets that refer to each other in a loop.
    #[error("MemoryHandler target cycle: {0}")]
    TargetCycle(String),
    /// `${VAR}` names an unset variable and gives no default.
    #[error("environment variable '{0}' is not set (write ${{{0}:-default}} for a default)")]
    Env(String),
    /// The formatter's format, style or datefmt is invalid.
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    /// The handler could not be created (a file that cannot be opened).
    #[error("{0}")]
    Build(String),
    /// Anything else that is wrong with a value (a mode, a `when`, an `args` tuple).
    #[error("{0}")]
    Invalid(String),
    /// A feature of Python's configuration that mplog does not take.
    #[error("{0}")]
    Unsupported(String),
}

/// A configuration error: the file, the place in it (the key path of the entry, e.g.
/// `handlers.file`), what was being configured, the key, and the cause. Its text reads like
/// Python's chain: `handlers.file: unable to configure handler 'file': maxBytes: expected an
/// integer, got "10MB"`.
///
/// ```
/// let err = mplog::config::DictConfig::from_json(
///     r#"{"version": 1, "handlers": {"file": {"class": "logging.StreamHandler", "level": "NTOSET"}}}"#,
/// ).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "handlers.file: unable to configure handler 'file': unknown level 'NTOSET'"
/// );
/// assert_eq!(err.path(), "handlers.file.level");
/// ```
#[derive(Debug)]
pub struct ConfigError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    file: Option<PathBuf>,
    entry: String,
    context: Option<String>,
    key: Option<String>,
    show_key: bool,
    kind: ErrorKind,
}

impl ConfigError {
    /// An error of `kind` at the entry `entry` (a dotted key path; empty: the whole file).
    ///
    /// ```
    /// use mplog::config::{ConfigError, ErrorKind};
    /// let err = ConfigError::new("handlers.net", ErrorKind::Unsupported("SocketHandler".into()));
    /// assert_eq!(err.path(), "handlers.net");
    /// assert!(matches!(err.kind(), ErrorKind::Unsupported(_)));
    /// ```
    pub fn new(entry: impl Into<String>, kind: ErrorKind) -> ConfigError {
        ConfigError(Box::new(Inner {
            file: None,
            entry: entry.into(),
            context: None,
            key: None,
            show_key: true,
            kind,
        }))
    }

    /// The same error, naming the key of the entry it is about.
    pub(crate) fn at_key(mut self, key: &str) -> ConfigError {
        self.0.key = Some(key.to_owned());
        self
    }

    /// The key stays in [`path`](ConfigError::path) but not in the text (the cause names it).
    pub(crate) fn quiet_key(mut self) -> ConfigError {
        self.0.show_key = false;
        self
    }

    /// Adds what was being configured (`unable to configure handler 'file'`), unless set.
    pub(crate) fn context(mut self, context: impl FnOnce() -> String) -> ConfigError {
        if self.0.context.is_none() {
            self.0.context = Some(context());
        }
        self
    }

    /// Names the file, unless already named.
    pub(crate) fn in_file(mut self, file: &Path) -> ConfigError {
        if self.0.file.is_none() {
            self.0.file = Some(file.to_path_buf());
        }
        self
    }

    /// The file, when the configuration came from one.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("bad.json");
    /// std::fs::write(&path, r#"{"version": 2}"#).unwrap();
    /// let err = mplog::config::DictConfig::from_path(&path).unwrap_err();
    /// assert_eq!(err.file(), Some(path.as_path()));
    /// assert!(err.to_string().starts_with(&path.display().to_string()));
    /// ```
    pub fn file(&self) -> Option<&Path> {
        self.0.file.as_deref()
    }

    /// The full key path of the culprit: `handlers.file.maxBytes` (empty: the whole file).
    ///
    /// ```
    /// let err = mplog::config::DictConfig::from_json(
    ///     r#"{"version": 1, "handlers": {"f": {"class": "logging.handlers.RotatingFileHandler", "filename": "a.log", "maxBytes": "10MB"}}}"#,
    /// ).unwrap_err();
    /// assert_eq!(err.path(), "handlers.f.maxBytes");
    /// ```
    pub fn path(&self) -> String {
        match (&self.0.key, self.0.entry.is_empty()) {
            (Some(key), true) => key.clone(),
            (Some(key), false) => format!("{}.{key}", self.0.entry),
            (None, _) => self.0.entry.clone(),
        }
    }

    /// The cause.
    ///
    /// ```
    /// use mplog::config::{DictConfig, ErrorKind};
    /// let err = DictConfig::from_json("{not json").unwrap_err();
    /// println!("{:?}", err.kind()); // the cause, to match on
    /// assert!(!matches!(err.kind(), ErrorKind::Unsupported(_)));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.0.file {
            write!(f, "{}: ", file.display())?;
        }
        if !self.0.entry.is_empty() {
            write!(f, "{}: ", self.0.entry)?;
        }
        if let Some(context) = &self.0.context {
            write!(f, "{context}: ")?;
        }
        if let (Some(key), true) = (&self.0.key, self.0.show_key) {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", self.0.kind)
    }
}

/// The text already holds the cause (an I/O error's too), so no `source` is chained: printers
/// that walk the chain would repeat it. [`ConfigError::kind`] gives the cause.
impl std::error::Error for ConfigError {}

/// Something in a configuration that has no effect because CPython's `dictConfig` or
/// `fileConfig` ignores it too (a logger's `qualname`, a formatter's `fmt`, a top-level key of
/// the project's own). Reading goes on; `mplog check` names each, and `--strict` refuses them.
///
/// ```
/// let cfg = mplog::config::DictConfig::from_json(
///     r#"{"version": 1, "loggers": {"gunicorn.error": {"level": "INFO", "qualname": "gunicorn.error"}}}"#,
/// ).unwrap();
/// let w = &cfg.warnings()[0];
/// assert_eq!(w.path(), "loggers.gunicorn.error.qualname");
/// assert_eq!(
///     w.to_string(),
///     "loggers.gunicorn.error: key 'qualname' is ignored (Python's dictConfig does not read it for a logger)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    entry: String,
    key: String,
    why: String,
}

impl ConfigWarning {
    /// A key `key` of the entry `entry` that is ignored, and why.
    pub(crate) fn ignored(entry: &str, key: &str, why: &str) -> ConfigWarning {
        ConfigWarning {
            entry: entry.to_owned(),
            key: key.to_owned(),
            why: why.to_owned(),
        }
    }

    /// The full key path: `loggers.app.qualname`.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_json(r#"{"version": 1, "my_defaults": {}}"#).unwrap();
    /// assert_eq!(cfg.warnings()[0].path(), "my_defaults");
    /// ```
    pub fn path(&self) -> String {
        if self.entry.is_empty() {
            self.key.clone()
        } else {
            format!("{}.{}", self.entry, self.key)
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.entry.is_empty() {
            write!(f, "{}: ", self.entry)?;
        }
        write!(f, "key '{}' is ignored ({})", self.key, self.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_chains_file_entry_context_key_cause() {
        let e = ConfigError::new(
            "handlers.file",
            ErrorKind::Type {
                expected: "an integer",
                got: "\"10MB\"".into(),
            },
        )
        .at_key("maxBytes")
        .context(|| "unable to configure handler 'file'".into())
        .in_file(Path::new("prod.yaml"));
        assert_eq!(
            e.to_string(),
            "prod.yaml: handlers.file: unable to configure handler 'file': maxBytes: \
             expected an integer, got \"10MB\""
        );
        assert_eq!(e.path(), "handlers.file.maxBytes");
        assert_eq!(e.file(), Some(Path::new("prod.yaml")));
    }

    #[test]
    fn whole_file_errors_have_no_entry() {
        let e = ConfigError::new("", ErrorKind::NoVersion);
        assert_eq!(e.to_string(), "dictionary doesn't specify a version");
        assert_eq!(e.path(), "");
    }
}
