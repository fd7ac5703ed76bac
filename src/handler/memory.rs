//! [`MemoryHandler`]: buffers records and hands them to a target handler in bursts (Python's
//! `logging.handlers.MemoryHandler`).
//!
//! The buffer is flushed to the target when it holds `capacity` records, when a record at or
//! above `flush_level` arrives (so the context before an error is written with it), on
//! [`Handler::flush`], and on close unless `flush_on_close` is off. As in Python, the target's
//! `handle` is called directly: its filters apply, its level does not.

use std::io;
use std::sync::Arc;

use parking_lot::{Mutex, ReentrantMutex};

use super::{Handler, HandlerBase, HandlerError};
use crate::level::Level;
use crate::record::Record;

/// Buffers records for a target handler.
///
/// ```
/// use std::sync::Arc;
/// use mplog::handler::{Handler, MemoryHandler, StreamHandler};
/// use mplog::Level;
/// let target: Arc<dyn Handler> = Arc::new(StreamHandler::stderr());
/// let h = MemoryHandler::new(100, Level::ERROR, Some(target));
/// h.handle(&mplog::Record::new("a", Level::INFO, "kept for now"));
/// assert_eq!(h.buffered(), 1);
/// ```
pub struct MemoryHandler {
    base: HandlerBase,
    capacity: usize,
    flush_level: Level,
    flush_on_close: bool,
    target: Mutex<Option<Arc<dyn Handler>>>,
    buffer: Mutex<Vec<Record>>,
    /// Held across a whole flush (see `flush_to_target`).
    flushing: ReentrantMutex<()>,
}

impl std::fmt::Debug for MemoryHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryHandler")
            .field("capacity", &self.capacity)
            .field("flush_level", &self.flush_level)
            .field("buffered", &self.buffered())
            .finish_non_exhaustive()
    }
}

impl MemoryHandler {
    /// Buffers up to `capacity` records (Python's `MemoryHandler(capacity, flushLevel, target)`;
    /// Python's default flush level is `ERROR`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, MemoryHandler};
    /// use mplog::{Level, Record};
    /// let target = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// let h = MemoryHandler::new(2, Level::ERROR, Some(target.clone()));
    /// h.handle(&Record::new("a", Level::INFO, "context"));
    /// assert_eq!(target.buffered(), 0);
    /// h.handle(&Record::new("a", Level::ERROR, "failure")); // flushes both
    /// assert_eq!((h.buffered(), target.buffered()), (0, 2));
    /// ```
    pub fn new(capacity: usize, flush_level: Level, target: Option<Arc<dyn Handler>>) -> Self {
        MemoryHandler {
            base: HandlerBase::new(),
            capacity,
            flush_level,
            flush_on_close: true,
            target: Mutex::new(target),
            buffer: Mutex::new(Vec::with_capacity(capacity.min(4096))),
            flushing: ReentrantMutex::new(()),
        }
    }

    /// Whether closing flushes the buffer (default true).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, MemoryHandler};
    /// use mplog::Level;
    /// let target = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// let h = MemoryHandler::new(100, Level::ERROR, Some(target.clone())).flush_on_close(false);
    /// h.handle(&mplog::Record::new("a", Level::INFO, "m"));
    /// h.close();
    /// assert_eq!(target.buffered(), 0);
    /// ```
    pub fn flush_on_close(mut self, flush: bool) -> Self {
        self.flush_on_close = flush;
        self
    }

    /// Sets the target (Python's `setTarget`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::handler::{Handler, MemoryHandler};
    /// use mplog::Level;
    /// let h = MemoryHandler::new(100, Level::ERROR, None);
    /// h.handle(&mplog::Record::new("a", Level::INFO, "waits for a target"));
    /// let target = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// h.set_target(Some(target.clone()));
    /// h.flush().unwrap();
    /// assert_eq!(target.buffered(), 1);
    /// ```
    pub fn set_target(&self, target: Option<Arc<dyn Handler>>) {
        *self.target.lock() = target;
    }

    /// How many records wait in the buffer.
    ///
    /// ```
    /// use mplog::handler::{Handler, MemoryHandler};
    /// let h = MemoryHandler::new(100, mplog::Level::ERROR, None);
    /// assert_eq!(h.buffered(), 0);
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert_eq!(h.buffered(), 1);
    /// ```
    pub fn buffered(&self) -> usize {
        self.buffer.lock().len()
    }

    fn should_flush(&self, buffer: &[Record], record: &Record) -> bool {
        buffer.len() >= self.capacity || record.level >= self.flush_level
    }

    fn flush_to_target(&self) {
        // One flush at a time, from taking the buffer to the last hand-off, as Python flushes
        // under the handler lock: two threads flushing at once would otherwise deliver their
        // batches in either order. Reentrant, like Python's RLock, so a target that logs back
        // into this handler on the same thread does not deadlock.
        let _flushing = self.flushing.lock();
        let target = self.target.lock().clone();
        // Python keeps the buffer when there is no target.
        let Some(target) = target else { return };
        let records = std::mem::take(&mut *self.buffer.lock());
        for record in &records {
            target.handle(record);
        }
    }
}

impl Handler for MemoryHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let flush = {
            let mut buffer = self.buffer.lock();
            buffer.push(record.clone());
            self.should_flush(&buffer, record)
        };
        if flush {
            self.flush_to_target();
        }
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        self.flush_to_target();
        Ok(())
    }

    fn close(&self) {
        if self.flush_on_close {
            self.flush_to_target();
        }
        self.buffer.lock().clear();
        *self.target.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        base: HandlerBase,
        seen: Mutex<Vec<String>>,
    }
    impl Handler for Collect {
        fn base(&self) -> &HandlerBase {
            &self.base
        }
        fn emit(&self, r: &Record) -> Result<(), HandlerError> {
            // A slow target, so that concurrent flushes overlap.
            std::thread::yield_now();
            self.seen.lock().push(r.message.to_string());
            Ok(())
        }
    }

    fn setup(capacity: usize) -> (Arc<Collect>, MemoryHandler) {
        let target = Arc::new(Collect::default());
        let h = MemoryHandler::new(
            capacity,
            Level::WARNING,
            Some(target.clone() as Arc<dyn Handler>),
        );
        (target, h)
    }

    fn log(h: &MemoryHandler, level: Level, msg: &'static str) {
        h.handle(&Record::new("mem", level, msg));
    }

    #[test]
    fn flushes_when_full_and_at_flush_level() {
        // test_logging.MemoryHandlerTest.test_flush: capacity 10, flushLevel WARNING.
        let (target, h) = setup(10);
        for i in 0..9 {
            log(
                &h,
                Level::DEBUG,
                ["0", "1", "2", "3", "4", "5", "6", "7", "8"][i],
            );
        }
        assert!(target.seen.lock().is_empty());
        log(&h, Level::DEBUG, "9");
        assert_eq!(target.seen.lock().len(), 10);
        log(&h, Level::INFO, "info");
        assert_eq!(target.seen.lock().len(), 10);
        log(&h, Level::WARNING, "warn");
        assert_eq!(target.seen.lock().len(), 12);
        assert_eq!(h.buffered(), 0);
    }

    #[test]
    fn the_targets_level_is_not_applied_on_flush() {
        let (target, h) = setup(2);
        target.base.set_level(Level::CRITICAL);
        log(&h, Level::DEBUG, "a");
        log(&h, Level::DEBUG, "b");
        assert_eq!(*target.seen.lock(), ["a", "b"]);
    }

    #[test]
    fn close_flushes_unless_told_not_to() {
        let (target, h) = setup(100);
        log(&h, Level::DEBUG, "a");
        h.close();
        assert_eq!(*target.seen.lock(), ["a"]);

        let target = Arc::new(Collect::default());
        let h = MemoryHandler::new(100, Level::ERROR, Some(target.clone() as Arc<dyn Handler>))
            .flush_on_close(false);
        log(&h, Level::DEBUG, "b");
        h.close();
        assert!(target.seen.lock().is_empty());
    }

    #[test]
    fn concurrent_flushes_keep_each_threads_order() {
        // Capacity 1: every record flushes, from whichever thread logged it.
        let (target, h) = setup(1);
        let h = Arc::new(h);
        const THREADS: usize = 4;
        const RECORDS: usize = 2_000;
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..RECORDS {
                        h.handle(&Record::new("mem", Level::DEBUG, format!("{t} {i}")));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("logging thread");
        }
        let seen = target.seen.lock();
        assert_eq!(seen.len(), THREADS * RECORDS);
        for t in 0..THREADS {
            let prefix = format!("{t} ");
            let order: Vec<usize> = seen
                .iter()
                .filter_map(|m| m.strip_prefix(&prefix)?.parse().ok())
                .collect();
            assert_eq!(order, (0..RECORDS).collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn a_target_logging_back_does_not_deadlock() {
        // The target hands records back to the handler that flushes to it (same thread).
        struct Echo {
            base: HandlerBase,
            into: Mutex<Option<Arc<MemoryHandler>>>,
            seen: Mutex<Vec<String>>,
        }
        impl Handler for Echo {
            fn base(&self) -> &HandlerBase {
                &self.base
            }
            fn emit(&self, r: &Record) -> Result<(), HandlerError> {
                self.seen.lock().push(r.message.to_string());
                if r.message == "first" {
                    let into = self.into.lock().clone();
                    if let Some(h) = into {
                        h.handle(&Record::new("mem", Level::WARNING, "echo"));
                    }
                }
                Ok(())
            }
        }
        let echo = Arc::new(Echo {
            base: HandlerBase::new(),
            into: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        });
        let h = Arc::new(MemoryHandler::new(
            10,
            Level::WARNING,
            Some(echo.clone() as Arc<dyn Handler>),
        ));
        *echo.into.lock() = Some(h.clone());
        log(&h, Level::WARNING, "first");
        assert_eq!(*echo.seen.lock(), ["first", "echo"]);
        h.set_target(None); // breaks the cycle
    }

    #[test]
    fn without_target_records_stay_buffered() {
        let h = MemoryHandler::new(1, Level::ERROR, None);
        log(&h, Level::ERROR, "x");
        assert_eq!(h.buffered(), 1);
    }
}
