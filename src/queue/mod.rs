//! The cookbook's queue pattern across processes: workers send, one listener writes.
//!
//! Worker processes put a [`QueueHandler`] on their root logger; it prepares each record
//! (Python's `prepare`: final message, exception text folded in) and sends it by one of two
//! transports ([`transport`]). **shm** (the default on Linux): the calling thread encodes the
//! record into a ring in shared memory of its own, no system call, nothing lost if the worker
//! is SIGKILLed ([`transport::shm`]). **socket** (elsewhere, or `MPLOG_TRANSPORT=socket`): the
//! call pushes onto a bounded channel and a sender thread batches records into frames
//! ([`wire`]) on a Unix socket. A [`QueueListener`] (a thread in a
//! supervisor, or the `mplog listen` process) reads every worker's frames and hands the
//! records, in each worker's order, to one dispatch thread that owns the listener's own,
//! independent configuration: it is the only writer of the shared files, so lines are never
//! torn or interleaved.
//!
//! # Guarantees, and their limits
//! - **Nothing lost on the way out**: the [`worker::WorkerGuard`]'s drop, `mplog::shutdown()`,
//!   a panic (a chained panic hook) and `std::process::exit` (an `atexit` hook) all drain the
//!   queue to the listener first, each bounded by a timeout
//!   ([`DEFAULT_DRAIN_TIMEOUT`](handler::DEFAULT_DRAIN_TIMEOUT)), so a dead listener cannot
//!   hang an exit. A SIGKILL skips all of these: on the socket transport use
//!   [`Delivery::Sync`] when that matters; on shm every returned call is already safe.
//! - **A full queue** blocks the caller for at most a timeout, or drops; drops are counted and
//!   the count reaches the listener, which logs a warning naming the worker ([`Overflow`]).
//! - **A dead listener** never hangs nor panics a worker: it reconnects with backoff and keeps
//!   records in its bounded queue meanwhile.
//! - **A listener killed and restarted** loses nothing on either transport: shm rings keep
//!   what the listener had not committed; on the socket the listener acknowledges what it
//!   wrote and flushed, and a worker sends what was not acknowledged again to the listener it
//!   reconnects to. Both may write again what the killed listener had written but not yet
//!   committed or acknowledged (a bounded window, see [`handler`]); what a worker gives up
//!   beyond its bounds is counted and reported.
//! - **Bad input** closes only the offending connection; the other workers are untouched. A
//!   peer that does not read its acknowledgements is disconnected without delaying anyone;
//!   memory per connection grows with the bytes it sent, and connections are capped
//!   ([`QueueListenerBuilder::max_connections`]).
//!
//! # Map
//! [`wire`] (frames), [`transport`] (sockets; the figures behind the choice), [`handler`]
//! ([`QueueHandler`]), [`listener`] ([`QueueListener`]), [`worker`] (init in a worker process,
//! the exit hooks), [`spawn`] (handing the endpoint to children; fork).
//!
//! ```
//! use mplog::queue::{worker, QueueListener};
//! use mplog::handler::{FileHandler, Handler};
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("all.log");
//! let listener = QueueListener::builder()
//!     .handlers(vec![Arc::new(FileHandler::builder(&path).buffer(64 * 1024).build().unwrap())])
//!     .start()
//!     .unwrap();
//! // In a worker process this would be `worker::init_from_env()`.
//! let guard = worker::init(mplog::queue::QueueHandler::builder(listener.endpoint())).unwrap();
//! mplog::get_logger("app").log(mplog::Level::INFO, "hello from a worker");
//! drop(guard); // drains
//! listener.stop();
//! assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello from a worker\n");
//! ```

mod decode;
mod encode;
pub mod handler;
mod link;
pub mod listener;
#[cfg(target_os = "linux")]
mod ring_sink;
mod sender;
pub mod spawn;
pub mod transport;
pub mod wire;
pub mod worker;

use std::io;

pub use self::handler::{
    Delivery, HandlerStats, Overflow, QueueHandler, QueueHandlerBuilder, DEFAULT_MAX_RECORD,
};
pub use self::link::{RECONNECT_MAX, RECONNECT_MIN};
pub use self::listener::{
    Endpoint, ListenerHandle, ListenerStats, QueueListener, QueueListenerBuilder, WorkerStats,
};

/// Why the queue machinery could not start.
///
/// ```
/// use mplog::queue::{QueueError, QueueListener};
/// let err = QueueListener::builder().endpoint("/nonexistent/dir/app.sock").start().unwrap_err();
/// assert!(matches!(err, QueueError::Bind(_)));
/// assert!(err.to_string().starts_with("cannot bind the listener socket"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The listener could not bind its socket.
    #[error("cannot bind the listener socket: {0}")]
    Bind(#[source] io::Error),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(#[source] io::Error),
    /// A required environment variable is missing or invalid.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `fork` failed.
    #[error("fork failed: {0}")]
    Fork(#[source] nix::Error),
}
