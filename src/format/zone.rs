//! The local time zone as glibc reads it (the `TZ` variable, else `/etc/localtime`), and the
//! broken-down time (`struct tm`) that CPython's `time.localtime` and `time.gmtime` give to
//! `time.strftime`.
//!
//! The zone data comes from the system time-zone database through `jiff`; nothing here parses a
//! tzfile by hand.

use std::sync::OnceLock;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

/// A time zone for `asctime` in local time (Python's default `converter = time.localtime`).
///
/// [`Zone::system`] is what glibc uses: the `TZ` environment variable, else `/etc/localtime`.
/// [`Zone::from_tz`] reads a value as glibc reads `TZ`, so a program (or a test) can pick a
/// zone without touching the process environment.
///
/// ```
/// use mplog::format::{Format, Zone};
/// let f = mplog::Formatter::builder("%(asctime)s")
///     .datefmt("%H:%M %Z")
///     .time_zone(Zone::from_tz("Europe/Paris"))
///     .build()
///     .unwrap();
/// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
/// r.created_ns = 1_690_000_000_000_000_000; // 2023-07-22 04:26:40 UTC
/// assert_eq!(f.format_time(&r), "06:26 CEST");
/// ```
#[derive(Debug, Clone)]
pub struct Zone {
    tz: TimeZone,
    /// glibc's name for a `TZ` value it could not read (its leading letters, at offset 0).
    fallback_name: Option<Box<str>>,
    /// A POSIX rule rather than a tzfile: glibc computes its changes for 1970 at the earliest,
    /// so every instant before 1970 takes the offset of 1970's first instant.
    posix_rule: bool,
}

impl Zone {
    /// The process's local zone as glibc finds it: `TZ` if set, else `/etc/localtime`, else UTC.
    /// Read once per process, as glibc does for `localtime_r`.
    ///
    /// ```
    /// let z = mplog::format::Zone::system();
    /// # let _ = z;
    /// ```
    pub fn system() -> Zone {
        static SYSTEM: OnceLock<Zone> = OnceLock::new();
        SYSTEM
            .get_or_init(|| match std::env::var("TZ") {
                Ok(value) => Zone::from_tz(&value),
                Err(_) => Zone {
                    tz: TimeZone::try_system().unwrap_or(TimeZone::UTC),
                    fallback_name: None,
                    posix_rule: false,
                },
            })
            .clone()
    }

    /// UTC, named `UTC` (as glibc names an empty `TZ`).
    ///
    /// ```
    /// let z = mplog::format::Zone::utc();
    /// # let _ = z;
    /// ```
    pub fn utc() -> Zone {
        Zone {
            tz: TimeZone::UTC,
            fallback_name: None,
            posix_rule: false,
        }
    }

    /// A zone from a value of the `TZ` variable, read as glibc reads it: an optional leading
    /// `:`, then an absolute tzfile path, a name in the system database (`Europe/Paris`), or a
    /// POSIX rule (`EST5EDT,M3.2.0,M11.1.0`). A value none of those reads is, as in glibc, a
    /// zone at offset 0 named after its leading letters (`Foo/Bar` prints `Foo`); an empty value
    /// is UTC.
    ///
    /// ```
    /// use mplog::format::{Format, Zone};
    /// let f = mplog::Formatter::builder("%(asctime)s")
    ///     .datefmt("%H:%M %Z %z")
    ///     .time_zone(Zone::from_tz("EST5EDT,M3.2.0,M11.1.0"))
    ///     .build()
    ///     .unwrap();
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 1_700_000_000_000_000_000; // November: standard time
    /// assert_eq!(f.format_time(&r), "17:13 EST -0500");
    /// ```
    pub fn from_tz(value: &str) -> Zone {
        let name = value.strip_prefix(':').unwrap_or(value);
        if name.is_empty() {
            return Zone::utc();
        }
        let tz = if name.starts_with('/') {
            std::fs::read(name)
                .ok()
                .and_then(|data| TimeZone::tzif(name, &data).ok())
                .map(|tz| (tz, false))
        } else {
            TimeZone::get(name)
                .map(|tz| (tz, false))
                .ok()
                .or_else(|| TimeZone::posix(name).ok().map(|tz| (tz, true)))
        };
        match tz {
            Some((tz, posix_rule)) => Zone {
                tz,
                fallback_name: None,
                posix_rule,
            },
            None => {
                let letters: String = name.chars().take_while(char::is_ascii_alphabetic).collect();
                Zone {
                    tz: TimeZone::UTC,
                    fallback_name: Some(if letters.len() >= 3 {
                        letters.into()
                    } else {
                        "UTC".into()
                    }),
                    posix_rule: false,
                }
            }
        }
    }

    fn abbreviation<'a>(&'a self, info: &'a jiff::tz::TimeZoneOffsetInfo<'a>) -> &'a str {
        self.fallback_name
            .as_deref()
            .unwrap_or_else(|| info.abbreviation())
    }

    /// `mktime` of UTC fields with `tm_isdst = 0` (what `%s` prints under `time.gmtime`): the
    /// fields read as this zone's standard time.
    fn mktime_standard(&self, dt: DateTime) -> i64 {
        let civil = Offset::UTC.to_timestamp(dt).map_or(0, Timestamp::as_second);
        let Ok(t) = self.tz.to_ambiguous_timestamp(dt).compatible() else {
            return civil;
        };
        if !self.tz.to_offset_info(t).dst().is_dst() {
            return t.as_second();
        }
        // The nearest transition into standard time, either side, gives the standard offset.
        let before = self
            .tz
            .preceding(t)
            .take(8)
            .find(|tr| !tr.dst().is_dst())
            .map(|tr| (t.as_second() - tr.timestamp().as_second(), tr.offset()));
        let after = self
            .tz
            .following(t)
            .take(8)
            .find(|tr| !tr.dst().is_dst())
            .map(|tr| (tr.timestamp().as_second() - t.as_second(), tr.offset()));
        let offset = match (before, after) {
            (Some(b), Some(a)) => Some(if a.0 < b.0 { a.1 } else { b.1 }),
            (b, a) => b.or(a).map(|x| x.1),
        };
        offset.map_or(t.as_second(), |o| civil - i64::from(o.seconds()))
    }
}

/// A broken-down time, as `struct tm` with CPython's `tm_zone` and `tm_gmtoff`.
#[derive(Debug, Clone)]
pub(crate) struct Tm {
    pub(crate) year: i32,
    /// 0..=11
    pub(crate) mon: i32,
    pub(crate) mday: i32,
    pub(crate) hour: i32,
    pub(crate) min: i32,
    pub(crate) sec: i32,
    /// 0 (Sunday) ..= 6
    pub(crate) wday: i32,
    /// 0..=365
    pub(crate) yday: i32,
    pub(crate) gmtoff: i32,
    pub(crate) zone: String,
    /// What `mktime` gives back for these fields (`%s`).
    pub(crate) epoch: i64,
}

impl Tm {
    /// `time.localtime(second)` in `zone`.
    pub(crate) fn local(second: i64, zone: &Zone) -> Tm {
        let ts = Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH);
        let rule_at = if zone.posix_rule && second < 0 {
            Timestamp::UNIX_EPOCH
        } else {
            ts
        };
        let info = zone.tz.to_offset_info(rule_at);
        let dt = info.offset().to_datetime(ts);
        let mut tm = Tm::fields(dt, info.offset().seconds(), zone.abbreviation(&info));
        tm.epoch = second;
        tm
    }

    /// `time.gmtime(second)`: glibc names the zone `GMT`; `%s` reads the fields back in `local`.
    pub(crate) fn utc(second: i64, local: &Zone, needs_epoch: bool) -> Tm {
        let ts = Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH);
        let dt = Offset::UTC.to_datetime(ts);
        let mut tm = Tm::fields(dt, 0, "GMT");
        tm.epoch = if needs_epoch {
            local.mktime_standard(dt)
        } else {
            second
        };
        tm
    }

    fn fields(dt: DateTime, gmtoff: i32, zone: &str) -> Tm {
        Tm {
            year: i32::from(dt.year()),
            mon: i32::from(dt.month()) - 1,
            mday: i32::from(dt.day()),
            hour: i32::from(dt.hour()),
            min: i32::from(dt.minute()),
            sec: i32::from(dt.second()),
            wday: i32::from(dt.weekday().to_sunday_zero_offset()),
            yday: i32::from(dt.day_of_year()) - 1,
            gmtoff,
            zone: zone.to_owned(),
            epoch: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_reads_of_tz() {
        let at = |z: &Zone, s| Tm::local(s, z);
        // python3: TZ=Europe/Paris time.strftime('%Z %z', time.localtime(1690000000))
        let paris = Zone::from_tz(":Europe/Paris");
        assert_eq!(at(&paris, 1_690_000_000).zone, "CEST");
        assert_eq!(at(&paris, 1_690_000_000).gmtoff, 7200);
        assert_eq!(at(&paris, 1_700_000_000).zone, "CET");
        let posix = Zone::from_tz("EST5EDT,M3.2.0,M11.1.0");
        assert_eq!(at(&posix, 1_690_000_000).zone, "EDT");
        assert_eq!(at(&Zone::from_tz("Foo/Bar"), 0).zone, "Foo");
        assert_eq!(at(&Zone::from_tz(""), 0).zone, "UTC");
    }

    #[test]
    fn gmtime_epoch_reads_fields_as_standard_time() {
        // python3: TZ=Europe/Paris time.strftime('%s', time.gmtime(1690000000)) == '1689996400'
        let paris = Zone::from_tz("Europe/Paris");
        assert_eq!(Tm::utc(1_690_000_000, &paris, true).epoch, 1_689_996_400);
        let est = Zone::from_tz("EST5EDT,M3.2.0,M11.1.0");
        assert_eq!(Tm::utc(1_690_000_000, &est, true).epoch, 1_690_018_000);
        assert_eq!(Tm::utc(1_690_000_000, &est, true).zone, "GMT");
    }
}
