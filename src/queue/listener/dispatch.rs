//! The dispatch thread: the only caller of the listener's handlers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::peer::{Acknowledge, WorkerEntry};
use super::{Shared, Target, LISTENER_LOGGER, NOTICES_PER_SECOND};
use crate::handler::Handler;
use crate::level::Level;
use crate::logger::{Logger, Manager};
use crate::record::Record;

/// Messages to the dispatch thread, in the order they must be handled.
// A local record travels by value: boxing it would add an allocation per log call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum DispatchMsg {
    /// A `Frame::Records` body as received, decoded here (see [`WorkerEntry::decoder`]).
    Frame {
        worker: Arc<WorkerEntry>,
        bytes: Vec<u8>,
        /// Where the frame starts in the connection's stream, for the error message.
        offset: u64,
        /// Acknowledge the connection's first `n` frames once the handlers flushed this one's
        /// records (with the `AfterFlush` work; one per connection per drain).
        confirm: Option<(Arc<dyn Acknowledge>, u64)>,
    },
    /// One record from an in-process handler.
    Local(Record),
    /// A socket connection's `Sync`: acknowledge its first `frames` frames, at once, after the
    /// flush that ends this drain (with the `AfterFlush` work). Not a flush of its own: a
    /// flood of `Sync`s costs one flush per drain, as records do.
    Sync {
        ack: Arc<dyn Acknowledge>,
        frames: u64,
    },
    /// Flush, then answer (in-process handlers' flush and close).
    Barrier(Sender<()>),
    /// The listener's own trouble, for its own logger.
    Notice(Level, String),
    /// Run once everything before it was handled and the handlers flushed (a shm ring's
    /// consumer position moves only then: what it covers is in the files).
    AfterFlush(Box<dyn FnOnce() + Send>),
    /// Swap in a new target (a configuration reload), flush and close the old one's handlers,
    /// then answer.
    Reload(Target, Sender<()>),
    /// Handle what is left, flush, end.
    Stop,
}

/// The listener's loggers by name (a reload clears it: the new hierarchy has its own).
#[derive(Default)]
struct LoggerCache {
    by_name: HashMap<Arc<str>, Logger>,
    /// The logger of the last record, by the `Arc` of its name: records of one worker share
    /// their logger's name (see `decode`), so most lookups are a pointer compare.
    last: Option<(Arc<str>, Logger)>,
}

impl LoggerCache {
    fn get(&mut self, manager: &Manager, name: &Arc<str>) -> &Logger {
        let hit = matches!(&self.last, Some((last, _)) if Arc::ptr_eq(last, name));
        if !hit {
            let logger = self
                .by_name
                .entry(name.clone())
                .or_insert_with(|| manager.get_logger(name))
                .clone();
            self.last = Some((name.clone(), logger));
        }
        let (_, logger) = self
            .last
            .get_or_insert_with(|| (name.clone(), manager.get_logger(name)));
        logger
    }

    fn clear(&mut self) {
        self.by_name.clear();
        self.last = None;
    }
}

/// Ring commits held back by failing flushes before they are made anyway.
const MAX_HELD_COMMITS: usize = 4096;
/// Most messages handled between two flushes of the handlers.
const MAX_DRAIN: usize = 256;

pub(crate) struct Dispatcher {
    target: Target,
    rx: Receiver<DispatchMsg>,
    shared: Arc<Shared>,
    loggers: LoggerCache,
    flushable: Vec<Arc<dyn Handler>>,
    /// The manager's generation `flushable` was read at (see `Manager::generation`).
    flushable_at: Option<u64>,
    notices: (Instant, u32, u64),
    after_flush: Vec<Box<dyn FnOnce() + Send>>,
    /// The connections whose frames this drain handled, how far, and whether a `Sync` waits:
    /// acknowledged as `AfterFlush` work at the flush (one each, however many frames).
    confirms: Vec<(Arc<dyn Acknowledge>, u64, bool)>,
}

impl Dispatcher {
    pub(crate) fn new(target: Target, rx: Receiver<DispatchMsg>, shared: Arc<Shared>) -> Self {
        Dispatcher {
            target,
            rx,
            shared,
            loggers: LoggerCache::default(),
            flushable: Vec::new(),
            flushable_at: None,
            notices: (Instant::now(), 0, 0),
            after_flush: Vec::new(),
            confirms: Vec::new(),
        }
    }

    pub(crate) fn run(mut self) {
        while let Ok(msg) = self.rx.recv() {
            let mut stop = self.handle(msg);
            let mut n = 0;
            while !stop && n < MAX_DRAIN {
                match self.rx.try_recv() {
                    Ok(msg) => stop = self.handle(msg),
                    Err(_) => break,
                }
                n += 1;
            }
            self.flush();
            if stop {
                break;
            }
        }
        // Stop: whatever is still queued (in-process handlers racing with stop).
        while let Ok(msg) = self.rx.try_recv() {
            self.handle(msg);
        }
        self.flush();
    }

    /// Returns true on `Stop`.
    fn handle(&mut self, msg: DispatchMsg) -> bool {
        match msg {
            DispatchMsg::Frame {
                worker,
                bytes,
                offset,
                confirm,
            } => {
                self.decode_frame(&worker, &bytes, offset);
                if let Some((ack, frames)) = confirm {
                    self.confirm_after_flush(ack, frames, false);
                }
            }
            DispatchMsg::Sync { ack, frames } => self.confirm_after_flush(ack, frames, true),
            DispatchMsg::Local(r) => {
                self.dispatch(&r);
                self.shared.records.fetch_add(1, Ordering::Relaxed);
            }
            DispatchMsg::Barrier(ack) => {
                self.flush();
                let _ = ack.send(());
            }
            DispatchMsg::Notice(level, text) => self.notice(level, text),
            // Flushed at once, not at the end of the drain: the handlers' writes of this
            // batch and the ring's commit stay microseconds apart (the duplicate window of a
            // listener killed between the two), as long as the batch fits their buffers.
            DispatchMsg::AfterFlush(f) => {
                self.after_flush.push(f);
                self.flush();
            }
            DispatchMsg::Reload(target, ack) => {
                let old = std::mem::replace(&mut self.target, target);
                self.loggers.clear();
                self.flushable.clear();
                self.flushable_at = None;
                close(&old);
                let _ = ack.send(());
            }
            DispatchMsg::Stop => return true,
        }
        false
    }

    /// Decodes and dispatches one worker's record frame; a malformed one closes that
    /// worker's connection (its reader sees `bad`) and says why.
    fn decode_frame(&mut self, worker: &WorkerEntry, bytes: &[u8], offset: u64) {
        if worker.bad.load(Ordering::Acquire) {
            return; // frames queued behind a bad one: the connection is closing
        }
        let result = worker
            .decoder
            .lock()
            .each_record(bytes, offset, |r| self.dispatch(r));
        let handled = match result {
            Ok(n) => n,
            Err((n, e)) => {
                worker.bad.store(true, Ordering::Release);
                self.shared.malformed.fetch_add(1, Ordering::Relaxed);
                let text = format!("closed the connection of {}: {e}", worker.who());
                self.notice(Level::ERROR, text);
                n
            }
        };
        worker.records.fetch_add(handled, Ordering::Relaxed);
        self.shared.records.fetch_add(handled, Ordering::Relaxed);
    }

    /// Acknowledges a connection's first `frames` frames with the next flush's `AfterFlush`
    /// work; a later frame of the same connection in this drain replaces it.
    fn confirm_after_flush(&mut self, ack: Arc<dyn Acknowledge>, frames: u64, urgent: bool) {
        let same = |(a, ..): &&mut (Arc<dyn Acknowledge>, u64, bool)| {
            std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(&ack))
        };
        match self.confirms.iter_mut().find(same) {
            Some(pending) => {
                pending.1 = frames;
                pending.2 |= urgent;
            }
            None => self.confirms.push((ack, frames, urgent)),
        }
    }

    fn dispatch(&mut self, record: &Record) {
        match &self.target {
            Target::Manager(m) => self.loggers.get(m, &record.name).handle(record),
            Target::Handlers {
                handlers,
                respect_level,
            } => {
                for h in handlers {
                    if !*respect_level || record.level >= h.level() {
                        h.handle(record);
                    }
                }
            }
        }
    }

    /// Flushes every handler, then runs the `AfterFlush` work (a shm ring's commit) if every
    /// flush succeeded; after a failure that work waits for a later flush that succeeds, so a
    /// ring's head never claims records the files do not hold.
    fn flush(&mut self) {
        for (ack, frames, urgent) in self.confirms.drain(..) {
            self.after_flush
                .push(Box::new(move || ack.confirm(frames, urgent)));
        }
        let mut flushed = true;
        match &self.target {
            Target::Handlers { handlers, .. } => {
                for h in handlers {
                    flushed &= h.flush().is_ok();
                }
            }
            Target::Manager(m) => {
                // Read again whenever the hierarchy changed: a handler added a moment ago
                // holds records too.
                let generation = m.generation();
                if self.flushable_at != Some(generation) {
                    self.flushable_at = Some(generation);
                    self.flushable = m.handlers();
                }
                for h in &self.flushable {
                    flushed &= h.flush().is_ok();
                }
            }
        }
        // A handler that never flushes again (a dead pipe) must not hold every ring's head
        // forever, nor grow this list without end: past the bound, commit anyway and say so.
        let overdue = self.after_flush.len() > MAX_HELD_COMMITS;
        if overdue {
            self.notice(
                Level::ERROR,
                format!(
                    "handlers keep failing to flush: committing {} ring positions anyway",
                    self.after_flush.len()
                ),
            );
        }
        if flushed || overdue {
            for f in self.after_flush.drain(..) {
                f();
            }
        }
    }

    /// Logs the listener's own trouble, rate-limited.
    fn notice(&mut self, level: Level, text: String) {
        let (start, shown, suppressed) = &mut self.notices;
        if start.elapsed() >= Duration::from_secs(1) {
            let missed = *suppressed;
            *start = Instant::now();
            *shown = 0;
            *suppressed = 0;
            if missed > 0 {
                self.emit_notice(
                    Level::WARNING,
                    format!("{missed} similar notices suppressed"),
                );
            }
        }
        let (_, shown, suppressed) = &mut self.notices;
        if *shown >= NOTICES_PER_SECOND {
            *suppressed += 1;
            return;
        }
        *shown += 1;
        self.emit_notice(level, text);
    }

    fn emit_notice(&mut self, level: Level, text: String) {
        let record = Record::new(LISTENER_LOGGER, level, text);
        match &self.target {
            Target::Manager(m) => m.get_logger(LISTENER_LOGGER).handle(&record),
            Target::Handlers { .. } => self.dispatch(&record),
        }
    }
}

/// Flushes and closes every handler of a target that was swapped out.
fn close(target: &Target) {
    match target {
        Target::Manager(m) => m.shutdown(),
        Target::Handlers { handlers, .. } => {
            for h in handlers {
                let _ = h.flush();
                h.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::atomic::{AtomicBool, AtomicU32};

    use super::*;
    use crate::handler::{HandlerBase, HandlerError};

    /// A handler whose flush fails while `failing` is set.
    #[derive(Default)]
    struct Flaky {
        base: HandlerBase,
        failing: AtomicBool,
    }

    impl Handler for Flaky {
        fn base(&self) -> &HandlerBase {
            &self.base
        }
        fn emit(&self, _: &Record) -> Result<(), HandlerError> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            if self.failing.load(Ordering::Relaxed) {
                Err(io::Error::other("disk full"))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn work_after_a_flush_waits_for_a_flush_that_succeeds() {
        let flaky = Arc::new(Flaky::default());
        flaky.failing.store(true, Ordering::Relaxed);
        let target = Target::Handlers {
            handlers: vec![flaky.clone()],
            respect_level: false,
        };
        let (_tx, rx) = crossbeam_channel::bounded(1);
        let mut d = Dispatcher::new(target, rx, Arc::default());
        let commits = Arc::new(AtomicU32::new(0));
        let c = commits.clone();
        d.handle(DispatchMsg::AfterFlush(Box::new(move || {
            c.fetch_add(1, Ordering::Relaxed);
        })));
        d.flush();
        assert_eq!(
            commits.load(Ordering::Relaxed),
            0,
            "committed past a failed flush"
        );
        flaky.failing.store(false, Ordering::Relaxed);
        d.flush();
        assert_eq!(commits.load(Ordering::Relaxed), 1);
    }
}
