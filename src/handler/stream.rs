//! [`StreamHandler`]: formatted lines to stderr, stdout or any writer (Python's
//! `StreamHandler`), flushed after each record.

use std::io::{self, Write};

use parking_lot::Mutex;

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

struct State {
    target: Target,
    line: String,
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

    /// Replaces the writer (Python's `setStream`); the old one is flushed first.
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
        let _ = write_target(&mut state.target, b"", true);
        state.target = Target::Writer(Box::new(writer));
    }
}

fn write_target(target: &mut Target, bytes: &[u8], flush: bool) -> io::Result<()> {
    fn go(w: &mut dyn Write, bytes: &[u8], flush: bool) -> io::Result<()> {
        w.write_all(bytes)?;
        if flush {
            w.flush()?;
        }
        Ok(())
    }
    match target {
        Target::Stderr => go(&mut io::stderr().lock(), bytes, flush),
        Target::Stdout => go(&mut io::stdout().lock(), bytes, flush),
        Target::Writer(w) => go(w.as_mut(), bytes, flush),
    }
}

impl Handler for StreamHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut state = self.state.lock();
        let State { target, line } = &mut *state;
        line.clear();
        self.base.format(record, line)?;
        line.push_str(&self.terminator);
        write_target(target, line.as_bytes(), true)
            .map_err(|e| HandlerError::io("writing to the stream", e))
    }

    fn flush(&self) -> io::Result<()> {
        write_target(&mut self.state.lock().target, b"", true)
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
