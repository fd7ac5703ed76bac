//! Being told when a hierarchy changes: [`watch`] and [`Change`].
//!
//! Caches that live outside a [`Manager`] (the `tracing` bridge's per-callsite interest, for
//! one) must learn when its answers change. A watcher is told, on the thread that made the
//! change, after the change is complete and every lock of the hierarchy is released, so it may
//! call back into the hierarchy (ask levels, create loggers). Two kinds of change are told:
//! - [`Change::Levels`]: something that can change which records a logger accepts (a level,
//!   `disabled`, the global `disable`, a handler or `propagate`); a logger's creation is not
//!   told, as it changes no other logger's answers.
//! - [`Change::Replaced`]: a queue listener swapped its dispatch hierarchy for another (a
//!   configuration reload), so whoever fed the old one may follow to the new.
//!
//! What does not live here: the level caches themselves (in `manager`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::RwLock;

use super::Manager;

/// A change to a hierarchy, as told to watchers.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Change<'a> {
    /// Levels, `disabled`, `disable`, handlers or `propagate` changed in this hierarchy.
    Levels(&'a Manager),
    /// A listener now dispatches through `new` instead of `old`.
    Replaced {
        /// The hierarchy that was replaced (its handlers are closed).
        old: &'a Manager,
        /// The hierarchy now in use.
        new: &'a Manager,
    },
}

type Callback = Arc<dyn Fn(&Change<'_>) + Send + Sync>;

static WATCHERS: LazyLock<RwLock<Vec<(u64, Callback)>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A registration made by [`watch`]; dropping it stops the calls.
///
/// ```
/// let w = mplog::logger::watch(|_| {});
/// drop(w); // no longer called
/// ```
#[must_use = "dropping the Watch stops the calls at once"]
pub struct Watch(u64);

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Watch").field(&self.0).finish()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        WATCHERS.write().retain(|(id, _)| *id != self.0);
    }
}

/// Calls `f` after every [`Change`] to any hierarchy of this process, until the returned
/// [`Watch`] is dropped. `f` runs on the changing thread once the change is complete, with no
/// lock of the hierarchy held; a change made inside `f` is told too, so `f` must not make one
/// unconditionally.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// let m = mplog::Manager::new();
/// let seen = Arc::new(AtomicUsize::new(0));
/// let count = seen.clone();
/// let target = m.clone();
/// let _watch = mplog::logger::watch(move |change| {
///     if let mplog::logger::Change::Levels(changed) = change {
///         if **changed == target {
///             count.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// });
/// m.get_logger("app").set_level(mplog::Level::DEBUG);
/// assert_eq!(seen.load(Ordering::Relaxed), 1);
/// ```
pub fn watch(f: impl Fn(&Change<'_>) + Send + Sync + 'static) -> Watch {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    WATCHERS.write().push((id, Arc::new(f)));
    Watch(id)
}

/// Tells every watcher about `change`. The list is copied first, so a watcher may add or drop
/// watches (its own too) while it runs.
pub(crate) fn notify(change: &Change<'_>) {
    let watchers: Vec<Callback> = {
        let list = WATCHERS.read();
        if list.is_empty() {
            return;
        }
        list.iter().map(|(_, f)| f.clone()).collect()
    };
    for f in watchers {
        f(change);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::level::Level;

    fn counting(target: &Manager) -> (Watch, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let (count, target) = (seen.clone(), target.clone());
        let w = watch(move |change| {
            if matches!(change, Change::Levels(m) if **m == target) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        (w, seen)
    }

    #[test]
    fn levels_disable_and_disabled_are_told_creation_is_not() {
        let m = Manager::new();
        let (_w, seen) = counting(&m);
        let app = m.get_logger("app");
        m.get_logger("app.db.pool");
        assert_eq!(
            seen.load(Ordering::Relaxed),
            0,
            "creating loggers changes no answer"
        );
        app.set_level(Level::DEBUG);
        m.disable(Level::INFO);
        app.set_disabled(true);
        assert_eq!(seen.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_dropped_watch_is_not_called() {
        let m = Manager::new();
        let (w, seen) = counting(&m);
        drop(w);
        m.root().set_level(Level::ERROR);
        assert_eq!(seen.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_watcher_may_read_the_hierarchy_it_is_told_about() {
        let m = Manager::new();
        let lowest = Arc::new(AtomicUsize::new(0));
        let seen = lowest.clone();
        let _w = watch(move |change| {
            if let Change::Levels(m) = change {
                // Creating a logger takes the registry lock: no lock may be held here.
                let level = m.get_logger("probe.child").effective_level();
                seen.store(level.as_u32() as usize, Ordering::Relaxed);
            }
        });
        m.get_logger("probe").set_level(Level::DEBUG);
        assert_eq!(lowest.load(Ordering::Relaxed), 10);
    }
}
