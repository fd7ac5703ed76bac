//! Where a rolled-over file goes: names (`namer`), the move itself (`rotator`, or the built-in
//! gzip rotator), the `.1`..`.N` shift of size rotation, and the retention of time rotation.
//! Crate-private: the rotating handlers share it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::compress::{Compressor, Job};
use super::schedule::Schedule;
use super::HandlerError;
use crate::lock::FLockRLock;

/// Maps a default archive name to the one used (Python's `namer`).
pub(crate) type Namer = Arc<dyn Fn(&str) -> String + Send + Sync>;
/// Moves the log file to its archive name (Python's `rotator`): `(source, dest)`.
pub(crate) type Rotator = Arc<dyn Fn(&Path, &Path) -> io::Result<()> + Send + Sync>;

/// What must be held while archives are renamed: the handler's own mutex, and the
/// inter-process lock for the locked handlers (taken first, always in that order).
#[derive(Clone, Default)]
pub(crate) struct ArchiveLock {
    local: Arc<Mutex<()>>,
    shared: Option<FLockRLock>,
}

impl ArchiveLock {
    pub(crate) fn new(shared: Option<FLockRLock>) -> ArchiveLock {
        ArchiveLock {
            local: Arc::default(),
            shared,
        }
    }

    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> io::Result<R> {
        let _shared = match &self.shared {
            Some(lock) => Some(lock.acquire()?),
            None => None,
        };
        let _local = self.local.lock();
        Ok(f())
    }
}

/// The archive side of a rotating handler.
pub(crate) struct Archive {
    pub(crate) base: PathBuf,
    base_str: String,
    pub(crate) backup_count: usize,
    namer: Option<Namer>,
    rotator: Option<Rotator>,
    gzip: Option<Compressor>,
    lock: ArchiveLock,
    /// Last index used for `<stem>.<n>` names (size and time together).
    last_index: Option<(String, u64)>,
}

fn io_err(what: &str, path: &Path, e: io::Error) -> HandlerError {
    HandlerError::io(format!("{what} {}", path.display()), e)
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

impl Archive {
    pub(crate) fn new(
        base: &Path,
        backup_count: usize,
        namer: Option<Namer>,
        rotator: Option<Rotator>,
        gzip: Option<Compressor>,
        lock: ArchiveLock,
    ) -> Archive {
        // Python hands the namer absolute names (`baseFilename` is `abspath`).
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        Archive {
            base_str: base.to_string_lossy().into_owned(),
            base,
            backup_count,
            namer,
            rotator,
            gzip,
            lock,
            last_index: None,
        }
    }

    /// Waits for background compression; `true` when none is pending.
    pub(crate) fn wait_compressed(&self, timeout: std::time::Duration) -> bool {
        self.gzip.as_ref().is_none_or(|gz| gz.wait_idle(timeout))
    }

    /// The name before compression (Python's `rotation_filename` when there is no gzip).
    fn staging(&self, default: &str) -> PathBuf {
        PathBuf::from(match &self.namer {
            Some(n) => n(default),
            None => default.to_owned(),
        })
    }

    /// The archive's final name.
    fn final_name(&self, default: &str) -> PathBuf {
        let mut p = self.staging(default).into_os_string();
        if self.gzip.is_some() {
            p.push(".gz");
        }
        PathBuf::from(p)
    }

    fn taken(&self, default: &str) -> bool {
        exists(&self.final_name(default)) || (self.gzip.is_some() && exists(&self.staging(default)))
    }

    fn numbered(&self, i: usize) -> String {
        format!("{}.{i}", self.base_str)
    }

    /// `<base>.<suffix>` (time rotation's default name).
    pub(crate) fn stamped(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.base_str)
    }

    /// Whether the archive name for `default` is in use ("already rolled over").
    pub(crate) fn already_rolled(&self, default: &str) -> bool {
        self.taken(default)
    }

    /// `<stem>.<n>` with the first free `n` (size rollovers within one time interval).
    pub(crate) fn next_indexed(&mut self, stem: &str) -> String {
        let mut n = match &self.last_index {
            Some((s, n)) if s == stem => n + 1,
            _ => 1,
        };
        while self.taken(&format!("{stem}.{n}")) {
            n += 1;
        }
        self.last_index = Some((stem.to_owned(), n));
        format!("{stem}.{n}")
    }

    /// Moves the log file to the archive for `default` (Python's `rotate(base, dfn)`).
    pub(crate) fn archive(
        &mut self,
        default: &str,
        slots: Vec<(PathBuf, PathBuf)>,
    ) -> Result<(), HandlerError> {
        let dest = self.final_name(default);
        if let Some(rotator) = &self.rotator {
            return rotator(&self.base, &dest).map_err(|e| io_err("rotating to", &dest, e));
        }
        if !exists(&self.base) {
            return Ok(()); // a delayed handler that never wrote (Python's issue 18940)
        }
        if self.gzip.is_none() {
            return fs::rename(&self.base, &dest).map_err(|e| io_err("renaming to", &dest, e));
        }
        let staging = self.staging(default);
        fs::rename(&self.base, &staging).map_err(|e| io_err("renaming to", &staging, e))?;
        let file = fs::File::open(&staging).map_err(|e| io_err("opening", &staging, e))?;
        let slots = if slots.is_empty() {
            vec![(staging, dest)]
        } else {
            slots
        };
        match &mut self.gzip {
            Some(gz) => gz.submit(Job { file, slots }),
            None => Ok(()),
        }
    }

    /// Python's `RotatingFileHandler.doRollover` renames: `.N-1` -> `.N` ... `.1` -> `.2`,
    /// then the log -> `.1`. Staged (not yet compressed) archives move along.
    pub(crate) fn roll_numbered(&mut self) -> Result<(), HandlerError> {
        if self.backup_count == 0 {
            return Ok(());
        }
        let gzip = self.gzip.is_some();
        let lock = self.lock.clone();
        lock.run(|| {
            for i in (1..self.backup_count).rev() {
                let (src, dst) = (self.numbered(i), self.numbered(i + 1));
                let mut pairs = vec![(self.final_name(&src), self.final_name(&dst))];
                if gzip {
                    pairs.push((self.staging(&src), self.staging(&dst)));
                }
                for (s, d) in pairs {
                    if exists(&s) {
                        if exists(&d) {
                            fs::remove_file(&d).map_err(|e| io_err("removing", &d, e))?;
                        }
                        fs::rename(&s, &d).map_err(|e| io_err("renaming to", &d, e))?;
                    }
                }
            }
            let first = self.numbered(1);
            let mut olds = vec![self.final_name(&first)];
            if gzip {
                olds.push(self.staging(&first));
            }
            for old in olds {
                if exists(&old) {
                    fs::remove_file(&old).map_err(|e| io_err("removing", &old, e))?;
                }
            }
            let slots = (1..=self.backup_count)
                .map(|i| {
                    let n = self.numbered(i);
                    (self.staging(&n), self.final_name(&n))
                })
                .collect();
            self.archive(&first, slots)
        })
        .map_err(|e| HandlerError::io("taking the archive lock", e))?
    }

    /// Archives to `name` under the archive lock, then deletes what retention says.
    pub(crate) fn roll_stamped(
        &mut self,
        name: &str,
        schedule: &Schedule,
        indexed: bool,
    ) -> Result<(), HandlerError> {
        let lock = self.lock.clone();
        lock.run(|| {
            self.archive(name, Vec::new())?;
            if self.backup_count > 0 {
                for old in self.files_to_delete(schedule, indexed)? {
                    fs::remove_file(&old).map_err(|e| io_err("removing", &old, e))?;
                }
            }
            Ok(())
        })
        .map_err(|e| HandlerError::io("taking the archive lock", e))?
    }

    /// Python 3.13's `getFilesToDelete`: archives whose name fully matches the schedule's
    /// suffix (through the namer when there is one), oldest first, beyond `backup_count`.
    /// With `indexed` (size and time together) a `.<n>` may follow the suffix.
    pub(crate) fn files_to_delete(
        &self,
        schedule: &Schedule,
        indexed: bool,
    ) -> Result<Vec<PathBuf>, HandlerError> {
        let dir = self
            .base
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let base_name = self
            .base
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries = fs::read_dir(&dir).map_err(|e| io_err("listing", &dir, e))?;
        let named = self.namer.is_some() || self.gzip.is_some();
        let mut found: Vec<((String, u64), PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if named {
                self.match_named(&name, schedule, indexed)
            } else {
                name.strip_prefix(&format!("{base_name}."))
                    .and_then(|suffix| full_match(suffix, schedule, indexed))
            };
            if let Some(key) = key {
                found.push((key, dir.join(&name)));
            }
        }
        if found.len() < self.backup_count {
            return Ok(Vec::new());
        }
        found.sort();
        let n = found.len() - self.backup_count;
        Ok(found.into_iter().take(n).map(|(_, p)| p).collect())
    }

    /// Python's namer branch: some suffix found in `name` gives `name` back through the namer.
    fn match_named(&self, name: &str, schedule: &Schedule, indexed: bool) -> Option<(String, u64)> {
        for i in 0..name.len() {
            if !name.is_char_boundary(i) {
                continue;
            }
            let Some(len) = schedule.match_suffix_at(name, i) else {
                continue;
            };
            let suffix = &name[i..i + len];
            let mut tries = vec![(suffix.to_owned(), 0)];
            if indexed {
                let digits: String = name[i + len..]
                    .strip_prefix('.')
                    .map(|r| r.chars().take_while(char::is_ascii_digit).collect())
                    .unwrap_or_default();
                if let Ok(n) = digits.parse::<u64>() {
                    tries.push((format!("{suffix}.{digits}"), n));
                }
            }
            for (candidate, n) in tries {
                let default = self.stamped(&candidate);
                // A staged archive (compression pending) counts as the archive it will be.
                let mut forms = vec![self.final_name(&default)];
                if self.gzip.is_some() {
                    forms.push(self.staging(&default));
                }
                if forms
                    .iter()
                    .any(|f| f.file_name().is_some_and(|f| f.to_string_lossy() == name))
                {
                    return Some((suffix.to_owned(), n));
                }
            }
        }
        None
    }
}

/// `suffix` is exactly the schedule's pattern (or, `indexed`, the pattern then `.<n>`).
fn full_match(suffix: &str, schedule: &Schedule, indexed: bool) -> Option<(String, u64)> {
    let len = schedule.match_suffix_at(suffix, 0)?;
    let rest = &suffix[len..];
    if rest.is_empty() {
        return Some((suffix.to_owned(), 0));
    }
    let n = rest.strip_prefix('.')?;
    if indexed && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
        return Some((suffix[..len].to_owned(), n.parse().ok()?));
    }
    None
}
