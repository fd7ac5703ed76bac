//! [`TimedRotatingFileHandler`]: a file that rolls over at times (Python's
//! `TimedRotatingFileHandler`), optionally by size too.
//!
//! CPython 3.13's rules hold ([`When`](super::When) and the computation in `schedule.rs`):
//! - `S`, `M`, `H`, `D` roll every `interval` units counted from the start; `MIDNIGHT` and
//!   `W0`..`W6` roll at `at_time` (default midnight) every `interval` days or weeks, in local
//!   time corrected across daylight-saving changes, or in UTC with `utc(true)`;
//! - the first rollover is computed from the file's modification time when it exists, so a
//!   restarted program rolls over a file left from an earlier interval;
//! - the archive is named for the *start* of the interval it holds: `app.log.2024-01-01`
//!   (`%Y-%m-%d_%H-%M-%S`, `%Y-%m-%d_%H-%M`, `%Y-%m-%d_%H` or `%Y-%m-%d`);
//! - an archive name already taken is never overwritten ("already rolled over", e.g. by
//!   another process). Python then retries at every record for ever; this handler moves on
//!   to the next interval and follows the path to the new file;
//! - with `backup_count > 0` only the newest `backup_count` archives whose suffix fully
//!   matches the pattern (through the namer, when set) are kept.
//!
//! **Size and time together** ([`max_bytes`](TimedRotatingFileHandlerBuilder::max_bytes)):
//! within an interval the file also rolls by size; archives are then numbered within their
//! interval, `app.log.2024-01-01.1`, `.2`, ..., and retention counts them all (oldest interval
//! and lowest number first).
//!
//! The clock is injectable ([`Clock`](super::Clock), [`ManualClock`](super::ManualClock)), so tests walk time.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rolling::{file_core_handler, option_setters, FileCore, Options, TimeOptions};

/// Rolls the file over at times (and, optionally, by size).
///
/// ```
/// use mplog::handler::{Handler, ManualClock, TimedRotatingFileHandler, When};
/// use mplog::{Level, Record};
/// use std::sync::Arc;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("app.log");
/// let clock = Arc::new(ManualClock::new(1_704_067_200)); // 2024-01-01 00:00:00 UTC
/// let h = TimedRotatingFileHandler::builder(&path)
///     .when(When::Midnight)
///     .utc(true)
///     .clock(clock.clone())
///     .build()
///     .unwrap();
/// h.handle(&Record::new("app", Level::INFO, "monday"));
/// clock.advance(24 * 3600);
/// h.handle(&Record::new("app", Level::INFO, "tuesday"));
/// let archived = dir.path().join("app.log.2024-01-01");
/// assert_eq!(std::fs::read_to_string(archived).unwrap(), "monday\n");
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "tuesday\n");
/// ```
pub struct TimedRotatingFileHandler {
    core: FileCore,
}

file_core_handler!(TimedRotatingFileHandler);

impl TimedRotatingFileHandler {
    /// A builder; the defaults are Python's: `when = H`, `interval = 1`, local time, no
    /// retention limit.
    ///
    /// ```
    /// use mplog::handler::{TimedRotatingFileHandler, When};
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = TimedRotatingFileHandler::builder(dir.path().join("app.log"))
    ///     .when(When::Midnight).backup_count(7).build().unwrap(); // a week of daily files
    /// # drop(h);
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> TimedRotatingFileHandlerBuilder {
        let mut opts = Options::new(path.as_ref());
        opts.time = Some(TimeOptions::default());
        TimedRotatingFileHandlerBuilder { opts }
    }

    /// The log file's path.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::TimedRotatingFileHandler::builder(dir.path().join("app.log")).build().unwrap();
    /// assert_eq!(h.path(), dir.path().join("app.log"));
    /// ```
    pub fn path(&self) -> PathBuf {
        self.core.path()
    }

    /// When the next rollover is due (seconds since the epoch).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{ManualClock, TimedRotatingFileHandler, When};
    /// let dir = tempfile::tempdir().unwrap();
    /// let clock = Arc::new(ManualClock::new(1_704_067_200 + 90)); // 2024-01-01 00:01:30 UTC
    /// let h = TimedRotatingFileHandler::builder(dir.path().join("app.log"))
    ///     .when(When::Minutes).utc(true).clock(clock).build().unwrap();
    /// assert_eq!(h.rollover_at(), 1_704_067_200 + 150); // one interval after the file's start
    /// ```
    pub fn rollover_at(&self) -> i64 {
        self.core.rollover_at().unwrap_or(i64::MAX)
    }

    /// Waits until background compression (the `gzip` option) has finished; `false` if
    /// `timeout` passed first.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::TimedRotatingFileHandler::builder(dir.path().join("app.log"))
    ///     .gzip(true).build().unwrap();
    /// assert!(h.wait_compressed(std::time::Duration::from_secs(1))); // nothing pending
    /// ```
    pub fn wait_compressed(&self, timeout: Duration) -> bool {
        self.core.wait_compressed(timeout)
    }
}

/// Builds a [`TimedRotatingFileHandler`]; see [`TimedRotatingFileHandler::builder`].
///
/// ```
/// use mplog::handler::{TimedRotatingFileHandler, When};
/// let dir = tempfile::tempdir().unwrap();
/// let builder = TimedRotatingFileHandler::builder(dir.path().join("app.log"))
///     .when(When::Hours).interval(6).utc(true);
/// let h = builder.build().unwrap();
/// # drop(h);
/// ```
pub struct TimedRotatingFileHandlerBuilder {
    opts: Options,
}

option_setters!(TimedRotatingFileHandler => TimedRotatingFileHandlerBuilder {
    encoding,
    when,
    interval,
    utc,
    at_time,
    clock,
    delay,
    buffer,
    held_bytes,
    max_bytes,
    backup_count,
    namer,
    rotator,
    gzip
});

impl TimedRotatingFileHandlerBuilder {
    /// Builds the handler, opening the file unless delayed.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::TimedRotatingFileHandler::builder(dir.path().join("a.log"))
    ///     .when("W6".parse().unwrap())
    ///     .at_time(chrono::NaiveTime::from_hms_opt(3, 0, 0))
    ///     .backup_count(4)
    ///     .build()
    ///     .unwrap();
    /// # drop(h);
    /// ```
    pub fn build(self) -> io::Result<TimedRotatingFileHandler> {
        Ok(TimedRotatingFileHandler {
            core: self.opts.build()?,
        })
    }
}
