//! [`Manager`]: one logger hierarchy (Python's `logging.Manager`).
//!
//! Names are dotted; `a.b.c`'s parent is the nearest existing ancestor, else the root. Creating
//! `a.b.c` before `a.b` leaves a *placeholder* at `a.b` (and `a`) that remembers `a.b.c`; when
//! `a.b` is created later it takes `a.b.c` as its child (CPython's `_fixupParents` and
//! `_fixupChildren`).
//!
//! Python caches `isEnabledFor` per logger and clears every cache when a level or `disable`
//! changes. Here the cache is computed eagerly instead: each logger holds its *threshold* (the
//! lowest enabled level, `max(effective level, disable + 1)`, or "never" when disabled), and any
//! change to a level, a parent or `disable` recomputes every threshold under the registry lock.
//! Changes are rare; checks happen on every log call and cost one relaxed atomic load.
//!
//! The same recompute keeps each logger's *handler chain*: the handlers a record of it goes
//! to (its own, then its ancestors' up to the first that does not propagate), so handling a
//! record loads one list instead of walking the parents. Adding or removing a handler and
//! changing `propagate` recompute too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use super::{Logger, LoggerInner};
use crate::handler::{Handler, StreamHandler};
use crate::level::Level;

enum Node {
    Logger(Arc<LoggerInner>),
    /// Loggers created below a name that has no logger yet.
    Placeholder(Vec<Arc<LoggerInner>>),
}

type LevelHook = Arc<dyn Fn(Level) + Send + Sync>;

pub(crate) struct Shared {
    root: Arc<LoggerInner>,
    registry: RwLock<HashMap<Arc<str>, Node>>,
    disable: AtomicU32,
    last_resort: RwLock<Option<Arc<dyn Handler>>>,
    emitted_no_handler_warning: AtomicBool,
    /// Told the lowest enabled level after every recompute (the `log` bridge keeps
    /// `log::max_level` in step with it).
    level_hook: RwLock<Option<LevelHook>>,
    /// Bumped by every recompute (any level, handler, `propagate` or parent change), so a
    /// cache of the hierarchy's handlers knows when to look again.
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
        let shared = Arc::new_cyclic(|weak: &Weak<Shared>| Shared {
            root: Arc::new(LoggerInner::new(
                Arc::from("root"),
                Level::WARNING,
                weak.clone(),
            )),
            registry: RwLock::new(HashMap::new()),
            disable: AtomicU32::new(0),
            last_resort: RwLock::new(Some(default_last_resort())),
            emitted_no_handler_warning: AtomicBool::new(false),
            level_hook: RwLock::new(None),
            generation: AtomicU64::new(0),
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
        if let Some(Node::Logger(l)) = self.shared.registry.read().get(name) {
            return Logger(l.clone());
        }
        let mut registry = self.shared.registry.write();
        let placeholder_children = match registry.get(name) {
            Some(Node::Logger(l)) => return Logger(l.clone()),
            Some(Node::Placeholder(children)) => Some(children.clone()),
            None => None,
        };
        let logger = Arc::new(LoggerInner::new(
            Arc::from(name),
            Level::NOTSET,
            Arc::downgrade(&self.shared),
        ));
        registry.insert(logger.name.clone(), Node::Logger(logger.clone()));
        if let Some(children) = placeholder_children {
            fixup_children(&logger, &children);
        }
        self.fixup_parents(&mut registry, &logger);
        self.recompute_locked(&registry);
        Logger(logger)
    }

    /// CPython's `_fixupParents`: the parent is the nearest existing ancestor; every missing
    /// ancestor name gets (or extends) a placeholder remembering this logger.
    fn fixup_parents(&self, registry: &mut HashMap<Arc<str>, Node>, logger: &Arc<LoggerInner>) {
        let name = &*logger.name;
        let mut parent = None;
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            let ancestor = &name[..dot];
            match registry.get_mut(ancestor) {
                Some(Node::Logger(l)) => {
                    parent = Some(l.clone());
                    break;
                }
                Some(Node::Placeholder(children)) => children.push(logger.clone()),
                None => {
                    registry.insert(Arc::from(ancestor), Node::Placeholder(vec![logger.clone()]));
                }
            }
            end = dot;
        }
        logger
            .parent
            .store(Some(parent.unwrap_or_else(|| self.shared.root.clone())));
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
        let mut out: Vec<Logger> = registry
            .values()
            .filter_map(|n| match n {
                Node::Logger(l) => Some(Logger(l.clone())),
                Node::Placeholder(_) => None,
            })
            .collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        out
    }

    /// A number that changes whenever the hierarchy changes (a level, a handler, `propagate`,
    /// a new logger): caches of [`handlers`](Manager::handlers) compare it to know when they
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

    /// Recomputes every logger's threshold and handler chain (after a level, parent,
    /// handler, `propagate`, `disabled` or `disable` change).
    /// Watchers (see [`watch`](super::watch)) are told afterwards, with no lock held.
    pub(crate) fn recompute(&self) {
        // The write lock serialises recomputes, so the last one sees every change.
        let registry = self.shared.registry.write();
        self.recompute_locked(&registry);
        drop(registry);
        super::notify(&super::Change::Levels(self));
    }

    fn recompute_locked(&self, registry: &HashMap<Arc<str>, Node>) {
        self.shared.generation.fetch_add(1, Ordering::Release);
        let disable = self.shared.disable.load(Ordering::Relaxed);
        let mut lowest = u32::MAX;
        let loggers = registry.values().filter_map(|n| match n {
            Node::Logger(l) => Some(l),
            Node::Placeholder(_) => None,
        });
        let mut scratch = Vec::new();
        for logger in std::iter::once(&self.shared.root).chain(loggers) {
            update_chain(logger, &mut scratch);
            let threshold = if logger.disabled.load(Ordering::Relaxed) {
                u32::MAX
            } else {
                effective_level(logger)
                    .as_u32()
                    .max(disable.saturating_add(1))
            };
            logger.threshold.store(threshold, Ordering::Relaxed);
            lowest = lowest.min(threshold);
        }
        if let Some(hook) = &*self.shared.level_hook.read() {
            hook(Level::new(lowest));
        }
    }
}

/// Recomputes `logger.chain` (its handlers, then its ancestors' up to the first that does not
/// propagate: CPython's `callHandlers` walk, done once here instead of on every record).
/// Stores a new list only when it differs, so an unchanged hierarchy costs no allocation.
pub(crate) fn update_chain(logger: &LoggerInner, scratch: &mut Vec<Arc<dyn Handler>>) {
    scratch.clear();
    scratch.extend(logger.handlers.load().iter().cloned());
    if logger.propagate.load(Ordering::Relaxed) {
        let mut current = logger.parent.load_full();
        while let Some(l) = current {
            scratch.extend(l.handlers.load().iter().cloned());
            if !l.propagate.load(Ordering::Relaxed) {
                break;
            }
            current = l.parent.load_full();
        }
    }
    let old = logger.chain.load();
    let same = old.len() == scratch.len()
        && old
            .iter()
            .zip(scratch.iter())
            .all(|(a, b)| Arc::ptr_eq(a, b));
    if !same {
        logger.chain.store(Arc::new(scratch.clone()));
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

/// CPython's `_fixupChildren`: a new logger takes over the children a placeholder remembered,
/// unless a child already has a closer parent below the new logger.
fn fixup_children(logger: &Arc<LoggerInner>, children: &[Arc<LoggerInner>]) {
    let name = &*logger.name;
    for child in children {
        let parent = child.parent.load_full();
        // A parent whose name starts with the new name is already below it: keep it.
        let closer = parent.as_ref().is_some_and(|p| p.name.starts_with(name));
        if !closer {
            logger.parent.store(parent);
            child.parent.store(Some(logger.clone()));
        }
    }
}
