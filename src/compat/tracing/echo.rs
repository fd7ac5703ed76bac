//! "No record twice" when a process routes `log` into mplog as well as `tracing`.
//!
//! `tracing`'s `log-always` feature (which any dependency may turn on) makes every `tracing`
//! event also a `log` record, built by `tracing` right after the event was dispatched, on the
//! same thread; with it, span lifecycles (`++ name`, `-> name`, ...) become `log` records with
//! the targets `tracing::span` and `tracing::span::active`. With the layer installed and
//! `log` routed into mplog too (the `log` bridge, or `tracing-log`'s `LogTracer`), each event
//! would reach the hierarchy twice. So the layer notes, per thread, the event it just saw;
//! the first `log` record after it that `tracing` built from it (same target, level, file and
//! line; for the `log` bridge also not made by `log`'s macros, whose file is `'static`) is
//! dropped as that copy. Span lifecycle records are dropped while a layer exists: the layer
//! shows spans in `%(span)s`.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_core::Metadata;

use crate::level::Level;

thread_local! {
    /// The event the layer saw last on this thread, until the next `log` record.
    static LAST_EVENT: Cell<Option<&'static Metadata<'static>>> = const { Cell::new(None) };
}

/// How many layers exist (span lifecycle records are dropped while any does).
static LAYERS: AtomicUsize = AtomicUsize::new(0);

/// Counts a layer for as long as it lives.
pub(super) struct LayerAlive;

impl LayerAlive {
    pub(super) fn new() -> LayerAlive {
        LAYERS.fetch_add(1, Ordering::Relaxed);
        LayerAlive
    }
}

impl Drop for LayerAlive {
    fn drop(&mut self) {
        LAYERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The layer saw `meta`'s event on this thread.
#[inline]
pub(super) fn event_seen(meta: &'static Metadata<'static>) {
    let _ = LAST_EVENT.try_with(|last| last.set(Some(meta)));
}

/// Whether a `log` record (its target, level, file and line) is `tracing`'s copy of the event
/// the layer saw last on this thread, or a span lifecycle record while a layer exists. The
/// note of the last event is used up either way.
pub(crate) fn is_copy(target: &str, level: Level, file: Option<&str>, line: Option<u32>) -> bool {
    if LAYERS.load(Ordering::Relaxed) > 0
        && (target == "tracing::span" || target == "tracing::span::active")
    {
        return true;
    }
    let Some(meta) = LAST_EVENT.try_with(Cell::take).ok().flatten() else {
        return false;
    };
    meta.target() == target
        && super::level_from_tracing(meta.level()) == level
        && meta.file() == file
        && meta.line() == line
}
