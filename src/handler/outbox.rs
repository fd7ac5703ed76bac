//! [`Outbox`]: the bytes a handler has formatted but not yet written, held while writing
//! fails, with the fault's counts and reports. The behaviour is described in the
//! [handler module docs](super#when-writing-fails).
//!
//! While writes succeed an outbox is a plain buffer: a line is appended (and where it ends is
//! noted, so that a short write can tell whole records from the rest), written with as few
//! `write` calls as the handler's buffering allows, and cleared. No allocation once it has
//! grown, no system call of its own.

use std::fmt::Display;
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use super::HandlerBase;

/// The most bytes a handler holds while its writes fail, unless its builder's `held_bytes` (or
/// the configuration key `held_bytes`) says otherwise: 4 MiB, some 40,000 lines of 100 bytes.
///
/// ```
/// assert_eq!(mplog::handler::DEFAULT_HELD_BYTES, 4 << 20);
/// ```
pub const DEFAULT_HELD_BYTES: usize = 4 << 20;

/// While a handler's writes keep failing, it reports a summary at most this often.
///
/// ```
/// assert_eq!(mplog::handler::FAULT_SUMMARY_EVERY.as_secs(), 10);
/// ```
pub const FAULT_SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// A write fault in progress.
#[derive(Debug)]
struct Fault {
    /// When it began, for the reports.
    since: SystemTime,
    started: Instant,
    /// The latest error, as shown (refreshed with each summary).
    error: String,
    /// Records thrown away (past the bound) since it began.
    thrown: u64,
    /// `Outbox::written` when it began.
    written_before: u64,
    /// When the last report was made.
    reported: Instant,
}

/// Formatted lines on their way to a destination; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Outbox {
    bytes: Vec<u8>,
    /// Where each record in `bytes` ends. Records recovered in bulk share one end.
    ends: Vec<usize>,
    /// Most bytes held while writing fails.
    limit: usize,
    /// Records written in all, so a caller can tell how many went out between two points.
    written: u64,
    fault: Option<Fault>,
    /// [`FAULT_SUMMARY_EVERY`], shorter in tests.
    summary_every: Duration,
}

impl Outbox {
    pub(crate) fn new(limit: usize) -> Outbox {
        Outbox {
            bytes: Vec::new(),
            ends: Vec::new(),
            limit,
            written: 0,
            fault: None,
            summary_every: FAULT_SUMMARY_EVERY,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Bytes it may still take before its bound.
    pub(crate) fn room(&self) -> usize {
        self.limit.saturating_sub(self.bytes.len())
    }

    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether writing is failing (records are held).
    pub(crate) fn is_holding(&self) -> bool {
        self.fault.is_some()
    }

    /// Records written in all.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Queues one record's bytes. While writing fails and the bound would be passed, the record
    /// is thrown away instead, counted and (rate-limited) reported: returns false.
    #[inline]
    pub(crate) fn push(&mut self, line: &[u8], base: &HandlerBase, dest: &dyn Display) -> bool {
        if self.fault.is_some() {
            return self.push_holding(line, base, dest);
        }
        self.bytes.extend_from_slice(line);
        self.ends.push(self.bytes.len());
        true
    }

    /// [`push`](Outbox::push) while writing fails: bounded, counted.
    #[cold]
    fn push_holding(&mut self, line: &[u8], base: &HandlerBase, dest: &dyn Display) -> bool {
        if self.bytes.len() + line.len() > self.limit {
            if let Some(fault) = &mut self.fault {
                fault.thrown += 1;
            }
            base.count_not_written(1);
            self.summarize(base, dest, None);
            return false;
        }
        self.bytes.extend_from_slice(line);
        self.ends.push(self.bytes.len());
        base.set_held(self.ends.len() as u64);
        true
    }

    /// Puts `bytes`, holding `records` whole records that had been written to a file that is now
    /// gone, in front of what waits.
    pub(crate) fn prepend(&mut self, mut bytes: Vec<u8>, records: u64) {
        let n = bytes.len();
        // Every record is at least its newline: more records than bytes is a miscount.
        let records = usize::try_from(records).map_or(n, |r| r.min(n));
        let mut ends = Vec::with_capacity(records + self.ends.len());
        ends.resize(records, n);
        ends.extend(self.ends.iter().map(|e| e + n));
        bytes.extend_from_slice(&self.bytes);
        self.bytes = bytes;
        self.ends = ends;
        self.written = self.written.saturating_sub(records as u64);
    }

    /// Writes everything waiting to `w`, then flushes `w`. On failure what was not written is
    /// held and the fault reported; returns whether everything went out.
    pub(crate) fn write_to<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        base: &HandlerBase,
        dest: &dyn Display,
    ) -> bool {
        let mut done = 0;
        let mut error = None;
        while done < self.bytes.len() {
            match w.write(&self.bytes[done..]) {
                Ok(0) => {
                    error = Some(io::Error::from(io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        self.consume(done);
        if error.is_none() {
            error = w.flush().err();
        }
        match error {
            None => {
                if self.fault.is_some() {
                    self.resume(base, dest);
                }
                true
            }
            Some(e) => {
                self.fail("write to", &e, base, dest);
                false
            }
        }
    }

    /// Drops the first `done` bytes (written), and the records that ended within them.
    fn consume(&mut self, done: usize) {
        if done == self.bytes.len() {
            self.written += self.ends.len() as u64;
            self.bytes.clear();
            self.ends.clear();
        } else if done > 0 {
            let finished = self.ends.partition_point(|&end| end <= done);
            self.written += finished as u64;
            self.ends.drain(..finished);
            for end in &mut self.ends {
                *end -= done;
            }
            self.bytes.drain(..done);
        }
    }

    /// Records that `action` (`"open"`, `"write to"`) failed on `dest`: the first failure is
    /// reported at once, later ones in the periodic summary.
    pub(crate) fn fail(
        &mut self,
        action: &str,
        error: &io::Error,
        base: &HandlerBase,
        dest: &dyn Display,
    ) {
        if self.fault.is_none() {
            let now = Instant::now();
            base.count_error();
            base.report(&format!(
                "cannot {action} {dest}: {error}; holding records (up to {} bytes) and retrying",
                self.limit
            ));
            self.fault = Some(Fault {
                since: SystemTime::now(),
                started: now,
                error: error.to_string(),
                thrown: 0,
                written_before: self.written,
                reported: now,
            });
        } else {
            self.summarize(base, dest, Some(error));
        }
        base.set_held(self.ends.len() as u64);
    }

    /// Reports the fault's summary if the last report is [`FAULT_SUMMARY_EVERY`] old.
    fn summarize(&mut self, base: &HandlerBase, dest: &dyn Display, error: Option<&io::Error>) {
        let Some(fault) = &mut self.fault else {
            return;
        };
        if fault.reported.elapsed() < self.summary_every {
            return;
        }
        fault.reported = Instant::now();
        if let Some(e) = error {
            fault.error = e.to_string();
        }
        let held = self.ends.len() as u64;
        base.report(&format!(
            "{} records not written to {dest} since {}: {} ({held} held, {} thrown away)",
            held + fault.thrown,
            local_time(fault.since),
            fault.error,
            fault.thrown
        ));
    }

    fn resume(&mut self, base: &HandlerBase, dest: &dyn Display) {
        let Some(fault) = self.fault.take() else {
            return;
        };
        base.set_held(0);
        base.report(&format!(
            "writing to {dest} again after {:.1} s: {} held records written, {} thrown away",
            fault.started.elapsed().as_secs_f64(),
            self.written - fault.written_before,
            fault.thrown
        ));
    }

    /// Gives up on what is held (the handler is closing): counts it as not written, says so.
    pub(crate) fn give_up(&mut self, base: &HandlerBase, dest: &dyn Display) {
        let records = self.ends.len() as u64;
        if self.bytes.is_empty() && self.fault.is_none() {
            return;
        }
        let error = self
            .fault
            .take()
            .map_or_else(|| "closed".to_owned(), |f| f.error);
        if records > 0 {
            base.count_not_written(records);
            base.report(&format!(
                "closed with {records} records not written to {dest}: {error}"
            ));
        }
        self.bytes.clear();
        self.ends.clear();
        base.set_held(0);
    }

    /// `Ok` unless records are held (then the error says how many, and why).
    pub(crate) fn status(&self, dest: &dyn Display) -> io::Result<()> {
        match &self.fault {
            None => Ok(()),
            Some(fault) => Err(io::Error::other(format!(
                "{} records held, not yet written to {dest}: {}",
                self.ends.len(),
                fault.error
            ))),
        }
    }
}

/// `2024-05-01 12:00:00`, local time.
fn local_time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `room` more bytes, then fails with ENOSPC.
    struct Limited {
        got: Vec<u8>,
        room: usize,
    }

    impl Write for Limited {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(nix::libc::ENOSPC));
            }
            let n = b.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn limited(room: usize) -> Limited {
        Limited {
            got: Vec::new(),
            room,
        }
    }

    #[test]
    fn the_first_failure_is_reported_at_once_then_summaries_then_the_recovery() {
        let base = HandlerBase::new();
        base.set_name("file");
        let mut out = Outbox::new(8);
        out.summary_every = Duration::ZERO;
        let mut w = limited(0);
        out.push(b"one\n", &base, &"app.log");
        assert!(!out.write_to(&mut w, &base, &"app.log"));
        out.push(b"two\n", &base, &"app.log");
        assert!(!out.push(b"three\n", &base, &"app.log")); // past 8 bytes: thrown away
        w.room = 100;
        assert!(out.write_to(&mut w, &base, &"app.log"));
        let reports = base.reports();
        assert_eq!(reports.len(), 3, "{reports:?}");
        assert_eq!(
            reports[0],
            "mplog: handler 'file': cannot write to app.log: No space left on device (os error \
             28); holding records (up to 8 bytes) and retrying\n"
        );
        let summary = reports[1]
            .strip_prefix("mplog: handler 'file': 3 records not written to app.log since ")
            .unwrap_or_else(|| panic!("{reports:?}"));
        assert!(
            summary.ends_with(": No space left on device (os error 28) (2 held, 1 thrown away)\n"),
            "{summary}"
        );
        assert!(
            reports[2].starts_with("mplog: handler 'file': writing to app.log again after ")
                && reports[2].ends_with(" s: 2 held records written, 1 thrown away\n"),
            "{reports:?}"
        );
        assert_eq!(base.error_count(), 1, "one fault, one error");
    }

    #[test]
    fn a_short_write_holds_the_rest_and_the_next_attempt_writes_it_first() {
        let base = HandlerBase::new();
        let mut out = Outbox::new(1 << 20);
        let mut w = limited(6);
        for line in ["one\n", "two\n", "three\n"] {
            assert!(out.push(line.as_bytes(), &base, &"w"));
        }
        assert!(!out.write_to(&mut w, &base, &"w"));
        assert_eq!(w.got, b"one\ntw");
        assert_eq!((out.written(), base.records_held()), (1, 2));
        assert!(out.status(&"w").is_err());
        assert!(out.push(b"four\n", &base, &"w"));
        w.room = 100;
        assert!(out.write_to(&mut w, &base, &"w"));
        assert_eq!(w.got, b"one\ntwo\nthree\nfour\n");
        assert_eq!((out.written(), base.records_held()), (4, 0));
        assert!(out.status(&"w").is_ok());
        assert_eq!(base.records_not_written(), 0);
    }

    #[test]
    fn past_the_bound_whole_records_are_thrown_away_and_counted() {
        let base = HandlerBase::new();
        let mut out = Outbox::new(10);
        let mut w = limited(0);
        assert!(out.push(b"aaaa\n", &base, &"w"));
        assert!(!out.write_to(&mut w, &base, &"w"));
        assert!(out.push(b"bbbb\n", &base, &"w")); // 10 bytes: at the bound
        assert!(!out.push(b"c\n", &base, &"w"));
        assert_eq!((base.records_held(), base.records_not_written()), (2, 1));
        w.room = 100;
        assert!(out.write_to(&mut w, &base, &"w"));
        assert_eq!(w.got, b"aaaa\nbbbb\n"); // never part of a record
        assert!(out.push(b"c\n", &base, &"w")); // writing again: no bound applies
    }

    #[test]
    fn giving_up_counts_what_is_held() {
        let base = HandlerBase::new();
        let mut out = Outbox::new(100);
        let mut w = limited(2);
        out.push(b"one\n", &base, &"w");
        out.push(b"two\n", &base, &"w");
        assert!(!out.write_to(&mut w, &base, &"w"));
        out.give_up(&base, &"w");
        assert_eq!((base.records_held(), base.records_not_written()), (0, 2));
        assert!(out.is_empty() && !out.is_holding());
    }

    #[test]
    fn recovered_records_go_first_and_count_as_one_block() {
        let base = HandlerBase::new();
        let mut out = Outbox::new(100);
        let mut w = limited(100);
        out.push(b"c\n", &base, &"w");
        assert!(out.write_to(&mut w, &base, &"w"));
        out.push(b"d\n", &base, &"w");
        out.prepend(b"a\nb\n".to_vec(), 2);
        assert_eq!(out.written(), 0);
        let mut w = limited(3); // a, then half of b
        assert!(!out.write_to(&mut w, &base, &"w"));
        assert_eq!(out.written(), 0, "a block counts once it is whole");
        w.room = 100;
        assert!(out.write_to(&mut w, &base, &"w"));
        assert_eq!(w.got, b"a\nb\nd\n");
        assert_eq!(out.written(), 3);
    }
}
