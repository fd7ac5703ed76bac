//! Bridges from other logging APIs into mplog: the `log` crate facade ([`log_bridge`]),
//! `tracing` ([`tracing`](mod@tracing), cargo feature `tracing`), and Python's pickled log
//! records ([`pickle`]: what `SocketHandler` and `DatagramHandler` send).
//!
//! Both map a target `a::b` to the logger `a.b` and the five facade levels onto mplog's
//! (`TRACE` is the custom level [`TRACE`], 5, below DEBUG), and both keep their facade's
//! global level filter in step with the hierarchy. What they share lives here.
//!
//! What does not live here: mplog's own call sites (the macros) and handlers.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::level::Level;
use crate::logger::{Logger, Manager};

pub mod log_bridge;
pub mod pickle;
#[cfg(feature = "tracing")]
pub mod tracing;

/// The level `log`'s and `tracing`'s TRACE map to: 5, named `TRACE` once a bridge is made.
///
/// ```
/// assert!(mplog::compat::TRACE < mplog::Level::DEBUG);
/// ```
pub const TRACE: Level = Level::new(5);

/// Registers the name of [`TRACE`] (idempotent; names are process-wide).
pub(crate) fn register_trace_name() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| crate::level::add_level_name(TRACE, "TRACE"));
}

/// The five levels of the `log` and `tracing` facades, most verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FacadeLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl FacadeLevel {
    /// The mplog level of a facade level.
    pub(crate) const fn level(self) -> Level {
        match self {
            FacadeLevel::Trace => TRACE,
            FacadeLevel::Debug => Level::DEBUG,
            FacadeLevel::Info => Level::INFO,
            FacadeLevel::Warn => Level::WARNING,
            FacadeLevel::Error => Level::ERROR,
        }
    }

    /// The most verbose facade level whose records pass a logger whose lowest enabled level is
    /// `lowest` (`None`: not even ERROR does).
    pub(crate) fn most_verbose(lowest: Level) -> Option<FacadeLevel> {
        [
            FacadeLevel::Trace,
            FacadeLevel::Debug,
            FacadeLevel::Info,
            FacadeLevel::Warn,
            FacadeLevel::Error,
        ]
        .into_iter()
        .find(|f| lowest <= f.level())
    }
}

/// Loggers by facade target (`a::b` -> `a.b`), so a call costs a read lock and a lookup, not a
/// name conversion and the registry.
pub(crate) struct TargetLoggers {
    manager: Manager,
    loggers: RwLock<HashMap<Box<str>, Logger>>,
}

impl TargetLoggers {
    pub(crate) fn new(manager: Manager) -> TargetLoggers {
        TargetLoggers {
            manager,
            loggers: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn manager(&self) -> &Manager {
        &self.manager
    }

    /// The logger for a facade target (`a::b` -> `a.b`).
    pub(crate) fn logger_for(&self, target: &str) -> Logger {
        if let Some(l) = self.loggers.read().get(target) {
            return l.clone();
        }
        let logger = self.manager.get_logger(&logger_name(target));
        self.loggers.write().insert(target.into(), logger.clone());
        logger
    }
}

/// The logger name of a facade target: `a::b` -> `a.b`.
pub(crate) fn logger_name(target: &str) -> String {
    target.replace("::", ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_verbose_facade_level_of_a_threshold() {
        assert_eq!(
            FacadeLevel::most_verbose(Level::WARNING),
            Some(FacadeLevel::Warn)
        );
        assert_eq!(
            FacadeLevel::most_verbose(Level::new(15)),
            Some(FacadeLevel::Info)
        );
        assert_eq!(
            FacadeLevel::most_verbose(Level::new(1)),
            Some(FacadeLevel::Trace)
        );
        assert_eq!(FacadeLevel::most_verbose(Level::new(41)), None);
    }
}
