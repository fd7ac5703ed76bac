//! [`Registry`]: the handler, formatter and filter classes a Rust program brings itself, by
//! the dotted names its configuration files use (`class:` or `'()':`).
//!
//! The classes mplog implements (Python's `logging.StreamHandler`,
//! `logging.handlers.RotatingFileHandler`, ... and mplog's own) are always there: their
//! table is `CLASSES` in `classes.rs` (network handlers in `network.rs`), checked when the
//! configuration is read. A registered name is looked up first, so a program can also replace
//! a built-in class. `mplog check` and `mplog listen` load no code: a class nobody registered
//! is refused there, naming the class and how to provide it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::filter::Filter;
use crate::format::Format;
use crate::handler::Handler;

/// The keyword arguments a configuration gives a registered class: the entry's keys by their
/// Python names as written (`maxBytes`), and the attributes of its `.` key.
///
/// ```
/// use mplog::config::{DictConfig, Registry};
/// use mplog::handler::{Handler, NullHandler};
/// use std::sync::Arc;
/// let registry = Registry::new().handler("myapp.Quiet", |kw| {
///     assert_eq!(kw.str("tag")?, Some("x"));
///     assert_eq!(kw.int("size")?, Some(3));
///     assert_eq!(kw.bool("loud")?, None);
///     Ok(Arc::new(NullHandler::new()) as Arc<dyn Handler>)
/// });
/// let cfg = DictConfig::from_text_with(
///     r#"{"version": 1, "handlers": {"q": {"class": "myapp.Quiet", "tag": "x", "size": 3}}}"#,
///     mplog::config::FileFormat::Json,
///     &registry,
/// ).unwrap();
/// cfg.build().unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Kwargs {
    args: Map<String, Value>,
    attributes: Map<String, Value>,
}

impl Kwargs {
    pub(crate) fn new(args: Map<String, Value>, attributes: Map<String, Value>) -> Kwargs {
        Kwargs { args, attributes }
    }

    /// The value of `key` as the file gave it (JSON's data model), if given.
    ///
    /// ```
    /// let kw = mplog::config::Kwargs::default();
    /// assert!(kw.get("anything").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.args.get(key)
    }

    /// The argument names given, in order.
    ///
    /// ```
    /// assert_eq!(mplog::config::Kwargs::default().keys().count(), 0);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.args.keys().map(String::as_str)
    }

    /// `key` as a string; an error names the key and what was found.
    ///
    /// ```
    /// assert_eq!(mplog::config::Kwargs::default().str("k").unwrap(), None);
    /// ```
    pub fn str(&self, key: &str) -> Result<Option<&str>, String> {
        self.typed(key, "a string", Value::as_str)
    }

    /// `key` as an integer.
    ///
    /// ```
    /// assert_eq!(mplog::config::Kwargs::default().int("k").unwrap(), None);
    /// ```
    pub fn int(&self, key: &str) -> Result<Option<i64>, String> {
        self.typed(key, "an integer", Value::as_i64)
    }

    /// `key` as a boolean.
    ///
    /// ```
    /// assert_eq!(mplog::config::Kwargs::default().bool("k").unwrap(), None);
    /// ```
    pub fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        self.typed(key, "a boolean", Value::as_bool)
    }

    /// The attributes of the entry's `.` key (Python sets them after construction).
    ///
    /// ```
    /// assert!(mplog::config::Kwargs::default().attributes().is_empty());
    /// ```
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        what: &str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, String> {
        match self.args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => read(v)
                .map(Some)
                .ok_or_else(|| format!("{key}: expected {what}, got {v}")),
        }
    }
}

/// Makes a handler from its arguments; an `Err` is the reason, shown with the entry's place.
pub type HandlerFactory = dyn Fn(&Kwargs) -> Result<Arc<dyn Handler>, String> + Send + Sync;
/// Makes a formatter from its arguments.
pub type FormatterFactory = dyn Fn(&Kwargs) -> Result<Arc<dyn Format>, String> + Send + Sync;
/// Makes a filter from its arguments.
pub type FilterFactory = dyn Fn(&Kwargs) -> Result<Arc<dyn Filter>, String> + Send + Sync;

/// Handler, formatter and filter classes a program provides, by dotted name, for `class:`
/// and `'()':` in its configuration files. Pass it to
/// [`DictConfig::from_path_with`](super::DictConfig::from_path_with),
/// [`DictConfig::from_text_with`](super::DictConfig::from_text_with) or
/// [`QueueListener::from_config_with`](crate::queue::QueueListener::from_config_with).
///
/// The factory runs when the configuration is built (a file opened), with the entry's other
/// keys as [`Kwargs`]; `level`, `formatter` and `filters` of a handler are applied by mplog
/// afterwards, as Python's `dictConfig` does.
///
/// ```
/// use std::sync::Arc;
/// use mplog::config::{DictConfig, FileFormat, Registry};
/// use mplog::filter::{Decision, Filter};
/// use mplog::handler::{Handler, StreamHandler};
///
/// struct NoHealthChecks;
/// impl Filter for NoHealthChecks {
///     fn filter(&self, r: &mplog::Record) -> Decision {
///         if r.message.contains("/health") { Decision::Reject } else { Decision::Accept }
///     }
/// }
///
/// let registry = Registry::new()
///     .handler("myapp.logging.ConsoleHandler", |_kw| {
///         Ok(Arc::new(StreamHandler::stderr()) as Arc<dyn Handler>)
///     })
///     .filter("myapp.logging.NoHealthChecks", |_kw| Ok(Arc::new(NoHealthChecks) as Arc<dyn Filter>));
/// let cfg = DictConfig::from_text_with(r#"
/// version: 1
/// filters: {quiet: {'()': myapp.logging.NoHealthChecks}}
/// handlers: {console: {class: myapp.logging.ConsoleHandler, filters: [quiet]}}
/// root: {level: INFO, handlers: [console]}
/// "#, FileFormat::Yaml, &registry).unwrap();
/// let m = cfg.build().unwrap();
/// mplog::info!(m.get_logger("app"), "GET /health"); // filtered out
///
/// // Without the registry the class is refused, saying how to provide it.
/// let err = DictConfig::from_json(
///     r#"{"version": 1, "handlers": {"c": {"class": "myapp.logging.ConsoleHandler"}}}"#,
/// ).unwrap_err();
/// assert!(err.to_string().contains("Registry"));
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<String, Arc<HandlerFactory>>,
    formatters: BTreeMap<String, Arc<FormatterFactory>>,
    filters: BTreeMap<String, Arc<FilterFactory>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("formatters", &self.formatters.keys().collect::<Vec<_>>())
            .field("filters", &self.filters.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// A registry with no classes of the program's own (the built-in ones are always there).
    ///
    /// ```
    /// let r = mplog::config::Registry::new();
    /// assert!(r.handler_names().next().is_none());
    /// ```
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers the handler class `name` (`myapp.handlers.AuditHandler`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, NullHandler};
    /// let r = mplog::config::Registry::new()
    ///     .handler("myapp.Null", |_| Ok(Arc::new(NullHandler::new()) as Arc<dyn Handler>));
    /// assert_eq!(r.handler_names().collect::<Vec<_>>(), ["myapp.Null"]);
    /// ```
    pub fn handler(
        mut self,
        name: &str,
        factory: impl Fn(&Kwargs) -> Result<Arc<dyn Handler>, String> + Send + Sync + 'static,
    ) -> Registry {
        self.handlers.insert(name.to_owned(), Arc::new(factory));
        self
    }

    /// Registers the formatter class `name`, for `()` or a formatter's `class`. Given by
    /// `class`, it gets Python's positional arguments by name: `fmt`, `datefmt`, `style`,
    /// and `validate` when the entry has it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::format::Format;
    /// let r = mplog::config::Registry::new().formatter("myapp.Json", |kw| {
    ///     let f = mplog::Formatter::new(kw.str("fmt")?.unwrap_or("%(message)s")).map_err(|e| e.to_string())?;
    ///     Ok(Arc::new(f) as Arc<dyn Format>)
    /// });
    /// # let _ = r;
    /// ```
    pub fn formatter(
        mut self,
        name: &str,
        factory: impl Fn(&Kwargs) -> Result<Arc<dyn Format>, String> + Send + Sync + 'static,
    ) -> Registry {
        self.formatters.insert(name.to_owned(), Arc::new(factory));
        self
    }

    /// Registers the filter class `name`, for a filter's `()`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::filter::{Filter, NameFilter};
    /// let r = mplog::config::Registry::new()
    ///     .filter("myapp.OnlyApp", |_| Ok(Arc::new(NameFilter::new("app")) as Arc<dyn Filter>));
    /// # let _ = r;
    /// ```
    pub fn filter(
        mut self,
        name: &str,
        factory: impl Fn(&Kwargs) -> Result<Arc<dyn Filter>, String> + Send + Sync + 'static,
    ) -> Registry {
        self.filters.insert(name.to_owned(), Arc::new(factory));
        self
    }

    /// The registered handler class names.
    ///
    /// ```
    /// assert_eq!(mplog::config::Registry::new().handler_names().count(), 0);
    /// ```
    pub fn handler_names(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    pub(crate) fn find_handler(&self, name: &str) -> Option<Arc<HandlerFactory>> {
        self.handlers.get(name).cloned()
    }

    pub(crate) fn find_formatter(&self, name: &str) -> Option<Arc<FormatterFactory>> {
        self.formatters.get(name).cloned()
    }

    pub(crate) fn find_filter(&self, name: &str) -> Option<Arc<FilterFactory>> {
        self.filters.get(name).cloned()
    }
}

/// A registered class chosen by an entry, with its arguments: built when the configuration
/// is.
pub(crate) struct Custom<F: ?Sized> {
    pub(crate) class: String,
    pub(crate) factory: Arc<F>,
    pub(crate) kwargs: Kwargs,
}

impl<F: ?Sized> Clone for Custom<F> {
    fn clone(&self) -> Self {
        Custom {
            class: self.class.clone(),
            factory: self.factory.clone(),
            kwargs: self.kwargs.clone(),
        }
    }
}

impl<F: ?Sized> fmt::Debug for Custom<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Custom")
            .field("class", &self.class)
            .field("kwargs", &self.kwargs)
            .finish()
    }
}

/// How to provide a class nobody registered: the text of the error.
pub(crate) fn not_registered(what: &str, class: &str, method: &str) -> String {
    format!(
        "{what} class '{class}' is not available: mplog loads no Python code. A Rust program \
         provides it with mplog::config::Registry::new().{method}(\"{class}\", ...) and loads \
         the file with DictConfig::from_path_with (or QueueListener::from_config_with)"
    )
}
