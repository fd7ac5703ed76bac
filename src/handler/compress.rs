//! The gzip rotator's background thread: compression never runs on the logging path.
//!
//! At rollover the log file is renamed to its *staging* name (the archive name without `.gz`,
//! i.e. what Python writes without a rotator) and the open file goes to this thread. The thread
//! compresses it into a hidden temporary file, then, holding the archive lock (the handler's,
//! and the inter-process lock for the locked handlers), finds where the staged file is now
//! (later rollovers may have shifted it to `.2`, `.3`...: it is found by device and inode),
//! renames the compressed file to that slot's final name and removes the staged one. A staged
//! file deleted meanwhile (shifted past `backup_count`) is not compressed at all.
//!
//! Until its job finishes, an archive is readable as plain text under its staging name. A crash
//! leaves it so; nothing is lost.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use flate2::write::GzEncoder;
use flate2::Compression;
use parking_lot::{Condvar, Mutex};

use super::rotation::ArchiveLock;
use super::{HandlerBase, HandlerError};
use crate::record::Record;

/// One staged archive to compress.
pub(crate) struct Job {
    pub(crate) file: File,
    /// `(staging, final)` names where the staged file may be found when the job ends.
    pub(crate) slots: Vec<(PathBuf, PathBuf)>,
}

/// The background compressor of one handler (its thread starts with the first job).
pub(crate) struct Compressor {
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    pending: Arc<(Mutex<usize>, Condvar)>,
    lock: ArchiveLock,
    base: Arc<HandlerBase>,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl Compressor {
    pub(crate) fn new(lock: ArchiveLock, base: Arc<HandlerBase>) -> Compressor {
        Compressor {
            tx: None,
            thread: None,
            pending: Arc::new((Mutex::new(0), Condvar::new())),
            lock,
            base,
        }
    }

    /// Queues a job; starts the thread if needed.
    pub(crate) fn submit(&mut self, job: Job) -> Result<(), HandlerError> {
        if self.tx.is_none() {
            let (tx, rx) = crossbeam_channel::unbounded();
            let worker = Worker {
                rx,
                pending: Arc::clone(&self.pending),
                lock: self.lock.clone(),
                base: Arc::clone(&self.base),
            };
            let thread = std::thread::Builder::new()
                .name("mplog-gzip".into())
                .spawn(move || worker.run())
                .map_err(|e| HandlerError::io("starting the gzip thread", e))?;
            self.tx = Some(tx);
            self.thread = Some(thread);
        }
        *self.pending.0.lock() += 1;
        let sent = self.tx.as_ref().map(|tx| tx.send(job));
        if !matches!(sent, Some(Ok(()))) {
            *self.pending.0.lock() -= 1;
            return Err(HandlerError::Other("the gzip thread has stopped".into()));
        }
        Ok(())
    }

    /// Waits until every queued job is done; `false` if `timeout` passed first.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (count, cond) = &*self.pending;
        let mut n = count.lock();
        while *n > 0 {
            if cond.wait_until(&mut n, deadline).timed_out() {
                return *n == 0;
            }
        }
        true
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        self.tx = None; // the thread ends after the queued jobs
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    rx: Receiver<Job>,
    pending: Arc<(Mutex<usize>, Condvar)>,
    lock: ArchiveLock,
    base: Arc<HandlerBase>,
}

impl Worker {
    fn run(self) {
        for job in self.rx.iter() {
            if let Err(e) = self.compress(job) {
                let record = Record::new("mplog", crate::Level::ERROR, "compressing a rotated log");
                self.base.handle_error(&record, &e);
            }
            let (count, cond) = &*self.pending;
            *count.lock() -= 1;
            cond.notify_all();
        }
    }

    fn compress(&self, mut job: Job) -> Result<(), HandlerError> {
        let meta = job
            .file
            .metadata()
            .map_err(|e| HandlerError::io("reading a staged log", e))?;
        if meta.nlink() == 0 {
            return Ok(()); // deleted by retention before we got to it
        }
        let Some((_, first_final)) = job.slots.first() else {
            return Ok(());
        };
        let dir = first_final
            .parent()
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let tmp = dir.join(format!(
            ".mplog-gzip-{}-{}.tmp",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_gzip(&mut job.file, &tmp)
            .map_err(|e| HandlerError::io(format!("compressing into {}", tmp.display()), e))
            .and_then(|()| self.place(&job, meta.dev(), meta.ino(), &tmp));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Under the archive lock: moves the compressed file to the slot the staged file is in now.
    fn place(&self, job: &Job, dev: u64, ino: u64, tmp: &PathBuf) -> Result<(), HandlerError> {
        self.lock
            .run(|| {
                let slot = job.slots.iter().find(|(staging, _)| {
                    fs::metadata(staging).is_ok_and(|m| m.dev() == dev && m.ino() == ino)
                });
                match slot {
                    Some((staging, fin)) => {
                        fs::rename(tmp, fin).map_err(|e| {
                            HandlerError::io(format!("renaming to {}", fin.display()), e)
                        })?;
                        fs::remove_file(staging).map_err(|e| {
                            HandlerError::io(format!("removing {}", staging.display()), e)
                        })
                    }
                    None => {
                        let _ = fs::remove_file(tmp); // shifted out of retention meanwhile
                        Ok(())
                    }
                }
            })
            .map_err(|e| HandlerError::io("taking the archive lock", e))?
    }
}

fn write_gzip(src: &mut File, dest: &PathBuf) -> io::Result<()> {
    src.seek(SeekFrom::Start(0))?;
    let out = File::create(dest)?;
    let mut enc = GzEncoder::new(io::BufWriter::new(out), Compression::default());
    io::copy(src, &mut enc)?;
    let out = enc.finish()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}
