//! When time-based rotation happens: [`When`], the injectable [`Clock`], and the port of
//! CPython 3.13's `TimedRotatingFileHandler.computeRollover` and its file-name suffixes.
//!
//! Times are whole seconds since the Unix epoch, as in Python (`int(time.time())`). Local time
//! comes from the clock ([`Clock::utc_offset`]), so a test can walk a daylight-saving change
//! without touching the process's time zone. Python's DST corrections use `tm_isdst` and a
//! fixed hour; [`Clock::is_dst`] derives the flag from the offset (above the year's smaller
//! offset is summer time), which gives the same answers for every zone with a one-hour shift.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike};

const DAY: i64 = 24 * 60 * 60;
const HOUR: i64 = 60 * 60;

/// What a time-rotating handler counts in (Python's `when`).
///
/// ```
/// use mplog::handler::When;
/// assert_eq!("midnight".parse::<When>().unwrap(), When::Midnight);
/// assert_eq!("W6".parse::<When>().unwrap(), When::Weekday(6));
/// assert!("W7".parse::<When>().unwrap_err().to_string().contains("W7"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `"S"`: seconds.
    Seconds,
    /// `"M"`: minutes.
    Minutes,
    /// `"H"`: hours (Python's default).
    Hours,
    /// `"D"`: days, counted from the start (not aligned to midnight).
    Days,
    /// `"MIDNIGHT"`: at midnight, or at `at_time`.
    Midnight,
    /// `"W0"`..`"W6"`: weekly, at the end of that weekday (0 is Monday), or at `at_time` on it.
    Weekday(u8),
}

/// Why a `when` string was refused (Python's `ValueError` texts).
///
/// ```
/// let err = "hourly".parse::<mplog::handler::When>().unwrap_err();
/// assert!(err.to_string().starts_with("Invalid rollover interval specified"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    /// `W` without exactly one day digit.
    #[error("You must specify a day for weekly rollover from 0 to 6 (0 is Monday): {0:?}")]
    MissingDay(String),
    /// `W7`, `Wx`.
    #[error("Invalid day specified for weekly rollover: {0:?} (0 is Monday, 6 is Sunday)")]
    InvalidDay(String),
    /// Anything else.
    #[error(
        "Invalid rollover interval specified: {0:?} (expected S, M, H, D, MIDNIGHT or W0..W6)"
    )]
    Invalid(String),
}

impl FromStr for When {
    type Err = WhenError;

    fn from_str(s: &str) -> Result<When, WhenError> {
        let upper = s.to_ascii_uppercase();
        Ok(match upper.as_str() {
            "S" => When::Seconds,
            "M" => When::Minutes,
            "H" => When::Hours,
            "D" => When::Days,
            "MIDNIGHT" => When::Midnight,
            w if w.starts_with('W') => {
                let day = &w[1..];
                if day.len() != 1 {
                    // Python checks the length first: `W`, `W06` and `W10` all get this text.
                    return Err(WhenError::MissingDay(s.to_owned()));
                }
                match day.as_bytes() {
                    [d @ b'0'..=b'6'] => When::Weekday(d - b'0'),
                    _ => return Err(WhenError::InvalidDay(s.to_owned())),
                }
            }
            _ => return Err(WhenError::Invalid(s.to_owned())),
        })
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Seconds => f.write_str("S"),
            When::Minutes => f.write_str("M"),
            When::Hours => f.write_str("H"),
            When::Days => f.write_str("D"),
            When::Midnight => f.write_str("MIDNIGHT"),
            When::Weekday(d) => write!(f, "W{d}"),
        }
    }
}

impl When {
    /// Seconds in one unit.
    fn unit(self) -> i64 {
        match self {
            When::Seconds => 1,
            When::Minutes => 60,
            When::Hours => HOUR,
            When::Days | When::Midnight => DAY,
            When::Weekday(_) => 7 * DAY,
        }
    }

    /// How many date-time fields the suffix carries: `%Y-%m-%d_%H-%M-%S` down to `%Y-%m-%d`.
    fn suffix_fields(self) -> usize {
        match self {
            When::Seconds => 6,
            When::Minutes => 5,
            When::Hours => 4,
            _ => 3,
        }
    }
}

/// Where time-based rotation reads the time. Inject one to test rotation without waiting.
///
/// ```
/// use mplog::handler::{Clock, ManualClock};
/// let clock = ManualClock::new(1_700_000_000);
/// clock.advance(60);
/// assert_eq!(clock.now(), 1_700_000_060);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// Whole seconds since the Unix epoch.
    ///
    /// ```
    /// use mplog::handler::{Clock, ManualClock, SystemClock};
    /// assert_eq!(ManualClock::new(42).now(), 42);
    /// assert!(SystemClock.now() > 1_700_000_000);
    /// ```
    fn now(&self) -> i64;

    /// The local time zone's offset from UTC at `t`, in seconds east.
    ///
    /// ```
    /// use mplog::handler::{Clock, ManualClock};
    /// assert_eq!(ManualClock::new(0).utc_offset(0), 0);
    /// assert_eq!(ManualClock::new(0).with_utc_offset(-5 * 3600).utc_offset(0), -18000);
    /// ```
    fn utc_offset(&self, t: i64) -> i32 {
        match chrono::Local.timestamp_opt(t, 0).earliest() {
            Some(dt) => dt.offset().fix().local_minus_utc(),
            None => 0,
        }
    }

    /// Whether daylight-saving time is in force at `t` (Python's `tm_isdst`): the offset is
    /// above the smaller of the offsets at the year's first of January and first of July.
    ///
    /// ```
    /// use mplog::handler::Clock;
    /// #[derive(Debug)]
    /// struct Paris; // UTC+1, UTC+2 from April to October (roughly)
    /// impl Clock for Paris {
    ///     fn now(&self) -> i64 { 0 }
    ///     fn utc_offset(&self, t: i64) -> i32 { if (1_711_846_800..1_729_994_400).contains(&t) { 7200 } else { 3600 } }
    /// }
    /// assert!(Paris.is_dst(1_720_000_000)); // July 2024
    /// assert!(!Paris.is_dst(1_704_067_200)); // January 2024
    /// ```
    fn is_dst(&self, t: i64) -> bool {
        let year = DateTime::from_timestamp(t, 0).map_or(1970, |d| d.year());
        let at = |month| {
            NaiveDate::from_ymd_opt(year, month, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(t, |d| d.and_utc().timestamp())
        };
        let standard = self.utc_offset(at(1)).min(self.utc_offset(at(7)));
        self.utc_offset(t) > standard
    }
}

/// The system's clock and local time zone (`TZ`, else `/etc/localtime`).
///
/// ```
/// use mplog::handler::{Clock, SystemClock};
/// assert!(SystemClock.now() > 1_700_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// A clock that moves only when told, with a fixed UTC offset (0 unless set): for tests.
///
/// ```
/// use mplog::handler::{Clock, ManualClock};
/// let clock = ManualClock::new(0).with_utc_offset(3600);
/// assert_eq!(clock.utc_offset(0), 3600);
/// clock.set(10);
/// assert_eq!(clock.now(), 10);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    offset: i32,
}

impl ManualClock {
    /// A clock showing `now` (seconds since the epoch).
    ///
    /// ```
    /// use mplog::handler::{Clock, ManualClock};
    /// let clock = ManualClock::new(1_704_067_200); // 2024-01-01 00:00:00 UTC
    /// assert_eq!((clock.now(), clock.utc_offset(0)), (1_704_067_200, 0));
    /// ```
    pub fn new(now: i64) -> ManualClock {
        ManualClock {
            now: AtomicI64::new(now),
            offset: 0,
        }
    }

    /// Local time is `offset` seconds east of UTC, all year.
    ///
    /// ```
    /// use mplog::handler::{Clock, ManualClock};
    /// let paris_winter = ManualClock::new(0).with_utc_offset(3600);
    /// assert_eq!(paris_winter.utc_offset(1_704_067_200), 3600);
    /// assert!(!paris_winter.is_dst(1_704_067_200)); // a fixed offset never observes DST
    /// ```
    pub fn with_utc_offset(mut self, offset: i32) -> ManualClock {
        self.offset = offset;
        self
    }

    /// Sets the time.
    ///
    /// ```
    /// use mplog::handler::{Clock, ManualClock};
    /// let clock = ManualClock::new(100);
    /// clock.set(50); // time may go backwards too
    /// assert_eq!(clock.now(), 50);
    /// ```
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the time on by `secs`.
    ///
    /// ```
    /// use mplog::handler::{Clock, ManualClock};
    /// let clock = ManualClock::new(0);
    /// clock.advance(3600);
    /// clock.advance(-60);
    /// assert_eq!(clock.now(), 3540);
    /// ```
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn utc_offset(&self, _t: i64) -> i32 {
        self.offset
    }
}

/// Broken-down time (Python's `struct_time`, the fields we use).
struct Tm {
    at: NaiveDateTime,
    isdst: bool,
}

/// The rollover rule of one handler: `when`, the interval in seconds, UTC or local, `at_time`.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub(crate) when: When,
    /// Seconds between rollovers (`unit * interval`).
    pub(crate) interval: i64,
    pub(crate) utc: bool,
    pub(crate) at_time: Option<NaiveTime>,
}

impl Schedule {
    pub(crate) fn new(when: When, interval: u32, utc: bool, at_time: Option<NaiveTime>) -> Self {
        Schedule {
            when,
            interval: when.unit() * i64::from(interval.max(1)),
            utc,
            at_time,
        }
    }

    fn tm(&self, clock: &dyn Clock, t: i64) -> Tm {
        let (offset, isdst) = if self.utc {
            (0, false)
        } else {
            (clock.utc_offset(t), clock.is_dst(t))
        };
        let at = DateTime::from_timestamp(t + i64::from(offset), 0)
            .unwrap_or_default()
            .naive_utc();
        Tm { at, isdst }
    }

    /// Python's `computeRollover(currentTime)`.
    pub(crate) fn compute_rollover(&self, clock: &dyn Clock, current: i64) -> i64 {
        let mut result = current + self.interval;
        let weekday = match self.when {
            When::Midnight => None,
            When::Weekday(d) => Some(i64::from(d)),
            _ => return result,
        };
        let t = self.tm(clock, current);
        let rotate_ts = self
            .at_time
            .map_or(DAY, |a| i64::from(a.num_seconds_from_midnight()));
        let mut r = rotate_ts - i64::from(t.at.num_seconds_from_midnight());
        let mut day = i64::from(t.at.weekday().num_days_from_monday());
        if r <= 0 {
            // The rotation time of today has passed: the next one is tomorrow.
            r += DAY;
            day = (day + 1) % 7;
        }
        result = current + r;
        match weekday {
            Some(target) => {
                if day != target {
                    let wait = if day < target {
                        target - day
                    } else {
                        6 - day + target + 1
                    };
                    result += wait * DAY;
                }
                result += self.interval - 7 * DAY;
            }
            None => result += self.interval - DAY,
        }
        if !self.utc {
            let dst_now = t.isdst;
            if dst_now != clock.is_dst(result) {
                // The wall clock jumps between now and the rollover: keep the rollover at the
                // same wall-clock time. Python skips the correction when the corrected time
                // would fall on the other side of the jump.
                let addend = if !dst_now {
                    if clock.is_dst(result - HOUR) {
                        -HOUR
                    } else {
                        0
                    }
                } else {
                    HOUR
                };
                result += addend;
            }
        }
        result
    }

    /// The suffix naming the interval that ends at `rollover_at`, seen at `now` (Python's
    /// `doRollover`: the interval start, shifted by an hour when DST changed since).
    pub(crate) fn suffix_for(&self, clock: &dyn Clock, rollover_at: i64, now: i64) -> String {
        let start = rollover_at - self.interval;
        let mut tm = self.tm(clock, start);
        if !self.utc {
            let dst_now = clock.is_dst(now);
            if dst_now != tm.isdst {
                tm = self.tm(clock, start + if dst_now { HOUR } else { -HOUR });
            }
        }
        let a = tm.at;
        let mut s = format!("{:04}-{:02}-{:02}", a.year(), a.month(), a.day());
        let fields = [a.hour(), a.minute(), a.second()];
        for (i, v) in fields
            .iter()
            .take(self.when.suffix_fields() - 3)
            .enumerate()
        {
            s.push(if i == 0 { '_' } else { '-' });
            s.push_str(&format!("{v:02}"));
        }
        s
    }

    /// The length of a suffix of this schedule starting at byte `i` of `s`, if one does, with
    /// no digit right before or after it (Python 3.13's `extMatch`, `(?<!\d)...(?!\d)`).
    pub(crate) fn match_suffix_at(&self, s: &str, i: usize) -> Option<usize> {
        let b = s.as_bytes();
        if i > 0 && b.get(i - 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        // `DDDD-DD-DD`, then `_DD`, `-DD`, `-DD` as the unit asks.
        let mut shape = String::from("dddd-dd-dd");
        for k in 0..self.when.suffix_fields() - 3 {
            shape.push_str(if k == 0 { "_dd" } else { "-dd" });
        }
        let end = i + shape.len();
        let part = b.get(i..end)?;
        let fits = part.iter().zip(shape.bytes()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            _ => *c == p,
        });
        if !fits || b.get(end).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        Some(shape.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(when: &str, interval: u32, at: Option<(u32, u32, u32)>) -> Schedule {
        let at = at.and_then(|(h, m, s)| NaiveTime::from_hms_opt(h, m, s));
        Schedule::new(when.parse().unwrap(), interval, true, at)
    }

    #[test]
    fn when_parses_any_case_and_names_bad_input() {
        assert_eq!("s".parse::<When>().unwrap(), When::Seconds);
        assert_eq!("w0".parse::<When>().unwrap(), When::Weekday(0));
        assert!(matches!("W".parse::<When>(), Err(WhenError::MissingDay(_))));
        assert!(matches!(
            "W10".parse::<When>(),
            Err(WhenError::MissingDay(_))
        ));
        assert!(matches!(
            "W7".parse::<When>(),
            Err(WhenError::InvalidDay(_))
        ));
        assert!(matches!("X".parse::<When>(), Err(WhenError::Invalid(_))));
    }

    // CPython's test_compute_rollover_<when>[_interval]: epoch 0 is a Thursday.
    #[test]
    fn first_rollover_from_the_epoch_for_each_when() {
        let c = ManualClock::new(0);
        for (when, exp) in [
            ("S", 1),
            ("M", 60),
            ("H", 3600),
            ("D", DAY),
            ("MIDNIGHT", DAY),
            ("W0", 5 * DAY),
        ] {
            for interval in [1, 3] {
                let exp = if when.starts_with('W') {
                    exp + 7 * DAY * (i64::from(interval) - 1)
                } else {
                    exp * i64::from(interval)
                };
                let s = utc(when, interval, None);
                assert_eq!(s.compute_rollover(&c, 0), exp, "{when} x{interval}");
            }
        }
    }

    // CPython's test_compute_rollover_daily_attime.
    #[test]
    fn daily_at_time() {
        let c = ManualClock::new(0);
        let s = utc("MIDNIGHT", 1, None);
        assert_eq!(s.compute_rollover(&c, 0), DAY);
        assert_eq!(s.compute_rollover(&c, DAY - 1), DAY);
        assert_eq!(s.compute_rollover(&c, DAY), 2 * DAY);
        assert_eq!(s.compute_rollover(&c, 25 * HOUR), 2 * DAY);
        let s = utc("MIDNIGHT", 1, Some((12, 0, 0)));
        assert_eq!(s.compute_rollover(&c, 0), 12 * HOUR);
        assert_eq!(s.compute_rollover(&c, 12 * HOUR - 1), 12 * HOUR);
        assert_eq!(s.compute_rollover(&c, 12 * HOUR), 36 * HOUR);
        assert_eq!(s.compute_rollover(&c, 13 * HOUR), 36 * HOUR);
    }

    // CPython's test_compute_rollover_weekly_attime, for a fixed Monday.
    #[test]
    fn weekly_at_time() {
        let c = ManualClock::new(0);
        let today = 1_704_067_200; // 2024-01-01, a Monday
        let wday = 0;
        for day in 0..7u8 {
            let s = utc(&format!("W{day}"), 1, Some((12, 0, 0)));
            let days = if wday > i64::from(day) {
                7 - wday + i64::from(day)
            } else {
                i64::from(day) - wday
            };
            let mut expected = today + days * DAY + 12 * HOUR;
            assert_eq!(s.compute_rollover(&c, today), expected);
            assert_eq!(s.compute_rollover(&c, today + 12 * HOUR - 1), expected);
            if i64::from(day) == wday {
                expected += 7 * DAY;
            }
            assert_eq!(s.compute_rollover(&c, today + 12 * HOUR), expected);
            assert_eq!(s.compute_rollover(&c, today + 13 * HOUR), expected);
        }
    }

    #[test]
    fn suffixes_and_their_matching() {
        let c = ManualClock::new(0);
        let t = 1_704_164_645; // 2024-01-02 03:04:05 UTC
        for (when, suffix) in [
            ("S", "2024-01-02_03-04-05"),
            ("M", "2024-01-02_03-04"),
            ("H", "2024-01-02_03"),
            ("D", "2024-01-02"),
            ("MIDNIGHT", "2024-01-02"),
            ("W3", "2024-01-02"),
        ] {
            let s = utc(when, 1, None);
            assert_eq!(s.suffix_for(&c, t + s.interval, t + s.interval), suffix);
            assert_eq!(s.match_suffix_at(suffix, 0), Some(suffix.len()));
            assert_eq!(s.match_suffix_at(&format!("1{suffix}"), 1), None);
            assert_eq!(s.match_suffix_at(&format!("{suffix}1"), 0), None);
        }
    }
}
