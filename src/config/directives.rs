//! Worker-side levels: what a worker sends, from `MPLOG_LEVEL` directives or from a
//! configuration's levels.
//!
//! The syntax is the familiar one (`RUST_LOG`'s, without targets' modules paths): a comma
//! separated list where a bare level sets the root and `logger=level` sets one logger:
//! `info,app.db=debug,hyper=warning`. Levels are names in any case or numbers. With
//! `MPLOG_LEVEL=@path/to/listener.yaml` the levels of that file's `root` and `loggers` apply
//! instead, so workers and listener can share one file.

use std::path::Path;

use super::error::{ConfigError, ErrorKind};
use super::DictConfig;
use crate::level::Level;
use crate::logger::Manager;

/// The variable [`Directives::from_env`] reads.
pub const ENV_LEVEL: &str = "MPLOG_LEVEL";

/// A list of `(logger, level)` settings; `""` is the root.
///
/// ```
/// use mplog::config::Directives;
/// use mplog::{Level, Manager};
/// let d: Directives = "info,app.db=debug,hyper=WARNING".parse().unwrap();
/// let m = Manager::new();
/// d.apply_to(&m);
/// assert_eq!(m.root().level(), Level::INFO);
/// assert_eq!(m.get_logger("app.db").level(), Level::DEBUG);
/// assert!(!m.get_logger("hyper.client").is_enabled_for(Level::INFO));
/// let err = "app=verbose".parse::<Directives>().unwrap_err();
/// assert_eq!(err.to_string(), "MPLOG_LEVEL: directive 'app=verbose': unknown level 'verbose'");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    levels: Vec<(String, Level)>,
}

impl Directives {
    /// The settings, in order (a later one for the same logger wins).
    ///
    /// ```
    /// use mplog::{config::Directives, Level};
    /// let d: Directives = "warning,app.db=debug".parse().unwrap();
    /// assert_eq!(d.levels(), [(String::new(), Level::WARNING), ("app.db".to_string(), Level::DEBUG)]);
    /// ```
    pub fn levels(&self) -> &[(String, Level)] {
        &self.levels
    }

    /// Sets each level on `manager`.
    ///
    /// ```
    /// use mplog::{config::Directives, Level};
    /// let m = mplog::Manager::new();
    /// "error,app=debug".parse::<Directives>().unwrap().apply_to(&m);
    /// assert!(m.get_logger("app.http").is_enabled_for(Level::DEBUG));
    /// assert!(!m.get_logger("other").is_enabled_for(Level::WARNING));
    /// ```
    pub fn apply_to(&self, manager: &Manager) {
        for (name, level) in &self.levels {
            manager.get_logger(name).set_level(*level);
        }
    }

    /// The levels of a configuration's `root` and `loggers`.
    ///
    /// ```
    /// let cfg = mplog::config::DictConfig::from_json(r#"{"version": 1, "root": {"level": "ERROR"}}"#).unwrap();
    /// let d = mplog::config::Directives::from_config(&cfg);
    /// assert_eq!(d.levels(), [(String::new(), mplog::Level::ERROR)]);
    /// ```
    pub fn from_config(config: &DictConfig) -> Directives {
        Directives {
            levels: config.levels(),
        }
    }

    /// [`ENV_LEVEL`] read: `None` when unset or empty.
    ///
    /// ```
    /// std::env::remove_var("MPLOG_LEVEL");
    /// assert!(mplog::config::Directives::from_env().unwrap().is_none());
    /// ```
    pub fn from_env() -> Result<Option<Directives>, ConfigError> {
        match std::env::var(ENV_LEVEL) {
            Ok(v) if !v.trim().is_empty() => v.parse().map(Some),
            _ => Ok(None),
        }
    }
}

impl std::str::FromStr for Directives {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Directives, ConfigError> {
        if let Some(path) = s.trim().strip_prefix('@') {
            let config = DictConfig::from_path(Path::new(path))?;
            return Ok(Directives::from_config(&config));
        }
        let mut levels = Vec::new();
        for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let (name, level) = match directive.split_once('=') {
                Some((name, level)) => (name.trim(), level.trim()),
                None => ("", directive),
            };
            let bad = |kind| {
                ConfigError::new(ENV_LEVEL, kind).context(|| format!("directive '{directive}'"))
            };
            if name.contains(char::is_whitespace) {
                return Err(bad(ErrorKind::Invalid(format!(
                    "logger name {name:?} has spaces"
                ))));
            }
            let level = level
                .parse::<Level>()
                .map_err(|_| bad(ErrorKind::UnknownLevel(level.to_owned())))?;
            levels.push((name.to_owned(), level));
        }
        Ok(Directives { levels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_loggers_numbers_and_spaces() {
        let d: Directives = " warning , app = 15 ,root=error".parse().unwrap();
        assert_eq!(
            d.levels(),
            [
                (String::new(), Level::WARNING),
                ("app".into(), Level::new(15)),
                ("root".into(), Level::ERROR)
            ]
        );
        assert!("".parse::<Directives>().unwrap().levels().is_empty());
        assert!("a b=info".parse::<Directives>().is_err());
    }

    #[test]
    fn a_file_gives_its_levels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.toml");
        std::fs::write(&path, "version = 1\n[loggers.app]\nlevel = \"debug\"\n").unwrap();
        let d: Directives = format!("@{}", path.display()).parse().unwrap();
        assert_eq!(d.levels(), [("app".into(), Level::DEBUG)]);
        assert!("@/nonexistent/x.toml".parse::<Directives>().is_err());
    }
}
