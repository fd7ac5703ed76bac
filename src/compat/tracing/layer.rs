//! [`MplogLayer`]: the `tracing_subscriber::Layer` that turns events into mplog records.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;
use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, LevelFilter, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::fields::{EventFields, Rendered, SpanFields, SPAN_FIELD};
use super::{echo, interest, level_from_tracing};
use crate::compat::{FacadeLevel, TargetLoggers};
use crate::logger::{Change, Logger, Manager, Watch};
use crate::record::{Location, Value};

/// A `tracing_subscriber::Layer` feeding an mplog hierarchy; made by [`layer`](super::layer)
/// or [`layer_for`](super::layer_for). Cloning gives another handle to the same layer.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let m = mplog::Manager::new();
/// let subscriber = tracing_subscriber::registry().with(mplog::compat::tracing::layer_for(m.clone()));
/// tracing_core::dispatcher::with_default(&subscriber.into(), || {
///     tracing_core::dispatcher::get_default(|d| assert!(d.is::<tracing_subscriber::Registry>()));
/// });
/// ```
#[derive(Clone)]
pub struct MplogLayer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MplogLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MplogLayer")
            .field("manager", self.inner.bound.load().targets.manager())
            .finish()
    }
}

struct Inner {
    /// The hierarchy fed, and its loggers; replaced when a listener swaps that hierarchy.
    bound: ArcSwap<Bound>,
    _alive: echo::LayerAlive,
    /// Told of changes to the hierarchy; dropped with the layer.
    _watch: Watch,
}

struct Bound {
    targets: TargetLoggers,
    /// The logger of each callsite, by the address of its `'static` metadata: an event finds
    /// its logger without hashing its target. Written once per callsite, read on every event.
    callsites: ArcSwap<HashMap<usize, Logger, BuildHasherDefault<AddressHasher>>>,
}

impl Bound {
    fn new(manager: Manager) -> Bound {
        Bound {
            targets: TargetLoggers::new(manager),
            callsites: ArcSwap::from_pointee(HashMap::default()),
        }
    }

    fn callsite_logger(&self, meta: &'static Metadata<'static>) -> Logger {
        let key = std::ptr::from_ref(meta) as usize;
        if let Some(l) = self.callsites.load().get(&key) {
            return l.clone();
        }
        let logger = self.targets.logger_for(meta.target());
        self.callsites.rcu(|old| {
            let mut map = HashMap::clone(old);
            map.insert(key, logger.clone());
            map
        });
        logger
    }

    /// The max level `tracing` may let through: the most verbose level any logger, existing
    /// or yet to be made, accepts. `disabled` loggers are counted as enabled, since a logger
    /// made later below a disabled one is not disabled.
    fn max_level(&self) -> LevelFilter {
        let m = self.targets.manager();
        let floor = m.disable_level().as_u32().saturating_add(1);
        // Kept by the hierarchy as loggers change: no walk over every logger.
        let lowest = m.lowest_effective_level().as_u32().max(floor);
        match FacadeLevel::most_verbose(crate::Level::new(lowest)) {
            Some(FacadeLevel::Trace) => LevelFilter::TRACE,
            Some(FacadeLevel::Debug) => LevelFilter::DEBUG,
            Some(FacadeLevel::Info) => LevelFilter::INFO,
            Some(FacadeLevel::Warn) => LevelFilter::WARN,
            Some(FacadeLevel::Error) => LevelFilter::ERROR,
            None => LevelFilter::OFF,
        }
    }
}

/// Hashes a metadata address: the multiply spreads it, the shift brings the varying high bits
/// down to the bucket bits (addresses are aligned, their low bits always zero).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        let x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl MplogLayer {
    pub(super) fn new(manager: Manager) -> MplogLayer {
        crate::compat::register_trace_name();
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let weak = weak.clone();
            Inner {
                bound: ArcSwap::from_pointee(Bound::new(manager)),
                _alive: echo::LayerAlive::new(),
                _watch: crate::logger::watch(move |change| {
                    if let Some(inner) = weak.upgrade() {
                        inner.changed(change);
                    }
                }),
            }
        });
        MplogLayer { inner }
    }

    /// The hierarchy this layer feeds now (after a listener's reload, the new one).
    ///
    /// ```
    /// let m = mplog::Manager::new();
    /// assert_eq!(mplog::compat::tracing::layer_for(m.clone()).manager(), m);
    /// ```
    pub fn manager(&self) -> Manager {
        self.inner.bound.load().targets.manager().clone()
    }
}

impl Inner {
    fn changed(&self, change: &Change<'_>) {
        match change {
            Change::Levels(m) => {
                if self.bound.load().targets.manager() == *m {
                    interest::rebuild();
                }
            }
            Change::Replaced { old, new } => {
                if self.bound.load().targets.manager() == *old {
                    self.bound.store(Arc::new(Bound::new((*new).clone())));
                    interest::rebuild();
                }
            }
        }
    }
}

/// Whether `meta` is one of the callsites `tracing-log` makes `log` records through: their
/// target is always `log`, the real one travels in a field.
fn is_log_callsite(meta: &Metadata<'_>) -> bool {
    meta.target() == "log" && meta.fields().field("log.target").is_some()
}

impl<S> tracing_subscriber::Layer<S> for MplogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if is_log_callsite(meta) {
            // One callsite for every `log` target: asked each time, through `enabled`.
            return Interest::sometimes();
        }
        let enabled = self
            .inner
            .bound
            .load()
            .callsite_logger(meta)
            .is_enabled_for(level_from_tracing(meta.level()));
        interest::interest(enabled)
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        interest::promote_if_pending();
        self.inner
            .bound
            .load()
            .targets
            .logger_for(meta.target())
            .is_enabled_for(level_from_tracing(meta.level()))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        interest::hint(|| self.inner.bound.load().max_level())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut text = String::new();
        attrs.record(&mut Rendered(&mut text));
        span.extensions_mut().insert(SpanFields(text));
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(SpanFields(text)) => values.record(&mut Rendered(text)),
            None => {
                let mut text = String::new();
                values.record(&mut Rendered(&mut text));
                ext.insert(SpanFields(text));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = level_from_tracing(meta.level());
        let bound = self.inner.bound.load();
        let mut fields = EventFields {
            // One allocation, sized for every field (the message takes none).
            extra: Vec::with_capacity(meta.fields().len()),
            ..EventFields::default()
        };
        let normalized = if is_log_callsite(meta) {
            event.normalized_metadata()
        } else {
            None
        };
        let (logger, location) = match &normalized {
            // A `log` record `tracing` made from the event just handled (`log-always`).
            Some(n) if echo::is_copy(n.target(), level, n.file(), n.line()) => return,
            Some(n) => {
                fields.skip_log_fields = true;
                let nowhere = Location {
                    pathname: "",
                    lineno: 0,
                    module_path: "",
                };
                (bound.targets.logger_for(n.target()), nowhere)
            }
            None => (
                {
                    echo::event_seen(meta);
                    bound.callsite_logger(meta)
                },
                Location {
                    pathname: meta.file().unwrap_or(""),
                    lineno: meta.line().unwrap_or(0),
                    module_path: meta.module_path().unwrap_or(""),
                },
            ),
        };
        // The interest cache is rebuilt after a level change, not atomically with it: this
        // load turns a raised level's events off at once.
        if !logger.is_enabled_for(level) {
            return;
        }
        event.record(&mut fields);
        let message = match fields.message.take() {
            Some(m) => m,
            // No message: the fields are the message, as `tracing`'s own formatter shows them.
            None => {
                let mut text = String::new();
                event.record(&mut Rendered(&mut text));
                Cow::Owned(text)
            }
        };
        let mut record = logger.make_record(level, message, &location);
        if let Some(n) = &normalized {
            record.pathname = Cow::Owned(n.file().unwrap_or("").to_owned());
            record.lineno = n.line().unwrap_or(0);
            record.module_path = Cow::Owned(n.module_path().unwrap_or("").to_owned());
        }
        record.extra = fields.extra;
        record.exc_text = fields.exc_text;
        if let Some(scope) = ctx.event_scope(event) {
            let mut chain = String::new();
            for span in scope.from_root() {
                if !chain.is_empty() {
                    chain.push(':');
                }
                chain.push_str(span.name());
                if let Some(SpanFields(text)) = span.extensions().get::<SpanFields>() {
                    if !text.is_empty() {
                        chain.push('{');
                        chain.push_str(text);
                        chain.push('}');
                    }
                }
            }
            record
                .extra
                .push((Cow::Borrowed(SPAN_FIELD), Value::Str(chain)));
        }
        logger.handle(&record);
        crate::macros::__private::recycle(&mut record);
    }
}
