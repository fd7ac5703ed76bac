//! Keeping `tracing`'s caches (each callsite's interest, the global max level) in step with
//! the hierarchy.
//!
//! `tracing` asks a subscriber once per callsite whether it is interested (`always`, `never`
//! or `sometimes`: ask `enabled` each time) and caches the answer in the callsite; it asks
//! again only when `tracing_core::callsite::rebuild_interest_cache` runs. The catch is that
//! tracing-core computes and stores an interest in two steps without a lock: a callsite
//! registered for the first time on one thread while another thread changes a level and
//! rebuilds may store its answer, computed from the old levels, *after* the rebuild stored
//! the new one, and an enabled event would stay filtered out.
//!
//! So the exact answers (`always`/`never`, and a tight max level) are given only inside a
//! rebuild of ours: rebuilds of ours are serialised by one process-wide lock and each reads
//! the levels after the change that asked for it, so the last one to store is right. Asked at
//! any other time (a callsite's first registration, a new dispatcher), the layer answers
//! `sometimes` and "any level", which can cost an `enabled` call but can never filter out an
//! enabled event, and marks a rebuild as pending; the next `enabled` call runs it (at most
//! once per [`PROMOTE_EVERY`]), turning those callsites into exact answers again.
//!
//! A rebuild runs on the thread that changed a level, after the hierarchy's locks are
//! released (see [`crate::logger::watch`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing_core::subscriber::{Interest, NoSubscriber};
use tracing_core::LevelFilter;

/// The shortest time between two rebuilds started from `enabled` (so a burst of new callsites
/// at start-up costs a few rebuilds, not one per callsite).
pub const PROMOTE_EVERY: Duration = Duration::from_millis(10);

/// Serialises our rebuilds (see the module docs).
static REBUILD: Mutex<()> = Mutex::new(());
/// A `sometimes` or "any level" answer was given since the last rebuild of ours.
static PENDING: AtomicBool = AtomicBool::new(false);
/// When a rebuild was last started from `enabled`, in nanoseconds since [`EPOCH`] (0: never).
static LAST_PROMOTION: AtomicU64 = AtomicU64::new(0);
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

thread_local! {
    /// Set while this thread runs a rebuild of ours (under [`REBUILD`]).
    static EXACT: Cell<bool> = const { Cell::new(false) };
}

/// Whether an answer given now is stored by a rebuild of ours.
fn exact() -> bool {
    EXACT.try_with(Cell::get).unwrap_or(false)
}

/// The interest to give a callsite whose logger is `enabled` for its level.
pub(super) fn interest(enabled: bool) -> Interest {
    match (exact(), enabled) {
        (true, true) => Interest::always(),
        (true, false) => Interest::never(),
        (false, _) => {
            PENDING.store(true, Ordering::Relaxed);
            Interest::sometimes()
        }
    }
}

/// The max level hint: `exact()` inside a rebuild of ours, else every level.
pub(super) fn hint(exact_hint: impl FnOnce() -> LevelFilter) -> Option<LevelFilter> {
    if exact() {
        Some(exact_hint())
    } else {
        PENDING.store(true, Ordering::Relaxed);
        Some(LevelFilter::TRACE)
    }
}

/// Rebuilds at once (after a change to the hierarchy); returns once every callsite's interest
/// reflects the levels as they are now.
pub(super) fn rebuild() {
    if exact() {
        // A change made while this thread rebuilds (a logger's creation told as a change):
        // the rebuild under way may have read the old levels.
        PENDING.store(true, Ordering::Relaxed);
        return;
    }
    let _serial = REBUILD.lock();
    rebuild_locked();
}

/// Runs a pending rebuild if none ran in the last [`PROMOTE_EVERY`] and none is running.
#[inline]
pub(super) fn promote_if_pending() {
    if PENDING.load(Ordering::Relaxed) {
        promote();
    }
}

#[cold]
fn promote() {
    let now = u64::try_from(EPOCH.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    let last = LAST_PROMOTION.load(Ordering::Relaxed);
    if last != 0 && now.saturating_sub(last) < PROMOTE_EVERY.as_nanos() as u64 {
        return;
    }
    // Never wait on an event's path: whoever holds the lock is rebuilding already.
    let Some(_serial) = REBUILD.try_lock() else {
        return;
    };
    if exact() || !PENDING.load(Ordering::Relaxed) {
        return;
    }
    LAST_PROMOTION.store(now, Ordering::Relaxed);
    rebuild_locked();
}

fn rebuild_locked() {
    // With a single dispatcher, tracing-core rebuilds through this thread's default one. Inside
    // another dispatch, or on a thread without a default while a scoped one exists elsewhere,
    // that is the no-op subscriber, which would turn every callsite off: leave the rebuild
    // pending instead.
    if tracing_core::dispatcher::get_default(|d| d.is::<NoSubscriber>()) {
        PENDING.store(true, Ordering::Relaxed);
        return;
    }
    PENDING.store(false, Ordering::Relaxed);
    struct Exact;
    impl Drop for Exact {
        fn drop(&mut self) {
            let _ = EXACT.try_with(|e| e.set(false));
        }
    }
    EXACT.with(|e| e.set(true));
    let _reset = Exact;
    tracing_core::callsite::rebuild_interest_cache();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_rebuild_of_ours_answers_cannot_filter_anything_out() {
        EXACT.with(|e| e.set(false));
        assert!(interest(false).is_sometimes());
        assert!(interest(true).is_sometimes());
        assert_eq!(hint(|| LevelFilter::OFF), Some(LevelFilter::TRACE));
        assert!(PENDING.load(Ordering::Relaxed), "a rebuild is owed");
        EXACT.with(|e| e.set(true));
        assert!(interest(false).is_never());
        assert!(interest(true).is_always());
        assert_eq!(hint(|| LevelFilter::WARN), Some(LevelFilter::WARN));
        EXACT.with(|e| e.set(false));
    }
}
