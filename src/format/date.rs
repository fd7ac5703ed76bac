//! `asctime`: Python's default date format with milliseconds, or a strftime `datefmt`, in local
//! time or UTC, rendered at most once per second per formatter.
//!
//! glibc's strftime has no sub-second directive (`%f` is copied as written), so the rendered text
//! for the current second is cached; a record in the same second copies it.

use parking_lot::Mutex;

use super::strftime::Strftime;
use super::zone::{Tm, Zone};

/// Python's `Formatter.default_time_format`.
pub const DEFAULT_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

#[derive(Debug)]
pub(crate) struct DateFormat {
    /// The compiled `datefmt`, or Python's default (then `,` and milliseconds follow).
    format: Strftime,
    msecs: bool,
    /// Python's `converter = time.gmtime`.
    utc: bool,
    /// The local zone (`time.localtime`, and `%s` under `time.gmtime`).
    zone: Zone,
    cache: Mutex<DateCache>,
}

#[derive(Debug, Default)]
struct DateCache {
    second: Option<i64>,
    /// strftime text of `second`.
    prefix: String,
    /// The full asctime of the last record (prefix plus milliseconds).
    full: String,
}

impl DateFormat {
    pub(crate) fn new(datefmt: Option<&str>, utc: bool, zone: Zone) -> DateFormat {
        DateFormat {
            format: Strftime::compile(datefmt.unwrap_or(DEFAULT_TIME_FORMAT)),
            msecs: datefmt.is_none(),
            utc,
            zone,
            cache: Mutex::new(DateCache::default()),
        }
    }

    /// Calls `f` with the asctime of `created_ns`.
    pub(crate) fn with_asctime<R>(&self, created_ns: i64, f: impl FnOnce(&str) -> R) -> R {
        match self.cache.try_lock() {
            Some(mut cache) => {
                self.render(&mut cache, created_ns);
                f(&cache.full)
            }
            // Another thread formats with this formatter right now: render privately rather
            // than wait for it.
            None => {
                let mut cache = DateCache::default();
                self.render(&mut cache, created_ns);
                f(&cache.full)
            }
        }
    }

    fn render(&self, cache: &mut DateCache, created_ns: i64) {
        let second = created_ns.div_euclid(1_000_000_000);
        let nanos = created_ns.rem_euclid(1_000_000_000) as u32;
        if cache.second != Some(second) {
            cache.prefix.clear();
            let tm = if self.utc {
                Tm::utc(second, &self.zone, self.format.uses_epoch())
            } else {
                Tm::local(second, &self.zone)
            };
            self.format.render(&tm, &mut cache.prefix);
            cache.second = Some(second);
        }
        cache.full.clear();
        cache.full.push_str(&cache.prefix);
        if self.msecs {
            // Python's default_msec_format '%s,%03d'.
            let ms = nanos / 1_000_000;
            cache.full.push(',');
            cache.full.push(char::from(b'0' + (ms / 100) as u8));
            cache.full.push(char::from(b'0' + (ms / 10 % 10) as u8));
            cache.full.push(char::from(b'0' + (ms % 10) as u8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asctime(d: &DateFormat, ns: i64) -> String {
        d.with_asctime(ns, str::to_owned)
    }

    #[test]
    fn python_default_with_msecs() {
        // python3: logging.Formatter with converter=time.gmtime, created=1700000000.123
        let d = DateFormat::new(None, true, Zone::utc());
        assert_eq!(
            asctime(&d, 1_700_000_000_123_456_789),
            "2023-11-14 22:13:20,123"
        );
        assert_eq!(
            asctime(&d, 1_700_000_000_999_999_999),
            "2023-11-14 22:13:20,999"
        );
        assert_eq!(
            asctime(&d, 1_700_000_001_005_000_000),
            "2023-11-14 22:13:21,005"
        );
    }

    #[test]
    fn datefmt_has_no_msecs() {
        let d = DateFormat::new(Some("%d/%m/%Y %I:%M:%S %p"), true, Zone::utc());
        assert_eq!(
            asctime(&d, 1_700_000_000_123_000_000),
            "14/11/2023 10:13:20 PM"
        );
    }

    #[test]
    fn percent_f_is_copied_as_written() {
        // python3: time.strftime('%H:%M:%S.%f %Q', time.gmtime(1700000000)) == '22:13:20.%f %Q'
        let d = DateFormat::new(Some("%H:%M:%S.%f %Q"), true, Zone::utc());
        assert_eq!(asctime(&d, 1_700_000_000_100_000_000), "22:13:20.%f %Q");
    }

    #[test]
    fn local_time_uses_the_zone() {
        // python3: TZ=Europe/Paris time.strftime('%H:%M %Z %z', time.localtime(1700000000))
        let d = DateFormat::new(Some("%H:%M %Z %z"), false, Zone::from_tz("Europe/Paris"));
        assert_eq!(asctime(&d, 1_700_000_000_000_000_000), "23:13 CET +0100");
        let d = DateFormat::new(Some("%H:%M %Z %z"), true, Zone::from_tz("Europe/Paris"));
        assert_eq!(asctime(&d, 1_700_000_000_000_000_000), "22:13 GMT +0000");
    }
}
