//! [`BasicConfig`]: Python's `logging.basicConfig`, as a builder.
//!
//! It acts only when the root logger has no handlers (unless `force`), then adds one handler:
//! a [`FileHandler`] for `filename`, else a [`StreamHandler`] (stderr unless another stream is
//! given), or the handlers passed in, each given the configured formatter if it has none, and
//! sets the root's level. The checks are Python's: `filename` and `stream` together, or either
//! with `handlers`, are errors.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::format::{FormatError, Formatter, Style};
use crate::handler::{FileHandler, FileMode, Handler, HandlerError, StreamHandler};
use crate::level::Level;
use crate::logger::Manager;

/// An error from [`BasicConfig::apply`].
///
/// ```
/// use mplog::basic_config::BasicConfigError;
/// let err = mplog::BasicConfig::new().filename("app.log").stdout()
///     .apply_to(&mplog::Manager::new()).unwrap_err();
/// assert!(matches!(err, BasicConfigError::StreamAndFilename));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum BasicConfigError {
    /// `filename` and `stream` were both given.
    #[error("'stream' and 'filename' should not be specified together")]
    StreamAndFilename,
    /// `handlers` was given with `filename` or `stream`.
    #[error("'stream' or 'filename' should not be specified together with 'handlers'")]
    HandlersWithStreamOrFilename,
    /// The format or datefmt is invalid.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The file could not be opened.
    #[error(transparent)]
    Handler(#[from] HandlerError),
}

enum Stream {
    Stderr,
    Stdout,
    Writer(Box<dyn Write + Send>),
}

/// Python's `basicConfig` arguments.
///
/// ```
/// use mplog::{BasicConfig, Level, Manager};
/// let m = Manager::new();
/// let applied = BasicConfig::new().level(Level::INFO).format("%(levelname)s %(message)s")
///     .apply_to(&m).unwrap();
/// assert!(applied);
/// assert_eq!(m.root().level(), Level::INFO);
/// // A second call does nothing: the root has a handler now.
/// assert!(!BasicConfig::new().level(Level::DEBUG).apply_to(&m).unwrap());
/// ```
#[derive(Default)]
pub struct BasicConfig {
    level: Option<Level>,
    format: Option<String>,
    datefmt: Option<String>,
    style: Style,
    filename: Option<PathBuf>,
    filemode: FileMode,
    stream: Option<Stream>,
    handlers: Option<Vec<Arc<dyn Handler>>>,
    force: bool,
}

impl BasicConfig {
    /// No options: `%(levelname)s:%(name)s:%(message)s` to stderr.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert!(mplog::BasicConfig::new().apply_to(&m).unwrap());
    /// assert_eq!(m.root().handlers().len(), 1); // one stderr handler
    /// ```
    pub fn new() -> BasicConfig {
        BasicConfig::default()
    }

    /// The root logger's level.
    ///
    /// ```
    /// use mplog::{BasicConfig, Level};
    /// let m = mplog::Manager::new();
    /// BasicConfig::new().level(Level::DEBUG).apply_to(&m).unwrap();
    /// assert!(m.get_logger("app").is_enabled_for(Level::DEBUG));
    /// ```
    pub fn level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self
    }

    /// The format string (default `%(levelname)s:%(name)s:%(message)s`).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().filename(&path).format("[%(levelname)s] %(message)s").apply_to(&m).unwrap();
    /// mplog::error!(m.get_logger("app"), "boom");
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "[ERROR] boom\n");
    /// ```
    pub fn format(mut self, format: &str) -> Self {
        self.format = Some(format.to_owned());
        self
    }

    /// The date format.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().filename(&path).format("%(asctime)s").datefmt("%Y").apply_to(&m).unwrap();
    /// mplog::error!(m.root(), "m");
    /// let year = std::fs::read_to_string(&path).unwrap();
    /// assert!(year.trim_end().len() == 4 && year.trim_end().parse::<u32>().is_ok());
    /// ```
    pub fn datefmt(mut self, datefmt: &str) -> Self {
        self.datefmt = Some(datefmt.to_owned());
        self
    }

    /// The format's style.
    ///
    /// ```
    /// use mplog::format::Style;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().filename(&path).style(Style::Brace).format("{name}: {message}")
    ///     .apply_to(&m).unwrap();
    /// mplog::error!(m.get_logger("db"), "gone");
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "db: gone\n");
    /// ```
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Log to this file.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().filename(&path).apply_to(&m).unwrap();
    /// mplog::warning!(m.get_logger("app"), "low disk");
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "WARNING:app:low disk\n");
    /// ```
    pub fn filename(mut self, path: impl Into<PathBuf>) -> Self {
        self.filename = Some(path.into());
        self
    }

    /// How to open the file (default append).
    ///
    /// ```
    /// use mplog::handler::FileMode;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "previous run\n").unwrap();
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().filename(&path).filemode(FileMode::Truncate).apply_to(&m).unwrap();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    /// ```
    pub fn filemode(mut self, mode: FileMode) -> Self {
        self.filemode = mode;
        self
    }

    /// Log to stdout.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().stdout().apply_to(&m).unwrap();
    /// mplog::warning!(m.root(), "on stdout");
    /// ```
    pub fn stdout(mut self) -> Self {
        self.stream = Some(Stream::Stdout);
        self
    }

    /// Log to stderr (the default when no file is named).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// mplog::BasicConfig::new().stderr().apply_to(&m).unwrap();
    /// assert_eq!(m.root().handlers().len(), 1);
    /// ```
    pub fn stderr(mut self) -> Self {
        self.stream = Some(Stream::Stderr);
        self
    }

    /// Log to a writer.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("out.log");
    /// let m = mplog::Manager::new();
    /// let file = std::fs::File::create(&path).unwrap();
    /// mplog::BasicConfig::new().stream(file).format("%(message)s").apply_to(&m).unwrap();
    /// mplog::error!(m.root(), "via a writer");
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "via a writer\n");
    /// // A file and a stream together are refused, as in Python:
    /// assert!(mplog::BasicConfig::new().filename(&path).stream(std::io::sink()).force(true).apply_to(&m).is_err());
    /// ```
    pub fn stream(mut self, writer: impl Write + Send + 'static) -> Self {
        self.stream = Some(Stream::Writer(Box::new(writer)));
        self
    }

    /// Use these handlers.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, NullHandler};
    /// let m = mplog::Manager::new();
    /// let h: Arc<dyn Handler> = Arc::new(NullHandler::new());
    /// mplog::BasicConfig::new().handlers(vec![h.clone()]).format("%(name)s %(message)s").apply_to(&m).unwrap();
    /// assert!(h.base().has_formatter()); // given the configured formatter
    /// ```
    pub fn handlers(mut self, handlers: Vec<Arc<dyn Handler>>) -> Self {
        self.handlers = Some(handlers);
        self
    }

    /// Remove and close the root's handlers first, so the configuration applies again.
    ///
    /// ```
    /// use mplog::{BasicConfig, Level};
    /// let m = mplog::Manager::new();
    /// BasicConfig::new().apply_to(&m).unwrap();
    /// assert!(!BasicConfig::new().level(Level::INFO).apply_to(&m).unwrap());
    /// assert!(BasicConfig::new().level(Level::INFO).force(true).apply_to(&m).unwrap());
    /// assert_eq!((m.root().level(), m.root().handlers().len()), (Level::INFO, 1));
    /// ```
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Applies to the default hierarchy; see [`apply_to`](BasicConfig::apply_to).
    ///
    /// ```
    /// mplog::BasicConfig::new().level(mplog::Level::INFO).apply().unwrap();
    /// assert_eq!(mplog::root().level(), mplog::Level::INFO);
    /// ```
    pub fn apply(self) -> Result<bool, BasicConfigError> {
        self.apply_to(crate::manager())
    }

    /// Applies to `manager`. Returns `Ok(false)` when the root already had handlers (and
    /// `force` was off): nothing was changed.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert!(mplog::BasicConfig::new().apply_to(&m).unwrap());
    /// assert!(!mplog::BasicConfig::new().apply_to(&m).unwrap()); // already configured
    /// ```
    pub fn apply_to(self, manager: &Manager) -> Result<bool, BasicConfigError> {
        let root = manager.root();
        if self.force {
            for h in root.clear_handlers() {
                h.close();
            }
        }
        if !root.handlers().is_empty() {
            return Ok(false);
        }
        let handlers: Vec<Arc<dyn Handler>> = match self.handlers {
            Some(handlers) => {
                if self.stream.is_some() || self.filename.is_some() {
                    return Err(BasicConfigError::HandlersWithStreamOrFilename);
                }
                handlers
            }
            None => match (self.filename, self.stream) {
                (Some(_), Some(_)) => return Err(BasicConfigError::StreamAndFilename),
                (Some(path), None) => {
                    vec![Arc::new(
                        FileHandler::builder(path).mode(self.filemode).build()?,
                    )]
                }
                (None, Some(Stream::Stdout)) => vec![Arc::new(StreamHandler::stdout())],
                (None, Some(Stream::Writer(w))) => vec![Arc::new(StreamHandler::new(w))],
                (None, Some(Stream::Stderr) | None) => vec![Arc::new(StreamHandler::stderr())],
            },
        };
        let mut builder =
            Formatter::builder(self.format.as_deref().unwrap_or(self.style.basic_format()))
                .style(self.style);
        if let Some(datefmt) = &self.datefmt {
            builder = builder.datefmt(datefmt);
        }
        let formatter = Arc::new(builder.build()?);
        for h in handlers {
            if h.base().formatter().is_none() {
                h.base().set_formatter(formatter.clone());
            }
            root.add_handler(h);
        }
        if let Some(level) = self.level {
            root.set_level(level);
        }
        Ok(true)
    }
}
