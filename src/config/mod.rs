//! Configuration from files: Python's dictConfig schema in TOML, JSON or YAML, and
//! fileConfig INI.
//!
//! # Behaviour
//! - **Schema**: Python's ([`DictConfig`]): `version` (must be 1), `incremental`,
//!   `disable_existing_loggers` (default true), `formatters`, `filters`, `handlers`, `loggers`,
//!   `root`. Handler classes go by their Python names (`logging.StreamHandler`,
//!   `logging.handlers.RotatingFileHandler`), by short names (`RotatingFileHandler`), or as
//!   mplog's own (`mplog.LockedRotatingFileHandler`). Python's camelCase keys are read as
//!   written, snake_case too (`maxBytes` or `max_bytes`), so a Python dictConfig saved as JSON
//!   or YAML loads unchanged where its handlers exist. mplog adds a few options: `buffer` on
//!   file handlers, `heldBytes` on file and stream handlers (what they hold while writing
//!   fails, [`DEFAULT_HELD_BYTES`](crate::handler::DEFAULT_HELD_BYTES)), `gzip` on rotating
//!   ones, `maxBytes` on timed ones, `lockPath` on locked ones, and `utc` on formatters.
//! - **Formats** by extension ([`FileFormat`]): `.toml`, `.json`, `.yaml`/`.yml`, and
//!   `.ini`/`.conf`/`.cfg` for Python's fileConfig format (see [`ini`] for its
//!   subset).
//! - **Environment**: `${VAR}` and `${VAR:-default}` in string values are replaced from the
//!   environment after parsing (a value is never re-parsed), so one file serves several
//!   deployments. Formatters' `format` strings are left alone: `$`-style formats use `${name}`
//!   for record fields. `$${` is a literal `${`.
//! - **Checked whole**: reading a configuration checks everything but the file system: types,
//!   levels, classes and their arguments, formats, every reference to a formatter, filter or
//!   handler, MemoryHandler target loops. [`ConfigError`] names the place and the cause, like
//!   Python's chain: `handlers.file: unable to configure handler 'file': unknown level 'NTOSET'`.
//! - **As CPython reads it**: keys CPython ignores (a logger's `qualname`, a formatter's
//!   `fmt`, top-level keys of a project's own) are [`warnings`](DictConfig::warnings), not
//!   errors; `()` factories and `.` attributes work for the standard classes mplog implements;
//!   `ext://sys.stdout`, `ext://sys.stderr`, `ext://os.devnull`, `ext://logging.LEVEL` and
//!   `cfg://` references resolve as CPython's `BaseConfigurator.convert`; YAML is read as
//!   PyYAML's `safe_load` (YAML 1.1). Classes of a program's own come from a [`Registry`]
//!   (mplog loads no Python code: an unregistered class is refused, saying how to provide it).
//! - **Bounded**: nesting deeper than 128 levels, files over [`MAX_FILE_BYTES`] and YAML alias
//!   bombs are refused with a clear error, in bounded time and memory, before anything is
//!   applied.
//! - **All or nothing**: [`DictConfig::build`] and [`DictConfig::apply_to`] create every
//!   handler (open every file) before touching a logger; a failure leaves the hierarchy as it
//!   was.
//! - **Listeners**: [`QueueListener::from_config`](crate::queue::QueueListener::from_config)
//!   starts a listener on a configuration, and
//!   [`ListenerHandle::reload`](crate::queue::ListenerHandle::reload) swaps the whole
//!   configuration between two batches: each record is handled by exactly one configuration,
//!   the old handlers are flushed and closed, and a configuration that fails leaves the running
//!   one in place (the error is returned and logged on `mplog.listener`).
//! - **Workers** choose what to send with [`Directives`] (`MPLOG_LEVEL=info,app.db=debug`).
//!
//! ```
//! use mplog::config::DictConfig;
//! let cfg = DictConfig::from_yaml(r#"
//! version: 1
//! formatters:
//!   brief: {format: "%(levelname)s %(name)s: %(message)s"}
//! handlers:
//!   console: {class: logging.StreamHandler, formatter: brief, level: INFO, stream: "ext://sys.stdout"}
//! root: {level: DEBUG, handlers: [console]}
//! "#).unwrap();
//! let m = cfg.build().unwrap();
//! mplog::info!(m.get_logger("app"), "configured"); // INFO app: configured
//! ```
//!
//! What does not live here: the handlers themselves ([`crate::handler`]) and the listener's
//! threads ([`crate::queue`]); this module only reads files and wires those together.

mod build;
mod classes;
mod convert;
mod custom;
mod directives;
mod error;
pub mod ini;
mod listener;
mod literal;
mod load;
mod network;
mod registry;
mod schema;
mod value;
mod yaml;
mod yaml11;

use std::path::{Path, PathBuf};

pub use self::directives::{Directives, ENV_LEVEL};
pub use self::error::{ConfigError, ConfigWarning, ErrorKind};
pub use self::load::{FileFormat, MAX_FILE_BYTES};
pub use self::registry::{FilterFactory, FormatterFactory, HandlerFactory, Kwargs, Registry};
pub use self::schema::DictConfig;

/// The variable `mplog listen` reads its configuration file from.
pub const ENV_CONFIG: &str = "MPLOG_CONFIG";

/// Where a configuration comes from: a file (read when used) or one already read.
///
/// ```
/// use mplog::config::ConfigSource;
/// let s: ConfigSource = "examples/configs/dev.toml".into();
/// assert!(matches!(s, ConfigSource::File(_)));
/// ```
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A file, by extension TOML, JSON, YAML or INI.
    File(PathBuf),
    /// A configuration already read.
    Dict(DictConfig),
}

impl ConfigSource {
    /// Reads and checks the configuration.
    ///
    /// ```
    /// use mplog::config::{ConfigSource, DictConfig};
    /// let cfg = ConfigSource::from(DictConfig::from_json(r#"{"version": 1}"#).unwrap()).load().unwrap();
    /// assert!(!cfg.is_incremental());
    /// assert!(ConfigSource::from("/nonexistent/logging.toml").load().is_err());
    /// ```
    pub fn load(self) -> Result<DictConfig, ConfigError> {
        self.load_with(&Registry::new())
    }

    /// [`load`](ConfigSource::load) with a program's own classes (see [`Registry`]); a
    /// configuration already read keeps the classes it was read with.
    ///
    /// ```
    /// use mplog::config::{ConfigSource, Registry};
    /// let cfg = ConfigSource::from("examples/configs/dev.toml").load_with(&Registry::new()).unwrap();
    /// assert!(!cfg.is_incremental());
    /// ```
    pub fn load_with(self, registry: &Registry) -> Result<DictConfig, ConfigError> {
        match self {
            ConfigSource::File(path) => DictConfig::from_path_with(&path, registry),
            ConfigSource::Dict(cfg) => Ok(cfg),
        }
    }
}

impl From<&Path> for ConfigSource {
    fn from(p: &Path) -> Self {
        ConfigSource::File(p.to_path_buf())
    }
}

impl From<PathBuf> for ConfigSource {
    fn from(p: PathBuf) -> Self {
        ConfigSource::File(p)
    }
}

impl From<&PathBuf> for ConfigSource {
    fn from(p: &PathBuf) -> Self {
        ConfigSource::File(p.clone())
    }
}

impl From<&str> for ConfigSource {
    fn from(p: &str) -> Self {
        ConfigSource::File(PathBuf::from(p))
    }
}

impl From<DictConfig> for ConfigSource {
    fn from(c: DictConfig) -> Self {
        ConfigSource::Dict(c)
    }
}

impl DictConfig {
    /// Reads `path`; the format follows the extension ([`FileFormat::from_path`]). Errors name
    /// the file.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_path("examples/configs/prod.yaml".as_ref()).unwrap();
    /// assert!(!cfg.is_incremental());
    /// ```
    pub fn from_path(path: &Path) -> Result<DictConfig, ConfigError> {
        DictConfig::from_path_with(path, &Registry::new())
    }

    /// [`from_path`](DictConfig::from_path), with the classes of `registry` available to
    /// `class` and `()`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::config::{DictConfig, Registry};
    /// use mplog::handler::{Handler, NullHandler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("logging.yaml");
    /// std::fs::write(&path, "version: 1\nhandlers: {a: {class: myapp.Audit}}\nroot: {handlers: [a]}\n").unwrap();
    /// assert!(DictConfig::from_path(&path).is_err()); // not registered
    /// let registry = Registry::new()
    ///     .handler("myapp.Audit", |_| Ok(Arc::new(NullHandler::new()) as Arc<dyn Handler>));
    /// let m = DictConfig::from_path_with(&path, &registry).unwrap().build().unwrap();
    /// assert_eq!(m.root().handlers().len(), 1);
    /// ```
    pub fn from_path_with(path: &Path, registry: &Registry) -> Result<DictConfig, ConfigError> {
        let mut warnings = Vec::new();
        let tree = load::read(path, &mut warnings)?;
        DictConfig::from_tree(&tree, registry, warnings).map_err(|e| e.in_file(path))
    }

    /// Reads `text` in `format`, expanding `${VAR}` from the environment.
    ///
    /// ```
    /// use mplog::config::{DictConfig, FileFormat};
    /// assert!(DictConfig::from_text("{\"version\": 1}", FileFormat::Json).is_ok());
    /// assert_eq!(
    ///     DictConfig::from_text("{}", FileFormat::Json).unwrap_err().to_string(),
    ///     "dictionary doesn't specify a version"
    /// );
    /// ```
    pub fn from_text(text: &str, format: FileFormat) -> Result<DictConfig, ConfigError> {
        DictConfig::from_text_with(text, format, &Registry::new())
    }

    /// [`from_text`](DictConfig::from_text), with the classes of `registry` available to
    /// `class` and `()` (see [`Registry`]).
    ///
    /// ```
    /// use mplog::config::{DictConfig, FileFormat, Registry};
    /// let cfg = DictConfig::from_text_with("{\"version\": 1}", FileFormat::Json, &Registry::new());
    /// assert!(cfg.is_ok());
    /// ```
    pub fn from_text_with(
        text: &str,
        format: FileFormat,
        registry: &Registry,
    ) -> Result<DictConfig, ConfigError> {
        let mut warnings = Vec::new();
        let tree = load::parse_expanded(text, format, &mut warnings)?;
        DictConfig::from_tree(&tree, registry, warnings)
    }

    /// [`from_text`](DictConfig::from_text) for TOML.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_toml("version = 1\n[root]\nlevel = \"INFO\"\n").unwrap();
    /// assert_eq!(mplog::config::Directives::from_config(&cfg).levels(), [(String::new(), mplog::Level::INFO)]);
    /// ```
    pub fn from_toml(text: &str) -> Result<DictConfig, ConfigError> {
        DictConfig::from_text(text, FileFormat::Toml)
    }

    /// [`from_text`](DictConfig::from_text) for JSON.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_json(r#"{"version": 1, "incremental": true}"#).unwrap();
    /// assert!(cfg.is_incremental());
    /// ```
    pub fn from_json(text: &str) -> Result<DictConfig, ConfigError> {
        DictConfig::from_text(text, FileFormat::Json)
    }

    /// [`from_text`](DictConfig::from_text) for YAML.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_yaml("version: 1\nloggers:\n  app.db:\n    level: DEBUG\n").unwrap();
    /// let d = mplog::config::Directives::from_config(&cfg);
    /// assert_eq!(d.levels(), [("app.db".to_string(), mplog::Level::DEBUG)]);
    /// ```
    pub fn from_yaml(text: &str) -> Result<DictConfig, ConfigError> {
        DictConfig::from_text(text, FileFormat::Yaml)
    }

    /// [`from_text`](DictConfig::from_text) for fileConfig INI.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_ini(
    ///     "[loggers]\nkeys=root\n[logger_root]\nlevel=INFO\n",
    /// ).unwrap();
    /// assert_eq!(cfg.build().unwrap().root().level(), mplog::Level::INFO);
    /// ```
    pub fn from_ini(text: &str) -> Result<DictConfig, ConfigError> {
        DictConfig::from_text(text, FileFormat::Ini)
    }

    /// Applies this configuration to the process-wide hierarchy (Python's
    /// `logging.config.dictConfig`).
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_json(
    ///     r#"{"version": 1, "disable_existing_loggers": false, "loggers": {"doc.apply": {"level": "ERROR"}}}"#,
    /// ).unwrap();
    /// cfg.apply().unwrap();
    /// assert_eq!(mplog::get_logger("doc.apply").level(), mplog::Level::ERROR);
    /// ```
    pub fn apply(&self) -> Result<(), ConfigError> {
        self.apply_to(crate::manager())
    }
}
