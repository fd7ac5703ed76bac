//! `asctime`: Python's default date format with milliseconds, or a strftime `datefmt`, in local
//! time or UTC, rendered at most once per second per formatter.
//!
//! A record's date changes only once a second unless the format prints sub-second digits, so
//! the rendered text for the current second is cached; a record in the same second copies it.

use std::fmt::Write as _;

use chrono::format::{Fixed, Item, StrftimeItems};
use chrono::{DateTime, Local};
use parking_lot::Mutex;

use super::FormatError;

/// Python's `Formatter.default_time_format`.
pub const DEFAULT_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

#[derive(Debug)]
pub(crate) struct DateFormat {
    /// Compiled `datefmt`; `None` is Python's default (`DEFAULT_TIME_FORMAT` then `,` msecs).
    items: Option<Vec<Item<'static>>>,
    default_items: Vec<Item<'static>>,
    utc: bool,
    cacheable: bool,
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

fn compile(datefmt: &str) -> Result<Vec<Item<'static>>, FormatError> {
    StrftimeItems::new(datefmt)
        .parse_to_owned()
        .map_err(|e| FormatError::InvalidDatefmt {
            datefmt: datefmt.to_owned(),
            reason: e.to_string(),
        })
}

impl DateFormat {
    pub(crate) fn new(datefmt: Option<&str>, utc: bool) -> Result<DateFormat, FormatError> {
        let items = datefmt.map(compile).transpose()?;
        let cacheable = items.as_ref().is_none_or(|items| {
            !items.iter().any(|item| {
                matches!(
                    item,
                    Item::Fixed(
                        Fixed::Nanosecond
                            | Fixed::Nanosecond3
                            | Fixed::Nanosecond6
                            | Fixed::Nanosecond9
                            | Fixed::Internal(_)
                            | Fixed::RFC3339
                    )
                )
            })
        });
        Ok(DateFormat {
            items,
            default_items: compile(DEFAULT_TIME_FORMAT)?,
            utc,
            cacheable,
            cache: Mutex::new(DateCache::default()),
        })
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
        if !self.cacheable || cache.second != Some(second) {
            cache.prefix.clear();
            let items = self.items.as_ref().unwrap_or(&self.default_items);
            let write = |out: &mut String, items: &[Item<'static>]| match DateTime::from_timestamp(
                second, nanos,
            ) {
                Some(utc) if self.utc => write!(out, "{}", utc.format_with_items(items.iter())),
                Some(utc) => write!(
                    out,
                    "{}",
                    utc.with_timezone(&Local).format_with_items(items.iter())
                ),
                None => write!(out, "{second}"),
            };
            // A datefmt chrono cannot render for this date leaves what it wrote so far.
            let _ = write(&mut cache.prefix, items);
            cache.second = Some(second);
        }
        cache.full.clear();
        cache.full.push_str(&cache.prefix);
        if self.items.is_none() {
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
        let d = DateFormat::new(None, true).unwrap();
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
        let d = DateFormat::new(Some("%d/%m/%Y %I:%M:%S %p"), true).unwrap();
        assert_eq!(
            asctime(&d, 1_700_000_000_123_000_000),
            "14/11/2023 10:13:20 PM"
        );
    }

    #[test]
    fn subsecond_datefmt_is_not_cached() {
        let d = DateFormat::new(Some("%H:%M:%S%.3f"), true).unwrap();
        assert_eq!(asctime(&d, 1_700_000_000_100_000_000), "22:13:20.100");
        assert_eq!(asctime(&d, 1_700_000_000_200_000_000), "22:13:20.200");
    }

    #[test]
    fn local_time_follows_chrono_local() {
        let d = DateFormat::new(Some("%Y-%m-%d %H:%M:%S %z"), false).unwrap();
        let ns = 1_700_000_000_000_000_000;
        let want = DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S %z")
            .to_string();
        assert_eq!(asctime(&d, ns), want);
    }

    #[test]
    fn bad_datefmt_is_an_error() {
        let err = DateFormat::new(Some("%Y %Q"), true).unwrap_err();
        assert!(err.to_string().contains("%Y %Q"), "{err}");
    }
}
