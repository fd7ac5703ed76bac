//! The dispatch thread: the only caller of the listener's handlers.
//!
//! # Work held until the records before it are written
//! A shm ring's commit (`AfterFlush`), a socket connection's acknowledgement (of its frames, or
//! answering a `Sync`) and an in-process `Barrier`'s answer each say "everything before me is in
//! the files". They run after a flush of every handler
//! that succeeded. While a handler's flush fails (a file handler holding records it could not
//! write: a full disk, a removed directory) they wait, however long that takes, and the thread
//! retries the flush every [`RETRY_EVERY`] even when no record comes; once it succeeds they run
//! in order. A confirmation (`Ack`, `Barrier`) is given only if no record was thrown away since
//! the last flush that succeeded: the asker then sees no confirmation and says so, since its
//! records may be among those lost. Held work is bounded: a ring's later commit replaces its
//! earlier one (one per ring), a connection's later acknowledgement its earlier one (they are
//! cumulative: one per connection), and past [`MAX_HELD_CONFIRMS`] the oldest confirmation is
//! dropped unanswered. The dispatch thread never writes to a peer: an acknowledgement is handed
//! to the connection's [`Acknowledge`], which the replies thread writes without blocking.
//!
//! So on shm a write fault holds the rings' heads: workers whose ring fills wait as their
//! overflow policy says (then drop and count), and records the listener could not write stay in
//! the rings for the next listener if this one stops first.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::names::{Capped, LoggerCache, NameCaps};
use super::peer::{Acknowledge, WorkerEntry};
use super::{Shared, Target, LISTENER_LOGGER, NOTICES_PER_SECOND};
use crate::handler::Handler;
use crate::level::Level;
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
        /// Acknowledge the connection's first `n` frames once the handlers wrote and flushed
        /// this one's records (held as the other confirmations are; one per connection).
        confirm: Option<(Arc<dyn Acknowledge>, u64)>,
    },
    /// One record from an in-process handler.
    Local(Record),
    /// A socket connection's `Sync`: acknowledge its first `frames` frames, at once, after the
    /// flush that ends this drain. Not a flush of its own: a flood of `Sync`s costs one flush
    /// per drain, as records do.
    Sync {
        ack: Arc<dyn Acknowledge>,
        frames: u64,
    },
    /// Flush, then answer (in-process handlers' flush and close).
    Barrier(Sender<()>),
    /// The listener's own trouble, for its own logger.
    Notice(Level, String),
    /// Run once everything before it was handled and the handlers flushed (a shm ring's
    /// consumer position moves only then: what it covers is in the files). While flushes
    /// fail, a later `AfterFlush` with the same `key` (the same ring) replaces a held one.
    AfterFlush {
        key: usize,
        work: Box<dyn FnOnce() + Send>,
    },
    /// Swap in a new target (a configuration reload), flush and close the old one's handlers,
    /// then answer.
    Reload(Target, Sender<()>),
    /// Handle what is left, flush, end.
    Stop,
}

/// Confirmations (`Ack`s, barrier answers) held while flushes fail; past this the oldest is
/// dropped unanswered (each may hold a connection's descriptor).
pub(crate) const MAX_HELD_CONFIRMS: usize = 1024;
/// While a flush fails, how often it is tried again when no record comes.
pub(crate) const RETRY_EVERY: Duration = Duration::from_millis(100);
/// Most messages handled between two flushes of the handlers.
const MAX_DRAIN: usize = 256;

/// Work that waits until every record before it is written.
enum Held {
    /// A shm ring's commit; a later one with the same key (the same ring) replaces it.
    Commit {
        key: usize,
        work: Box<dyn FnOnce() + Send>,
    },
    /// A connection's acknowledgement of its first `frames` frames (`urgent`: it answers a
    /// `Sync`); a later one of the same connection replaces it. Given only as `Confirm` is.
    Ack {
        ack: Arc<dyn Acknowledge>,
        frames: u64,
        urgent: bool,
    },
    /// A confirmation that records were written (a barrier's answer): given only if none was
    /// thrown away since the last good flush, otherwise dropped unanswered.
    Confirm(Box<dyn FnOnce() + Send>),
}

pub(crate) struct Dispatcher {
    target: Target,
    rx: Receiver<DispatchMsg>,
    shared: Arc<Shared>,
    loggers: LoggerCache,
    flushable: Vec<Arc<dyn Handler>>,
    /// The manager's generation `flushable` was read at (see `Manager::generation`).
    flushable_at: Option<u64>,
    notices: (Instant, u32, u64),
    held: Vec<Held>,
    /// Whether the last flush failed (then it is retried every [`RETRY_EVERY`]).
    failing: bool,
    /// Records the handlers gave up on, at the last flush that succeeded.
    lost_at_good_flush: u64,
    /// Records given up on by handlers of targets swapped out by a reload.
    lost_before: u64,
    /// Whether reaching each name cap (count, length) was logged: once per listener.
    caps_told: [bool; 2],
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
            held: Vec::new(),
            failing: false,
            lost_at_good_flush: 0,
            lost_before: 0,
            caps_told: [false; 2],
        }
    }

    /// Sets the caps on the logger names records make it create (see `names`).
    pub(crate) fn with_name_caps(mut self, caps: NameCaps) -> Self {
        self.loggers = LoggerCache::new(caps);
        self
    }

    /// The next message; while flushes fail, retries them every [`RETRY_EVERY`] meanwhile.
    fn next(&mut self) -> Option<DispatchMsg> {
        loop {
            if !self.failing {
                return self.rx.recv().ok();
            }
            match self.rx.recv_timeout(RETRY_EVERY) {
                Ok(msg) => return Some(msg),
                Err(RecvTimeoutError::Timeout) => self.flush(),
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    pub(crate) fn run(mut self) {
        while let Some(msg) = self.next() {
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
                if self.shared.cut() {
                    // Past the drain deadline: left unhandled and unconfirmed (its sender
                    // keeps it for the next listener), and counted.
                    let n = bytes.len() as u64;
                    self.shared
                        .undelivered_bytes
                        .fetch_add(n, Ordering::Relaxed);
                    return false;
                }
                self.decode_frame(&worker, &bytes, offset);
                if let Some((ack, frames)) = confirm {
                    self.hold_ack(ack, frames, false);
                }
            }
            // Past the drain deadline a `Sync` or a ring's commit may cover a frame skipped
            // above: neither is given (a commit not made means records handled twice, never
            // lost).
            DispatchMsg::Sync { .. } | DispatchMsg::AfterFlush { .. } if self.shared.cut() => {}
            DispatchMsg::Sync { ack, frames } => self.hold_ack(ack, frames, true),
            DispatchMsg::Local(r) => {
                self.dispatch(&r);
                self.shared.records.fetch_add(1, Ordering::Relaxed);
            }
            DispatchMsg::Barrier(ack) => {
                // Dropped unanswered, the asker's wait ends in an error: not confirmed.
                self.hold_confirm(Box::new(move || {
                    // An asker that stopped waiting has nobody to tell.
                    if ack.send(()).is_err() {}
                }));
                self.flush();
            }
            DispatchMsg::Notice(level, text) => self.notice(level, text),
            // Flushed at once, not at the end of the drain: the handlers' writes of this
            // batch and the ring's commit stay microseconds apart (the duplicate window of a
            // listener killed between the two), as long as the batch fits their buffers.
            DispatchMsg::AfterFlush { key, work } => {
                self.hold_commit(key, work);
                self.flush();
            }
            DispatchMsg::Reload(target, ack) => {
                let old = std::mem::replace(&mut self.target, target);
                self.loggers.clear();
                self.flushable.clear();
                self.flushable_at = None;
                self.lost_before += close(&old);
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

    fn dispatch(&mut self, record: &Record) {
        match &self.target {
            Target::Manager(m) => {
                let (logger, capped) = self.loggers.get(m, &record.name);
                logger.handle(record);
                if let Some(cap) = capped {
                    self.name_capped(cap, &record.name);
                }
            }
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

    /// Counts a record redirected to an ancestor by a name cap; logs the first of each cap.
    fn name_capped(&mut self, cap: Capped, name: &str) {
        self.shared.names_capped.fetch_add(1, Ordering::Relaxed);
        let (told, text) = match cap {
            Capped::Count => (&mut self.caps_told[0], "the cap on logger names"),
            Capped::Length => (&mut self.caps_told[1], "the cap on logger name length"),
        };
        if std::mem::replace(told, true) {
            return;
        }
        let shown: String = name.chars().take(80).collect();
        let text = format!(
            "reached {text}: records of new loggers (first: {shown:?}) are handled by their \
             nearest existing ancestor from now on, and counted (names_capped)"
        );
        self.notice(Level::WARNING, text);
    }

    /// Flushes every handler, then runs the held work if every flush succeeded (see the
    /// module docs); publishes the handlers' counts of records held and not written.
    fn flush(&mut self) {
        let mut flushed = true;
        let (mut lost, mut held) = (self.lost_before, 0);
        let mut tally = |h: &Arc<dyn Handler>| {
            flushed &= h.flush().is_ok();
            lost += h.base().records_not_written();
            held += h.base().records_held();
        };
        match &self.target {
            Target::Handlers { handlers, .. } => handlers.iter().for_each(&mut tally),
            Target::Manager(m) => {
                // Read again whenever the hierarchy changed: a handler added a moment ago
                // holds records too.
                let generation = m.generation();
                if self.flushable_at != Some(generation) {
                    self.flushable_at = Some(generation);
                    self.flushable = m.handlers();
                }
                self.flushable.iter().for_each(&mut tally);
            }
        }
        // A handler removed from the hierarchy takes its count along: never count down.
        self.shared.not_written.fetch_max(lost, Ordering::Relaxed);
        self.shared.held.store(held, Ordering::Relaxed);
        self.failing = !flushed;
        if !flushed {
            return; // the held work waits for a flush that succeeds
        }
        // Confirm only if nothing was thrown away since the last good flush: the records
        // before a held `Sync` may be among those.
        let confirm = lost == self.lost_at_good_flush;
        self.lost_at_good_flush = lost;
        for work in self.held.drain(..) {
            match work {
                Held::Commit { work, .. } => work(),
                Held::Ack {
                    ack,
                    frames,
                    urgent,
                } if confirm => ack.confirm(frames, urgent),
                Held::Confirm(answer) if confirm => answer(),
                Held::Ack { .. } | Held::Confirm(_) => {}
            }
        }
    }

    /// Holds a ring's commit until a flush succeeds; it replaces a held one of the same ring
    /// (a later position covers the earlier), so at most one per ring waits.
    fn hold_commit(&mut self, key: usize, work: Box<dyn FnOnce() + Send>) {
        for held in &mut self.held {
            if let Held::Commit { key: k, work: w } = held {
                if *k == key {
                    *w = work;
                    return;
                }
            }
        }
        self.held.push(Held::Commit { key, work });
    }

    /// Holds a connection's acknowledgement until a flush succeeds; it replaces a held one of
    /// the same connection (acknowledgements are cumulative), so at most one per connection
    /// waits.
    fn hold_ack(&mut self, ack: Arc<dyn Acknowledge>, frames: u64, urgent: bool) {
        for held in &mut self.held {
            if let Held::Ack {
                ack: a,
                frames: f,
                urgent: u,
            } = held
            {
                if std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(&ack)) {
                    *f = (*f).max(frames);
                    *u |= urgent;
                    return;
                }
            }
        }
        self.make_room_for_a_confirmation();
        self.held.push(Held::Ack {
            ack,
            frames,
            urgent,
        });
    }

    /// Holds a confirmation until a flush succeeds; past [`MAX_HELD_CONFIRMS`] the oldest is
    /// dropped unanswered (its asker sees no confirmation, as for a lost record).
    fn hold_confirm(&mut self, answer: Box<dyn FnOnce() + Send>) {
        self.make_room_for_a_confirmation();
        self.held.push(Held::Confirm(answer));
    }

    /// Past [`MAX_HELD_CONFIRMS`] held confirmations, drops the oldest unanswered.
    fn make_room_for_a_confirmation(&mut self) {
        let is_confirm = |h: &Held| matches!(h, Held::Ack { .. } | Held::Confirm(_));
        if self.held.iter().filter(|h| is_confirm(h)).count() >= MAX_HELD_CONFIRMS {
            if let Some(oldest) = self.held.iter().position(is_confirm) {
                self.held.remove(oldest);
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

/// Flushes and closes every handler of a target that was swapped out; returns how many
/// records they gave up on (closing gives up on what they still held).
fn close(target: &Target) -> u64 {
    let handlers = match target {
        Target::Manager(m) => m.handlers(),
        Target::Handlers { handlers, .. } => handlers.clone(),
    };
    match target {
        Target::Manager(m) => m.shutdown(),
        // Closing writes what waits, and gives up on (counts) what cannot be written.
        Target::Handlers { handlers, .. } => handlers.iter().for_each(|h| h.close()),
    }
    handlers
        .iter()
        .map(|h| h.base().records_not_written())
        .sum()
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
        d.handle(DispatchMsg::AfterFlush {
            key: 1,
            work: Box::new(move || {
                c.fetch_add(1, Ordering::Relaxed);
            }),
        });
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

    fn dispatcher(handler: Arc<dyn Handler>) -> (Sender<DispatchMsg>, Dispatcher) {
        let target = Target::Handlers {
            handlers: vec![handler],
            respect_level: false,
        };
        let (tx, rx) = crossbeam_channel::bounded(16);
        (tx, Dispatcher::new(target, rx, Arc::default()))
    }

    fn counting_commit(key: usize, commits: &Arc<AtomicU32>) -> DispatchMsg {
        let c = commits.clone();
        DispatchMsg::AfterFlush {
            key,
            work: Box::new(move || {
                c.fetch_add(1, Ordering::Relaxed);
            }),
        }
    }

    #[test]
    fn a_record_the_file_could_not_write_holds_the_ring_commit() {
        // A failed write (not a failed flush): the ring's head must not move past it.
        let file = Arc::new(crate::handler::FileHandler::new("/dev/full").unwrap());
        let (_tx, mut d) = dispatcher(file.clone());
        let commits = Arc::new(AtomicU32::new(0));
        d.handle(DispatchMsg::Local(Record::new("a", Level::INFO, "m")));
        d.handle(counting_commit(1, &commits));
        assert_eq!(
            commits.load(Ordering::Relaxed),
            0,
            "committed an unwritten record"
        );
        assert_eq!(d.shared.held.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn held_work_is_retried_when_no_record_comes() {
        let flaky = Arc::new(Flaky::default());
        flaky.failing.store(true, Ordering::Relaxed);
        let (tx, d) = dispatcher(flaky.clone());
        let thread = std::thread::spawn(move || d.run());
        let commits = Arc::new(AtomicU32::new(0));
        tx.send(counting_commit(1, &commits)).unwrap();
        std::thread::sleep(RETRY_EVERY * 3);
        assert_eq!(commits.load(Ordering::Relaxed), 0);
        flaky.failing.store(false, Ordering::Relaxed);
        // No message from here on: the retry timer must find the flush working again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while commits.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(commits.load(Ordering::Relaxed), 1);
        tx.send(DispatchMsg::Stop).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn a_later_commit_of_a_ring_replaces_its_held_one() {
        let flaky = Arc::new(Flaky::default());
        flaky.failing.store(true, Ordering::Relaxed);
        let (_tx, mut d) = dispatcher(flaky.clone());
        let (one, two) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        for _ in 0..3 {
            d.handle(counting_commit(1, &one));
            d.handle(counting_commit(2, &two));
        }
        assert_eq!(d.held.len(), 2, "one held commit per ring");
        flaky.failing.store(false, Ordering::Relaxed);
        d.flush();
        let runs = (one.load(Ordering::Relaxed), two.load(Ordering::Relaxed));
        assert_eq!(runs, (1, 1));
    }

    #[test]
    fn confirmations_wait_for_a_good_flush_and_never_cover_a_lost_record() {
        let flaky = Arc::new(Flaky::default());
        let (_tx, mut d) = dispatcher(flaky.clone());
        flaky.failing.store(true, Ordering::Relaxed);
        let (ack, confirmed) = crossbeam_channel::bounded(1);
        d.handle(DispatchMsg::Barrier(ack));
        assert!(confirmed.try_recv().is_err(), "confirmed while not written");
        flaky.failing.store(false, Ordering::Relaxed);
        d.flush();
        assert!(confirmed.try_recv().is_ok());

        // A record thrown away while the flush failed: the barrier behind it stays
        // unanswered (its asker sees the channel close), the ring commit still runs.
        flaky.failing.store(true, Ordering::Relaxed);
        let (ack, confirmed) = crossbeam_channel::bounded(1);
        d.handle(DispatchMsg::Barrier(ack));
        let commits = Arc::new(AtomicU32::new(0));
        d.handle(counting_commit(1, &commits));
        flaky.base.count_not_written(1);
        flaky.failing.store(false, Ordering::Relaxed);
        d.flush();
        assert_eq!(
            confirmed.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        );
        assert_eq!(commits.load(Ordering::Relaxed), 1);
        assert_eq!(d.shared.not_written.load(Ordering::Relaxed), 1);

        // Written again: confirmations come back.
        let (ack, confirmed) = crossbeam_channel::bounded(1);
        d.handle(DispatchMsg::Barrier(ack));
        assert!(confirmed.try_recv().is_ok());
    }

    #[test]
    fn held_confirmations_are_bounded() {
        let flaky = Arc::new(Flaky::default());
        flaky.failing.store(true, Ordering::Relaxed);
        let (_tx, mut d) = dispatcher(flaky.clone());
        let mut askers = Vec::new();
        for _ in 0..MAX_HELD_CONFIRMS + 10 {
            let (ack, confirmed) = crossbeam_channel::bounded(1);
            d.handle(DispatchMsg::Barrier(ack));
            askers.push(confirmed);
        }
        assert_eq!(d.held.len(), MAX_HELD_CONFIRMS);
        let dropped = askers.iter().take_while(|a| a.try_recv().is_err()).count();
        assert_eq!(
            dropped,
            MAX_HELD_CONFIRMS + 10,
            "none answered while failing"
        );
        assert!(askers[..10]
            .iter()
            .all(|a| a.try_recv() == Err(crossbeam_channel::TryRecvError::Disconnected)));
    }
}
