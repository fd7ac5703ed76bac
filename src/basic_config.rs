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
    pub fn new() -> BasicConfig {
        BasicConfig::default()
    }

    /// The root logger's level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self
    }

    /// The format string (default `%(levelname)s:%(name)s:%(message)s`).
    pub fn format(mut self, format: &str) -> Self {
        self.format = Some(format.to_owned());
        self
    }

    /// The date format.
    pub fn datefmt(mut self, datefmt: &str) -> Self {
        self.datefmt = Some(datefmt.to_owned());
        self
    }

    /// The format's style.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Log to this file.
    pub fn filename(mut self, path: impl Into<PathBuf>) -> Self {
        self.filename = Some(path.into());
        self
    }

    /// How to open the file (default append).
    pub fn filemode(mut self, mode: FileMode) -> Self {
        self.filemode = mode;
        self
    }

    /// Log to stdout.
    pub fn stdout(mut self) -> Self {
        self.stream = Some(Stream::Stdout);
        self
    }

    /// Log to stderr (the default when no file is named).
    pub fn stderr(mut self) -> Self {
        self.stream = Some(Stream::Stderr);
        self
    }

    /// Log to a writer.
    pub fn stream(mut self, writer: impl Write + Send + 'static) -> Self {
        self.stream = Some(Stream::Writer(Box::new(writer)));
        self
    }

    /// Use these handlers.
    pub fn handlers(mut self, handlers: Vec<Arc<dyn Handler>>) -> Self {
        self.handlers = Some(handlers);
        self
    }

    /// Remove and close the root's handlers first, so the configuration applies again.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Applies to the default hierarchy; see [`apply_to`](BasicConfig::apply_to).
    pub fn apply(self) -> Result<bool, BasicConfigError> {
        self.apply_to(crate::manager())
    }

    /// Applies to `manager`. Returns `Ok(false)` when the root already had handlers (and
    /// `force` was off): nothing was changed.
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
