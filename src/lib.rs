//! # mplog
//!
//! Python's `logging`, and its multi-process queue pattern, for Rust.
//!
//! The model is Python's: [`Logger`]s in a dotted hierarchy with levels and propagation,
//! [`Handler`]s that write records somewhere, [`Filter`](filter::Filter)s, and
//! [`Formatter`]s with `%`, `{}` and `$` styles. A disabled log call costs one atomic load;
//! an enabled one builds one owned [`Record`] that can cross processes.
//!
//! ```
//! use mplog::{info, BasicConfig, Level};
//!
//! let m = mplog::Manager::new(); // or mplog::get_logger for the process-wide hierarchy
//! BasicConfig::new().level(Level::INFO).apply_to(&m).unwrap();
//! let log = m.get_logger("app.http");
//! info!(log, "listening on port {}", 8080); // INFO:app.http:listening on port 8080
//! ```
//!
//! Map of the crate: [`level`], [`record`], [`filter`], [`format`](mod@format), [`handler`], [`logger`],
//! [`macros`], [`basic_config`], [`config`] (dictConfig and fileConfig files, a registry of a
//! program's own classes, listener reload), [`queue`] (workers, transports, and the listener:
//! inputs, dispatch, outputs), [`compat`] (the `log` facade, `tracing`, Python's pickled records).

#![warn(missing_docs)]
// Unsafe code is allowed, item by item, only where the standard library and nix leave no safe
// way: the shared-memory rings (`queue::transport::shm::ring`, every invariant written beside
// it) and three process-level calls (`fork`, `atexit`, `pthread_atfork`).
#![deny(unsafe_code)]

pub mod basic_config;
pub mod compat;
pub mod config;
pub mod filter;
pub mod format;
pub mod handler;
pub mod level;
pub mod lock;
pub mod logger;
pub mod macros;
pub mod queue;
pub use crate::queue::worker;
pub mod record;

use std::sync::LazyLock;

pub use crate::basic_config::BasicConfig;
pub use crate::format::Formatter;
pub use crate::handler::Handler;
pub use crate::level::{add_level_name, Level};
pub use crate::logger::{Logger, Manager};
pub use crate::record::Record;

/// The README's Rust snippets, compiled (and the runnable ones run) by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

static DEFAULT: LazyLock<Manager> = LazyLock::new(Manager::new);

/// The process-wide default hierarchy.
///
/// ```
/// assert!(mplog::manager().root().is_root());
/// ```
pub fn manager() -> &'static Manager {
    &DEFAULT
}

/// A logger of the default hierarchy (Python's `logging.getLogger`); `""` or `"root"` is the
/// root.
///
/// ```
/// let log = mplog::get_logger("app");
/// assert_eq!(log.name(), "app");
/// ```
pub fn get_logger(name: &str) -> Logger {
    DEFAULT.get_logger(name)
}

/// The root logger of the default hierarchy.
///
/// ```
/// assert!(mplog::root().is_root());
/// assert_eq!(mplog::root(), mplog::get_logger(""));
/// ```
pub fn root() -> Logger {
    DEFAULT.root()
}

/// Silences every record at or below `level` in the default hierarchy (Python's
/// `logging.disable`); `Level::NOTSET` turns it off.
///
/// ```
/// use mplog::Level;
/// mplog::disable(Level::WARNING); // e.g. for a noisy section
/// assert!(!mplog::get_logger("app").is_enabled_for(Level::WARNING));
/// assert!(mplog::root().is_enabled_for(Level::ERROR));
/// mplog::disable(Level::NOTSET);
/// assert!(mplog::root().is_enabled_for(Level::WARNING));
/// ```
pub fn disable(level: Level) {
    DEFAULT.disable(level);
}

/// Flushes and closes every handler of the default hierarchy (Python's `logging.shutdown`).
///
/// ```
/// use std::sync::Arc;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("app.log");
/// let file = mplog::handler::FileHandler::builder(&path).buffer(4096).build().unwrap();
/// mplog::root().add_handler(Arc::new(file));
/// mplog::error!(mplog::root(), "last words");
/// mplog::shutdown(); // at exit: buffered lines reach the file
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "last words\n");
/// ```
pub fn shutdown() {
    DEFAULT.shutdown();
}
