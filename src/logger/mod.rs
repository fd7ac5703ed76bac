//! Loggers: named, hierarchical entry points for records (Python's `Logger`).
//!
//! A [`Logger`] is a cheap handle (an `Arc`) to one node of a [`Manager`]'s hierarchy. It has a
//! level (NOTSET defers to the parent), handlers, filters, a `propagate` flag and a `disabled`
//! flag. [`Logger::is_enabled_for`] is one relaxed atomic load; the logging macros call it before
//! building anything.
//!
//! Handling follows CPython's `Logger.handle` and `callHandlers`: a disabled logger drops the
//! record; the logger's filters run (and may replace it); then the handlers of this logger and
//! its ancestors are called, each only if the record's level reaches the handler's, until a
//! logger with `propagate = false`. When no handler was found at all, the manager's last-resort
//! handler takes the record. [`Logger::handle`] does not check the logger's level: that is what
//! a queue listener needs to apply its own configuration to records made elsewhere.

mod hierarchy;
mod manager;
mod watch;

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};

use arc_swap::{ArcSwap, ArcSwapOption};

pub use self::manager::Manager;
pub(crate) use self::watch::notify;
pub use self::watch::{watch, Change, Watch};
use crate::filter::{Filter, Filters};
use crate::handler::Handler;
use crate::level::Level;
use crate::record::{Location, Record};

pub(crate) struct LoggerInner {
    pub(crate) name: Arc<str>,
    pub(crate) level: AtomicU32,
    /// The effective level, as of the last recompute (see `hierarchy`).
    pub(crate) effective: AtomicU32,
    /// The lowest enabled level number (see `hierarchy`), `u32::MAX` when disabled.
    pub(crate) threshold: AtomicU32,
    pub(crate) parent: ArcSwapOption<LoggerInner>,
    pub(crate) propagate: AtomicBool,
    pub(crate) disabled: AtomicBool,
    handlers: ArcSwap<Vec<Arc<dyn Handler>>>,
    /// Every handler a record of this logger goes to, in order: its own, then its
    /// ancestors' up to the first that does not propagate. Kept by the manager's recompute
    /// (see `manager`), so a log call loads one list instead of walking the parents.
    pub(crate) chain: ArcSwap<Vec<Arc<dyn Handler>>>,
    filters: Filters,
    manager: Weak<manager::Shared>,
}

impl LoggerInner {
    fn new(name: Arc<str>, level: Level, manager: Weak<manager::Shared>) -> LoggerInner {
        LoggerInner {
            name,
            level: AtomicU32::new(level.as_u32()),
            effective: AtomicU32::new(level.as_u32()),
            threshold: AtomicU32::new(u32::MAX),
            parent: ArcSwapOption::empty(),
            propagate: AtomicBool::new(true),
            disabled: AtomicBool::new(false),
            handlers: ArcSwap::from_pointee(Vec::new()),
            chain: ArcSwap::from_pointee(Vec::new()),
            filters: Filters::default(),
            manager,
        }
    }
}

/// A handle to one logger of a hierarchy.
///
/// ```
/// use mplog::{Level, Manager};
/// let m = Manager::new();
/// let log = m.get_logger("app.http");
/// assert!(!log.is_enabled_for(Level::INFO)); // root is at WARNING
/// log.set_level(Level::INFO);
/// assert!(log.is_enabled_for(Level::INFO));
/// mplog::info!(log, "listening on {}", 8080);
/// ```
#[derive(Clone)]
pub struct Logger(pub(crate) Arc<LoggerInner>);

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("name", &self.name())
            .field("level", &self.level())
            .finish()
    }
}

impl PartialEq for Logger {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Logger {
    /// The dotted name (`"root"` for the root).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.get_logger("app.db").name(), "app.db");
    /// assert_eq!(m.root().name(), "root");
    /// ```
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether this is the root logger.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert!(m.get_logger("").is_root());
    /// assert!(!m.get_logger("app").is_root());
    /// ```
    pub fn is_root(&self) -> bool {
        self.0.parent.load().is_none()
    }

    /// The manager this logger belongs to (`None` once the manager is gone).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let log = m.get_logger("app");
    /// assert_eq!(log.manager().unwrap().get_logger("app"), log);
    /// ```
    pub fn manager(&self) -> Option<Manager> {
        self.0.manager.upgrade().map(Manager::from_shared)
    }

    fn recompute(&self) {
        match self.manager() {
            Some(m) => m.recompute_from(&self.0),
            // No hierarchy left to update: at least this logger's own list is right.
            None => hierarchy::update_chain(&self.0, &mut Vec::new()),
        }
    }

    /// The level set on this logger (NOTSET: defer to the parent).
    ///
    /// ```
    /// use mplog::Level;
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.get_logger("app").level(), Level::NOTSET); // defers to the parent
    /// assert_eq!(m.root().level(), Level::WARNING);
    /// ```
    pub fn level(&self) -> Level {
        Level::new(self.0.level.load(Ordering::Relaxed))
    }

    /// Sets the level; the enabled check of this logger and every logger below it is updated
    /// before this returns (a walk of that subtree, not of every logger).
    ///
    /// ```
    /// use mplog::Level;
    /// let m = mplog::Manager::new();
    /// let (app, db) = (m.get_logger("app"), m.get_logger("app.db"));
    /// app.set_level(Level::DEBUG);
    /// assert_eq!(app.level(), Level::DEBUG);
    /// assert!(db.is_enabled_for(Level::DEBUG)); // the child follows at once
    /// ```
    pub fn set_level(&self, level: Level) {
        self.0.level.store(level.as_u32(), Ordering::Relaxed);
        self.recompute();
    }

    /// The first level set up the chain (Python's `getEffectiveLevel`).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.get_logger("a.b").effective_level(), mplog::Level::WARNING);
    /// ```
    pub fn effective_level(&self) -> Level {
        manager::effective_level(&self.0)
    }

    /// Whether a record at `level` would be made: above the global `disable`, at or above the
    /// effective level, and the logger not disabled. One relaxed atomic load.
    ///
    /// ```
    /// use mplog::Level;
    /// let m = mplog::Manager::new();
    /// let log = m.get_logger("app");
    /// assert!(log.is_enabled_for(Level::WARNING) && !log.is_enabled_for(Level::INFO));
    /// log.set_disabled(true);
    /// assert!(!log.is_enabled_for(Level::CRITICAL));
    /// ```
    #[inline]
    pub fn is_enabled_for(&self, level: Level) -> bool {
        level.as_u32() >= self.0.threshold.load(Ordering::Relaxed)
    }

    /// The parent (`None` for the root).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let db = m.get_logger("app.db"); // no "app" yet: the parent is the root
    /// assert!(db.parent().unwrap().is_root());
    /// let app = m.get_logger("app");
    /// assert_eq!(db.parent(), Some(app));
    /// assert_eq!(m.root().parent(), None);
    /// ```
    pub fn parent(&self) -> Option<Logger> {
        self.0.parent.load_full().map(Logger)
    }

    /// The logger `self.name + "." + suffix` (Python's `getChild`).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.get_logger("a").get_child("b.c").name(), "a.b.c");
    /// assert_eq!(m.root().get_child("x").name(), "x");
    /// ```
    pub fn get_child(&self, suffix: &str) -> Logger {
        let Some(m) = self.manager() else {
            return self.clone();
        };
        if self.is_root() {
            m.get_logger(suffix)
        } else {
            m.get_logger(&format!("{}.{suffix}", self.name()))
        }
    }

    /// Whether records go on to the parent's handlers (default true).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert!(m.get_logger("app").propagate());
    /// ```
    pub fn propagate(&self) -> bool {
        self.0.propagate.load(Ordering::Relaxed)
    }

    /// Sets `propagate`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// m.root().add_handler(Arc::new(mplog::handler::NullHandler::new()));
    /// let audit = m.get_logger("audit");
    /// assert!(audit.has_handlers());
    /// audit.set_propagate(false); // the root's handlers no longer see "audit"
    /// assert!(!audit.propagate() && !audit.has_handlers());
    /// ```
    pub fn set_propagate(&self, propagate: bool) {
        self.0.propagate.store(propagate, Ordering::Relaxed);
        self.recompute();
    }

    /// Whether the logger is disabled (drops everything; configuration sets this).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert!(!m.get_logger("app").disabled());
    /// ```
    pub fn disabled(&self) -> bool {
        self.0.disabled.load(Ordering::Relaxed)
    }

    /// Disables or enables the logger.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let noisy = m.get_logger("noisy");
    /// noisy.set_disabled(true);
    /// assert!(noisy.disabled() && !noisy.is_enabled_for(mplog::Level::CRITICAL));
    /// noisy.set_disabled(false);
    /// assert!(noisy.is_enabled_for(mplog::Level::CRITICAL));
    /// ```
    pub fn set_disabled(&self, disabled: bool) {
        self.0.disabled.store(disabled, Ordering::Relaxed);
        self.recompute();
    }

    /// Adds a handler (once: adding the same handler again does nothing, as in Python).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::MemoryHandler;
    /// use mplog::Level;
    /// let m = mplog::Manager::new();
    /// let memory = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// m.get_logger("app").add_handler(memory.clone());
    /// m.get_logger("app.db").log(Level::ERROR, "reaches the parent's handler");
    /// assert_eq!(memory.buffered(), 1);
    /// ```
    pub fn add_handler(&self, handler: Arc<dyn Handler>) {
        self.0.handlers.rcu(|old| {
            let mut list = Vec::clone(old);
            if !list.iter().any(|h| Arc::ptr_eq(h, &handler)) {
                list.push(handler.clone());
            }
            list
        });
        self.recompute();
    }

    /// Removes a handler (compared by identity).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// let h: Arc<dyn mplog::Handler> = Arc::new(mplog::handler::NullHandler::new());
    /// m.root().add_handler(h.clone());
    /// m.root().remove_handler(&h);
    /// assert!(m.root().handlers().is_empty());
    /// ```
    pub fn remove_handler(&self, handler: &Arc<dyn Handler>) {
        self.0.handlers.rcu(|old| {
            let mut list = Vec::clone(old);
            list.retain(|h| !Arc::ptr_eq(h, handler));
            list
        });
        self.recompute();
    }

    /// Removes every handler and returns them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// m.root().add_handler(Arc::new(mplog::handler::NullHandler::new()));
    /// let removed = m.root().clear_handlers();
    /// assert_eq!(removed.len(), 1);
    /// assert!(!m.root().has_handlers());
    /// ```
    pub fn clear_handlers(&self) -> Vec<Arc<dyn Handler>> {
        let old = Vec::clone(&self.0.handlers.swap(Arc::new(Vec::new())));
        self.recompute();
        old
    }

    /// This logger's own handlers.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// let h: Arc<dyn mplog::Handler> = Arc::new(mplog::handler::NullHandler::new());
    /// m.root().add_handler(h.clone());
    /// m.root().add_handler(h.clone()); // added once, as in Python
    /// assert_eq!(m.root().handlers().len(), 1);
    /// assert!(m.get_logger("app").handlers().is_empty()); // own handlers only
    /// ```
    pub fn handlers(&self) -> Vec<Arc<dyn Handler>> {
        Vec::clone(&self.0.handlers.load())
    }

    /// Whether this logger or an ancestor it propagates to has a handler (Python's
    /// `hasHandlers`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// assert!(!m.get_logger("app").has_handlers());
    /// m.root().add_handler(Arc::new(mplog::handler::NullHandler::new()));
    /// assert!(m.get_logger("app").has_handlers()); // through the root
    /// ```
    pub fn has_handlers(&self) -> bool {
        // The chain holds exactly the handlers of this logger and the ancestors it reaches.
        !self.0.chain.load().is_empty()
    }

    /// The logger's filters.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let log = m.get_logger("app");
    /// assert!(log.filters().is_empty());
    /// log.add_filter(mplog::filter::from_fn(|r| r.level >= mplog::Level::ERROR));
    /// assert!(!log.filters().is_empty());
    /// ```
    pub fn filters(&self) -> &Filters {
        &self.0.filters
    }

    /// Adds a filter.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::MemoryHandler, Level};
    /// let m = mplog::Manager::new();
    /// let memory = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// let log = m.get_logger("http");
    /// log.add_handler(memory.clone());
    /// log.add_filter(mplog::filter::from_fn(|r| !r.message.contains("/health")));
    /// log.log(Level::WARNING, "GET /health slow");
    /// log.log(Level::WARNING, "GET /api slow");
    /// assert_eq!(memory.buffered(), 1);
    /// ```
    pub fn add_filter(&self, filter: Arc<dyn Filter>) {
        self.0.filters.add(filter);
    }

    /// Removes a filter.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let log = m.get_logger("app");
    /// let f = mplog::filter::from_fn(|_| false);
    /// log.add_filter(f.clone());
    /// log.remove_filter(&f);
    /// assert!(log.filters().is_empty());
    /// ```
    pub fn remove_filter(&self, filter: &Arc<dyn Filter>) {
        self.0.filters.remove(filter);
    }

    /// Logs `message` at `level` if enabled (no location; the macros record one).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// m.root().log(mplog::Level::ERROR, "plain call");
    /// ```
    pub fn log(&self, level: Level, message: impl Into<Cow<'static, str>>) {
        if self.is_enabled_for(level) {
            self.handle(&Record::with_name(
                self.0.name.clone(),
                level,
                message.into(),
                None,
            ));
        }
    }

    /// Makes a record for this logger (used by the macros after the enabled check).
    #[doc(hidden)]
    pub fn make_record(
        &self,
        level: Level,
        message: Cow<'static, str>,
        location: &Location,
    ) -> Record {
        Record::with_name(self.0.name.clone(), level, message, Some(location))
    }

    /// Passes `record` to the handlers (Python's `Logger.handle`): no level check, but a
    /// disabled logger drops it and the logger's filters apply.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::MemoryHandler, Level, Record};
    /// let m = mplog::Manager::new();
    /// let memory = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// m.root().add_handler(memory.clone());
    /// // Below the logger's level (WARNING), yet handled: `handle` does not check it.
    /// m.get_logger("job").handle(&Record::new("job", Level::DEBUG, "made elsewhere"));
    /// assert_eq!(memory.buffered(), 1);
    /// ```
    pub fn handle(&self, record: &Record) {
        if self.disabled() {
            return;
        }
        // No filters (the usual case): no `Cow` of the record to build and move.
        if self.0.filters.is_empty() {
            self.call_handlers(record);
            return;
        }
        let Some(record) = self.0.filters.apply(record) else {
            return;
        };
        self.call_handlers(&record);
    }

    /// CPython's `callHandlers`.
    fn call_handlers(&self, record: &Record) {
        let chain = self.0.chain.load();
        for h in chain.iter() {
            if record.level >= h.level() {
                h.handle(record);
            }
        }
        let found = !chain.is_empty();
        if !found {
            if let Some(m) = self.manager() {
                m.no_handlers(self.name(), record.level, |h| {
                    h.handle(record);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
