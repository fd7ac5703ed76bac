//! The listener's loggers by name, and the caps on the names its peers make it create.
//!
//! With a [`Manager`], the dispatch thread hands each record to the logger of its name,
//! creating it if needed, as the cookbook's listener does. Names come from peers, so the
//! loggers they create are bounded: at most [`DEFAULT_MAX_LOGGER_NAMES`] new loggers
//! ([`max_logger_names`](super::QueueListenerBuilder::max_logger_names)) and names of at most
//! [`DEFAULT_MAX_LOGGER_NAME_LEN`] bytes
//! ([`max_logger_name_len`](super::QueueListenerBuilder::max_logger_name_len)). Loggers that
//! already exist (a configuration's) never count. A record whose logger would break a cap is
//! handled by the nearest existing ancestor of its name (looked up among prefixes within the
//! length cap, else the root), creating nothing, and keeps its own name for formatting
//! (`%(name)s`). The first time each cap is reached it is logged on
//! [`LISTENER_LOGGER`](super::LISTENER_LOGGER); every record so redirected is counted in
//! [`ListenerStats::names_capped`](super::ListenerStats::names_capped).
//!
//! Memory: the cache holds at most the loggers that exist; names past a cap are not cached
//! (only the last record's, so a run of one name costs a pointer compare).

use std::collections::HashMap;
use std::sync::Arc;

use crate::logger::{Logger, Manager};

/// Most loggers a listener creates for the names of the records it receives (per
/// configuration: a reload starts a new hierarchy, and the count again).
pub const DEFAULT_MAX_LOGGER_NAMES: usize = 10_000;
/// Longest logger name, in bytes, a listener creates a logger for.
pub const DEFAULT_MAX_LOGGER_NAME_LEN: usize = 1024;

/// The caps on names (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameCaps {
    pub(crate) names: usize,
    pub(crate) len: usize,
}

impl Default for NameCaps {
    fn default() -> Self {
        NameCaps {
            names: DEFAULT_MAX_LOGGER_NAMES,
            len: DEFAULT_MAX_LOGGER_NAME_LEN,
        }
    }
}

/// Which cap redirected a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capped {
    /// [`NameCaps::names`] loggers were created already.
    Count,
    /// The name is longer than [`NameCaps::len`].
    Length,
}

/// The listener's loggers by name (a reload clears it: the new hierarchy has its own).
#[derive(Default)]
pub(crate) struct LoggerCache {
    by_name: HashMap<Arc<str>, Logger>,
    /// The logger of the last record, by the `Arc` of its name: records of one worker share
    /// their logger's name (see `decode`), so most lookups are a pointer compare.
    last: Option<(Arc<str>, Logger, Option<Capped>)>,
    /// Loggers created for record names in this hierarchy.
    created: usize,
    caps: NameCaps,
}

impl LoggerCache {
    pub(crate) fn new(caps: NameCaps) -> LoggerCache {
        LoggerCache {
            caps,
            ..LoggerCache::default()
        }
    }

    /// The logger a record named `name` goes to, and the cap that redirected it, if one did.
    pub(crate) fn get(&mut self, manager: &Manager, name: &Arc<str>) -> (&Logger, Option<Capped>) {
        let hit = matches!(&self.last, Some((last, ..)) if Arc::ptr_eq(last, name));
        if !hit {
            let (logger, capped) = self.resolve(manager, name);
            self.last = Some((name.clone(), logger, capped));
        }
        // Set above on a miss: the closure never runs.
        let (_, logger, capped) = self
            .last
            .get_or_insert_with(|| (name.clone(), manager.root(), None));
        (logger, *capped)
    }

    fn resolve(&mut self, manager: &Manager, name: &Arc<str>) -> (Logger, Option<Capped>) {
        if let Some(logger) = self.by_name.get(name) {
            return (logger.clone(), None);
        }
        if name.len() > self.caps.len {
            return (self.ancestor(manager, name), Some(Capped::Length));
        }
        let logger = match manager.existing_logger(name) {
            Some(logger) => logger,
            None if self.created < self.caps.names => {
                self.created += 1;
                manager.get_logger(name)
            }
            None => return (self.ancestor(manager, name), Some(Capped::Count)),
        };
        self.by_name.insert(name.clone(), logger.clone());
        (logger, None)
    }

    /// The nearest existing ancestor among the prefixes within the length cap: the walk
    /// costs at most the cap, however long the name.
    fn ancestor(&self, manager: &Manager, name: &str) -> Logger {
        let mut end = self.caps.len.saturating_add(1).min(name.len());
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        manager.nearest_ancestor(&name[..end])
    }

    pub(crate) fn clear(&mut self) {
        self.by_name.clear();
        self.last = None;
        self.created = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_count_cap_the_nearest_ancestor_takes_the_record() {
        let m = Manager::new();
        let app = m.get_logger("app");
        let mut cache = LoggerCache::new(NameCaps { names: 2, len: 64 });
        for name in ["app.a", "app.b"] {
            let (l, capped) = cache.get(&m, &Arc::from(name));
            assert_eq!((l.name(), capped), (name, None));
        }
        let (l, capped) = cache.get(&m, &Arc::from("app.c.d"));
        assert_eq!((l, capped), (&app, Some(Capped::Count)));
        assert!(
            m.existing_logger("app.c.d").is_none(),
            "created past the cap"
        );
        // Existing loggers never count.
        let (l, capped) = cache.get(&m, &Arc::from("app"));
        assert_eq!((l, capped), (&app, None));
    }

    #[test]
    fn a_long_name_goes_to_an_ancestor_within_the_length_cap() {
        let m = Manager::new();
        let short = m.get_logger("s");
        let mut cache = LoggerCache::new(NameCaps { names: 10, len: 8 });
        let long: Arc<str> = Arc::from(format!("s.{}", "x.".repeat(100_000)));
        let (l, capped) = cache.get(&m, &long);
        assert_eq!((l, capped), (&short, Some(Capped::Length)));
        let (l, _) = cache.get(&m, &Arc::from("é".repeat(10)));
        assert!(l.is_root());
        assert_eq!(m.loggers().len(), 1);
    }
}
