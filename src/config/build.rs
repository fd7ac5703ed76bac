//! Building a checked [`DictConfig`] into formatters, filters and handlers, then applying them to
//! a [`Manager`]: everything that can fail (opening files) happens first, so a configuration is
//! applied whole or not at all.
//!
//! Applying follows CPython's `DictConfigurator.configure`: the handlers the manager had are
//! flushed and closed; the root and every configured logger get their level, their handlers
//! and filters replaced, `propagate`, and are enabled; existing loggers below a configured one
//! are reset (level NOTSET, no handlers, propagate) and the other existing loggers are disabled
//! when `disable_existing_loggers` is true (the default). Incremental configurations change
//! levels (of handlers, found by name in the hierarchy, and loggers) and `propagate` only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::classes::{Args, Kind, Stream};
use super::error::{ConfigError, ErrorKind};
use super::schema::{DictConfig, FilterSpec, HandlerSpec, LoggerSpec};
use crate::filter::{Filter, NameFilter};
use crate::format::Format;
use crate::handler::{
    FileHandler, Handler, LockedFileHandler, LockedRotatingFileHandler,
    LockedTimedRotatingFileHandler, MemoryHandler, NullHandler, RotatingFileHandler, StreamHandler,
    TimedRotatingFileHandler, WatchedFileHandler,
};
use crate::level::Level;
use crate::logger::{Logger, Manager};

/// What a configuration creates, before it is attached to loggers.
struct Built {
    filters: BTreeMap<String, Arc<dyn Filter>>,
    handlers: BTreeMap<String, Arc<dyn Handler>>,
}

/// Sets `delay`, `held_bytes` and the named groups of options on a file handler builder.
macro_rules! file_options {
    ($builder:expr, $a:expr $(, $opt:ident)*) => {{
        let b = $builder.delay($a.delay).held_bytes($a.held_bytes).encoding($a.encoding);
        $(let b = file_options!(@ $opt b, $a);)*
        b
    }};
    (@mode $b:ident, $a:expr) => { $b.mode($a.mode) };
    (@buffer $b:ident, $a:expr) => { $b.buffer($a.buffer) };
    (@size $b:ident, $a:expr) => {
        $b.max_bytes($a.max_bytes).backup_count($a.backup_count).gzip($a.gzip)
    };
    (@time $b:ident, $a:expr) => {
        $b.when($a.when).interval($a.interval).utc($a.utc).at_time($a.at_time)
    };
    (@lock $b:ident, $a:expr) => {
        match &$a.lock_path { Some(p) => $b.lock_path(p), None => $b }
    };
}

/// A registered factory's refusal, naming the class.
fn factory_error(class: &str, e: String) -> ErrorKind {
    ErrorKind::Build(format!("{class}: {e}"))
}

fn io_error(e: impl std::fmt::Display) -> ErrorKind {
    ErrorKind::Build(e.to_string())
}

fn memory(a: &Args) -> MemoryHandler {
    MemoryHandler::new(a.capacity, a.flush_level, None).flush_on_close(a.flush_on_close)
}

/// Creates the handler of `spec` (a MemoryHandler gets its target later).
fn create(spec: &HandlerSpec) -> Result<Arc<dyn Handler>, ErrorKind> {
    if let Some(c) = &spec.custom {
        return (c.factory)(&c.kwargs).map_err(|e| factory_error(&c.class, e));
    }
    let a: &Args = &spec.args;
    let path = a.filename.clone().unwrap_or_default();
    Ok(match spec.kind {
        Kind::Stream => {
            let h = match a.stream {
                Stream::Stdout => StreamHandler::stdout(),
                Stream::Stderr => StreamHandler::stderr(),
            }
            .held_bytes(a.held_bytes);
            Arc::new(match &a.terminator {
                Some(t) => h.terminator(t),
                None => h,
            })
        }
        Kind::File => Arc::new(
            file_options!(FileHandler::builder(&path), a, mode, buffer)
                .build()
                .map_err(io_error)?,
        ),
        Kind::Watched => Arc::new(
            file_options!(WatchedFileHandler::builder(&path), a, mode)
                .build()
                .map_err(io_error)?,
        ),
        Kind::Rotating => Arc::new(
            file_options!(RotatingFileHandler::builder(&path), a, mode, buffer, size)
                .build()
                .map_err(io_error)?,
        ),
        Kind::Timed => Arc::new(
            file_options!(
                TimedRotatingFileHandler::builder(&path),
                a,
                buffer,
                size,
                time
            )
            .build()
            .map_err(io_error)?,
        ),
        Kind::LockedFile => Arc::new(
            file_options!(LockedFileHandler::builder(&path), a, lock)
                .build()
                .map_err(io_error)?,
        ),
        Kind::LockedRotating => Arc::new(
            file_options!(LockedRotatingFileHandler::builder(&path), a, size, lock)
                .build()
                .map_err(io_error)?,
        ),
        Kind::LockedTimed => Arc::new(
            file_options!(
                LockedTimedRotatingFileHandler::builder(&path),
                a,
                size,
                time,
                lock
            )
            .build()
            .map_err(io_error)?,
        ),
        Kind::Memory => Arc::new(memory(a)),
        Kind::Null => Arc::new(NullHandler::new()),
        Kind::Socket | Kind::Datagram | Kind::SysLog | Kind::Smtp | Kind::Http => {
            super::network::create(a.network.as_ref())?
        }
    })
}

impl DictConfig {
    /// Creates every formatter, filter and handler; nothing is attached yet.
    fn create_all(&self) -> Result<Built, ConfigError> {
        let mut formatters: BTreeMap<&str, Arc<dyn Format>> = BTreeMap::new();
        for (name, spec) in &self.formatters {
            let at = || format!("formatters.{name}");
            let f: Arc<dyn Format> = match &spec.custom {
                Some(c) => (c.factory)(&c.kwargs)
                    .map_err(|e| ConfigError::new(at(), factory_error(&c.class, e)))?,
                None => Arc::new(spec.build().map_err(|e| ConfigError::new(at(), e.into()))?),
            };
            formatters.insert(name, f);
        }
        let mut filters: BTreeMap<String, Arc<dyn Filter>> = BTreeMap::new();
        for (name, spec) in &self.filters {
            let f: Arc<dyn Filter> = match spec {
                FilterSpec::Name(n) => Arc::new(NameFilter::new(n)),
                FilterSpec::Custom(c) => (c.factory)(&c.kwargs).map_err(|e| {
                    ConfigError::new(format!("filters.{name}"), factory_error(&c.class, e))
                })?,
            };
            filters.insert(name.clone(), f);
        }
        let mut handlers: BTreeMap<String, Arc<dyn Handler>> = BTreeMap::new();
        let mut targets: Vec<(Arc<MemoryHandler>, &str)> = Vec::new();
        for (name, spec) in &self.handlers {
            let h = match (&spec.args.target, spec.kind) {
                (Some(target), Kind::Memory) => {
                    let m = Arc::new(memory(&spec.args));
                    targets.push((m.clone(), target));
                    m
                }
                _ => create(spec).map_err(|kind| {
                    ConfigError::new(format!("handlers.{name}"), kind)
                        .context(|| format!("unable to configure handler '{name}'"))
                })?,
            };
            let base = h.base();
            base.set_name(name.clone());
            if let Some(level) = spec.level {
                base.set_level(level);
            }
            // References were checked when the configuration was read.
            if let Some(f) = spec.formatter.as_deref().and_then(|f| formatters.get(f)) {
                base.set_formatter(f.clone());
            }
            for f in spec.filters.iter().filter_map(|f| filters.get(f)) {
                base.add_filter(f.clone());
            }
            let in_listener = self.listener.as_ref().is_some_and(|l| l.for_listener);
            let h = super::listener::behind_queue(h, &spec.output, in_listener)
                .map_err(|e| ConfigError::new(format!("handlers.{name}"), io_error(e)))?;
            handlers.insert(name.clone(), h);
        }
        for (mem, target) in targets {
            mem.set_target(handlers.get(target).cloned());
        }
        Ok(Built { filters, handlers })
    }

    /// A fresh hierarchy configured by this configuration (what a listener reload swaps in).
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_json(r#"{"version": 1, "root": {"level": "DEBUG"}}"#).unwrap();
    /// assert_eq!(cfg.build().unwrap().root().level(), mplog::Level::DEBUG);
    /// ```
    pub fn build(&self) -> Result<Manager, ConfigError> {
        let manager = Manager::new();
        self.apply_to(&manager)?;
        Ok(manager)
    }

    /// A fresh hierarchy for a reload of a running one: `running`'s loggers are recreated
    /// first (level, `propagate`, disabled; not their handlers, which the reload closes), so
    /// that applying this configuration treats them as CPython's `dictConfig` treats the
    /// loggers that exist: with `disable_existing_loggers` (the default) those it does not
    /// name, nor are below one it names, are disabled; those below one it names are reset.
    /// mplog's own loggers (`mplog.*`) are not carried over: they start afresh, enabled.
    ///
    /// ```
    /// use mplog::config::DictConfig;
    /// let running = DictConfig::from_yaml("version: 1\nloggers: {app: {level: INFO}}\n").unwrap().build().unwrap();
    /// running.get_logger("app.db");
    /// running.get_logger("other");
    /// let next = DictConfig::from_yaml("version: 1\nloggers: {app: {level: DEBUG}}\n").unwrap();
    /// let m = next.build_replacing(&running).unwrap();
    /// assert!(m.get_logger("other").disabled());
    /// assert!(!m.get_logger("app.db").disabled());
    /// assert_eq!(m.get_logger("app").level(), mplog::Level::DEBUG);
    /// ```
    pub fn build_replacing(&self, running: &Manager) -> Result<Manager, ConfigError> {
        let manager = Manager::new();
        for old in running.loggers() {
            // mplog's own loggers (`mplog.listener`) are not the configuration's to disable.
            if old.is_root() || old.name() == "mplog" || old.name().starts_with("mplog.") {
                continue;
            }
            let new = manager.get_logger(old.name());
            new.set_level(old.level());
            new.set_propagate(old.propagate());
            new.set_disabled(old.disabled());
        }
        self.apply_to(&manager)?;
        Ok(manager)
    }

    /// Applies this configuration to `manager` (Python's `dictConfig`), whole or not at all.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let old = m.get_logger("old");
    /// let cfg = mplog::config::DictConfig::from_yaml("version: 1\nloggers: {app: {level: INFO}}\n").unwrap();
    /// cfg.apply_to(&m).unwrap();
    /// assert!(old.disabled()); // disable_existing_loggers defaults to true
    /// assert_eq!(m.get_logger("app").level(), mplog::Level::INFO);
    /// ```
    pub fn apply_to(&self, manager: &Manager) -> Result<(), ConfigError> {
        if self.incremental {
            return self.apply_incremental(manager);
        }
        let built = self.create_all()?;
        // From here on nothing fails.
        let old = manager.handlers();
        // Sorted (`loggers()` is): the children of a name are one range, found by binary
        // search, so this costs O(n log n), not configured x existing.
        let existing: Vec<String> = manager
            .loggers()
            .iter()
            .map(|l| l.name().to_owned())
            .collect();
        let mut children: BTreeSet<&str> = BTreeSet::new();
        for (name, spec) in &self.loggers {
            let prefix = format!("{name}.");
            let from = existing.partition_point(|e| e.as_str() < prefix.as_str());
            let below = existing[from..]
                .iter()
                .take_while(|e| e.starts_with(&prefix));
            children.extend(below.map(String::as_str));
            let logger = manager.get_logger(name);
            configure_logger(&logger, spec, &built);
            logger.set_disabled(false);
        }
        for name in existing
            .iter()
            .filter(|e| !self.loggers.contains_key(e.as_str()))
        {
            let logger = manager.get_logger(name);
            if children.contains(name.as_str()) {
                logger.set_level(Level::NOTSET);
                logger.clear_handlers();
                logger.set_propagate(true);
            } else {
                logger.set_disabled(self.disable_existing_loggers);
            }
        }
        if let Some(root) = &self.root {
            configure_logger(&manager.root(), root, &built);
        }
        for h in old {
            let _ = h.flush();
            h.close();
        }
        Ok(())
    }

    fn apply_incremental(&self, manager: &Manager) -> Result<(), ConfigError> {
        let mut changes: Vec<(Arc<dyn Handler>, Level)> = Vec::new();
        for (name, level) in &self.handler_levels {
            let found = manager.handler_by_name(name).ok_or_else(|| {
                ConfigError::new(
                    format!("handlers.{name}"),
                    ErrorKind::Undefined {
                        what: "handler",
                        name: name.clone(),
                    },
                )
                .context(|| "no handler of this name in the running configuration".into())
            })?;
            // Python: `if level:` (the number 0 and no level change nothing; the string
            // "NOTSET" does, and was read as a level).
            if let Some(level) = level {
                changes.push((found, *level));
            }
        }
        for (h, level) in changes {
            h.base().set_level(level);
        }
        for (name, spec) in &self.loggers {
            let logger = manager.get_logger(name);
            set_level_and_propagate(&logger, spec);
            logger.set_disabled(false);
        }
        if let Some(root) = &self.root {
            set_level_and_propagate(&manager.root(), root);
        }
        Ok(())
    }
}

fn set_level_and_propagate(logger: &Logger, spec: &LoggerSpec) {
    if let Some(level) = spec.level {
        logger.set_level(level);
    }
    if let (Some(p), false) = (spec.propagate, logger.is_root()) {
        logger.set_propagate(p);
    }
}

/// CPython's `common_logger_config` (non-incremental) plus `propagate`. Unlike CPython, the
/// logger's filters are replaced rather than added to, so applying a file twice does not
/// filter twice.
fn configure_logger(logger: &Logger, spec: &LoggerSpec, built: &Built) {
    set_level_and_propagate(logger, spec);
    logger.clear_handlers();
    for h in spec.handlers.iter().flatten() {
        if let Some(h) = built.handlers.get(h) {
            logger.add_handler(h.clone());
        }
    }
    logger.filters().clear();
    for f in spec.filters.iter().flatten() {
        if let Some(f) = built.filters.get(f) {
            logger.add_filter(f.clone());
        }
    }
}
