//! The dictConfig schema, read from the value tree and checked whole: types, levels, classes,
//! arguments, formats, references between entries and MemoryHandler target cycles. A
//! [`DictConfig`] that exists is valid; only building its handlers (opening files) can still
//! fail.

use std::collections::BTreeMap;

use serde_json::Value;

use super::classes::{self, Args, Kind};
use super::custom;
use super::error::{ConfigError, ConfigWarning, ErrorKind};
use super::registry::{Custom, FilterFactory, FormatterFactory, HandlerFactory, Registry};
use super::value::{self, Entry};
use crate::format::{Formatter, Style};
use crate::level::Level;
use crate::record;

/// A checked dictConfig: Python's schema, from TOML, JSON, YAML or fileConfig INI.
///
/// ```
/// use mplog::config::DictConfig;
/// let cfg = DictConfig::from_toml(r#"
///     version = 1
///     [handlers.console]
///     class = "logging.StreamHandler"
///     stream = "ext://sys.stdout"
///     [root]
///     level = "INFO"
///     handlers = ["console"]
/// "#).unwrap();
/// let manager = cfg.build().unwrap();
/// assert_eq!(manager.root().level(), mplog::Level::INFO);
/// assert_eq!(manager.root().handlers().len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct DictConfig {
    pub(crate) incremental: bool,
    pub(crate) disable_existing_loggers: bool,
    pub(crate) formatters: BTreeMap<String, FormatterSpec>,
    pub(crate) filters: BTreeMap<String, FilterSpec>,
    pub(crate) handlers: BTreeMap<String, HandlerSpec>,
    /// Incremental configurations: only the handlers' levels.
    pub(crate) handler_levels: BTreeMap<String, Option<Level>>,
    pub(crate) loggers: BTreeMap<String, LoggerSpec>,
    pub(crate) root: Option<LoggerSpec>,
    /// Keys CPython ignores, named for `mplog check`.
    pub(crate) warnings: Vec<ConfigWarning>,
}

/// A filter entry: Python's `logging.Filter(name)`, or a registered class.
#[derive(Debug, Clone)]
pub(crate) enum FilterSpec {
    Name(String),
    Custom(Custom<FilterFactory>),
}

/// A formatter entry.
#[derive(Debug, Clone)]
pub(crate) struct FormatterSpec {
    pub(crate) format: Option<String>,
    pub(crate) datefmt: Option<String>,
    pub(crate) style: Style,
    pub(crate) validate: bool,
    pub(crate) utc: bool,
    pub(crate) defaults: Vec<(String, record::Value)>,
    /// A registered formatter class, which makes the formatter instead.
    pub(crate) custom: Option<Custom<FormatterFactory>>,
}

/// A handler entry.
#[derive(Debug, Clone)]
pub(crate) struct HandlerSpec {
    pub(crate) kind: Kind,
    pub(crate) level: Option<Level>,
    pub(crate) formatter: Option<String>,
    pub(crate) filters: Vec<String>,
    pub(crate) args: Args,
    /// A registered handler class, which makes the handler instead of `kind`.
    pub(crate) custom: Option<Custom<HandlerFactory>>,
}

/// A logger entry (or `root`).
#[derive(Debug, Clone, Default)]
pub(crate) struct LoggerSpec {
    pub(crate) level: Option<Level>,
    pub(crate) propagate: Option<bool>,
    pub(crate) filters: Option<Vec<String>>,
    pub(crate) handlers: Option<Vec<String>>,
}

impl DictConfig {
    /// Reads and checks a configuration from the parsed tree.
    pub(crate) fn from_tree(
        tree: &Value,
        registry: &Registry,
        warnings: Vec<ConfigWarning>,
    ) -> Result<DictConfig, ConfigError> {
        let mut top = Entry::new(String::new(), tree)?;
        match top.take("version") {
            None => return Err(ConfigError::new("", ErrorKind::NoVersion)),
            Some((_, Value::Number(n))) if n.as_u64() == Some(1) => {}
            Some((_, v)) => {
                return Err(ConfigError::new(
                    "version",
                    ErrorKind::Version(value::describe(v)),
                ))
            }
        }
        let mut cfg = DictConfig {
            incremental: top.get("incremental", value::boolean)?.unwrap_or(false),
            disable_existing_loggers: top
                .get("disable_existing_loggers", value::boolean)?
                .unwrap_or(true),
            warnings,
            ..DictConfig::default()
        };
        let sections: Vec<(&str, &str, &Value)> = ["formatters", "filters", "handlers", "loggers"]
            .into_iter()
            .filter_map(|s| top.take(s).map(|(written, v)| (s, written, v)))
            .collect();
        let root = top.take("root");
        top.ignore_rest(&mut cfg.warnings, "not part of Python's dictConfig schema");
        for (section, written, v) in sections {
            if v.is_null() {
                continue;
            }
            let map = value::table(v).map_err(|k| ConfigError::new(written, k))?;
            for (name, item) in map {
                let path = format!("{written}.{name}");
                let what = &section[..section.len() - 1];
                cfg.read_entry(section, name, path, item, registry)
                    .map_err(|e| e.context(|| format!("unable to configure {what} '{name}'")))?;
            }
        }
        if let Some((written, v)) = root.filter(|(_, v)| !v.is_null()) {
            let spec = logger(Entry::new(written.to_owned(), v)?, &mut cfg.warnings)
                .map_err(|e| e.context(|| "unable to configure root logger".into()))?;
            cfg.root = Some(spec);
        }
        if !cfg.incremental {
            cfg.check_references()?;
        }
        Ok(cfg)
    }

    fn read_entry(
        &mut self,
        section: &str,
        name: &str,
        path: String,
        item: &Value,
        registry: &Registry,
    ) -> Result<(), ConfigError> {
        let mut entry = Entry::new(path, item)?;
        let warnings = &mut self.warnings;
        match section {
            "formatters" if !self.incremental => {
                let spec = formatter(entry, registry, warnings)?;
                self.formatters.insert(name.to_owned(), spec);
            }
            "filters" if !self.incremental => {
                let spec = custom::filter(entry, registry, warnings)?;
                self.filters.insert(name.to_owned(), spec);
            }
            "handlers" if self.incremental => {
                // Python's incremental mode reads only the level of a handler; `if level:`
                // skips a missing one and the number 0, not the string "NOTSET".
                let level = match entry.take("level") {
                    Some((_, Value::Number(n))) if n.as_u64() == Some(0) => None,
                    Some((written, v)) => {
                        Some(value::level(v).map_err(|k| entry.error(written, k).quiet_key())?)
                    }
                    None => None,
                };
                entry.ignore_rest(
                    warnings,
                    "an incremental configuration reads a handler's level only",
                );
                self.handler_levels.insert(name.to_owned(), level);
            }
            "handlers" => {
                let spec = handler(entry, registry, warnings)?;
                self.handlers.insert(name.to_owned(), spec);
            }
            "loggers" => {
                self.loggers
                    .insert(name.to_owned(), logger(entry, warnings)?);
            }
            // Formatters and filters are ignored in incremental mode, as in Python.
            _ => {}
        }
        Ok(())
    }

    /// Every formatter, filter and handler named is defined; MemoryHandler targets make no loop.
    fn check_references(&self) -> Result<(), ConfigError> {
        let undefined = |path: String, key: &str, what: &'static str, name: &str| {
            ConfigError::new(
                path,
                ErrorKind::Undefined {
                    what,
                    name: name.to_owned(),
                },
            )
            .at_key(key)
        };
        for (name, h) in &self.handlers {
            let path = format!("handlers.{name}");
            let context = || format!("unable to configure handler '{name}'");
            if let Some(f) = h
                .formatter
                .as_ref()
                .filter(|f| !self.formatters.contains_key(*f))
            {
                return Err(undefined(path, "formatter", "formatter", f).context(context));
            }
            if let Some(f) = h.filters.iter().find(|f| !self.filters.contains_key(*f)) {
                return Err(undefined(path, "filters", "filter", f).context(context));
            }
            if let Some(t) = &h.args.target {
                if !self.handlers.contains_key(t) {
                    return Err(undefined(path, "target", "handler", t).context(context));
                }
                self.check_cycle(name).map_err(|e| e.context(context))?;
            }
        }
        let loggers = self.loggers.iter().map(|(n, l)| (Some(n), l));
        for (name, spec) in loggers.chain(self.root.iter().map(|r| (None, r))) {
            let (path, context) = match name {
                Some(n) => (
                    format!("loggers.{n}"),
                    format!("unable to configure logger '{n}'"),
                ),
                None => (
                    "root".to_owned(),
                    "unable to configure root logger".to_owned(),
                ),
            };
            let handlers = spec.handlers.iter().flatten();
            if let Some(h) = handlers
                .into_iter()
                .find(|h| !self.handlers.contains_key(*h))
            {
                return Err(undefined(path, "handlers", "handler", h).context(|| context));
            }
            let filters = spec.filters.iter().flatten();
            if let Some(f) = filters.into_iter().find(|f| !self.filters.contains_key(*f)) {
                return Err(undefined(path, "filters", "filter", f).context(|| context));
            }
        }
        Ok(())
    }

    fn check_cycle(&self, start: &str) -> Result<(), ConfigError> {
        let mut chain = vec![start];
        let mut current = start;
        while let Some(next) = self
            .handlers
            .get(current)
            .and_then(|h| h.args.target.as_deref())
        {
            if chain.contains(&next) {
                chain.push(next);
                return Err(ConfigError::new(
                    format!("handlers.{start}"),
                    ErrorKind::TargetCycle(chain.join(" -> ")),
                )
                .at_key("target")
                .quiet_key());
            }
            chain.push(next);
            current = next;
        }
        Ok(())
    }

    /// The `(logger, level)` pairs this configuration sets, root as `""`: what a worker
    /// should send, when it takes its levels from the listener's file.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_yaml(
    ///     "version: 1\nroot: {level: INFO}\nloggers: {app.db: {level: DEBUG}}\n",
    /// ).unwrap();
    /// assert_eq!(cfg.levels(), [("".into(), mplog::Level::INFO), ("app.db".into(), mplog::Level::DEBUG)]);
    /// ```
    pub fn levels(&self) -> Vec<(String, Level)> {
        let root = self
            .root
            .iter()
            .filter_map(|r| r.level)
            .map(|l| (String::new(), l));
        let loggers = self
            .loggers
            .iter()
            .filter_map(|(n, s)| s.level.map(|l| (n.clone(), l)));
        root.chain(loggers).collect()
    }

    /// Whether this is an incremental configuration (levels and `propagate` only).
    ///
    /// ```
    /// use mplog::config::DictConfig;
    /// assert!(!DictConfig::from_json(r#"{"version": 1}"#).unwrap().is_incremental());
    /// assert!(DictConfig::from_json(r#"{"version": 1, "incremental": true}"#).unwrap().is_incremental());
    /// ```
    pub fn is_incremental(&self) -> bool {
        self.incremental
    }

    /// The keys read but ignored, as CPython ignores them (a logger's `qualname`, a
    /// formatter's `fmt`, top-level keys of a project's own): each one has no effect.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_yaml(
    ///     "version: 1\nformatters: {f: {fmt: '%(message)s'}}\n",
    /// ).unwrap();
    /// let w: Vec<String> = cfg.warnings().iter().map(|w| w.path()).collect();
    /// assert_eq!(w, ["formatters.f.fmt"]); // the default format applies, as in Python
    /// ```
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }
}

fn formatter(
    mut entry: Entry<'_>,
    registry: &Registry,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<FormatterSpec, ConfigError> {
    if let Some((key, factory)) = entry.take("()") {
        return custom::formatter_factory(entry, key, factory, registry, warnings);
    }
    let class = entry.get("class", value::string)?;
    // Python passes `validate` to a formatter class only when the entry has it.
    let validate_given = entry.items.iter().any(|(c, _, _)| c == "validate");
    let mut spec = FormatterSpec {
        format: entry.get("format", value::string)?,
        datefmt: entry.get("datefmt", value::string)?,
        style: entry
            .get("style", |v| {
                value::string(v)?
                    .parse::<Style>()
                    .map_err(ErrorKind::Format)
            })?
            .unwrap_or_default(),
        validate: entry.get("validate", value::boolean)?.unwrap_or(true),
        utc: entry.get("utc", value::boolean)?.unwrap_or(false),
        defaults: entry.get("defaults", defaults)?.unwrap_or_default(),
        custom: None,
    };
    if let Some(class) = class {
        if let Some(factory) = registry.find_formatter(&class) {
            // Python calls the class with (fmt, datefmt, style[, validate]).
            spec.custom = Some(custom::formatter_by_class(
                class,
                factory,
                &spec,
                validate_given,
            ));
        } else if !matches!(class.as_str(), "logging.Formatter" | "Formatter") {
            return Err(entry.error(
                "class",
                ErrorKind::Unsupported(super::registry::not_registered(
                    "formatter",
                    &class,
                    "formatter",
                )),
            ));
        }
    }
    entry.ignore_rest(
        warnings,
        "Python's dictConfig does not read it for a formatter",
    );
    if spec.custom.is_none() {
        spec.build()
            .map_err(|e| ConfigError::new(entry.path.clone(), ErrorKind::Format(e)))?;
    }
    Ok(spec)
}

pub(crate) fn defaults(v: &Value) -> Result<Vec<(String, record::Value)>, ErrorKind> {
    value::table(v)?
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => record::Value::Str(s.clone()),
                Value::Bool(b) => record::Value::Bool(*b),
                Value::Null => record::Value::None,
                Value::Number(n) => match n.as_i64() {
                    Some(i) => record::Value::Int(i),
                    None => record::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                other => {
                    return Err(ErrorKind::Invalid(format!(
                        "default for '{k}' must be a string, number, boolean or null, got {}",
                        value::describe(other)
                    )))
                }
            };
            Ok((k.clone(), value))
        })
        .collect()
}

impl FormatterSpec {
    /// The formatter; Python's default format follows the style (`{message}`, `${message}`).
    /// An empty format or datefmt counts as none, as in Python (`fmt or default`).
    pub(crate) fn build(&self) -> Result<Formatter, crate::format::FormatError> {
        let given = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let format = given(&self.format);
        let format = format.as_deref().unwrap_or(self.style.default_format());
        let mut b = Formatter::builder(format)
            .style(self.style)
            .validate(self.validate)
            .utc(self.utc);
        if let Some(d) = given(&self.datefmt) {
            b = b.datefmt(&d);
        }
        for (k, v) in &self.defaults {
            b = b.default(k, v.clone());
        }
        b.build()
    }
}

fn handler(
    mut entry: Entry<'_>,
    registry: &Registry,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<HandlerSpec, ConfigError> {
    // `()` names the class as `class` does (CPython then passes the other keys alike).
    let factory = entry.get("()", value::string)?;
    let class = match (factory, entry.get("class", value::string)?) {
        (Some(_), Some(_)) => {
            return Err(entry.error(
                "class",
                ErrorKind::Invalid("both '()' and 'class' given".into()),
            ))
        }
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => {
            return Err(ConfigError::new(
                entry.path.clone(),
                ErrorKind::Missing("class"),
            ))
        }
    };
    let level = entry
        .get("level", value::level)
        .map_err(ConfigError::quiet_key)?;
    let formatter = entry.get("formatter", value::string)?;
    let filters = entry.get("filters", value::names)?.unwrap_or_default();
    let attributes = entry
        .get(".", |v| value::table(v).cloned())?
        .unwrap_or_default();
    if let Some(factory) = registry.find_handler(&class) {
        let kwargs = custom::kwargs(&mut entry)?;
        return Ok(HandlerSpec {
            kind: Kind::Null,
            level,
            formatter,
            filters,
            args: Args::default(),
            custom: Some(Custom {
                class,
                factory,
                kwargs: super::registry::Kwargs::new(kwargs, attributes),
            }),
        });
    }
    let kind = classes::resolve(&class).map_err(|k| entry.error("class", k).quiet_key())?;
    let mut args = classes::args(kind, &class, &mut entry)?;
    custom::handler_attributes(kind, &mut args, &attributes, &entry.path, warnings)?;
    Ok(HandlerSpec {
        kind,
        level,
        formatter,
        filters,
        args,
        custom: None,
    })
}

fn logger(
    mut entry: Entry<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<LoggerSpec, ConfigError> {
    let spec = LoggerSpec {
        level: entry
            .get("level", value::level)
            .map_err(ConfigError::quiet_key)?,
        propagate: entry.get("propagate", value::boolean)?,
        filters: entry.get("filters", value::names)?,
        handlers: entry.get("handlers", value::names)?,
    };
    entry.ignore_rest(
        warnings,
        "Python's dictConfig does not read it for a logger",
    );
    Ok(spec)
}
