//! The bookkeeping behind a [`Manager`](super::Manager): names, parents, children, and the
//! cached answers of each logger, each kept at a cost that does not grow with the number of
//! loggers.
//!
//! # What is cached, and where
//! Each logger holds, in atomics read without a lock:
//! - its *effective level* (its own, or its parent's effective level when NOTSET);
//! - its *threshold*, the lowest enabled level number (`max(effective, disable + 1)`, or
//!   `u32::MAX` when disabled): [`Logger::is_enabled_for`](super::Logger::is_enabled_for) is
//!   one load of it;
//! - its *handler chain*: its own handlers, then, if it propagates, its parent's chain.
//!
//! Each value depends only on the logger itself and its parent's values, so a change to one
//! logger (a level, a handler, `propagate`, `disabled`) is applied by recomputing that logger
//! and its descendants, top down, each from its parent in O(1) (plus its chain's length). The
//! registry keeps each logger's *children* (the loggers whose parent it is) for that walk; a
//! change to the global `disable` walks from the root, i.e. every logger.
//!
//! # Creating a logger costs the depth of its name
//! As CPython's `Manager._fixupParents`: the new logger's parent is its nearest existing
//! ancestor, and each missing ancestor name gets (or extends) a *placeholder* remembering it.
//! As `_fixupChildren`: if the name was a placeholder, the loggers it remembered that have no
//! closer parent below the new logger become its children (the placeholder's list is then
//! dropped). A new logger is a pass-through (NOTSET, no handlers, propagating, enabled), so the
//! loggers it adopts keep every cached value: only its own are computed, from its parent.
//! Creation is therefore O(depth of the name) (plus, once, the size of a placeholder it
//! replaces), never a walk over every logger, and it tells no watcher.
//!
//! # The lowest level, for bridges
//! The `log` bridge wants the lowest threshold of all loggers, the `tracing` layer the lowest
//! effective level; both are kept as counted sets (value -> how many loggers have it), updated
//! whenever a logger's value changes, so asking costs O(log n) instead of a walk.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::LoggerInner;
use crate::handler::Handler;
use crate::level::Level;

/// A logger's children (the loggers whose parent it is), by name.
type Children = HashMap<Arc<str>, Arc<LoggerInner>>;

enum Node {
    Logger {
        logger: Arc<LoggerInner>,
        children: Children,
    },
    /// Loggers created below a name that has no logger yet.
    Placeholder(Vec<Arc<LoggerInner>>),
}

/// How many loggers have each value (a multiset with its lowest value at hand).
#[derive(Default)]
struct Counts(BTreeMap<u32, usize>);

impl Counts {
    fn add(&mut self, value: u32) {
        *self.0.entry(value).or_default() += 1;
    }

    fn change(&mut self, old: u32, new: u32) {
        if old == new {
            return;
        }
        if let Entry::Occupied(mut e) = self.0.entry(old) {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
        self.add(new);
    }

    fn lowest(&self) -> u32 {
        self.0.keys().next().copied().unwrap_or(u32::MAX)
    }
}

/// Every name of a hierarchy (loggers and placeholders), each logger's children, and the
/// counted thresholds and effective levels. Guarded by the manager's lock.
pub(crate) struct Registry {
    root: Arc<LoggerInner>,
    nodes: HashMap<Arc<str>, Node>,
    root_children: Children,
    thresholds: Counts,
    effective: Counts,
}

impl Registry {
    pub(crate) fn new(root: Arc<LoggerInner>) -> Registry {
        let mut thresholds = Counts::default();
        thresholds.add(root.threshold.load(Ordering::Relaxed));
        let mut effective = Counts::default();
        effective.add(root.effective.load(Ordering::Relaxed));
        Registry {
            root,
            nodes: HashMap::new(),
            root_children: Children::new(),
            thresholds,
            effective,
        }
    }

    /// Names known (loggers and placeholders).
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The logger called `name`, if one was created.
    pub(crate) fn logger(&self, name: &str) -> Option<&Arc<LoggerInner>> {
        match self.nodes.get(name) {
            Some(Node::Logger { logger, .. }) => Some(logger),
            _ => None,
        }
    }

    /// Every logger created (not placeholders, not the root), in no particular order.
    pub(crate) fn loggers(&self) -> impl Iterator<Item = &Arc<LoggerInner>> {
        self.nodes.values().filter_map(|n| match n {
            Node::Logger { logger, .. } => Some(logger),
            Node::Placeholder(_) => None,
        })
    }

    /// The lowest threshold of any logger (`u32::MAX`: none enabled).
    pub(crate) fn lowest_threshold(&self) -> u32 {
        self.thresholds.lowest()
    }

    /// The lowest effective level of any logger, disabled ones included.
    pub(crate) fn lowest_effective(&self) -> u32 {
        self.effective.lowest()
    }

    /// The logger called `name`, made with `make` if there is none (see the module docs):
    /// O(depth of the name).
    pub(crate) fn get_or_insert(
        &mut self,
        name: &str,
        disable: u32,
        make: impl FnOnce(Arc<str>) -> Arc<LoggerInner>,
    ) -> Arc<LoggerInner> {
        let adopt = match self.nodes.get_mut(name) {
            Some(Node::Logger { logger, .. }) => return logger.clone(),
            Some(Node::Placeholder(remembered)) => std::mem::take(remembered),
            None => Vec::new(),
        };
        let logger = make(Arc::from(name));
        let parent = self.fixup_parents(&logger);
        self.children_mut(&parent)
            .insert(logger.name.clone(), logger.clone());
        self.nodes.insert(
            logger.name.clone(),
            Node::Logger {
                logger: logger.clone(),
                children: Children::new(),
            },
        );
        self.fixup_children(&logger, adopt);
        // Counted with the values it was made with, then brought up to date.
        self.thresholds
            .add(logger.threshold.load(Ordering::Relaxed));
        self.effective.add(logger.effective.load(Ordering::Relaxed));
        self.derive(&logger, disable, &mut Vec::new());
        logger
    }

    /// CPython's `_fixupParents`: the parent is the nearest existing ancestor (else the root);
    /// every missing ancestor name gets (or extends) a placeholder remembering `logger`.
    fn fixup_parents(&mut self, logger: &Arc<LoggerInner>) -> Arc<LoggerInner> {
        let name = &*logger.name;
        let mut parent = None;
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            let ancestor = &name[..dot];
            match self.nodes.get_mut(ancestor) {
                Some(Node::Logger { logger: l, .. }) => {
                    parent = Some(l.clone());
                    break;
                }
                Some(Node::Placeholder(remembered)) => remembered.push(logger.clone()),
                None => {
                    let node = Node::Placeholder(vec![logger.clone()]);
                    self.nodes.insert(Arc::from(ancestor), node);
                }
            }
            end = dot;
        }
        let parent = parent.unwrap_or_else(|| self.root.clone());
        logger.parent.store(Some(parent.clone()));
        parent
    }

    /// CPython's `_fixupChildren`: `logger` takes over the loggers its placeholder remembered,
    /// unless one already has a closer parent below it. As CPython compares the parent's name
    /// as a string prefix, a child of the root (named `root`) is not taken over by a logger
    /// whose name is a prefix of `root` (`r`, `ro`, ...): Python 3.11 and 3.13 do the same.
    fn fixup_children(&mut self, logger: &Arc<LoggerInner>, remembered: Vec<Arc<LoggerInner>>) {
        for child in remembered {
            let Some(old) = child.parent.load_full() else {
                continue;
            };
            if old.name.starts_with(&*logger.name) {
                continue; // already below the new logger
            }
            self.children_mut(&old).remove(&child.name);
            child.parent.store(Some(logger.clone()));
            self.children_mut(logger).insert(child.name.clone(), child);
        }
    }

    /// The children of `logger`, a logger of this registry or its root.
    fn children_mut(&mut self, logger: &Arc<LoggerInner>) -> &mut Children {
        if Arc::ptr_eq(logger, &self.root) {
            return &mut self.root_children;
        }
        match self.nodes.get_mut(&logger.name) {
            Some(Node::Logger { children, .. }) => children,
            // Every logger with a manager is registered under its name; a stray one (none
            // exists) gets a list nobody reads rather than a panic.
            _ => &mut self.root_children,
        }
    }

    fn children(&self, logger: &LoggerInner) -> Option<&Children> {
        if std::ptr::eq(logger, &*self.root) {
            return Some(&self.root_children);
        }
        match self.nodes.get(&logger.name) {
            Some(Node::Logger { children, .. }) => Some(children),
            _ => None,
        }
    }

    /// Recomputes `from` and every logger below it, top down (see the module docs).
    pub(crate) fn recompute(&mut self, from: &Arc<LoggerInner>, disable: u32) {
        let mut scratch = Vec::new();
        let mut todo = vec![from.clone()];
        while let Some(logger) = todo.pop() {
            self.derive(&logger, disable, &mut scratch);
            if let Some(children) = self.children(&logger) {
                todo.extend(children.values().cloned());
            }
        }
    }

    /// Computes `logger`'s cached values from its own settings and its parent's cached values.
    fn derive(&mut self, logger: &LoggerInner, disable: u32, scratch: &mut Vec<Arc<dyn Handler>>) {
        let own = logger.level.load(Ordering::Relaxed);
        let effective = if own != Level::NOTSET.as_u32() {
            own
        } else {
            logger
                .parent
                .load()
                .as_ref()
                .map_or(Level::NOTSET.as_u32(), |p| {
                    p.effective.load(Ordering::Relaxed)
                })
        };
        let threshold = if logger.disabled.load(Ordering::Relaxed) {
            u32::MAX
        } else {
            effective.max(disable.saturating_add(1))
        };
        let old = logger.effective.swap(effective, Ordering::Relaxed);
        self.effective.change(old, effective);
        let old = logger.threshold.swap(threshold, Ordering::Relaxed);
        self.thresholds.change(old, threshold);
        update_chain(logger, scratch);
    }
}

/// Recomputes `logger.chain`: its handlers, then, if it propagates, its parent's chain
/// (CPython's `callHandlers` walk, done once here instead of on every record). Stores a new
/// list only when it differs, so an unchanged hierarchy costs no allocation.
pub(crate) fn update_chain(logger: &LoggerInner, scratch: &mut Vec<Arc<dyn Handler>>) {
    scratch.clear();
    scratch.extend(logger.handlers.load().iter().cloned());
    if logger.propagate.load(Ordering::Relaxed) {
        if let Some(parent) = &*logger.parent.load() {
            scratch.extend(parent.chain.load().iter().cloned());
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
