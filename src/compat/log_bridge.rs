//! The `log` crate facade, routed into an mplog hierarchy.
//!
//! After [`install`], every `log::info!` of every crate becomes an mplog record: the target
//! `a::b` is the logger `a.b`, the levels map `Error`→ERROR, `Warn`→WARNING, `Info`→INFO,
//! `Debug`→DEBUG and `Trace`→TRACE (level 5, registered under that name), and key-values
//! become `extra` fields.
//!
//! `log::max_level()` is kept in step with the hierarchy: it is the most verbose `log` level
//! any mplog logger accepts, recomputed whenever a level, `disabled` or `disable` changes, so a
//! `log::debug!` that no logger wants is rejected by `log` itself before reaching mplog.

use std::borrow::Cow;
use std::sync::Arc;

use crate::level::Level;
use crate::logger::{Logger, Manager};
use crate::record::{is_reserved_field, Location, Value};

pub use super::TRACE;
use super::{FacadeLevel, TargetLoggers};

/// The mplog level of a `log` level.
///
/// ```
/// use mplog::compat::log_bridge::level_from_log;
/// assert_eq!(level_from_log(log::Level::Warn), mplog::Level::WARNING);
/// ```
pub fn level_from_log(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::ERROR,
        log::Level::Warn => Level::WARNING,
        log::Level::Info => Level::INFO,
        log::Level::Debug => Level::DEBUG,
        log::Level::Trace => TRACE,
    }
}

/// The most verbose `log` filter that lets records at or above `lowest` through.
fn filter_for(lowest: Level) -> log::LevelFilter {
    match FacadeLevel::most_verbose(lowest) {
        Some(FacadeLevel::Trace) => log::LevelFilter::Trace,
        Some(FacadeLevel::Debug) => log::LevelFilter::Debug,
        Some(FacadeLevel::Info) => log::LevelFilter::Info,
        Some(FacadeLevel::Warn) => log::LevelFilter::Warn,
        Some(FacadeLevel::Error) => log::LevelFilter::Error,
        None => log::LevelFilter::Off,
    }
}

/// A `log::Log` that feeds a [`Manager`].
///
/// ```
/// use std::sync::Arc;
/// use log::Log;
/// use mplog::{compat::log_bridge::LogBridge, handler::MemoryHandler, Level};
/// let m = mplog::Manager::new();
/// let memory = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
/// m.root().add_handler(memory.clone());
/// let bridge = LogBridge::new(m);
/// bridge.log(&log::Record::builder().target("app::db").level(log::Level::Error).args(format_args!("x")).build());
/// assert_eq!(memory.buffered(), 1);
/// ```
pub struct LogBridge {
    loggers: TargetLoggers,
}

impl std::fmt::Debug for LogBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBridge").finish_non_exhaustive()
    }
}

impl LogBridge {
    /// A bridge into `manager` (not yet installed; see [`install_for`]).
    ///
    /// ```
    /// use log::Log;
    /// let bridge = mplog::compat::log_bridge::LogBridge::new(mplog::Manager::new());
    /// let warn = log::Metadata::builder().target("app").level(log::Level::Warn).build();
    /// assert!(bridge.enabled(&warn)); // the root is at WARNING
    /// ```
    pub fn new(manager: Manager) -> LogBridge {
        LogBridge {
            loggers: TargetLoggers::new(manager),
        }
    }

    /// The logger for a `log` target (`a::b` → `a.b`).
    ///
    /// ```
    /// let bridge = mplog::compat::log_bridge::LogBridge::new(mplog::Manager::new());
    /// assert_eq!(bridge.logger_for("app::db::pool").name(), "app.db.pool");
    /// ```
    pub fn logger_for(&self, target: &str) -> Logger {
        self.loggers.logger_for(target)
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.logger_for(metadata.target())
            .is_enabled_for(level_from_log(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = level_from_log(record.level());
        // `tracing`'s copy of an event the `tracing` layer handled (its `log-always`
        // feature): `log`'s own macros give a `'static` file, `tracing`'s copies do not.
        #[cfg(feature = "tracing")]
        if record.file_static().is_none()
            && super::tracing::echo::is_copy(record.target(), level, record.file(), record.line())
        {
            return;
        }
        let logger = self.logger_for(record.target());
        if !logger.is_enabled_for(level) {
            return;
        }
        let location = Location {
            pathname: record.file_static().unwrap_or(""),
            lineno: record.line().unwrap_or(0),
            module_path: record.module_path_static().unwrap_or(""),
        };
        let message = crate::macros::__private::message(*record.args());
        let mut out = logger.make_record(level, message, &location);
        let mut visitor = Extras(&mut out.extra);
        let _ = record.key_values().visit(&mut visitor);
        logger.handle(&out);
    }

    fn flush(&self) {
        for h in self.loggers.manager().handlers() {
            let _ = h.flush();
        }
    }
}

struct Extras<'a>(&'a mut Vec<(Cow<'static, str>, Value)>);

impl<'kvs> log::kv::VisitSource<'kvs> for Extras<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let value = if let Some(i) = value.to_i64() {
            Value::Int(i)
        } else if let Some(f) = value.to_f64() {
            Value::Float(f)
        } else if let Some(b) = value.to_bool() {
            Value::Bool(b)
        } else {
            Value::Str(value.to_string())
        };
        // `log` cannot refuse a key as Python's makeRecord does; a key that would overwrite a
        // standard field is kept under a trailing underscore instead of being lost.
        let key = if is_reserved_field(key.as_str()) {
            format!("{}_", key.as_str())
        } else {
            key.as_str().to_owned()
        };
        self.0.push((Cow::Owned(key), value));
        Ok(())
    }
}

/// Installs a bridge into the default hierarchy as the `log` logger.
///
/// ```
/// mplog::compat::log_bridge::install().unwrap();
/// mplog::get_logger("my_crate").set_level(mplog::Level::INFO);
/// log::info!(target: "my_crate::db", "now routed through mplog");
/// assert!(log::max_level() >= log::LevelFilter::Info);
/// ```
pub fn install() -> Result<(), log::SetLoggerError> {
    install_for(crate::manager().clone())
}

/// Installs a bridge into `manager` as the `log` logger, and keeps `log::max_level` in step
/// with its levels. Fails if another `log` logger is installed.
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::compat::log_bridge::install_for(m.clone()).unwrap();
/// m.get_logger("app").set_level(mplog::Level::DEBUG);
/// assert_eq!(log::max_level(), log::LevelFilter::Debug); // kept in step
/// assert!(mplog::compat::log_bridge::install().is_err()); // one `log` logger per process
/// ```
pub fn install_for(manager: Manager) -> Result<(), log::SetLoggerError> {
    super::register_trace_name();
    log::set_boxed_logger(Box::new(LogBridge::new(manager.clone())))?;
    manager.set_level_hook(Some(Arc::new(|lowest| {
        log::set_max_level(filter_for(lowest))
    })));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_level_follows_the_most_verbose_logger() {
        assert_eq!(filter_for(Level::WARNING), log::LevelFilter::Warn);
        assert_eq!(filter_for(Level::new(15)), log::LevelFilter::Info);
        assert_eq!(filter_for(Level::new(1)), log::LevelFilter::Trace);
        assert_eq!(filter_for(Level::new(51)), log::LevelFilter::Off);
    }
}
