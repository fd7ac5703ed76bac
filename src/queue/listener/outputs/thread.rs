//! [`ThreadedHandler`]: a handler behind its own bounded queue and thread.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use parking_lot::Mutex;

use crate::handler::{Handler, HandlerBase, HandlerError, Overflow};
use crate::level::Level;
use crate::record::Record;

/// Records a [`ThreadedHandler`] queues by default.
pub const DEFAULT_OUTPUT_CAPACITY: usize = 10_000;
/// What a [`ThreadedHandler`] does by default when its queue is full: wait for room at most
/// a second (the workers' default), then drop and count.
pub const DEFAULT_OUTPUT_OVERFLOW: Overflow = Overflow::Block {
    timeout: crate::handler::overflow::DEFAULT_BLOCK_TIMEOUT,
};
/// While the handler's flush fails, how often its thread tries again.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// When a record behind a [`ThreadedHandler`] counts as written (see the
/// [module docs](super)).
///
/// ```
/// use mplog::queue::listener::Confirm;
/// assert_eq!(Confirm::default(), Confirm::Written);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Confirm {
    /// Once the handler wrote and flushed it: a listener holds its confirmations until then.
    #[default]
    Written,
    /// Once it is in the queue (for handlers whose own buffer counts as received).
    Queued,
}

/// What a [`ThreadedHandler`] did with its records.
///
/// ```
/// let s = mplog::queue::listener::OutputStats::default();
/// assert_eq!((s.queued, s.handled, s.dropped), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputStats {
    /// Records put in the queue.
    pub queued: u64,
    /// Records the handler's thread has handed to the handler.
    pub handled: u64,
    /// Records dropped: the queue was full (past the overflow policy), or the output was
    /// closed.
    pub dropped: u64,
}

// A record travels by value: boxing it would add an allocation per record.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Record(Record),
    /// Flush now (the dispatch thread waits for the records before it to be written).
    Flush,
}

/// Counters shared with the thread.
#[derive(Default)]
struct State {
    queued: AtomicU64,
    handled: AtomicU64,
    /// Records handled and flushed (`handled` at the last flush that succeeded).
    written: AtomicU64,
    dropped: AtomicU64,
    closed: AtomicBool,
}

/// Configures a [`ThreadedHandler`].
///
/// ```
/// use std::sync::Arc;
/// use mplog::handler::{FileHandler, Overflow};
/// use mplog::queue::listener::{Confirm, ThreadedHandler};
/// let dir = tempfile::tempdir().unwrap();
/// let file = Arc::new(FileHandler::new(dir.path().join("slow.log")).unwrap());
/// let out = ThreadedHandler::builder(file)
///     .capacity(1000)
///     .overflow(Overflow::Drop)
///     .confirm(Confirm::Written)
///     .build()
///     .unwrap();
/// # mplog::handler::Handler::close(&out);
/// ```
pub struct ThreadedHandlerBuilder {
    inner: Arc<dyn Handler>,
    capacity: usize,
    overflow: Overflow,
    confirm: Confirm,
}

impl std::fmt::Debug for ThreadedHandlerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedHandlerBuilder")
            .field("name", &self.inner.base().name())
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("confirm", &self.confirm)
            .finish()
    }
}

impl ThreadedHandlerBuilder {
    /// Records the queue holds ([`DEFAULT_OUTPUT_CAPACITY`]; at least 1).
    ///
    /// ```
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = mplog::queue::listener::ThreadedHandler::builder(h).capacity(10).build().unwrap();
    /// # mplog::handler::Handler::close(&out);
    /// ```
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records.max(1);
        self
    }

    /// What a full queue does ([`DEFAULT_OUTPUT_OVERFLOW`]).
    ///
    /// ```
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = mplog::queue::listener::ThreadedHandler::builder(h)
    ///     .overflow(mplog::handler::Overflow::Drop).build().unwrap();
    /// # mplog::handler::Handler::close(&out);
    /// ```
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// When a record counts as written ([`Confirm::Written`]).
    ///
    /// ```
    /// use mplog::queue::listener::{Confirm, ThreadedHandler};
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = ThreadedHandler::builder(h).confirm(Confirm::Queued).build().unwrap();
    /// # mplog::handler::Handler::close(&out);
    /// ```
    pub fn confirm(mut self, confirm: Confirm) -> Self {
        self.confirm = confirm;
        self
    }

    /// Starts the handler's thread.
    ///
    /// ```
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = mplog::queue::listener::ThreadedHandler::builder(h).build().unwrap();
    /// # mplog::handler::Handler::close(&out);
    /// ```
    pub fn build(self) -> io::Result<ThreadedHandler> {
        let (tx, rx) = bounded(self.capacity);
        let state = Arc::new(State::default());
        let name = self.inner.base().name().unwrap_or_default();
        let (inner, thread_state) = (self.inner.clone(), state.clone());
        let thread = std::thread::Builder::new()
            .name(format!("mplog-out-{name}"))
            .spawn(move || run(&*inner, &rx, &thread_state, self.confirm))?;
        Ok(ThreadedHandler {
            inner: self.inner,
            tx: Mutex::new(Some(tx)),
            state,
            overflow: self.overflow,
            confirm: self.confirm,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// A handler behind its own bounded queue and thread (see the [module docs](super)): the
/// caller only queues the record; the thread hands records, in order, to the handler.
///
/// It shares the handler's [`HandlerBase`] (level, filters, formatter, name, counts): the
/// filters and the formatter run on the handler's thread.
///
/// ```
/// use std::sync::Arc;
/// use mplog::handler::{FileHandler, Handler};
/// use mplog::queue::listener::ThreadedHandler;
/// let dir = tempfile::tempdir().unwrap();
/// let file = Arc::new(FileHandler::new(dir.path().join("app.log")).unwrap());
/// let out = ThreadedHandler::builder(file.clone()).build().unwrap();
/// out.handle(&mplog::Record::new("a", mplog::Level::INFO, "on the output's thread"));
/// out.close(); // drains the queue, then closes the file
/// assert_eq!(std::fs::read_to_string(file.path()).unwrap(), "on the output's thread\n");
/// assert_eq!(out.stats().handled, 1);
/// ```
pub struct ThreadedHandler {
    inner: Arc<dyn Handler>,
    /// `None` once closed: the thread ends when it has drained the queue.
    tx: Mutex<Option<Sender<Msg>>>,
    state: Arc<State>,
    overflow: Overflow,
    confirm: Confirm,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for ThreadedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedHandler")
            .field("name", &self.inner.base().name())
            .field("confirm", &self.confirm)
            .field("overflow", &self.overflow)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ThreadedHandler {
    /// A builder around `inner` ([`DEFAULT_OUTPUT_CAPACITY`], [`DEFAULT_OUTPUT_OVERFLOW`],
    /// [`Confirm::Written`]).
    ///
    /// ```
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = mplog::queue::listener::ThreadedHandler::builder(h).build().unwrap();
    /// # mplog::handler::Handler::close(&out);
    /// ```
    pub fn builder(inner: Arc<dyn Handler>) -> ThreadedHandlerBuilder {
        ThreadedHandlerBuilder {
            inner,
            capacity: DEFAULT_OUTPUT_CAPACITY,
            overflow: DEFAULT_OUTPUT_OVERFLOW,
            confirm: Confirm::Written,
        }
    }

    /// The handler it runs.
    ///
    /// ```
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = mplog::queue::listener::ThreadedHandler::builder(h.clone()).build().unwrap();
    /// assert!(std::ptr::addr_eq(std::sync::Arc::as_ptr(out.inner()), std::sync::Arc::as_ptr(&h)));
    /// # mplog::handler::Handler::close(&out);
    /// ```
    pub fn inner(&self) -> &Arc<dyn Handler> {
        &self.inner
    }

    /// Its counts so far.
    ///
    /// ```
    /// use mplog::handler::Handler;
    /// let h = std::sync::Arc::new(mplog::handler::NullHandler::new());
    /// let out = mplog::queue::listener::ThreadedHandler::builder(h).build().unwrap();
    /// out.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// out.close();
    /// assert_eq!(out.stats().queued, 1);
    /// ```
    pub fn stats(&self) -> OutputStats {
        OutputStats {
            queued: self.state.queued.load(Ordering::Relaxed),
            handled: self.state.handled.load(Ordering::Relaxed),
            dropped: self.state.dropped.load(Ordering::Relaxed),
        }
    }

    /// Counts and reports a record the queue could not take.
    fn dropped(&self, why: &str) {
        let n = self.state.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if self.confirm == Confirm::Written {
            // Nothing may claim it was written.
            self.inner.base().count_not_written(1);
        }
        self.inner
            .base()
            .report(&format!("dropped a record: {why} ({n} dropped in all)"));
    }
}

impl Handler for ThreadedHandler {
    fn base(&self) -> &HandlerBase {
        self.inner.base()
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let guard = self.tx.lock();
        let Some(tx) = guard.as_ref().cloned() else {
            drop(guard);
            self.dropped("the output is closed");
            return Ok(());
        };
        drop(guard);
        let msg = Msg::Record(record.clone());
        let sent = match tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(msg)) => match self.overflow {
                Overflow::Drop => false,
                Overflow::Block { timeout } => tx.send_timeout(msg, timeout).is_ok(),
            },
        };
        if sent {
            self.state.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped("its queue is full (the output is slower than the records come)");
        }
        Ok(())
    }

    /// Queues the record; the filters run on the handler's thread (a filter may change the
    /// record there).
    fn handle(&self, record: &Record) -> bool {
        if let Err(e) = self.emit(record) {
            self.base().handle_error(record, &e);
        }
        true
    }

    /// Never waits. [`Confirm::Queued`]: succeeds (the handler is flushed when closed).
    /// [`Confirm::Written`]: succeeds once every queued record is written and flushed;
    /// until then asks the thread to flush and fails with `WouldBlock`.
    fn flush(&self) -> io::Result<()> {
        let queued = self.state.queued.load(Ordering::Acquire);
        let written = self.state.written.load(Ordering::Acquire);
        if self.confirm == Confirm::Written && written >= queued {
            return Ok(());
        }
        if self.confirm == Confirm::Queued {
            return Ok(());
        }
        if let Some(tx) = &*self.tx.lock() {
            // A full queue flushes when the thread reaches its end anyway.
            if tx.try_send(Msg::Flush).is_err() {}
        }
        match self.confirm {
            Confirm::Queued => Ok(()),
            Confirm::Written => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} records queued for the output, not yet written",
                    queued.saturating_sub(written)
                ),
            )),
        }
    }

    /// Drains the queue (every record in it is handed to the handler), then closes the
    /// handler. Idempotent.
    fn close(&self) {
        let tx = self.tx.lock().take();
        self.state.closed.store(true, Ordering::Release);
        drop(tx); // the thread drains what is queued, closes the handler, and ends
        if let Some(thread) = self.thread.lock().take() {
            if thread.join().is_err() {
                self.inner.base().report("the output's thread panicked");
            }
        }
    }

    fn level(&self) -> Level {
        self.inner.level()
    }
}

impl Drop for ThreadedHandler {
    fn drop(&mut self) {
        self.close();
    }
}

/// The handler's thread: records in order; with [`Confirm::Written`], a flush when the queue
/// runs dry or is asked for, retried while it fails; at the end, the handler closed.
///
/// With [`Confirm::Queued`] the handler is not flushed before it is closed: a network handler
/// sends on its own, and its flush would only wait on the peer (a stalled one for its whole
/// flush timeout), keeping the thread from taking the next records into the handler's own
/// buffer.
fn run(inner: &dyn Handler, rx: &Receiver<Msg>, state: &State, confirm: Confirm) {
    let mut failing = false;
    let flush = |failing: &mut bool| {
        if confirm == Confirm::Queued {
            return;
        }
        let handled = state.handled.load(Ordering::Relaxed);
        *failing = inner.flush().is_err();
        if !*failing {
            state.written.fetch_max(handled, Ordering::AcqRel);
        }
    };
    loop {
        let msg = if failing {
            match rx.recv_timeout(RETRY_EVERY) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    flush(&mut failing);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(msg) => msg,
                Err(_) => break,
            }
        };
        match msg {
            Msg::Record(record) => {
                inner.handle(&record);
                state.handled.fetch_add(1, Ordering::Release);
                if rx.is_empty() {
                    flush(&mut failing);
                }
            }
            Msg::Flush => flush(&mut failing),
        }
    }
    // Closed: the queue is drained (recv returns every message before disconnecting).
    flush(&mut failing);
    inner.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::MemoryHandler;

    /// A handler that blocks in `emit` while `gate` is shut.
    #[derive(Default)]
    struct Gate {
        base: HandlerBase,
        shut: parking_lot::Mutex<bool>,
        open: parking_lot::Condvar,
        seen: AtomicU64,
    }

    impl Handler for Gate {
        fn base(&self) -> &HandlerBase {
            &self.base
        }
        fn emit(&self, _: &Record) -> Result<(), HandlerError> {
            let mut shut = self.shut.lock();
            while *shut {
                self.open.wait(&mut shut);
            }
            self.seen.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    fn record(i: usize) -> Record {
        Record::new("a", Level::INFO, format!("{i}"))
    }

    #[test]
    fn a_blocked_output_never_blocks_the_caller_past_its_policy() {
        let gate = Arc::new(Gate::default());
        *gate.shut.lock() = true;
        let out = ThreadedHandler::builder(gate.clone())
            .capacity(4)
            .overflow(Overflow::Drop)
            .confirm(Confirm::Queued)
            .build()
            .unwrap();
        for i in 0..100 {
            out.handle(&record(i)); // never waits: the gate is shut
        }
        assert!(out.flush().is_ok(), "queued counts as received");
        let s = out.stats();
        assert_eq!(s.queued + s.dropped, 100);
        assert!(s.dropped >= 95, "{s:?}");
        assert_eq!(out.base().records_not_written(), 0);
        *gate.shut.lock() = false;
        gate.open.notify_all();
        out.close();
        assert_eq!(gate.seen.load(Ordering::Relaxed), s.queued);
    }

    #[test]
    fn written_outputs_confirm_only_what_was_written() {
        let gate = Arc::new(Gate::default());
        *gate.shut.lock() = true;
        let out = ThreadedHandler::builder(gate.clone())
            .capacity(2)
            .overflow(Overflow::Drop)
            .build()
            .unwrap();
        assert!(out.flush().is_ok(), "nothing queued");
        for i in 0..5 {
            out.handle(&record(i));
        }
        let err = out.flush().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // Dropped records of a written output are not written: confirmations stay withheld.
        assert!(out.base().records_not_written() >= 2);
        *gate.shut.lock() = false;
        gate.open.notify_all();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while out.flush().is_err() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(out.flush().is_ok());
        out.close();
    }

    #[test]
    fn close_drains_in_order() {
        let mem = Arc::new(MemoryHandler::new(10_000, Level::CRITICAL, None));
        let out = ThreadedHandler::builder(mem.clone()).build().unwrap();
        for i in 0..1000 {
            out.handle(&record(i));
        }
        out.close();
        out.close(); // idempotent
        assert_eq!(out.stats().handled, 1000);
        out.handle(&record(1000));
        assert_eq!(out.stats().dropped, 1, "after close: dropped and counted");
    }
}
