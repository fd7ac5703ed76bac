//! The worker's side of the shm transport: one ring per (handler, thread), written by the
//! calling thread; a control connection for the hello, ring announcements and drop reports.
//!
//! The thread-local ring is made at the thread's first record (the slow path: a file, a
//! mapping, an announcement) and closed when the thread ends (its thread-local destructor), or
//! when the handler closes. [`RingSink::flush`] waits until the listener's `head` reached
//! every ring's tail, which the listener advances only after its handlers wrote and flushed
//! the records: so it is also the shm `sync`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::encode::encode_record;
use super::handler::Overflow;
use super::link::{RECONNECT_MAX, RECONNECT_MIN};
use super::transport::shm::{self, Producer, Ring, WriteError};
use super::transport::{Connection, Transport};
use super::wire::{encode_frame, Frame, Hello};
use crate::record::Record;

/// Longest sleep of a caller waiting for room in a full ring before it looks again. It
/// sleeps on the ring's `space` futex, which the listener's commit wakes; not spinning: on 2
/// cores a spinning producer takes the time the listener needs to make room.
pub const FULL_WAIT_MAX: Duration = Duration::from_millis(10);
/// Shortest sleep of `flush` waiting for the listener; doubles up to [`FLUSH_POLL_MAX`].
pub const FLUSH_POLL_MIN: Duration = Duration::from_micros(50);
/// Longest sleep of `flush` between two looks.
pub const FLUSH_POLL_MAX: Duration = Duration::from_millis(1);
/// Drop reports on the control connection are at most this frequent.
const REPORT_INTERVAL: Duration = Duration::from_millis(100);

static SINK_IDS: AtomicU64 = AtomicU64::new(0);

/// Why a record was not committed.
pub(crate) enum Refused {
    /// The ring stayed full for the whole block timeout, or at once under `Drop`.
    Full,
    /// The record is larger than a ring carries, even in pieces.
    TooLarge,
    /// No ring could be made (the directory, the file or the mapping failed).
    NoRing(String),
}

impl Refused {
    pub(crate) fn reason(&self) -> String {
        match self {
            Refused::Full => "ring full".into(),
            Refused::TooLarge => "record larger than a ring carries".into(),
            Refused::NoRing(why) => format!("no ring: {why}"),
        }
    }
}

/// The control connection: best effort, never waited for on the record path.
struct Control {
    transport: Box<dyn Transport>,
    hello: Hello,
    conn: Option<Box<dyn Connection>>,
    next_attempt: Instant,
    backoff: Duration,
    last_report: Option<Instant>,
}

impl Control {
    /// Sends `frame`, connecting first (with the hello) if the backoff allows; a connection
    /// found broken (a restarted listener) is replaced once.
    fn send(&mut self, frame: &Frame) -> bool {
        let had = self.conn.is_some();
        self.send_once(frame) || (had && self.send_once(frame))
    }

    fn send_once(&mut self, frame: &Frame) -> bool {
        if self.conn.is_none() {
            let now = Instant::now();
            if now < self.next_attempt {
                return false;
            }
            let mut hello = Vec::new();
            let conn = self.transport.connect().ok().and_then(|mut conn| {
                (encode_frame(&self.hello, &mut hello).is_ok() && conn.send_all(&hello).is_ok())
                    .then_some(conn)
            });
            match conn {
                Some(conn) => {
                    self.conn = Some(conn);
                    self.backoff = RECONNECT_MIN;
                }
                None => {
                    self.next_attempt = now + self.backoff;
                    self.backoff = (self.backoff * 2).min(RECONNECT_MAX);
                    return false;
                }
            }
        }
        let mut bytes = Vec::new();
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        if encode_frame(frame, &mut bytes).is_err() || conn.send_all(&bytes).is_err() {
            self.conn = None;
            return false;
        }
        true
    }
}

/// One handler's rings.
pub(crate) struct RingSink {
    id: u64,
    dir: PathBuf,
    /// The directory of the listener's socket: gone means no listener will ever come.
    endpoint_dir: PathBuf,
    ring_bytes: usize,
    process_name: String,
    control: Mutex<Control>,
    /// Every ring this handler made that may still hold records (all threads).
    rings: Mutex<Vec<Arc<Ring>>>,
    /// Records committed to rings that were already let go.
    retired_sent: AtomicU64,
}

/// A thread's producer for one handler.
struct LocalRing {
    sink: u64,
    producer: Producer,
    /// The process that made it: a forked child inherits the thread-local, not the ring.
    pid: u32,
}

impl Drop for LocalRing {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            self.producer.ring().close();
        }
    }
}

#[derive(Default)]
struct Local {
    rings: Vec<LocalRing>,
    buf: Vec<u8>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::default();
}

impl RingSink {
    pub(crate) fn new(
        transport: Box<dyn Transport>,
        endpoint: &std::path::Path,
        hello: Hello,
        ring_bytes: usize,
    ) -> RingSink {
        RingSink {
            id: SINK_IDS.fetch_add(1, Ordering::Relaxed),
            dir: shm::ring_dir(endpoint),
            endpoint_dir: endpoint.parent().map(PathBuf::from).unwrap_or_default(),
            ring_bytes,
            process_name: hello.process_name.clone(),
            control: Mutex::new(Control {
                transport,
                hello,
                conn: None,
                next_attempt: Instant::now(),
                backoff: RECONNECT_MIN,
                last_report: None,
            }),
            rings: Mutex::new(Vec::new()),
            retired_sent: AtomicU64::new(0),
        }
    }

    /// Commits `record` to the calling thread's ring, waiting for room as `overflow` says.
    /// `prepared`: the message as `QueueHandler::prepare` makes it, when that differs.
    pub(crate) fn push(
        &self,
        record: &Record,
        prepared: Option<&str>,
        overflow: Overflow,
    ) -> Result<(), Refused> {
        let pushed = LOCAL.try_with(|cell| {
            let Ok(mut local) = cell.try_borrow_mut() else {
                return Err(Refused::NoRing("re-entered on this thread".into()));
            };
            let Local { rings, buf } = &mut *local;
            buf.clear();
            encode_record(record, prepared, buf);
            let at = match rings.iter().position(|r| r.sink == self.id) {
                Some(at) => at,
                None => {
                    // Rings of handlers closed since: their mappings would stay with the
                    // thread for as long as it lives.
                    rings.retain(|r| !r.producer.ring().is_closed());
                    rings.push(self.new_ring()?);
                    rings.len() - 1
                }
            };
            write(&mut rings[at].producer, buf, overflow)
        });
        // During thread-local destruction: this thread has no ring any more.
        pushed.unwrap_or_else(|_| Err(Refused::NoRing("thread ending".into())))
    }

    fn new_ring(&self) -> Result<LocalRing, Refused> {
        // A ring for an endpoint whose directory is gone (a private endpoint whose listener
        // stopped) would never be drained, and would stay in /dev/shm: refuse (counted).
        if !self.endpoint_dir.as_os_str().is_empty() && !self.endpoint_dir.is_dir() {
            return Err(Refused::NoRing(format!(
                "the endpoint's directory {} does not exist",
                self.endpoint_dir.display()
            )));
        }
        let new = shm::create_ring(&self.dir, self.ring_bytes, &self.process_name)
            .map_err(|e| Refused::NoRing(format!("{}: {e}", self.dir.display())))?;
        {
            let mut rings = self.rings.lock();
            self.prune(&mut rings);
            rings.push(new.ring.clone());
        }
        // Best effort: a listener that misses it finds the file at its next scan.
        self.control.lock().send(&Frame::Ring { name: new.name });
        Ok(LocalRing {
            sink: self.id,
            producer: new.producer,
            pid: std::process::id(),
        })
    }

    /// Lets go of rings that are closed and drained (their file is the listener's to delete).
    fn prune(&self, rings: &mut Vec<Arc<Ring>>) {
        rings.retain(|r| {
            let done = r.is_closed() && r.head() >= r.tail();
            if done {
                self.retired_sent.fetch_add(r.written(), Ordering::Relaxed);
            }
            !done
        });
    }

    /// Records committed so far.
    pub(crate) fn sent(&self) -> u64 {
        let live: u64 = self.rings.lock().iter().map(|r| r.written()).sum();
        self.retired_sent.load(Ordering::Relaxed) + live
    }

    /// Tells the listener the running counts, at most every [`REPORT_INTERVAL`] (drops are
    /// rare, the path that counts them must not become a system call per record).
    pub(crate) fn report(&self, dropped: u64) {
        let Some(mut control) = self.control.try_lock() else {
            return;
        };
        if control
            .last_report
            .is_some_and(|t| t.elapsed() < REPORT_INTERVAL)
        {
            return;
        }
        control.last_report = Some(Instant::now());
        let sent = self.sent();
        control.send(&Frame::Report { sent, dropped });
    }

    /// Waits until the listener handled and flushed everything committed so far, at most
    /// `timeout`. Returns whether it did.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let targets: Vec<(Arc<Ring>, u64)> = {
            let mut rings = self.rings.lock();
            self.prune(&mut rings);
            rings.iter().map(|r| (r.clone(), r.tail())).collect()
        };
        let mut pause = FLUSH_POLL_MIN;
        for (ring, tail) in targets {
            while ring.head() < tail {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                std::thread::sleep(pause.min(deadline - now));
                pause = (pause * 2).min(FLUSH_POLL_MAX);
            }
        }
        true
    }

    /// Closes every ring of this handler, waits (at most `timeout`) for the listener to drain
    /// them and says goodbye. Records the listener did not take stay in the ring files, for a
    /// listener started later at the same endpoint.
    pub(crate) fn close(&self, timeout: Duration, dropped: u64) -> bool {
        for ring in self.rings.lock().iter() {
            ring.close();
        }
        let drained = self.flush(timeout);
        let sent = self.sent();
        let mut control = self.control.lock();
        control.next_attempt = Instant::now();
        control.send(&Frame::Goodbye { sent, dropped });
        control.conn = None;
        drained
    }
}

/// Commits `bytes` to `producer` (in pieces when larger than half the ring), backing off by
/// sleeping while the ring is full. Under `Block` the timeout runs again after every piece
/// the listener made room for: a big record through a small ring is progress, not a stall.
fn write(producer: &mut Producer, bytes: &[u8], overflow: Overflow) -> Result<(), Refused> {
    let mut deadline = Instant::now();
    let wait = |producer: &Producer, fresh: bool| {
        let Overflow::Block { timeout } = overflow else {
            return false;
        };
        let now = Instant::now();
        if fresh {
            deadline = now + timeout;
        }
        if now >= deadline {
            return false;
        }
        // Woken by the listener's next commit; the bound only covers a listener that died
        // or stopped (then this polls, sleeping, until the block timeout).
        producer.wait_for_space((deadline - now).min(FULL_WAIT_MAX));
        true
    };
    match producer.write_any(bytes, wait) {
        Ok(()) => Ok(()),
        Err(WriteError::TooLarge) => Err(Refused::TooLarge),
        Err(WriteError::Full) => Err(Refused::Full),
    }
}

#[cfg(test)]
mod tests {
    use crate::handler::Handler;
    use crate::queue::transport::{shm, TransportKind};
    use crate::queue::{Overflow, QueueHandler};
    use crate::{Level, Record};

    #[test]
    fn no_ring_is_left_for_an_endpoint_that_is_gone() {
        let endpoint = std::path::Path::new("/nonexistent-mplog-endpoint/mplog.sock");
        let h = QueueHandler::builder(endpoint)
            .transport(TransportKind::Shm)
            .overflow(Overflow::Drop)
            .drain_timeout(std::time::Duration::from_millis(50))
            .build()
            .unwrap();
        h.handle(&Record::new("a", Level::INFO, "nobody will read this"));
        h.close();
        assert_eq!(h.stats().dropped, 1);
        assert!(!shm::ring_dir(endpoint).exists());
    }
}
