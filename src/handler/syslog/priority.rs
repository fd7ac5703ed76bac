//! Syslog facilities and severities, and how a record's level becomes a `<PRI>`: Python's
//! `SysLogHandler.encodePriority`, `mapPriority` and its `priority_map`, `facility_names` and
//! `priority_names`, with the same numbers and names.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// A syslog facility (RFC 5424 section 6.2.1): a number 0..=23, named as in Python's
/// `SysLogHandler.facility_names`.
///
/// ```
/// use mplog::handler::syslog::Facility;
/// assert_eq!("local3".parse::<Facility>().unwrap(), Facility::LOCAL3);
/// assert_eq!(Facility::new(23).unwrap(), Facility::LOCAL7);
/// assert!(Facility::new(24).is_err()); // the PRI would not fit RFC 5424's range
/// assert_eq!(Facility::USER.to_string(), "user");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facility(u8);

/// Python's `facility_names`, in its order.
const FACILITY_NAMES: [(&str, u8); 24] = [
    ("auth", 4),
    ("authpriv", 10),
    ("console", 14),
    ("cron", 9),
    ("daemon", 3),
    ("ftp", 11),
    ("kern", 0),
    ("lpr", 6),
    ("mail", 2),
    ("news", 7),
    ("ntp", 12),
    ("security", 13),
    ("solaris-cron", 15),
    ("syslog", 5),
    ("user", 1),
    ("uucp", 8),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// A facility or severity name or number that is not one.
///
/// ```
/// let err = "locl0".parse::<mplog::handler::syslog::Facility>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown syslog facility 'locl0' (kern, user, ..., local7, or 0..=23)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriorityError {
    /// Not a facility name nor a number 0..=23.
    #[error("unknown syslog facility '{0}' (kern, user, ..., local7, or 0..=23)")]
    Facility(String),
    /// Not a severity name nor a number 0..=7.
    #[error("unknown syslog severity '{0}' (emerg, alert, crit, err, warning, notice, info, debug, or 0..=7)")]
    Severity(String),
}

impl Facility {
    /// Kernel messages (0).
    pub const KERN: Facility = Facility(0);
    /// User-level messages (1), Python's default.
    pub const USER: Facility = Facility(1);
    /// The mail system (2).
    pub const MAIL: Facility = Facility(2);
    /// System daemons (3).
    pub const DAEMON: Facility = Facility(3);
    /// Security/authorization messages (4).
    pub const AUTH: Facility = Facility(4);
    /// Local use 0 (16).
    pub const LOCAL0: Facility = Facility(16);
    /// Local use 1 (17).
    pub const LOCAL1: Facility = Facility(17);
    /// Local use 2 (18).
    pub const LOCAL2: Facility = Facility(18);
    /// Local use 3 (19).
    pub const LOCAL3: Facility = Facility(19);
    /// Local use 4 (20).
    pub const LOCAL4: Facility = Facility(20);
    /// Local use 5 (21).
    pub const LOCAL5: Facility = Facility(21);
    /// Local use 6 (22).
    pub const LOCAL6: Facility = Facility(22);
    /// Local use 7 (23).
    pub const LOCAL7: Facility = Facility(23);

    /// The facility with number `n` (0..=23).
    ///
    /// ```
    /// assert_eq!(mplog::handler::syslog::Facility::new(16).unwrap().as_u8(), 16);
    /// ```
    pub fn new(n: u32) -> Result<Facility, PriorityError> {
        u8::try_from(n)
            .ok()
            .filter(|n| *n <= 23)
            .map(Facility)
            .ok_or_else(|| PriorityError::Facility(n.to_string()))
    }

    /// The facility's number.
    ///
    /// ```
    /// assert_eq!(mplog::handler::syslog::Facility::LOCAL7.as_u8(), 23);
    /// ```
    pub fn as_u8(self) -> u8 {
        self.0
    }
}

impl FromStr for Facility {
    type Err = PriorityError;

    /// A name of Python's `facility_names` (exact, lower case, as Python looks it up) or a
    /// number.
    fn from_str(s: &str) -> Result<Facility, PriorityError> {
        if let Some((_, n)) = FACILITY_NAMES.iter().find(|(name, _)| *name == s) {
            return Ok(Facility(*n));
        }
        s.parse::<u32>()
            .ok()
            .and_then(|n| Facility::new(n).ok())
            .ok_or_else(|| PriorityError::Facility(s.to_owned()))
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match FACILITY_NAMES.iter().find(|(_, n)| *n == self.0) {
            Some((name, _)) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A syslog severity (RFC 5424 section 6.2.1), 0 (emergency) ..= 7 (debug).
///
/// ```
/// use mplog::handler::syslog::Severity;
/// assert_eq!("crit".parse::<Severity>().unwrap(), Severity::Critical);
/// assert_eq!("error".parse::<Severity>().unwrap(), Severity::Error); // Python's deprecated alias
/// assert_eq!(Severity::Warning as u8, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Severity {
    /// The system is unusable (0).
    Emergency = 0,
    /// Action must be taken immediately (1).
    Alert = 1,
    /// Critical conditions (2).
    Critical = 2,
    /// Error conditions (3).
    Error = 3,
    /// Warning conditions (4).
    Warning = 4,
    /// Normal but significant (5).
    Notice = 5,
    /// Informational (6).
    Informational = 6,
    /// Debug-level messages (7).
    Debug = 7,
}

/// Python's `priority_names`.
const SEVERITY_NAMES: [(&str, Severity); 12] = [
    ("alert", Severity::Alert),
    ("crit", Severity::Critical),
    ("critical", Severity::Critical),
    ("debug", Severity::Debug),
    ("emerg", Severity::Emergency),
    ("err", Severity::Error),
    ("error", Severity::Error),
    ("info", Severity::Informational),
    ("notice", Severity::Notice),
    ("panic", Severity::Emergency),
    ("warn", Severity::Warning),
    ("warning", Severity::Warning),
];

impl FromStr for Severity {
    type Err = PriorityError;

    /// A name of Python's `priority_names` or a number 0..=7.
    fn from_str(s: &str) -> Result<Severity, PriorityError> {
        if let Some((_, sev)) = SEVERITY_NAMES.iter().find(|(name, _)| *name == s) {
            return Ok(*sev);
        }
        const BY_NUMBER: [Severity; 8] = [
            Severity::Emergency,
            Severity::Alert,
            Severity::Critical,
            Severity::Error,
            Severity::Warning,
            Severity::Notice,
            Severity::Informational,
            Severity::Debug,
        ];
        s.parse::<usize>()
            .ok()
            .and_then(|n| BY_NUMBER.get(n).copied())
            .ok_or_else(|| PriorityError::Severity(s.to_owned()))
    }
}

/// Python's `encodePriority`: `(facility << 3) | severity`, the number inside `<PRI>`.
///
/// ```
/// use mplog::handler::syslog::{encode_priority, Facility, Severity};
/// assert_eq!(encode_priority(Facility::USER, Severity::Warning), 12);
/// assert_eq!(encode_priority(Facility::LOCAL7, Severity::Debug), 191);
/// ```
pub fn encode_priority(facility: Facility, severity: Severity) -> u8 {
    (facility.0 << 3) | severity as u8
}

/// Python's `priority_map` and `mapPriority`: a record's *level name* to a severity;
/// a name not in the map is `warning`, as in Python (so a custom level needs an entry).
///
/// ```
/// use mplog::handler::syslog::{PriorityMap, Severity};
/// let mut map = PriorityMap::default();
/// assert_eq!(map.map_priority("ERROR"), Severity::Error);
/// assert_eq!(map.map_priority("NOTICE"), Severity::Warning); // unknown: Python's default
/// map.insert("NOTICE", Severity::Notice);
/// assert_eq!(map.map_priority("NOTICE"), Severity::Notice);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityMap(HashMap<String, Severity>);

impl Default for PriorityMap {
    /// Python's: DEBUG, INFO, WARNING, ERROR, CRITICAL.
    fn default() -> Self {
        PriorityMap(
            [
                ("DEBUG", Severity::Debug),
                ("INFO", Severity::Informational),
                ("WARNING", Severity::Warning),
                ("ERROR", Severity::Error),
                ("CRITICAL", Severity::Critical),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        )
    }
}

impl PriorityMap {
    /// Maps the level name `level_name` (as the record carries it, e.g. a custom `NOTICE`)
    /// to `severity`, replacing an earlier entry.
    ///
    /// ```
    /// use mplog::handler::syslog::{PriorityMap, Severity};
    /// let mut map = PriorityMap::default();
    /// map.insert("TRACE", Severity::Debug);
    /// assert_eq!(map.map_priority("TRACE"), Severity::Debug);
    /// ```
    pub fn insert(&mut self, level_name: impl Into<String>, severity: Severity) {
        self.0.insert(level_name.into(), severity);
    }

    /// The severity for a level name; `warning` for a name not in the map (Python's
    /// `mapPriority`).
    ///
    /// ```
    /// let map = mplog::handler::syslog::PriorityMap::default();
    /// assert_eq!(map.map_priority("Level 25") as u8, 4);
    /// ```
    pub fn map_priority(&self, level_name: &str) -> Severity {
        self.0.get(level_name).copied().unwrap_or(Severity::Warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_python_facility_name_and_number() {
        for (name, n) in FACILITY_NAMES {
            let f: Facility = name.parse().unwrap();
            assert_eq!(f.as_u8(), n);
            assert_eq!(n.to_string().parse::<Facility>().unwrap(), f);
        }
        assert!("LOCAL0".parse::<Facility>().is_err()); // Python's lookup is exact
        assert!("-1".parse::<Facility>().is_err());
    }

    #[test]
    fn pri_matches_python_encode_priority() {
        // python3: SysLogHandler().encodePriority(f, p) for a few pairs.
        let cases = [
            ("kern", "emerg", 0),
            ("user", "info", 14),
            ("local0", "debug", 135),
        ];
        for (f, s, pri) in cases {
            let f: Facility = f.parse().unwrap();
            let s: Severity = s.parse().unwrap();
            assert_eq!(encode_priority(f, s), pri);
        }
        assert_eq!("7".parse::<Severity>().unwrap(), Severity::Debug);
        assert!("8".parse::<Severity>().is_err());
    }
}
