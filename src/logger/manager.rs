//! [`Manager`]: one logger hierarchy (Python's `logging.Manager`).
//!
//! Names are dotted; `a.b.c`'s parent is the nearest existing ancestor, else the root. Creating
//! `a.b.c` before `a.b` leaves a *placeholder* at `a.b` (and `a`) that remembers `a.b.c`; when
//! `a.b` is created later it takes `a.b.c` as its child (CPython's `_fixupParents` and
//! `_fixupChildren`).
//!
//! Python caches `isEnabledFor` per logger and clears every cache when a level or `disable`
//! changes. Here the cache is computed eagerly instead: each logger holds its *threshold* (the
//! lowest enabled level, `max(effective level, disable + 1)`, or "never" when disabled) and its
//! *handler chain* (the handlers a record of it goes to), and a change to a logger recomputes
//! that logger and its descendants under the registry lock (see [`hierarchy`](super::hierarchy):
//! creating a logger costs the depth of its name, a change the size of the subtree it affects).
//! Checks happen on every log call and cost one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use super::hierarchy::Registry;
use super::{Logger, LoggerInner};
use crate::handler::{Handler, StreamHandler};
use crate::level::Level;

type LevelHook = Arc<dyn Fn(Level) + Send + Sync>;

pub(crate) struct Shared {
    root: Arc<LoggerInner>,
    registry: RwLock<Registry>,
    disable: AtomicU32,
    last_resort: RwLock<Option<Arc<dyn Handler>>>,
    emitted_no_handler_warning: AtomicBool,
    /// Told the lowest enabled level after every recompute (the `log` bridge keeps
    /// `log::max_level` in step with it).
    level_hook: RwLock<Option<LevelHook>>,
    /// Bumped by every recompute (any level, handler, `propagate` or `disabled` change), so a
    /// cache of the hierarchy's handlers knows when to look again. Not by a new logger: it
    /// has no handler, and changes nothing another logger answers.
    generation: AtomicU64,
}

/// A logger hierarchy. Cloning gives another handle to the same hierarchy.
///
/// The process-wide default hierarchy is behind [`crate::get_logger`]; a listener or a test
/// owns its own with `Manager::new()`.
///
/// ```
/// use mplog::{Level, Manager};
/// let m = Manager::new();
/// let db = m.get_logger("app.db");
/// m.get_logger("app").set_level(Level::DEBUG);
/// assert_eq!(db.effective_level(), Level::DEBUG);
/// assert_eq!(db.parent().unwrap().name(), "app");
/// assert!(m.root().is_root());
/// ```
#[derive(Clone)]
pub struct Manager {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("loggers", &self.shared.registry.read().len())
            .field("disable", &self.disable_level())
            .finish()
    }
}

/// Two handles are equal when they are handles to the same hierarchy.
impl PartialEq for Manager {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Manager {}

impl Default for Manager {
    fn default() -> Self {
        Manager::new()
    }
}

/// The last-resort handler Python installs: stderr, level WARNING, message only.
fn default_last_resort() -> Arc<dyn Handler> {
    let h = StreamHandler::stderr();
    crate::handler::Handler::base(&h).set_level(Level::WARNING);
    Arc::new(h)
}

impl Manager {
    /// A new hierarchy: a root logger at WARNING, nothing disabled, the default last resort.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.root().level(), mplog::Level::WARNING);
    /// assert!(m.loggers().is_empty() && m.last_resort().is_some());
    /// ```
    pub fn new() -> Manager {
        let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
            let root = Arc::new(LoggerInner::new(
                Arc::from("root"),
                Level::WARNING,
                weak.clone(),
            ));
            Shared {
                root: root.clone(),
                registry: RwLock::new(Registry::new(root)),
                disable: AtomicU32::new(0),
                last_resort: RwLock::new(Some(default_last_resort())),
                emitted_no_handler_warning: AtomicBool::new(false),
                level_hook: RwLock::new(None),
                generation: AtomicU64::new(0),
            }
        });
        let manager = Manager { shared };
        manager.recompute();
        manager
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Manager {
        Manager { shared }
    }

    /// The root logger.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert!(m.root().is_root());
    /// assert_eq!(m.root(), m.get_logger("root"));
    /// ```
    pub fn root(&self) -> Logger {
        Logger(self.shared.root.clone())
    }

    /// The logger called `name`, created if needed; `""` and `"root"` give the root.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.get_logger("app"), m.get_logger("app")); // the same logger each time
    /// assert_eq!(m.get_logger(""), m.root());
    /// ```
    pub fn get_logger(&self, name: &str) -> Logger {
        if name.is_empty() || name == "root" {
            return self.root();
        }
        if let Some(l) = self.shared.registry.read().logger(name) {
            return Logger(l.clone());
        }
        let mut registry = self.shared.registry.write();
        let lowest = registry.lowest_threshold();
        let disable = self.shared.disable.load(Ordering::Relaxed);
        let logger = registry.get_or_insert(name, disable, |name| {
            Arc::new(LoggerInner::new(
                name,
                Level::NOTSET,
                Arc::downgrade(&self.shared),
            ))
        });
        if registry.lowest_threshold() != lowest {
            self.tell_level_hook(&registry);
        }
        Logger(logger)
    }

    /// The logger called `name` if it was created (`""` and `"root"`: the root), without
    /// creating it (Python's `manager.loggerDict.get`, placeholders excluded).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// m.get_logger("app.db");
    /// assert!(m.existing_logger("app.db").is_some());
    /// assert!(m.existing_logger("app").is_none()); // only a placeholder
    /// ```
    pub fn existing_logger(&self, name: &str) -> Option<Logger> {
        if name.is_empty() || name == "root" {
            return Some(self.root());
        }
        self.shared
            .registry
            .read()
            .logger(name)
            .cloned()
            .map(Logger)
    }

    /// The nearest created ancestor of `name` (by its dotted prefixes; else the root), without
    /// creating anything: O(depth of the name).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let app = m.get_logger("app");
    /// assert_eq!(m.nearest_ancestor("app.db.pool"), app);
    /// assert!(m.nearest_ancestor("other.x").is_root());
    /// ```
    pub fn nearest_ancestor(&self, name: &str) -> Logger {
        let registry = self.shared.registry.read();
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            if let Some(l) = registry.logger(&name[..dot]) {
                return Logger(l.clone());
            }
            end = dot;
        }
        drop(registry);
        self.root()
    }

    /// The global `disable` level: records at or below it are dropped everywhere.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// m.disable(mplog::Level::INFO);
    /// assert!(!m.get_logger("x").is_enabled_for(mplog::Level::INFO));
    /// assert!(m.root().is_enabled_for(mplog::Level::WARNING));
    /// m.disable(mplog::Level::NOTSET);
    /// ```
    pub fn disable(&self, level: Level) {
        self.shared.disable.store(level.as_u32(), Ordering::Relaxed);
        self.recompute();
    }

    /// The current `disable` level.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(m.disable_level(), mplog::Level::NOTSET);
    /// m.disable(mplog::Level::INFO);
    /// assert_eq!(m.disable_level(), mplog::Level::INFO);
    /// ```
    pub fn disable_level(&self) -> Level {
        Level::new(self.shared.disable.load(Ordering::Relaxed))
    }

    /// Replaces the last-resort handler (`None` turns it off: then a once-only
    /// `No handlers could be found for logger "NAME"` goes to stderr instead).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::MemoryHandler, Level};
    /// let m = mplog::Manager::new();
    /// let memory = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// m.set_last_resort(Some(memory.clone()));
    /// m.get_logger("app").log(Level::ERROR, "no handler anywhere");
    /// assert_eq!(memory.buffered(), 1);
    /// ```
    pub fn set_last_resort(&self, handler: Option<Arc<dyn Handler>>) {
        *self.shared.last_resort.write() = handler;
    }

    /// The last-resort handler.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// // Python's default: stderr, WARNING and above.
    /// assert_eq!(m.last_resort().unwrap().level(), mplog::Level::WARNING);
    /// m.set_last_resort(None);
    /// assert!(m.last_resort().is_none());
    /// ```
    pub fn last_resort(&self) -> Option<Arc<dyn Handler>> {
        self.shared.last_resort.read().clone()
    }

    /// Whether the "No handlers could be found" message was printed.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// m.set_last_resort(None);
    /// assert!(!m.emitted_no_handler_warning());
    /// m.root().log(mplog::Level::ERROR, "dropped"); // prints the warning to stderr, once
    /// assert!(m.emitted_no_handler_warning());
    /// ```
    pub fn emitted_no_handler_warning(&self) -> bool {
        self.shared
            .emitted_no_handler_warning
            .load(Ordering::Relaxed)
    }

    pub(crate) fn no_handlers(
        &self,
        logger: &str,
        level: Level,
        handle: impl FnOnce(&dyn Handler),
    ) {
        match &*self.shared.last_resort.read() {
            Some(h) => {
                if level >= h.level() {
                    handle(h.as_ref());
                }
            }
            None => {
                if !self
                    .shared
                    .emitted_no_handler_warning
                    .swap(true, Ordering::Relaxed)
                {
                    eprintln!("No handlers could be found for logger \"{logger}\"");
                }
            }
        }
    }

    /// Every logger created so far (not placeholders), root excluded, in name order.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// m.get_logger("b");
    /// m.get_logger("a.x"); // "a" is only a placeholder
    /// let names: Vec<String> = m.loggers().iter().map(|l| l.name().to_string()).collect();
    /// assert_eq!(names, ["a.x", "b"]);
    /// ```
    pub fn loggers(&self) -> Vec<Logger> {
        let registry = self.shared.registry.read();
        let mut out: Vec<Logger> = registry.loggers().map(|l| Logger(l.clone())).collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        out
    }

    /// A number that changes whenever the hierarchy's answers change (a level, a handler,
    /// `propagate`, `disabled`, `disable`; not a new logger, which changes none): caches of [`handlers`](Manager::handlers) compare it to know when they
    /// are stale.
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// let before = m.generation();
    /// m.root().add_handler(std::sync::Arc::new(mplog::handler::NullHandler::new()));
    /// assert_ne!(m.generation(), before);
    /// ```
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Every handler attached to a logger of this hierarchy, each once (root's first).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// let h: Arc<dyn mplog::Handler> = Arc::new(mplog::handler::NullHandler::new());
    /// m.root().add_handler(h.clone());
    /// m.get_logger("a").add_handler(h);
    /// assert_eq!(m.handlers().len(), 1);
    /// ```
    pub fn handlers(&self) -> Vec<Arc<dyn Handler>> {
        let mut seen: Vec<Arc<dyn Handler>> = Vec::new();
        for logger in std::iter::once(self.root()).chain(self.loggers()) {
            for h in logger.handlers() {
                if !seen.iter().any(|s| Arc::ptr_eq(s, &h)) {
                    seen.push(h);
                }
            }
        }
        seen
    }

    /// The handler named `name` among [`handlers`](Manager::handlers) (Python 3.12's
    /// `logging.getHandlerByName`). Unlike Python, which looks in every named handler ever
    /// made, only handlers attached to a logger of this hierarchy are found; when several
    /// share the name, the first in `handlers` order (root's first).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, NullHandler};
    /// let m = mplog::Manager::new();
    /// let h: Arc<dyn Handler> = Arc::new(NullHandler::new());
    /// h.base().set_name("audit");
    /// m.get_logger("app").add_handler(h.clone());
    /// let found = m.handler_by_name("audit").unwrap();
    /// assert!(Arc::ptr_eq(&found, &h));
    /// assert!(m.handler_by_name("console").is_none());
    /// ```
    pub fn handler_by_name(&self, name: &str) -> Option<Arc<dyn Handler>> {
        self.handlers()
            .into_iter()
            .find(|h| h.base().name().as_deref() == Some(name))
    }

    /// The names of the named handlers among [`handlers`](Manager::handlers), sorted, each
    /// once (Python 3.12's `logging.getHandlerNames`, which returns a set).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, NullHandler};
    /// let m = mplog::Manager::new();
    /// for name in ["file", "console"] {
    ///     let h: Arc<dyn Handler> = Arc::new(NullHandler::new());
    ///     h.base().set_name(name);
    ///     m.root().add_handler(h);
    /// }
    /// m.root().add_handler(Arc::new(NullHandler::new())); // unnamed: not listed
    /// assert_eq!(m.handler_names(), ["console", "file"]);
    /// ```
    pub fn handler_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .handlers()
            .iter()
            .filter_map(|h| h.base().name())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Flushes and closes every handler of every logger, each once (Python's
    /// `logging.shutdown`). Loggers keep their handlers; handlers reopen or drop quietly if
    /// used afterwards.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::FileHandler, Level};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.log");
    /// let m = mplog::Manager::new();
    /// m.root().add_handler(Arc::new(FileHandler::builder(&path).buffer(64 * 1024).build().unwrap()));
    /// m.root().log(Level::ERROR, "buffered");
    /// m.shutdown(); // flushed and closed
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "buffered\n");
    /// ```
    pub fn shutdown(&self) {
        for h in self.handlers() {
            let _ = h.flush();
            h.close();
        }
    }

    /// Sets a hook told the lowest enabled level whenever levels change (used by the `log`
    /// bridge), and calls it once now.
    ///
    /// ```
    /// use std::sync::{atomic::{AtomicU32, Ordering}, Arc};
    /// let m = mplog::Manager::new();
    /// let lowest = Arc::new(AtomicU32::new(0));
    /// let seen = lowest.clone();
    /// m.set_level_hook(Some(Arc::new(move |l: mplog::Level| seen.store(l.as_u32(), Ordering::Relaxed))));
    /// assert_eq!(lowest.load(Ordering::Relaxed), 30); // WARNING, told at once
    /// m.get_logger("app").set_level(mplog::Level::DEBUG);
    /// assert_eq!(lowest.load(Ordering::Relaxed), 10);
    /// ```
    pub fn set_level_hook(&self, hook: Option<LevelHook>) {
        *self.shared.level_hook.write() = hook;
        self.recompute();
    }

    /// Recomputes every logger's threshold and handler chain (after a `disable` change, or a
    /// new level hook). Watchers (see [`watch`](super::watch)) are told afterwards, with no
    /// lock held.
    pub(crate) fn recompute(&self) {
        let root = self.shared.root.clone();
        self.recompute_from(&root);
    }

    /// Recomputes `logger`'s threshold and handler chain and those of every logger below it
    /// (after a change to its level, handlers, `propagate` or `disabled`), then tells the
    /// watchers, with no lock held.
    pub(crate) fn recompute_from(&self, logger: &Arc<LoggerInner>) {
        // The write lock serialises recomputes, so the last one sees every change.
        let mut registry = self.shared.registry.write();
        self.shared.generation.fetch_add(1, Ordering::Release);
        let disable = self.shared.disable.load(Ordering::Relaxed);
        registry.recompute(logger, disable);
        self.tell_level_hook(&registry);
        drop(registry);
        super::notify(&super::Change::Levels(self));
    }

    fn tell_level_hook(&self, registry: &Registry) {
        if let Some(hook) = &*self.shared.level_hook.read() {
            hook(Level::new(registry.lowest_threshold()));
        }
    }

    /// The lowest effective level of any logger, disabled ones included (the `tracing`
    /// layer's max level, before `disable` applies). O(log n).
    pub(crate) fn lowest_effective_level(&self) -> Level {
        Level::new(self.shared.registry.read().lowest_effective())
    }
}

/// The first level other than NOTSET up the parent chain (NOTSET if none).
pub(crate) fn effective_level(logger: &LoggerInner) -> Level {
    let own = Level::new(logger.level.load(Ordering::Relaxed));
    if own != Level::NOTSET {
        return own;
    }
    let mut current = logger.parent.load_full();
    while let Some(l) = current {
        let level = Level::new(l.level.load(Ordering::Relaxed));
        if level != Level::NOTSET {
            return level;
        }
        current = l.parent.load_full();
    }
    Level::NOTSET
}
