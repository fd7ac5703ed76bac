//! `tracing` feeding mplog: a `tracing_subscriber::Layer` ([`MplogLayer`]) that turns every
//! event into an mplog record (cargo feature `tracing`, on by default).
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! let subscriber = tracing_subscriber::registry().with(mplog::compat::tracing::layer());
//! tracing::subscriber::set_global_default(subscriber).unwrap(); // or mplog::compat::tracing::install()
//! mplog::get_logger("my_service").set_level(mplog::Level::INFO);
//! tracing::info!(target: "my_service::db", rows = 3, "query done"); // logger "my_service.db"
//! ```
//!
//! # The record
//! - The target `a::b` is the logger `a.b` (as for the `log` bridge); `TRACE` is the custom
//!   level [`TRACE`](crate::compat::TRACE) (5, named `TRACE`), then DEBUG, INFO, WARNING,
//!   ERROR.
//! - The `message` field is the message (an event without one shows its fields, `x=1 y=2`).
//!   Every other field is an `extra` field, its type kept: integers (`u64`/`i128` past `i64`
//!   as their digits), floats, booleans, strings; anything else as its `Debug` text. A field
//!   named like a standard attribute (`name`, `module`, ...) gets a trailing underscore, as in
//!   the `log` bridge. The first error field (`error = &e as &dyn Error`) also fills `exc_text`
//!   with its chain of causes.
//! - File, line and module path come from the callsite; thread name and id, process, times
//!   from the record itself, as for every mplog record.
//! - The spans the event is in are the `extra` field `span`, written as `tracing`'s own
//!   formatter writes them, `outer{id=7}:inner{user="ann"}`: use `%(span)s` in a format.
//!   A span's fields are rendered once, when it is made or `record`ed, and kept in it.
//! - An event that `tracing-log`'s `LogTracer` made from a `log` record gets the record's own
//!   target, file, line and module path back.
//!
//! # Filtering
//! The layer answers `tracing`'s questions from the hierarchy's levels: a callsite whose
//! logger does not accept its level is `never` asked again, and the global max level is the
//! most verbose level any logger accepts, so a disabled `tracing::debug!` costs what it costs
//! under `tracing`'s own level filters. Any change (a `set_level`, `disable`, a config applied,
//! a listener's reload of the hierarchy this layer feeds) rebuilds `tracing`'s caches before it
//! returns; how a concurrent first use of a callsite is kept from storing a stale answer is
//! told in [`interest`]'s docs. The layer filters for the whole subscriber it is in, like an
//! `EnvFilter` layer: events its loggers refuse reach no other layer of that subscriber.
//!
//! Install the subscriber as the global default: `tracing` rebuilds its caches through the
//! global dispatcher, and tokio's worker threads do not inherit a scoped one.
//!
//! # `log` and `tracing` together
//! See the README's "log and tracing" section: install [`log_bridge`](crate::compat::log_bridge)
//! for crates that use `log`, this layer for crates that use `tracing`; each record arrives
//! once.

pub(crate) mod echo;
mod fields;
pub mod interest;
mod layer;

use tracing_core::dispatcher::SetGlobalDefaultError;
use tracing_subscriber::layer::SubscriberExt;

pub use self::layer::MplogLayer;
use crate::level::Level;
use crate::logger::Manager;

/// The mplog level of a `tracing` level.
///
/// ```
/// use mplog::compat::tracing::level_from_tracing;
/// assert_eq!(level_from_tracing(&tracing_core::Level::WARN), mplog::Level::WARNING);
/// assert_eq!(level_from_tracing(&tracing_core::Level::TRACE), mplog::compat::TRACE);
/// ```
pub fn level_from_tracing(level: &tracing_core::Level) -> Level {
    match *level {
        tracing_core::Level::ERROR => Level::ERROR,
        tracing_core::Level::WARN => Level::WARNING,
        tracing_core::Level::INFO => Level::INFO,
        tracing_core::Level::DEBUG => Level::DEBUG,
        _ => super::TRACE,
    }
}

/// A layer feeding the default hierarchy ([`crate::manager`]).
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(mplog::compat::tracing::layer());
/// # drop(subscriber);
/// ```
pub fn layer() -> MplogLayer {
    layer_for(crate::manager().clone())
}

/// A layer feeding `manager`. When `manager` is a queue listener's hierarchy, the layer
/// follows the listener's reloads to the new one.
///
/// ```
/// use std::sync::Arc;
/// use tracing_subscriber::layer::SubscriberExt;
/// use mplog::{handler::MemoryHandler, Level};
/// let m = mplog::Manager::new();
/// let memory = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
/// m.root().add_handler(memory.clone());
/// let subscriber = tracing_subscriber::registry().with(mplog::compat::tracing::layer_for(m));
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(target: "app::db", pool = 8, "pool exhausted");
///     tracing::info!("below the root's WARNING: not made");
/// });
/// assert_eq!(memory.buffered(), 1);
/// ```
pub fn layer_for(manager: Manager) -> MplogLayer {
    MplogLayer::new(manager)
}

/// Sets `tracing_subscriber::registry().with(layer())` as `tracing`'s global default
/// subscriber. Fails if one is set already.
///
/// ```no_run
/// mplog::compat::tracing::install().unwrap();
/// tracing::warn!("through mplog");
/// ```
pub fn install() -> Result<(), SetGlobalDefaultError> {
    tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(
        tracing_subscriber::registry().with(layer()),
    ))
}
