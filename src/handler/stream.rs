//! [`StreamHandler`]: formatted lines to stderr, stdout or any writer (Python's
//! `StreamHandler`), flushed after each record.
//!
//! A write or flush that fails (a closed pipe, a full disk behind a redirect, a writer of
//! yours that returns an error) loses nothing silently: the bytes not written are held in order,
//! at most [`StreamHandler::held_bytes`], retried with each record and each flush, and past the
//! bound records are thrown away whole and counted; the error policy reports the failure, a
//! summary while it lasts, and the recovery (see
//! [the handler module docs](super#when-writing-fails)).

use std::io::{self, Write};

use parking_lot::Mutex;

use super::outbox::{Outbox, DEFAULT_HELD_BYTES};
use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// Where a [`StreamHandler`] writes.
enum Target {
    /// The process's stderr at the time of each write.
    Stderr,
    /// The process's stdout at the time of each write.
    Stdout,
    /// A writer of the caller's.
    Writer(Box<dyn Write + Send>),
}

impl Target {
    /// What the reports call it.
    fn name(&self) -> &'static str {
        match self {
            Target::Stderr => "stderr",
            Target::Stdout => "stdout",
            Target::Writer(_) => "the stream",
        }
    }
}

struct State {
    target: Target,
    line: String,
    out: Outbox,
}

impl State {
    /// Writes what waits in the outbox to the target, then flushes it; false on failure (the
    /// bytes are held and the fault reported through `base`).
    fn write_out(&mut self, base: &HandlerBase) -> bool {
        let State { target, out, .. } = self;
        let name = target.name();
        match target {
            Target::Stderr => out.write_to(&mut io::stderr().lock(), base, &name),
            Target::Stdout => out.write_to(&mut io::stdout().lock(), base, &name),
            Target::Writer(w) => out.write_to(w.as_mut(), base, &name),
        }
    }
}

/// Writes each record, then the terminator (default `"\n"`), then flushes.
///
/// ```
/// use mplog::handler::{Handler, StreamHandler};
/// let h = StreamHandler::stderr();
/// h.handle(&mplog::Record::new("a", mplog::Level::WARNING, "disk almost full"));
/// ```
pub struct StreamHandler {
    base: HandlerBase,
    terminator: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for StreamHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHandler")
            .field("base", &self.base)
            .field("terminator", &self.terminator)
            .finish_non_exhaustive()
    }
}

impl StreamHandler {
    fn with_target(target: Target) -> StreamHandler {
        StreamHandler {
            base: HandlerBase::new(),
            terminator: "\n".to_owned(),
            state: Mutex::new(State {
                target,
                line: String::new(),
                out: Outbox::new(DEFAULT_HELD_BYTES),
            }),
        }
    }

    /// Writes to stderr (Python's default).
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// let h = StreamHandler::stderr();
    /// assert!(h.handle(&mplog::Record::new("a", mplog::Level::WARNING, "to stderr")));
    /// ```
    pub fn stderr() -> StreamHandler {
        StreamHandler::with_target(Target::Stderr)
    }

    /// Writes to stdout.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = mplog::Manager::new();
    /// m.root().add_handler(Arc::new(mplog::handler::StreamHandler::stdout()));
    /// mplog::warning!(m.root(), "to stdout");
    /// ```
    pub fn stdout() -> StreamHandler {
        StreamHandler::with_target(Target::Stdout)
    }

    /// Writes to `writer`.
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// let h = StreamHandler::new(std::io::sink());
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// ```
    pub fn new(writer: impl Write + Send + 'static) -> StreamHandler {
        StreamHandler::with_target(Target::Writer(Box::new(writer)))
    }

    /// Replaces the terminator written after each record (Python's `terminator`).
    ///
    /// ```
    /// let h = mplog::handler::StreamHandler::stdout().terminator("\r\n");
    /// # let _ = h;
    /// ```
    pub fn terminator(mut self, terminator: &str) -> StreamHandler {
        self.terminator = terminator.to_owned();
        self
    }

    /// Hold at most `bytes` of records while writing fails ([`DEFAULT_HELD_BYTES`]); past
    /// that, records are thrown away whole and counted
    /// ([`HandlerBase::records_not_written`]).
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// // A writer that always fails, as a closed pipe does.
    /// struct Broken;
    /// impl std::io::Write for Broken {
    ///     fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
    ///         Err(std::io::ErrorKind::BrokenPipe.into())
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let h = StreamHandler::new(Broken).held_bytes(10);
    /// for msg in ["held", "thrown away"] {
    ///     h.handle(&mplog::Record::new("a", mplog::Level::INFO, msg));
    /// }
    /// assert_eq!((h.base().records_held(), h.base().records_not_written()), (1, 1));
    /// assert!(h.flush().is_err());
    /// ```
    pub fn held_bytes(self, bytes: usize) -> StreamHandler {
        self.state.lock().out.set_limit(bytes);
        self
    }

    /// Replaces the writer (Python's `setStream`); the old one is flushed first, and what it
    /// could not take (held records) goes to the new one.
    ///
    /// ```
    /// use mplog::handler::{Handler, StreamHandler};
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = StreamHandler::new(std::io::sink());
    /// h.set_writer(std::fs::File::create(dir.path().join("out.log")).unwrap());
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "moved"));
    /// assert_eq!(std::fs::read_to_string(dir.path().join("out.log")).unwrap(), "moved\n");
    /// ```
    pub fn set_writer(&self, writer: impl Write + Send + 'static) {
        let mut state = self.state.lock();
        state.write_out(&self.base);
        state.target = Target::Writer(Box::new(writer));
        if !state.out.is_empty() {
            state.write_out(&self.base);
        }
    }
}

impl Handler for StreamHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        state.line.clear();
        self.base.format(record, &mut state.line)?;
        state.line.push_str(&self.terminator);
        let name = state.target.name();
        // A write that fails holds the line (or counts it) and reports through the base.
        if state.out.push(state.line.as_bytes(), &self.base, &name) {
            state.write_out(&self.base);
        }
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        let mut state = self.state.lock();
        state.write_out(&self.base);
        let name = state.target.name();
        state.out.status(&name)
    }

    fn close(&self) {
        let mut state = self.state.lock();
        if !state.write_out(&self.base) {
            let name = state.target.name();
            state.out.give_up(&self.base, &name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use std::sync::{Arc, Mutex as StdMutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<StdMutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_formatted_line_and_terminator() {
        let out = Shared::default();
        let h = StreamHandler::new(out.clone()).terminator("|");
        h.handle(&Record::new("a", Level::INFO, "one"));
        h.handle(&Record::new("a", Level::INFO, "two"));
        assert_eq!(&*out.0.lock().unwrap(), b"one|two|");
    }

    /// A writer that fails with EIO while `failing` is set.
    #[derive(Clone, Default)]
    struct Flaky {
        got: Shared,
        failing: Arc<std::sync::atomic::AtomicBool>,
    }
    impl Write for Flaky {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(io::Error::from_raw_os_error(nix::libc::EIO));
            }
            self.got.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_io_error_holds_records_in_order_until_the_writer_recovers() {
        let w = Flaky::default();
        let h = StreamHandler::new(w.clone());
        w.failing.store(true, std::sync::atomic::Ordering::Relaxed);
        h.handle(&Record::new("x", Level::INFO, "a"));
        h.handle(&Record::new("x", Level::INFO, "b"));
        let err = h.flush().unwrap_err().to_string();
        assert!(err.contains("2 records held"), "{err}");
        assert!(err.contains("Input/output error"), "{err}");
        assert!(w.got.0.lock().unwrap().is_empty());
        w.failing.store(false, std::sync::atomic::Ordering::Relaxed);
        h.handle(&Record::new("x", Level::INFO, "c"));
        assert_eq!(&*w.got.0.lock().unwrap(), b"a\nb\nc\n");
        assert!(h.flush().is_ok());
        assert_eq!(h.base().records_not_written(), 0);
        let reports = h.base().reports();
        assert!(reports[0].contains("cannot write to the stream: Input/output error"));
        assert!(reports[1].contains("writing to the stream again after"));
    }

    #[test]
    fn closing_while_writes_fail_counts_the_held_records() {
        let w = Flaky::default();
        w.failing.store(true, std::sync::atomic::Ordering::Relaxed);
        let h = StreamHandler::new(w.clone()).held_bytes(4);
        for m in ["a", "b", "c"] {
            h.handle(&Record::new("x", Level::INFO, m)); // 2 bytes each: 2 held, 1 thrown
        }
        assert_eq!(
            (h.base().records_held(), h.base().records_not_written()),
            (2, 1)
        );
        h.close();
        assert_eq!(
            (h.base().records_held(), h.base().records_not_written()),
            (0, 3)
        );
    }

    #[test]
    fn set_writer_switches_destination() {
        let (a, b) = (Shared::default(), Shared::default());
        let h = StreamHandler::new(a.clone());
        h.handle(&Record::new("x", Level::INFO, "1"));
        h.set_writer(b.clone());
        h.handle(&Record::new("x", Level::INFO, "2"));
        assert_eq!(&*a.0.lock().unwrap(), b"1\n");
        assert_eq!(&*b.0.lock().unwrap(), b"2\n");
    }
}
