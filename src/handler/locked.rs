//! Several processes, one file, no listener: [`LockedFileHandler`],
//! [`LockedRotatingFileHandler`] and [`LockedTimedRotatingFileHandler`].
//!
//! Each record is written while holding an [`FLockRLock`](crate::lock::FLockRLock) on a lock
//! file beside the log (`<log>.lock` unless
//! [`lock_path`](LockedRotatingFileHandlerBuilder::lock_path) says otherwise). Under the lock
//! the handler first reopens the path if it names another file than the one it has open
//! (another process rolled over), re-reads the file's size, rolls over if due, writes the line
//! with one `write`, and releases the lock. So:
//! - lines are never torn nor lost, whatever the number of processes;
//! - N processes produce one rollover per threshold, not N: the first one past it rolls, the
//!   others find the new, small file;
//! - time rotation shares its next rollover time through the lock file
//!   (`rollover_at=<seconds>`), so the processes agree on one schedule;
//! - a process that dies holding the lock releases it (the kernel drops `flock` locks with the
//!   last descriptor), and a forked child takes its own lock. A process that *hangs* while
//!   holding it (stopped in a debugger, `SIGSTOP`) makes the others wait: the lock is held
//!   only around one `write`, so that takes a stopped process, not a slow one.
//!
//! Cost: a lock, an unlock, a `stat` and an `fstat` per record, no buffering. A queue listener
//! (one writer, batched) is much faster when the processes can reach one; this is for when
//! they cannot, or when there is no supervisor to run it. `benches/files.rs` measures both.
//!
//! Why the lock: Python's plain `RotatingFileHandler` shared by processes loses lines, since
//! each process rolls over on its own, renaming files the others still write to (934 of 1200
//! lines survived in the run quoted in `PYTHON_REFERENCE.md`).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rolling::{file_core_handler, option_setters, FileCore, Options, TimeOptions};

macro_rules! locked_handler {
    ($(#[$doc:meta])* $name:ident, $builder:ident, [$($opt:ident),*], $init:expr) => {
        $(#[$doc])*
        pub struct $name {
            core: FileCore,
        }

        file_core_handler!($name);

        impl $name {
            /// A builder; the lock file defaults to `<path>.lock`.
            ///
            /// ```
            #[doc = concat!(" use mplog::handler::", stringify!($name), " as H;")]
            /// let dir = tempfile::tempdir().unwrap();
            /// let h = H::builder(dir.path().join("shared.log")).delay(true).build().unwrap();
            /// assert!(dir.path().join("shared.log.lock").exists()); // the lock file now, the log later
            /// assert!(!h.path().exists());
            /// ```
            pub fn builder(path: impl AsRef<Path>) -> $builder {
                let mut opts = Options::new(path.as_ref());
                opts.locked = true;
                let init: fn(&mut Options) = $init;
                init(&mut opts);
                $builder { opts }
            }

            /// The log file's path.
            ///
            /// ```
            #[doc = concat!(" use mplog::handler::", stringify!($name), " as H;")]
            /// let dir = tempfile::tempdir().unwrap();
            /// let h = H::builder(dir.path().join("shared.log")).build().unwrap();
            /// assert_eq!(h.path(), dir.path().join("shared.log"));
            /// ```
            pub fn path(&self) -> PathBuf {
                self.core.path()
            }

            /// Waits until this process's background compression (the `gzip` option) has
            /// finished; `false` if `timeout` passed first.
            ///
            /// ```
            #[doc = concat!(" use mplog::handler::", stringify!($name), " as H;")]
            /// let dir = tempfile::tempdir().unwrap();
            /// let h = H::builder(dir.path().join("shared.log")).build().unwrap();
            /// assert!(h.wait_compressed(std::time::Duration::from_secs(1))); // nothing to compress
            /// ```
            pub fn wait_compressed(&self, timeout: Duration) -> bool {
                self.core.wait_compressed(timeout)
            }
        }

        #[doc = concat!("Builds a [`", stringify!($name), "`].")]
        ///
        /// ```
        #[doc = concat!(" use mplog::handler::", stringify!($name), " as H;")]
        /// let dir = tempfile::tempdir().unwrap();
        /// let builder = H::builder(dir.path().join("shared.log")).lock_path(dir.path().join("s.lk"));
        /// let h = builder.build().unwrap();
        /// # drop(h);
        /// ```
        pub struct $builder {
            opts: Options,
        }

        option_setters!($name => $builder { lock_path, delay, held_bytes, encoding $(, $opt)* });

        impl $builder {
            /// Builds the handler: opens (creates) the lock file, and the log unless delayed.
            ///
            /// ```
            #[doc = concat!(" use mplog::handler::", stringify!($name), " as H;")]
            /// let dir = tempfile::tempdir().unwrap();
            /// let err = H::builder(dir.path().join("no/dir/shared.log")).build().unwrap_err();
            /// assert!(err.to_string().contains("no/dir/shared.log"), "{err}");
            /// ```
            pub fn build(self) -> io::Result<$name> {
                Ok($name {
                    core: self.opts.build()?,
                })
            }
        }
    };
}

locked_handler!(
    /// Appends to a file shared by several processes, each line under an inter-process lock,
    /// following the path when it moves.
    ///
    /// ```
    /// use mplog::handler::{Handler, LockedFileHandler};
    /// use mplog::{Level, Record};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("shared.log");
    /// let h = LockedFileHandler::new(&path).unwrap();
    /// h.handle(&Record::new("app", Level::INFO, "from one of many processes"));
    /// assert!(dir.path().join("shared.log.lock").exists());
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "from one of many processes\n");
    /// ```
    LockedFileHandler,
    LockedFileHandlerBuilder,
    [],
    |_| {}
);

impl LockedFileHandler {
    /// Appends to `path` with the lock file `<path>.lock`.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::LockedFileHandler::new(dir.path().join("shared.log")).unwrap();
    /// assert!(h.path().exists() && dir.path().join("shared.log.lock").exists());
    /// ```
    pub fn new(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::builder(path).build()
    }
}

locked_handler!(
    /// A [`RotatingFileHandler`](super::RotatingFileHandler) for several processes: rolls
    /// over by size under the inter-process lock, once per threshold.
    ///
    /// ```
    /// use mplog::handler::{Handler, LockedRotatingFileHandler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("shared.log");
    /// let h = LockedRotatingFileHandler::new(&path, 5, 3).unwrap();
    /// for msg in ["one", "two"] {
    ///     h.handle(&mplog::Record::new("app", mplog::Level::INFO, msg));
    /// }
    /// assert_eq!(std::fs::read_to_string(dir.path().join("shared.log.1")).unwrap(), "one\n");
    /// ```
    LockedRotatingFileHandler,
    LockedRotatingFileHandlerBuilder,
    [max_bytes, backup_count, namer, rotator, gzip],
    |_| {}
);

impl LockedRotatingFileHandler {
    /// Appends to `path`, rolling over at `max_bytes`, keeping `backup_count` archives.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = mplog::handler::LockedRotatingFileHandler::new(dir.path().join("s.log"), 1 << 20, 5).unwrap();
    /// assert!(dir.path().join("s.log.lock").exists());
    /// # drop(h);
    /// ```
    pub fn new(path: impl AsRef<Path>, max_bytes: u64, backup_count: usize) -> io::Result<Self> {
        Self::builder(path)
            .max_bytes(max_bytes)
            .backup_count(backup_count)
            .build()
    }
}

locked_handler!(
    /// A [`TimedRotatingFileHandler`](super::TimedRotatingFileHandler) for several processes:
    /// the next rollover time lives in the lock file, so one process rolls over per interval.
    ///
    /// ```
    /// use mplog::handler::{Handler, LockedTimedRotatingFileHandler, ManualClock, When};
    /// use std::sync::Arc;
    /// let dir = tempfile::tempdir().unwrap();
    /// let clock = Arc::new(ManualClock::new(1_704_067_200));
    /// let h = LockedTimedRotatingFileHandler::builder(dir.path().join("s.log"))
    ///     .when(When::Hours)
    ///     .utc(true)
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// h.handle(&mplog::Record::new("app", mplog::Level::INFO, "first hour"));
    /// clock.advance(3600);
    /// h.handle(&mplog::Record::new("app", mplog::Level::INFO, "second hour"));
    /// assert!(dir.path().join("s.log.2024-01-01_00").exists());
    /// ```
    LockedTimedRotatingFileHandler,
    LockedTimedRotatingFileHandlerBuilder,
    [when, interval, utc, at_time, clock, max_bytes, backup_count, namer, rotator, gzip],
    |o| o.time = Some(TimeOptions::default())
);

impl LockedTimedRotatingFileHandler {
    /// When the next rollover is due as this process last saw it (seconds since the epoch).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{LockedTimedRotatingFileHandler, ManualClock, When};
    /// let dir = tempfile::tempdir().unwrap();
    /// let clock = Arc::new(ManualClock::new(1_704_067_200)); // 2024-01-01 00:00:00 UTC
    /// let h = LockedTimedRotatingFileHandler::builder(dir.path().join("s.log"))
    ///     .when(When::Hours).utc(true).clock(clock).build().unwrap();
    /// assert_eq!(h.rollover_at(), 1_704_067_200 + 3600);
    /// ```
    pub fn rollover_at(&self) -> i64 {
        self.core.rollover_at().unwrap_or(i64::MAX)
    }
}
