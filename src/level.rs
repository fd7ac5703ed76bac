//! Logging levels: Python's numbers, names, and custom levels.
//!
//! A [`Level`] is a plain number, as in Python: `NOTSET` 0, `DEBUG` 10, `INFO` 20, `WARNING` 30,
//! `ERROR` 40, `CRITICAL` 50. Any other number is a valid level too; it prints as `Level N`
//! until a name is registered for it with [`add_level_name`] (Python's `addLevelName`), which
//! also replaces the name of a built-in number. Names live in one process-wide table, like
//! Python's `_levelToName`.
//!
//! Parsing ([`Level::from_str`](std::str::FromStr)) accepts the registered names in any case,
//! the aliases `WARN` and `FATAL`, and decimal numbers; anything else is an [`UnknownLevel`]
//! error that names the input.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

use arc_swap::ArcSwap;

use serde::{Deserialize, Serialize};

/// A logging level: a number where higher is more severe.
///
/// ```
/// use mplog::Level;
/// assert_eq!(Level::WARNING.as_u32(), 30);
/// assert!(Level::ERROR > Level::INFO);
/// assert_eq!(Level::new(25).to_string(), "Level 25");
/// assert_eq!("info".parse::<Level>().unwrap(), Level::INFO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Level(u32);

impl Level {
    /// No level set: a logger at NOTSET defers to its parent.
    pub const NOTSET: Level = Level(0);
    /// Detailed information, of interest when diagnosing problems.
    pub const DEBUG: Level = Level(10);
    /// Confirmation that things work as expected.
    pub const INFO: Level = Level(20);
    /// Something unexpected happened; the program still works.
    pub const WARNING: Level = Level(30);
    /// A function failed to do its job.
    pub const ERROR: Level = Level(40);
    /// The program itself may be unable to continue.
    pub const CRITICAL: Level = Level(50);

    /// A level with any number (Python allows any integer level).
    ///
    /// ```
    /// assert_eq!(mplog::Level::new(20), mplog::Level::INFO);
    /// ```
    pub const fn new(n: u32) -> Level {
        Level(n)
    }

    /// The level's number.
    ///
    /// ```
    /// assert_eq!(mplog::Level::CRITICAL.as_u32(), 50);
    /// ```
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// The level's name: a registered name, or `Level N` (Python's `getLevelName`).
    ///
    /// Built-in and registered names are borrowed; only an unnamed number allocates.
    ///
    /// ```
    /// use mplog::Level;
    /// assert_eq!(Level::INFO.name(), "INFO");
    /// assert_eq!(Level::new(7).name(), "Level 7");
    /// ```
    pub fn name(self) -> Cow<'static, str> {
        match registered_name(self) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(format!("Level {}", self.0)),
        }
    }
}

impl Default for Level {
    fn default() -> Self {
        Level::NOTSET
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match registered_name(*self) {
            Some(name) => f.pad(name),
            None => f.pad(&format!("Level {}", self.0)),
        }
    }
}

impl From<u32> for Level {
    fn from(n: u32) -> Self {
        Level(n)
    }
}

/// The error for a level name that is neither registered nor a number.
///
/// ```
/// let err = "NTOSET".parse::<mplog::Level>().unwrap_err();
/// assert_eq!(err.to_string(), "Unknown level: 'NTOSET'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown level: '{0}'")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if let Ok(n) = trimmed.parse::<u32>() {
            return Ok(Level(n));
        }
        let upper = trimmed.to_ascii_uppercase();
        match upper.as_str() {
            "WARN" => return Ok(Level::WARNING),
            "FATAL" => return Ok(Level::CRITICAL),
            _ => {}
        }
        table()
            .load()
            .by_name
            .get(upper.as_str())
            .copied()
            .ok_or_else(|| UnknownLevel(s.to_owned()))
    }
}

/// Registers `name` for the level number `level` (Python's `addLevelName`).
///
/// The new name replaces an earlier one for that number, built-in names included, and parses
/// back to the number. Registration is process-wide and meant for start-up: each distinct name
/// is kept for the life of the process.
///
/// ```
/// use mplog::{add_level_name, Level};
/// add_level_name(Level::new(25), "NOTICE");
/// assert_eq!(Level::new(25).name(), "NOTICE");
/// assert_eq!("notice".parse::<Level>().unwrap(), Level::new(25));
/// ```
pub fn add_level_name(level: Level, name: &str) {
    // Registration is rare (start-up); each name is leaked once so lookups hand out `&'static
    // str` without locking or allocating on the logging path.
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let upper: &'static str = Box::leak(name.to_ascii_uppercase().into_boxed_str());
    table().rcu(|old| {
        let mut names = Names::clone(old);
        names.by_level.insert(level, name);
        names.by_name.insert(upper, level);
        names
    });
    if BUILTIN.iter().any(|&(l, _)| l == level) {
        BUILTIN_RENAMED.store(true, Ordering::Release);
    }
    CUSTOM_NAMES.store(true, Ordering::Release);
}

#[derive(Clone)]
struct Names {
    by_level: HashMap<Level, &'static str>,
    by_name: HashMap<&'static str, Level>,
}

const BUILTIN: [(Level, &str); 6] = [
    (Level::NOTSET, "NOTSET"),
    (Level::DEBUG, "DEBUG"),
    (Level::INFO, "INFO"),
    (Level::WARNING, "WARNING"),
    (Level::ERROR, "ERROR"),
    (Level::CRITICAL, "CRITICAL"),
];

fn table() -> &'static ArcSwap<Names> {
    static TABLE: LazyLock<ArcSwap<Names>> = LazyLock::new(|| {
        ArcSwap::from_pointee(Names {
            by_level: BUILTIN.iter().copied().collect(),
            by_name: BUILTIN.iter().map(|&(l, n)| (n, l)).collect(),
        })
    });
    &TABLE
}

/// Set once any name is registered: until then built-in names need no table.
static CUSTOM_NAMES: AtomicBool = AtomicBool::new(false);
/// Set once a built-in level is given another name: until then a built-in level needs no
/// table even when custom levels exist (the `log` and `tracing` bridges register TRACE).
static BUILTIN_RENAMED: AtomicBool = AtomicBool::new(false);

/// The name of `level`; a plain `match` (no lock, no hash) for built-in levels until one is
/// renamed, and for every level until a custom name is registered.
fn registered_name(level: Level) -> Option<&'static str> {
    if !BUILTIN_RENAMED.load(Ordering::Acquire) {
        let builtin = BUILTIN.iter().find(|(l, _)| *l == level);
        if builtin.is_some() || !CUSTOM_NAMES.load(Ordering::Acquire) {
            return builtin.map(|&(_, name)| name);
        }
    }
    table().load().by_level.get(&level).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_numbers_and_names() {
        for (level, name) in BUILTIN {
            assert_eq!(level.name(), name);
            assert_eq!(name.parse::<Level>().unwrap(), level);
        }
        assert_eq!(Level::WARNING.as_u32(), 30);
    }

    #[test]
    fn aliases_any_case_and_numbers_parse() {
        assert_eq!("warn".parse::<Level>().unwrap(), Level::WARNING);
        assert_eq!("Fatal".parse::<Level>().unwrap(), Level::CRITICAL);
        assert_eq!("Debug".parse::<Level>().unwrap(), Level::DEBUG);
        assert_eq!("15".parse::<Level>().unwrap(), Level::new(15));
    }

    #[test]
    fn unknown_names_are_errors_naming_the_input() {
        let err = "NTOSET".parse::<Level>().unwrap_err();
        assert_eq!(err.to_string(), "Unknown level: 'NTOSET'");
        assert!("".parse::<Level>().is_err());
        assert!("-5".parse::<Level>().is_err());
    }

    #[test]
    fn unnamed_numbers_print_as_level_n() {
        assert_eq!(Level::new(33).name(), "Level 33");
        assert_eq!(format!("{:<10}|", Level::new(33)), "Level 33  |");
        assert_eq!(format!("{:<8}|", Level::INFO), "INFO    |");
    }

    #[test]
    fn custom_names_register_and_replace() {
        add_level_name(Level::new(35), "ALERT");
        assert_eq!(Level::new(35).name(), "ALERT");
        assert_eq!("alert".parse::<Level>().unwrap(), Level::new(35));
        add_level_name(Level::new(35), "Alarm");
        assert_eq!(Level::new(35).name(), "Alarm");
        assert_eq!("ALARM".parse::<Level>().unwrap(), Level::new(35));
    }
}
