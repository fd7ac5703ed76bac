//! The worker's side in one call: [`init`] / [`init_from_env`] put a [`QueueHandler`] on the
//! root logger of the default hierarchy (root level DEBUG, as the cookbook's workers do: the
//! listener decides what is kept) and install the exit hooks.
//!
//! # What the guard and the hooks guarantee
//! Every record logged before the process ends reaches the listener, as long as the listener
//! is reachable within [`DEFAULT_DRAIN_TIMEOUT`]:
//! - dropping the [`WorkerGuard`] drains, sends `Goodbye` and detaches the handler;
//! - `mplog::shutdown()` closes the root's handlers, which drains;
//! - a panic drains before unwinding on (the hook chains the previous one, which still prints
//!   the message);
//! - `std::process::exit` (and returning from `main`) runs an `atexit` hook that drains.
//!
//! Each wait is bounded, so a dead listener delays an exit by at most the drain timeout; what
//! could not be delivered is counted as dropped. SIGKILL skips all of this; see
//! [`Delivery::Sync`].

use std::sync::{Arc, Once};
use std::time::Duration;

use super::handler::{drain_all, DEFAULT_DRAIN_TIMEOUT, SENDER_THREAD};
use super::transport::TransportKind;
use super::{Delivery, HandlerStats, Overflow, QueueError, QueueHandler, QueueHandlerBuilder};
use crate::handler::Handler;
use crate::level::Level;

/// The listener's socket path, set by the supervisor for its children.
pub const ENV_ENDPOINT: &str = "MPLOG_ENDPOINT";
/// The child's `processName` (optional).
pub const ENV_PROCESS_NAME: &str = "MPLOG_PROCESS_NAME";
/// `async` (default) or `sync` (optional).
pub const ENV_DELIVERY: &str = "MPLOG_DELIVERY";
/// `block` (default) or `drop` (optional).
pub const ENV_OVERFLOW: &str = "MPLOG_OVERFLOW";
/// `shm` (default on Linux) or `socket` (optional); see
/// [`TransportKind`].
pub const ENV_TRANSPORT: &str = "MPLOG_TRANSPORT";

/// Keeps the worker's handler attached; dropping it drains to the listener (bounded) and
/// detaches it.
///
/// ```
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let guard = mplog::queue::worker::init(mplog::queue::QueueHandler::builder(listener.endpoint())).unwrap();
/// mplog::info!(mplog::get_logger("job"), "working");
/// drop(guard); // drained, goodbye sent, handler detached
/// assert!(!mplog::root().has_handlers());
/// assert_eq!(listener.stop().records, 1);
/// ```
#[must_use = "dropping the guard at once detaches the handler"]
#[derive(Debug)]
pub struct WorkerGuard {
    handler: Arc<QueueHandler>,
}

impl WorkerGuard {
    /// The handler on the root logger.
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let guard = mplog::queue::worker::init(mplog::queue::QueueHandler::builder(listener.endpoint())).unwrap();
    /// mplog::info!(mplog::get_logger("job"), "checkpoint");
    /// assert!(guard.handler().sync(std::time::Duration::from_secs(5)));
    /// # drop(guard); listener.stop();
    /// ```
    pub fn handler(&self) -> &Arc<QueueHandler> {
        &self.handler
    }

    /// Records sent and dropped so far.
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let guard = mplog::queue::worker::init(mplog::queue::QueueHandler::builder(listener.endpoint())).unwrap();
    /// mplog::debug!(mplog::get_logger("job"), "sent: the worker's root is at DEBUG");
    /// assert!(guard.handler().sync(std::time::Duration::from_secs(5)));
    /// assert_eq!(guard.stats().sent, 1);
    /// # drop(guard); listener.stop();
    /// ```
    pub fn stats(&self) -> HandlerStats {
        self.handler.stats()
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        self.handler.close();
        let as_dyn: Arc<dyn Handler> = self.handler.clone();
        crate::root().remove_handler(&as_dyn);
    }
}

/// Starts a handler from `builder`, puts it on the default hierarchy's root (level DEBUG) and
/// installs the exit hooks.
///
/// ```
/// # let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let guard = mplog::queue::worker::init(
///     mplog::queue::QueueHandler::builder(listener.endpoint()),
/// ).unwrap();
/// mplog::get_logger("job").log(mplog::Level::DEBUG, "step 1");
/// drop(guard);
/// assert_eq!(listener.stop().records, 1);
/// ```
pub fn init(builder: QueueHandlerBuilder) -> Result<WorkerGuard, QueueError> {
    let handler = Arc::new(builder.build()?);
    let root = crate::root();
    root.set_level(Level::DEBUG);
    root.add_handler(handler.clone());
    install_exit_hooks();
    Ok(WorkerGuard { handler })
}

/// [`init`] configured from the environment: [`ENV_ENDPOINT`] (required),
/// [`ENV_PROCESS_NAME`], [`ENV_DELIVERY`], [`ENV_OVERFLOW`], [`ENV_TRANSPORT`], and the levels
/// of what to send from [`MPLOG_LEVEL`](crate::config::ENV_LEVEL) (`info,app.db=debug`, or
/// `@listener.yaml` for that file's levels; see [`Directives`](crate::config::Directives)),
/// applied after the root's DEBUG.
///
/// ```
/// std::env::remove_var("MPLOG_ENDPOINT");
/// assert!(mplog::queue::worker::init_from_env().is_err());
/// ```
pub fn init_from_env() -> Result<WorkerGuard, QueueError> {
    let levels = crate::config::Directives::from_env().map_err(|e| QueueError::Env {
        name: crate::config::ENV_LEVEL,
        reason: e.to_string(),
    })?;
    let guard = init(builder_from_env()?)?;
    if let Some(levels) = levels {
        levels.apply_to(crate::manager());
    }
    Ok(guard)
}

/// The handler builder [`init_from_env`] uses, to adjust before [`init`].
///
/// ```
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// std::env::set_var("MPLOG_ENDPOINT", listener.endpoint()); // the supervisor does this
/// let builder = mplog::queue::worker::builder_from_env().unwrap()
///     .capacity(1024); // adjusted before init
/// let guard = mplog::queue::worker::init(builder).unwrap();
/// # drop(guard); listener.stop();
/// ```
pub fn builder_from_env() -> Result<QueueHandlerBuilder, QueueError> {
    let endpoint = std::env::var_os(ENV_ENDPOINT).ok_or(QueueError::Env {
        name: ENV_ENDPOINT,
        reason: "not set (the supervisor sets it, see CommandExt::mplog_endpoint)".into(),
    })?;
    if endpoint.is_empty() {
        return Err(QueueError::Env {
            name: ENV_ENDPOINT,
            reason: "empty: it must be the listener's socket path".into(),
        });
    }
    let mut builder = QueueHandler::builder(endpoint);
    if let Ok(name) = std::env::var(ENV_PROCESS_NAME) {
        crate::record::set_process_name(&name);
        builder = builder.process_name(name);
    }
    match std::env::var(ENV_DELIVERY).as_deref() {
        Err(_) | Ok("async") => {}
        Ok("sync") => builder = builder.delivery(Delivery::Sync),
        Ok(other) => {
            return Err(QueueError::Env {
                name: ENV_DELIVERY,
                reason: format!("{other:?} is neither \"async\" nor \"sync\""),
            })
        }
    }
    match std::env::var(ENV_OVERFLOW).as_deref() {
        Err(_) | Ok("block") => {}
        Ok("drop") => builder = builder.overflow(Overflow::Drop),
        Ok(other) => {
            return Err(QueueError::Env {
                name: ENV_OVERFLOW,
                reason: format!("{other:?} is neither \"block\" nor \"drop\""),
            })
        }
    }
    if let Ok(value) = std::env::var(ENV_TRANSPORT) {
        let kind = value
            .parse::<TransportKind>()
            .map_err(|reason| QueueError::Env {
                name: ENV_TRANSPORT,
                reason,
            })?;
        builder = builder.transport(kind);
    }
    Ok(builder)
}

/// Installs, once per process, the panic hook (drains, then chains the previous hook) and
/// the `atexit` hook (closes every queue handler). [`init`] calls it.
///
/// ```
/// // For a QueueHandler set up by hand rather than with `init`: drain it on panic and exit.
/// let h = mplog::queue::QueueHandler::builder("/tmp/nowhere/mplog.sock")
///     .drain_timeout(std::time::Duration::from_millis(50)).build().unwrap();
/// mplog::root().add_handler(std::sync::Arc::new(h));
/// mplog::queue::worker::install_exit_hooks(); // once per process; later calls do nothing
/// mplog::queue::worker::install_exit_hooks();
/// ```
#[allow(unsafe_code)] // `atexit`, see the SAFETY note below
pub fn install_exit_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // The sender thread must not wait for itself.
            if std::thread::current().name() != Some(SENDER_THREAD) {
                drain_all(DEFAULT_DRAIN_TIMEOUT, false);
            }
        }));
        // SAFETY: `atexit` only stores the function pointer; `drain_at_exit` is a plain
        // `extern "C" fn` with no arguments that never unwinds (it catches panics), and it
        // only touches process-wide statics that live until the process ends.
        let _ = unsafe { nix::libc::atexit(drain_at_exit) };
    });
}

extern "C" fn drain_at_exit() {
    let _ = std::panic::catch_unwind(|| drain_all(DEFAULT_DRAIN_TIMEOUT, true));
}

/// Drains every queue handler of this process, waiting at most `timeout` for each; returns
/// at once for handlers whose listener is unreachable after that.
///
/// ```
/// mplog::queue::worker::flush_all(std::time::Duration::from_millis(100));
/// ```
pub fn flush_all(timeout: Duration) {
    drain_all(timeout, false);
}
