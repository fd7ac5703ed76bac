//! The listener's side of the shm transport: finding rings, draining them into the dispatch
//! channel, noticing that their producer ended, and freeing them.
//!
//! Each ring gets a drainer thread (small stack, like a connection's reader): it copies the
//! committed records out, decodes them and hands them to the dispatch thread as one batch,
//! followed by an `AfterFlush` that moves the ring's `head` once the handlers wrote and
//! flushed them. When the ring is empty it sleeps on the ring's futex word (bounded, so it
//! also looks at the producer's pidfd and at stop). A ring is deleted only when its producer
//! is finished (the ring is marked closed, or the process ended: pidfd) *and* everything up to
//! its final tail was committed; a listener that stops first leaves it for the next one.
//!
//! The set holds the endpoint's ring directory lock ([`DirLock`]) for the listener's life:
//! no other listener drains these rings meanwhile. At start it also deletes the temporary
//! files of rings whose maker died while making them (a SIGKILLed worker's leftovers).
//! An announced ring whose file does not exist is not remembered (a peer announcing names
//! costs nothing that lasts), so a ring made later under that name is still attached.
//! When the drain deadline passes (`Shared::cut`), a drainer stops where it is: the records
//! after its position stay in the ring for the next listener, and are counted as left.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::level::Level;
use crate::queue::decode::RECORDS_VARIANT;
use crate::queue::encode::put_varint;
use crate::queue::listener::dispatch::DispatchMsg;
use crate::queue::listener::peer::{register_worker, ReleaseDecoder, WorkerEntry};
use crate::queue::listener::{Shared, READER_STACK, STOP_GRACE};
use crate::queue::transport::shm::owner::DirLock;
use crate::queue::transport::shm::{self, Ring};

/// Most records a drainer hands over in one batch.
const BATCH_RECORDS: u64 = 4096;
/// Most encoded bytes a drainer hands over in one batch: half a 64 KiB file buffer, so the
/// lines of one batch reach the file in the flush that precedes its commit, not before.
pub(crate) const BATCH_BYTES: u64 = 32 * 1024;
/// A drainer that finds fewer committed bytes than this waits [`GATHER`] first, so that
/// records reach the dispatch thread (which flushes after each ring batch) in batches rather
/// than one or two at a time.
const GATHER_BYTES: u64 = BATCH_BYTES / 4;
/// How long a drainer lets a small batch grow (the latency it adds to a quiet worker's line).
const GATHER: Duration = Duration::from_micros(500);
/// Longest sleep of an idle drainer between looks at the pidfd and the stop flag.
const IDLE_WAIT: Duration = Duration::from_millis(50);
/// How long a finished ring waits for the dispatch thread to commit it before it is left in
/// place (the dispatch thread is stuck or gone).
const COMMIT_WAIT: Duration = Duration::from_secs(30);

/// Every ring of one listener.
pub(crate) struct RingSet {
    dir: PathBuf,
    /// A private endpoint: nobody can restart a listener on it, so stop deletes what is left.
    private: bool,
    /// Owners of ring files the listener accepts (its allowed peer uids).
    allowed_uids: Vec<u32>,
    shared: Arc<Shared>,
    tx: Sender<DispatchMsg>,
    attached: Mutex<HashSet<String>>,
    drainers: Mutex<Vec<JoinHandle<()>>>,
    scanner: Mutex<Option<JoinHandle<()>>>,
    /// The directory's lock: held until the listener has committed what it handled.
    lock: Mutex<Option<DirLock>>,
}

impl RingSet {
    /// Prepares the ring directory of `endpoint`, attaches the rings already there (a
    /// restarted listener resumes them at their committed head) and starts the scanner.
    pub(crate) fn start(
        lock: DirLock,
        private: bool,
        allowed_uids: Vec<u32>,
        shared: Arc<Shared>,
        tx: Sender<DispatchMsg>,
    ) -> std::io::Result<Arc<RingSet>> {
        let dir = lock.dir().to_path_buf();
        let set = Arc::new(RingSet {
            dir,
            private,
            allowed_uids,
            shared,
            tx,
            attached: Mutex::new(HashSet::new()),
            drainers: Mutex::new(Vec::new()),
            scanner: Mutex::new(None),
            lock: Mutex::new(Some(lock)),
        });
        set.remove_half_made();
        set.scan();
        let scanner = set.clone();
        let thread = std::thread::Builder::new()
            .name("mplog-ring-scan".into())
            .stack_size(READER_STACK)
            .spawn(move || {
                while !scanner.shared.stopping.load(Ordering::Acquire) {
                    std::thread::park_timeout(shm::SCAN_INTERVAL);
                    scanner.scan();
                }
            })?;
        *set.scanner.lock() = Some(thread);
        Ok(set)
    }

    /// Deletes `.<pid>-….ring.tmp` files whose maker is gone (killed while making a ring):
    /// nobody would ever rename or delete them.
    fn remove_half_made(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(pid) = name
                .strip_prefix('.')
                .filter(|n| n.ends_with(".ring.tmp"))
                .and_then(|n| n.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if shm::process_start_time(pid).is_none() && std::fs::remove_file(entry.path()).is_err()
            {
                self.notice(
                    Level::WARNING,
                    format!(
                        "cannot delete the half-made ring {}",
                        entry.path().display()
                    ),
                );
            }
        }
    }

    /// Lets go of the directory's lock (after the last commit: see `ListenerHandle::stop`);
    /// an empty directory goes with it.
    pub(crate) fn release(&self) {
        drop(self.lock.lock().take());
    }

    fn scan(self: &Arc<Self>) {
        for name in shm::list_rings(&self.dir) {
            self.attach(&name);
        }
    }

    fn notice(&self, level: Level, text: String) {
        let _ = self.tx.send(DispatchMsg::Notice(level, text));
    }

    /// Starts draining the ring file `name` (once; later calls for it do nothing).
    pub(crate) fn attach(self: &Arc<Self>, name: &str) {
        if !shm::is_ring_name(name) {
            return;
        }
        if !self.attached.lock().insert(name.to_owned()) {
            return;
        }
        let ring = match shm::open_ring(&self.dir, name) {
            Ok((ring, owner)) if self.allowed_uids.contains(&owner) => ring,
            Ok((ring, owner)) => {
                self.shared.rejected.fetch_add(1, Ordering::Relaxed);
                self.notice(
                    Level::WARNING,
                    format!(
                        "refused ring {name} of uid {owner} (pid {}): not in the allowed uids {:?}",
                        ring.info().pid,
                        self.allowed_uids
                    ),
                );
                return;
            }
            Err(e) => {
                // Gone already (drained and deleted by a previous listener), or never made (a
                // peer announcing names): forgotten, so memory does not grow with announcements
                // and a ring made later under the name is attached. Others (not a ring, not
                // ours) stay remembered: a scan does not report them again.
                if matches!(&e, shm::RingError::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
                {
                    self.attached.lock().remove(name);
                } else {
                    self.shared.malformed.fetch_add(1, Ordering::Relaxed);
                    self.notice(Level::ERROR, format!("ignored ring {name}: {e}"));
                }
                return;
            }
        };
        let set = self.clone();
        let name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("mplog-ring-{}", ring.info().pid))
            .stack_size(READER_STACK)
            .spawn(move || set.drain(&name, &ring));
        match spawned {
            Ok(t) => {
                let mut drainers = self.drainers.lock();
                drainers.retain(|d| !d.is_finished());
                drainers.push(t);
            }
            Err(e) => self.notice(Level::ERROR, format!("cannot start a ring drainer: {e}")),
        }
    }

    /// Drains one ring until its producer is finished (then deletes it) or the listener stops.
    ///
    /// Records go to the dispatch thread as the body of a `Frame::Records`, the bytes copied
    /// out of the ring as they are (the ring holds each record's postcard encoding), so the
    /// dispatch thread decodes them as it decodes a socket's frames: into one reused record,
    /// sharing repeated names, no allocation per record.
    fn drain(&self, name: &str, ring: &Arc<Ring>) {
        let info = ring.info().clone();
        let pidfd = shm::producer_alive(&info);
        let mut ended = pidfd.is_none();
        let worker = register_worker(&self.shared, info.pid, &info.process_name);
        let _release = ReleaseDecoder(worker.clone());
        let who = format!("ring {name} of {}", worker.who());
        let mut pos = ring.head();
        let mut body = Vec::new();
        let mut quiet_since: Option<Instant> = None;
        loop {
            if worker.bad.load(Ordering::Acquire) {
                return; // the dispatch thread found a malformed record and said why
            }
            if self.shared.cut() {
                // The drain deadline: the rest stays in the ring for the next listener.
                let left = ring.tail().saturating_sub(pos);
                if left > 0 {
                    self.shared.left_at_deadline(left);
                }
                return;
            }
            let mut tail = ring.tail();
            let waiting = tail.saturating_sub(pos);
            if waiting > 0
                && waiting < GATHER_BYTES
                && !ended
                && !ring.is_closed()
                && !self.shared.stopping.load(Ordering::Acquire)
            {
                std::thread::sleep(GATHER);
                tail = ring.tail();
            }
            body.clear();
            let mut count = 0u64;
            let before = pos;
            while count < BATCH_RECORDS && (body.len() as u64) < BATCH_BYTES {
                match ring.read(&mut pos, tail, &mut body) {
                    Ok(true) => count += 1,
                    Ok(false) => break,
                    Err(e) => {
                        // Framing is lost: nothing after this point can be trusted.
                        self.shared.malformed.fetch_add(1, Ordering::Relaxed);
                        self.notice(Level::ERROR, format!("abandoned {who}: {e}"));
                        self.hand_over(&body, count, &worker, ring, pos);
                        return;
                    }
                }
            }
            let lost = ring.take_lost();
            if lost > 0 {
                let text = format!("{who}: {lost} records lost in pieces (see ring::pieces)");
                self.notice(Level::WARNING, text);
            }
            // Pieces of a big record moved `pos` with no record yet: commit them too, or a
            // record larger than the ring would wait for room forever.
            if count > 0 || pos != before {
                if !self.hand_over(&body, count, &worker, ring, pos) {
                    return; // the dispatch thread is gone
                }
                quiet_since = None;
                continue;
            }
            // Empty at `pos`. A finished producer's tail is final: look once more, then free.
            if ended || ring.is_closed() {
                if ring.tail() != pos {
                    continue;
                }
                self.free(name, ring, pos);
                return;
            }
            if self.shared.stopping.load(Ordering::Acquire) {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= STOP_GRACE {
                    return; // left for the next listener at this endpoint
                }
            }
            ring.wait(pos, IDLE_WAIT.min(STOP_GRACE / 4));
            if pidfd.as_ref().is_some_and(|fd| fd.has_exited()) {
                ended = true;
            }
        }
    }

    /// Sends `count` records (`body`: their encodings, back to back) as one record frame,
    /// and the commit of `pos` that follows its flush; false once dispatch is gone.
    fn hand_over(
        &self,
        body: &[u8],
        count: u64,
        worker: &Arc<WorkerEntry>,
        ring: &Arc<Ring>,
        pos: u64,
    ) -> bool {
        if count > 0 {
            let mut frame = Vec::with_capacity(11 + body.len());
            frame.push(RECORDS_VARIANT);
            put_varint(&mut frame, count);
            frame.extend_from_slice(body);
            self.shared
                .bytes
                .fetch_add(frame.len() as u64, Ordering::Relaxed);
            let msg = DispatchMsg::Frame {
                worker: worker.clone(),
                bytes: frame,
                offset: pos,
                confirm: None,
            };
            if self.tx.send(msg).is_err() {
                return false;
            }
        }
        let ring = ring.clone();
        self.tx
            .send(DispatchMsg::AfterFlush {
                key: Arc::as_ptr(&ring) as usize,
                work: Box::new(move || ring.commit(pos)),
            })
            .is_ok()
    }

    /// Deletes a finished ring once everything up to `pos` is committed.
    fn free(&self, name: &str, ring: &Ring, pos: u64) {
        let started = Instant::now();
        while ring.head() < pos {
            // While the handlers cannot write, commits wait: a stopping listener leaves the
            // ring (and what it holds) to the next one rather than wait for the disk.
            let stopping = self.shared.stopping.load(Ordering::Acquire);
            if started.elapsed() >= COMMIT_WAIT
                || (stopping && started.elapsed() >= STOP_GRACE)
                || self.shared.cut()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = std::fs::remove_file(self.dir.join(name));
        // Forgotten only once the file is gone: a scan cannot attach it twice.
        self.attached.lock().remove(name);
    }

    /// Joins the scanner, attaches the rings it has not seen yet, and joins every drainer once
    /// it has drained its ring (the stopping flag is set) or the drain deadline passed; a
    /// private endpoint's leftovers are deleted.
    pub(crate) fn stop(self: &Arc<Self>) {
        if let Some(t) = self.scanner.lock().take() {
            t.thread().unpark();
            let _ = t.join();
        }
        // Rings made or announced just before stop are served too, as a socket's backlog is.
        self.scan();
        let drainers = std::mem::take(&mut *self.drainers.lock());
        for d in drainers {
            let _ = d.join();
        }
        if self.private {
            for name in shm::list_rings(&self.dir) {
                let _ = std::fs::remove_file(self.dir.join(name));
            }
        }
        // The directory goes with its lock (`release`), once the last commit is made.
    }
}
