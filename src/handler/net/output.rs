//! [`NetOutput`]: the part every network handler shares. The caller encodes its record into a
//! bounded buffer and returns; one thread per handler connects (with Python's backoff), sends,
//! and reports through the handler's error policy.
//!
//! The buffer is bounded in bytes ([`NetOptions::max_pending`](super::NetOptions)):
//! - while the peer is away (never reached, or the connection broke), the oldest records make
//!   room for the newest: each one dropped is counted and reported; callers never wait;
//! - while the peer is there but slower than the callers, the handler's [`Overflow`] policy
//!   decides: wait for room at most its timeout, or drop at once (counted and reported).
//!
//! A record is `sent` once the kernel took all of its bytes; a write that fails part-way
//! closes the connection and the whole record is sent again on the next one (the receiver
//! discards the torn one with its connection). [`NetOutput::flush`] waits until everything
//! accepted before it was sent or dropped; [`NetOutput::close`] does the same within the drain
//! timeout, then counts what is left as dropped.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::backoff::Backoff;
use super::outbox::Outbox;
use super::transport::{SendError, Transport};
use super::{NetOptions, NetStats};
use crate::handler::{HandlerBase, HandlerError, Overflow};
use crate::record::current_pid;

/// Messages sent between two updates of the progress flush and close wait on.
const PROGRESS_EVERY: u64 = 64;

thread_local! {
    /// Where callers encode their records, reused (no allocation per record).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

struct State {
    outbox: Outbox,
    /// Bytes the thread has taken and is sending.
    in_flight: usize,
    /// The thread's last attempt to reach the peer failed. Until one fails the peer is taken
    /// to be there (callers wait for room rather than drop).
    away: bool,
    closing: Option<Instant>,
    closed: bool,
    /// The thread waits for records.
    idle: bool,
    /// Records accepted into the buffer, ever; records sent or dropped since.
    accepted: u64,
    settled: u64,
}

struct Shared {
    state: Mutex<State>,
    /// The thread waits here for records or for its backoff.
    wake: Condvar,
    /// Flush, close and callers waiting for room wait here.
    progress: Condvar,
    options: NetOptions,
    base: Arc<HandlerBase>,
    peer: String,
    sent: AtomicU64,
    dropped: AtomicU64,
    forked_reported: AtomicBool,
}

impl Shared {
    /// Reports records dropped from the buffer (peer away); they are counted already.
    fn drop_buffered(&self, n: u64, why: &str) {
        if n == 0 {
            return;
        }
        self.base.report(&format!(
            "{n} record(s) dropped: {why} (pending buffer of {} bytes full while {} is unreachable)",
            self.options.max_pending, self.peer
        ));
    }
}

/// A bounded buffer, an output thread and a connection: see the module docs.
pub(crate) struct NetOutput {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    owner_pid: u32,
}

impl NetOutput {
    /// Starts the output thread for `transport`; `peer` names it in reports.
    pub(crate) fn start(
        transport: Box<dyn Transport>,
        peer: String,
        options: NetOptions,
        base: Arc<HandlerBase>,
    ) -> io::Result<NetOutput> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                outbox: Outbox::default(),
                in_flight: 0,
                away: false,
                closing: None,
                closed: false,
                idle: false,
                accepted: 0,
                settled: 0,
            }),
            wake: Condvar::new(),
            progress: Condvar::new(),
            options,
            base,
            peer,
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            forked_reported: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name("mplog-net".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared, transport)
            })?;
        Ok(NetOutput {
            shared,
            thread: Mutex::new(Some(thread)),
            owner_pid: current_pid(),
        })
    }

    /// Encodes a record with `encode` and queues it; an error says why it was dropped (the
    /// caller reports it through the handler's policy).
    pub(crate) fn send(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), HandlerError> {
        let s = &*self.shared;
        if current_pid() != self.owner_pid {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            // Said once: every record of the child would say the same.
            if s.forked_reported.swap(true, Ordering::Relaxed) {
                return Ok(());
            }
            return Err(HandlerError::Other(format!(
                "record dropped: this handler for {} was made in process {}, before a fork; \
                 make one in the child",
                s.peer, self.owner_pid
            )));
        }
        SCRATCH.with(|scratch| {
            let mut message = scratch.borrow_mut();
            message.clear();
            encode(&mut message);
            self.queue(&message)
        })
    }

    fn queue(&self, message: &[u8]) -> Result<(), HandlerError> {
        let s = &*self.shared;
        let mut oldest_dropped = 0;
        let mut st = s.state.lock();
        let result = self.queue_locked(&mut st, message, &mut oldest_dropped);
        drop(st);
        // Reported outside the lock: stderr may be slow.
        s.drop_buffered(oldest_dropped, "oldest records make room for new ones");
        result
    }

    fn queue_locked(
        &self,
        st: &mut parking_lot::MutexGuard<'_, State>,
        message: &[u8],
        oldest_dropped: &mut u64,
    ) -> Result<(), HandlerError> {
        let s = &*self.shared;
        let max = s.options.max_pending;
        let dropped = |why: String| {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            Err(HandlerError::Other(format!("record dropped: {why}")))
        };
        if message.len() > max {
            return dropped(format!(
                "its {} bytes exceed the pending buffer of {max} bytes",
                message.len()
            ));
        }
        let (deadline, wait) = match s.options.overflow {
            Overflow::Block { timeout } => (Some(Instant::now() + timeout), timeout),
            Overflow::Drop => (None, Duration::ZERO),
        };
        loop {
            if st.closed || st.closing.is_some() {
                return dropped(format!("the handler for {} is closed", s.peer));
            }
            if st.in_flight + st.outbox.bytes() + message.len() <= max {
                break;
            }
            if st.away {
                // The peer is away: the newest records are worth more than the oldest.
                let mut n = 0;
                while st.in_flight + st.outbox.bytes() + message.len() > max
                    && st.outbox.pop_front()
                {
                    n += 1;
                }
                st.settled += n;
                s.dropped.fetch_add(n, Ordering::Relaxed);
                *oldest_dropped += n;
                if st.in_flight + st.outbox.bytes() + message.len() <= max {
                    break;
                }
                return dropped(format!("{} is unreachable and the buffer is full", s.peer));
            }
            let Some(deadline) = deadline else {
                return dropped(format!("{} takes records slower than they come", s.peer));
            };
            if s.progress.wait_until(st, deadline).timed_out() {
                return dropped(format!(
                    "no room within {wait:?}: {} takes records slower than they come",
                    s.peer
                ));
            }
        }
        st.outbox.push(message);
        st.accepted += 1;
        if st.idle {
            st.idle = false;
            s.wake.notify_one();
        }
        Ok(())
    }

    /// Waits until every record accepted before the call was sent or dropped, at most
    /// `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> io::Result<()> {
        let s = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut st = s.state.lock();
        let target = st.accepted;
        while st.settled < target && !st.closed {
            if s.progress.wait_until(&mut st, deadline).timed_out() {
                let left = target.saturating_sub(st.settled);
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{left} record(s) not yet sent to {} after {timeout:?}{}",
                        s.peer,
                        if st.away { " (unreachable)" } else { "" }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Sends what is buffered within the drain timeout, counts the rest as dropped, stops the
    /// thread and closes the connection. Idempotent.
    pub(crate) fn close(&self) {
        // In a forked child the thread is not there, and the lock may have been held by a
        // parent's thread at the fork: touch nothing.
        if current_pid() != self.owner_pid {
            return;
        }
        {
            let mut st = self.shared.state.lock();
            if st.closing.is_none() {
                st.closing = Some(Instant::now() + self.shared.options.drain_timeout);
            }
            self.shared.wake.notify_all();
        }
        if let Some(thread) = self.thread.lock().take() {
            // The thread catches nothing that could panic; a panic there is a bug, and the
            // handler is closed either way.
            let _ = thread.join();
        }
    }

    /// Counts so far.
    pub(crate) fn stats(&self) -> NetStats {
        let pending = self.shared.state.lock();
        NetStats {
            sent: self.shared.sent.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            pending: pending.accepted - pending.settled,
        }
    }
}

impl Drop for NetOutput {
    fn drop(&mut self) {
        self.close();
    }
}

/// The output thread.
fn run(s: &Shared, mut transport: Box<dyn Transport>) {
    let o = &s.options;
    let mut backoff = Backoff::new(o.retry_start, o.retry_factor, o.retry_max);
    let mut batch = Outbox::default();
    // Whether the current outage was reported (the first failure is; the rest are counted).
    let mut outage = false;
    loop {
        // Wait for records (and for the backoff), or for the end.
        let timeout;
        {
            let mut st = s.state.lock();
            timeout = loop {
                let now = Instant::now();
                if let Some(deadline) = st.closing {
                    if st.outbox.is_empty() || now >= deadline {
                        let left = st.outbox.len() as u64;
                        st.outbox = Outbox::default();
                        st.settled += left;
                        st.closed = true;
                        s.progress.notify_all();
                        drop(st);
                        if left > 0 {
                            s.dropped.fetch_add(left, Ordering::Relaxed);
                            s.base.report(&format!(
                                "{left} record(s) dropped at close: {} not reached within {:?}",
                                s.peer, o.drain_timeout
                            ));
                        }
                        transport.close();
                        return;
                    }
                }
                if !st.outbox.is_empty() {
                    let wait = if transport.is_open() {
                        None
                    } else {
                        backoff.wait(now)
                    };
                    match (wait, st.closing) {
                        (None, None) => break o.timeout,
                        (None, Some(deadline)) => break o.timeout.min(deadline - now),
                        (Some(wait), closing) => {
                            let until = closing.map_or(now + wait, |d| d.min(now + wait));
                            s.wake.wait_until(&mut st, until);
                            continue;
                        }
                    }
                }
                st.idle = true;
                s.wake.wait(&mut st);
                st.idle = false;
            }
            .max(Duration::from_millis(1));
            std::mem::swap(&mut batch, &mut st.outbox);
            st.in_flight = batch.bytes();
        }

        // Connect when needed.
        if transport.is_open() && transport.peer_closed() {
            transport.close();
        }
        if !transport.is_open() {
            if let Err(e) = transport.open(timeout) {
                backoff.failed(Instant::now());
                if !outage && !o.close_on_error {
                    s.base.report(&format!(
                        "connecting to {} (records are kept and retried): {e}",
                        s.peer
                    ));
                }
                outage = true;
                give_back(s, &mut batch, false, 0);
                continue;
            }
            backoff.succeeded();
            s.state.lock().away = false;
            s.progress.notify_all();
        }

        // Send, oldest first; a close brings the deadline of a stuck write forward.
        let started = Instant::now();
        let deadline = || {
            let own = started + o.timeout.max(timeout);
            s.state.lock().closing.map_or(own, |close| own.min(close))
        };
        let mut sent = 0;
        let mut connected = true;
        while let Some(message) = batch.front() {
            match transport.send(message, &deadline) {
                Ok(()) => {
                    batch.pop_front();
                    sent += 1;
                    outage = false;
                    if sent % PROGRESS_EVERY == 0 {
                        s.sent.fetch_add(PROGRESS_EVERY, Ordering::Relaxed);
                        let mut st = s.state.lock();
                        st.settled += PROGRESS_EVERY;
                        st.in_flight = batch.bytes();
                        s.progress.notify_all();
                    }
                }
                Err(SendError::Message(e)) => {
                    batch.pop_front();
                    s.dropped.fetch_add(1, Ordering::Relaxed);
                    // Said before it counts as settled: a flush that returns has seen it.
                    s.base
                        .report(&format!("sending a record to {} (dropped): {e}", s.peer));
                    s.state.lock().settled += 1;
                }
                Err(SendError::Connection(e)) => {
                    transport.close();
                    connected = false;
                    if !outage && !o.close_on_error {
                        s.base.report(&format!(
                            "sending to {} (records are kept and retried): {e}",
                            s.peer
                        ));
                    }
                    outage = true;
                    break;
                }
            }
        }
        let rest = sent % PROGRESS_EVERY;
        s.sent.fetch_add(rest, Ordering::Relaxed);
        give_back(s, &mut batch, connected, rest);
    }
}

/// Ends a round: counts `sent` records as settled, puts what was not sent back in front of
/// the buffer and, when the peer is away, trims the buffer to its bound (oldest first).
fn give_back(s: &Shared, batch: &mut Outbox, connected: bool, sent: u64) {
    let mut st = s.state.lock();
    st.settled += sent;
    st.in_flight = 0;
    st.away = !connected;
    st.outbox.prepend(batch);
    let mut n = 0;
    while !connected && st.outbox.bytes() > s.options.max_pending && st.outbox.pop_front() {
        n += 1;
    }
    st.settled += n;
    s.dropped.fetch_add(n, Ordering::Relaxed);
    s.progress.notify_all();
    drop(st);
    s.drop_buffered(n, "oldest records make room for new ones");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer scripted by the test: each `open` and `send` takes the next answer.
    struct Scripted {
        open: Arc<Mutex<Vec<io::ErrorKind>>>,
        sends: Arc<Mutex<Vec<Result<(), SendError>>>>,
        delivered: Arc<Mutex<Vec<Vec<u8>>>>,
        is_open: bool,
    }

    impl Transport for Scripted {
        fn open(&mut self, _: Duration) -> io::Result<()> {
            match self.open.lock().pop() {
                Some(kind) => Err(kind.into()),
                None => {
                    self.is_open = true;
                    Ok(())
                }
            }
        }
        fn is_open(&self) -> bool {
            self.is_open
        }
        fn close(&mut self) {
            self.is_open = false;
        }
        fn send(&mut self, message: &[u8], _: &dyn Fn() -> Instant) -> Result<(), SendError> {
            let answer = self.sends.lock().pop().unwrap_or(Ok(()));
            if answer.is_ok() {
                self.delivered.lock().push(message.to_vec());
            }
            answer
        }
    }

    type Script = (NetOutput, Arc<HandlerBase>, Arc<Mutex<Vec<Vec<u8>>>>);

    fn output(
        close_on_error: bool,
        opens: Vec<io::ErrorKind>,
        sends: Vec<Result<(), SendError>>,
    ) -> Script {
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let transport = Scripted {
            open: Arc::new(Mutex::new(opens)),
            sends: Arc::new(Mutex::new(sends)),
            delivered: delivered.clone(),
            is_open: false,
        };
        let base = Arc::new(HandlerBase::new());
        let options = NetOptions {
            retry_start: Duration::from_millis(1),
            retry_max: Duration::from_millis(5),
            close_on_error,
            ..NetOptions::default()
        };
        let out = NetOutput::start(
            Box::new(transport),
            "test peer".into(),
            options,
            base.clone(),
        )
        .unwrap();
        (out, base, delivered)
    }

    fn send(out: &NetOutput, text: &str) {
        out.send(|buf| buf.extend_from_slice(text.as_bytes()))
            .unwrap();
    }

    #[test]
    fn failed_connections_are_retried_and_reported_once_per_outage() {
        let refused = io::ErrorKind::ConnectionRefused;
        for (close_on_error, reports) in [(false, 2), (true, 0)] {
            // Three refusals, then a connection that breaks on its first send (the same
            // outage: nothing was sent in between), then "a" goes, then the connection breaks
            // again under "b" (a new outage), then "b" goes. The script is popped from its end.
            let broken = || Err(SendError::Connection(io::ErrorKind::BrokenPipe.into()));
            let (out, base, delivered) = output(
                close_on_error,
                vec![refused; 3],
                vec![broken(), Ok(()), broken()],
            );
            send(&out, "a");
            send(&out, "b");
            out.flush(Duration::from_secs(10)).unwrap();
            assert_eq!(*delivered.lock(), [b"a".to_vec(), b"b".to_vec()]);
            assert_eq!(
                out.stats(),
                NetStats {
                    sent: 2,
                    dropped: 0,
                    pending: 0
                }
            );
            // One report per outage; none with close_on_error.
            assert_eq!(
                base.reports().len(),
                reports,
                "close_on_error={close_on_error}"
            );
        }
    }

    #[test]
    fn a_message_that_can_never_go_is_dropped_and_the_rest_goes() {
        let too_big = SendError::Message(io::Error::from_raw_os_error(nix::libc::EMSGSIZE));
        let (out, base, delivered) = output(false, vec![], vec![Ok(()), Err(too_big)]);
        send(&out, "huge");
        send(&out, "next");
        out.flush(Duration::from_secs(10)).unwrap();
        assert_eq!(*delivered.lock(), [b"next".to_vec()]);
        assert_eq!(
            out.stats(),
            NetStats {
                sent: 1,
                dropped: 1,
                pending: 0
            }
        );
        assert_eq!(base.reports().len(), 1);
    }

    #[test]
    fn records_after_close_are_dropped_and_said() {
        let (out, _base, delivered) = output(false, vec![], vec![]);
        send(&out, "before");
        out.close();
        assert!(out.send(|buf| buf.push(b'x')).is_err());
        assert_eq!(*delivered.lock(), [b"before".to_vec()]);
        assert_eq!(
            out.stats(),
            NetStats {
                sent: 1,
                dropped: 1,
                pending: 0
            }
        );
        out.close(); // idempotent
    }
}
