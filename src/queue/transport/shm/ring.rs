//! The ring itself (crate-internal): the mapping, its header layout, the producer's commit and the consumer's
//! bounds-checked read, and the system calls (futex, pidfd) behind the wake-ups. This file is
//! the crate's only home of `unsafe` for the shm transport; every block says why it is sound.
//!
//! # Layout of a ring file (native endianness: both ends run on the same machine)
//! ```text
//! 0    magic "MPLGRING"        8 bytes, written last at creation (file renamed into place after)
//! 8    version u32             VERSION
//! 12   header_len u32          HEADER_LEN
//! 16   capacity u64            data bytes, a power of two in MIN_CAPACITY..=MAX_CAPACITY
//! 24   pid u32                 the producing process
//! 28   name_len u32            bytes of the process name that follow (<= NAME_MAX)
//! 32   start_time u64          the producer's start time (clock ticks since boot, /proc)
//! 40   process name            NAME_MAX bytes
//! 104  state AtomicU32         OPEN or CLOSED (the producing thread ended or the handler closed)
//! 128  tail AtomicU64          written by the producer only: end of the committed records
//! 192  head AtomicU64          written by the consumer only: end of what the listener handled
//! 256  wake AtomicU32          the futex word, bumped by a producer that wakes the consumer
//! 260  sleeping AtomicU32      1 while the consumer waits (or is about to) on `wake`
//! 264  written AtomicU64       records committed (producer only)
//! 320  space AtomicU32         the futex word a producer waiting for room sleeps on, bumped by
//!                              a consumer that commits while one waits
//! 324  space_waiting AtomicU32 1 while the producer waits (or is about to) on `space`
//! HEADER_LEN  data             capacity bytes
//! ```
//! `tail` and `head` are free-running byte positions (never wrapped); the offset in the data is
//! `pos & (capacity - 1)`. Each of the three hot words has a cache line of its own.
//!
//! A record is `u32 len` + `len` bytes of postcard, padded to [`ALIGN`]. When a record does not
//! fit before the end of the data, the producer writes [`PAD`] in place of a length and the
//! record starts again at offset 0; as every entry is aligned, at least [`ALIGN`] bytes remain
//! before the end whenever any do, so the marker always fits. A record larger than half the
//! ring travels in several entries, flagged in the high bits of their length word (see
//! [`pieces`]).
//!
//! # Memory ordering
//! Producer: write the bytes, then `tail.store(Release)`; it reads `head` with `Acquire` before
//! reusing space. Consumer: `tail.load(Acquire)`, copy the bytes out, and (only after the
//! listener's handlers wrote and flushed them) `head.store(Release)`. A record is thus never
//! visible before it is whole, and its space is never reused before it was copied out.
//!
//! Wake-ups (Dekker's pattern, no shared lock): the consumer sets `sleeping`, issues a SeqCst
//! fence, re-reads `tail` and only then waits on `wake`; the producer stores `tail`, issues a
//! SeqCst fence and reads `sleeping`. One of the two sees the other's store, so a wake-up is
//! never lost; the consumer's wait is bounded anyway. A producer that finds the ring full
//! sleeps the same way on `space` (set `space_waiting`, fence, re-read `head`, wait), and the
//! consumer's commit wakes it: room is used as soon as it is made, with no polling.
//!
//! # The mapping is untrusted input
//! The listener maps files written by other processes. It copies the fixed header fields once
//! at attach and validates them ([`Ring::open`]); afterwards it trusts none of the shared words:
//! every position and length it reads is checked against its own copy of the capacity before
//! any byte is touched, and record bytes are copied into private memory before decoding, so a
//! concurrent writer can change nothing under the decoder. One hazard remains that no check can
//! catch: a process that shrinks the file (`ftruncate`) makes the listener's next access to the
//! lost pages raise SIGBUS. Only peers of an allowed uid can reach the ring directory (0700),
//! and such a peer could as well signal the listener directly.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::libc;
use parking_lot::Mutex;

mod pieces;
use self::pieces::{Assembly, LEN_MASK};

/// The first eight bytes of every ring file.
pub const MAGIC: [u8; 8] = *b"MPLGRING";
/// The ring layout version.
pub const VERSION: u32 = 1;
/// Bytes before the data: one page.
pub const HEADER_LEN: usize = 4096;
/// Smallest data area.
pub const MIN_CAPACITY: usize = 4096;
/// Largest data area (1 GiB).
pub const MAX_CAPACITY: usize = 1 << 30;
/// Longest process name kept in the header.
pub const NAME_MAX: usize = 64;
/// Every entry starts at a multiple of this.
pub const ALIGN: usize = 8;
/// The length value that means "skip to the start of the data".
pub const PAD: u32 = u32::MAX;

/// `state`: the producer may still write.
pub const OPEN: u32 = 0;
/// `state`: the producer wrote its last record.
pub const CLOSED: u32 = 1;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_HEADER_LEN: usize = 12;
const OFF_CAPACITY: usize = 16;
const OFF_PID: usize = 24;
const OFF_NAME_LEN: usize = 28;
const OFF_START_TIME: usize = 32;
const OFF_NAME: usize = 40;
const OFF_STATE: usize = 104;
const OFF_TAIL: usize = 128;
const OFF_HEAD: usize = 192;
const OFF_WAKE: usize = 256;
const OFF_SLEEPING: usize = 260;
const OFF_WRITTEN: usize = 264;
const OFF_SPACE: usize = 320;
const OFF_SPACE_WAITING: usize = 324;

/// The fixed fields of a header, copied out of (or into) the mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Data bytes.
    pub capacity: usize,
    /// The producing process.
    pub pid: u32,
    /// Its start time in clock ticks since boot (0: unknown).
    pub start_time: u64,
    /// Its `processName` (cut to [`NAME_MAX`] bytes).
    pub process_name: String,
}

/// Why a ring file was refused or abandoned.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// The file could not be read, sized or mapped.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The header is not one this crate writes.
    #[error("bad ring header: {0}")]
    Header(String),
    /// A position or length in the shared words is impossible.
    #[error("corrupt ring at position {pos}: {reason}")]
    Corrupt {
        /// The consumer's position when it found the problem.
        pos: u64,
        /// What was wrong.
        reason: String,
    },
}

/// One mapped ring file, shared by the threads of one side.
///
/// Every access to the mapping goes through the methods below: atomics for the shared words,
/// raw copies for the data, so no Rust reference ever points at bytes another process writes.
#[derive(Debug)]
pub struct Ring {
    base: NonNull<u8>,
    len: usize,
    /// This side's own copy of the capacity (the consumer's validated one).
    capacity: usize,
    info: HeaderInfo,
    /// Consumer side: the record being put together from pieces (see [`pieces`]).
    assembly: Mutex<Assembly>,
    /// Whether `assembly` holds pieces: a whole record then ends them (read without the lock,
    /// so the usual record costs no lock; only the consumer's thread reads or writes it).
    assembling: AtomicBool,
}

// SAFETY: the mapping is shared memory by design; `Ring` hands out no references into it
// except to atomics (`AtomicU32`/`AtomicU64` are `Sync`), and its data accessors copy through
// raw pointers under the single-producer protocol documented above. Moving or sharing the
// handle between threads is therefore as sound as sharing those atomics.
unsafe impl Send for Ring {}
// SAFETY: as for `Send`.
unsafe impl Sync for Ring {}

impl Ring {
    /// Initialises a new, empty ring in `file` (which must be freshly created and private to
    /// the caller until it is renamed into place) and returns it with its only [`Producer`].
    pub fn create(file: &File, info: &HeaderInfo) -> Result<(Arc<Ring>, Producer), RingError> {
        let capacity = info.capacity;
        if !capacity.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
            return Err(RingError::Header(format!("capacity {capacity}")));
        }
        let len = HEADER_LEN + capacity;
        file.set_len(len as u64)?;
        let mut info = info.clone();
        info.process_name = cut_name(&info.process_name).to_owned();
        // Populated: the producer's first lap through the ring takes no page faults.
        let ring = Ring::map(file, len, capacity, info, libc::MAP_POPULATE)?;
        let name = ring.info.process_name.as_str();
        ring.write_bytes(OFF_VERSION, &VERSION.to_ne_bytes());
        ring.write_bytes(OFF_HEADER_LEN, &(HEADER_LEN as u32).to_ne_bytes());
        ring.write_bytes(OFF_CAPACITY, &(capacity as u64).to_ne_bytes());
        ring.write_bytes(OFF_PID, &ring.info.pid.to_ne_bytes());
        ring.write_bytes(OFF_NAME_LEN, &(name.len() as u32).to_ne_bytes());
        ring.write_bytes(OFF_START_TIME, &ring.info.start_time.to_ne_bytes());
        ring.write_bytes(OFF_NAME, name.as_bytes());
        // The file is new (zero-filled), so state, tail, head, wake and written are 0.
        fence(Ordering::Release);
        ring.write_bytes(OFF_MAGIC, &MAGIC);
        let ring = Arc::new(ring);
        let producer = Producer {
            ring: ring.clone(),
            tail: 0,
            head: 0,
        };
        Ok((ring, producer))
    }

    /// Maps an existing ring file and validates its header (magic, version, header length,
    /// capacity against the file size, name length).
    pub fn open(file: &File) -> Result<Arc<Ring>, RingError> {
        let size = file.metadata()?.len();
        let size = usize::try_from(size).map_err(|_| RingError::Header("file too large".into()))?;
        if !(HEADER_LEN + MIN_CAPACITY..=HEADER_LEN + MAX_CAPACITY).contains(&size) {
            return Err(RingError::Header(format!("file of {size} bytes")));
        }
        let placeholder = HeaderInfo {
            capacity: 0,
            pid: 0,
            start_time: 0,
            process_name: String::new(),
        };
        let mut ring = Ring::map(file, size, 0, placeholder, 0)?;
        let mut magic = [0u8; 8];
        ring.read_bytes(OFF_MAGIC, &mut magic);
        if magic != MAGIC {
            return Err(RingError::Header(format!("magic {magic:?}")));
        }
        let version = ring.read_u32(OFF_VERSION);
        if version != VERSION {
            return Err(RingError::Header(format!(
                "version {version} (this listener reads {VERSION})"
            )));
        }
        let header_len = ring.read_u32(OFF_HEADER_LEN) as usize;
        if header_len != HEADER_LEN {
            return Err(RingError::Header(format!("header length {header_len}")));
        }
        let capacity = usize::try_from(ring.read_u64(OFF_CAPACITY)).unwrap_or(usize::MAX);
        if !capacity.is_power_of_two()
            || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity)
            || HEADER_LEN + capacity != size
        {
            return Err(RingError::Header(format!(
                "capacity {capacity} in a file of {size} bytes"
            )));
        }
        let name_len = (ring.read_u32(OFF_NAME_LEN) as usize).min(NAME_MAX);
        let mut name = [0u8; NAME_MAX];
        ring.read_bytes(OFF_NAME, &mut name[..name_len]);
        ring.capacity = capacity;
        ring.info = HeaderInfo {
            capacity,
            pid: ring.read_u32(OFF_PID),
            start_time: ring.read_u64(OFF_START_TIME),
            process_name: String::from_utf8_lossy(&name[..name_len]).into_owned(),
        };
        Ok(Arc::new(ring))
    }

    fn map(
        file: &File,
        len: usize,
        capacity: usize,
        info: HeaderInfo,
        extra_flags: libc::c_int,
    ) -> Result<Ring, RingError> {
        // SAFETY: a fresh shared mapping of `len` bytes of `file` at an address the kernel
        // picks; no existing memory is affected. The callers made the file at least `len`
        // bytes long. The result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | extra_flags,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error().into());
        }
        let base = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| RingError::Io(io::Error::other("mmap returned null")))?;
        Ok(Ring {
            base,
            len,
            capacity,
            info,
            assembly: Mutex::default(),
            assembling: AtomicBool::new(false),
        })
    }

    /// The header's fixed fields (as validated at open, or as written at create).
    pub fn info(&self) -> &HeaderInfo {
        &self.info
    }

    fn atomic_u32(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= HEADER_LEN);
        // SAFETY: `off` is one of the header constants: 4-aligned (the mapping is page
        // aligned) and inside the mapping, which lives as long as `self`. The word is only
        // ever accessed atomically, by both processes.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(off).cast::<u32>()) }
    }

    fn atomic_u64(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= HEADER_LEN);
        // SAFETY: as for `atomic_u32`, with 8-byte alignment.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(off).cast::<u64>()) }
    }

    fn read_bytes(&self, off: usize, out: &mut [u8]) {
        assert!(off <= self.len && out.len() <= self.len - off);
        // SAFETY: the range was just checked to lie inside the mapping; `out` is private
        // memory, so the two cannot overlap. A concurrent writer can make the bytes
        // meaningless, never the copy unsound on this platform (plain loads of shared pages).
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.as_ptr().add(off), out.as_mut_ptr(), out.len())
        }
    }

    fn write_bytes(&self, off: usize, bytes: &[u8]) {
        assert!(off <= self.len && bytes.len() <= self.len - off);
        // SAFETY: the range lies inside the mapping (checked); `bytes` is private memory. Only
        // the producer writes data, only into space the consumer released (see `Producer`),
        // and header fields only before the file is published.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.as_ptr().add(off), bytes.len())
        }
    }

    fn read_u32(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read_bytes(off, &mut b);
        u32::from_ne_bytes(b)
    }

    fn read_u64(&self, off: usize) -> u64 {
        let mut b = [0u8; 8];
        self.read_bytes(off, &mut b);
        u64::from_ne_bytes(b)
    }

    /// End of the committed records (`Acquire`: the bytes before it are complete).
    pub fn tail(&self) -> u64 {
        self.atomic_u64(OFF_TAIL).load(Ordering::Acquire)
    }

    /// End of what the listener handled.
    pub fn head(&self) -> u64 {
        self.atomic_u64(OFF_HEAD).load(Ordering::Acquire)
    }

    /// Records the producer committed so far.
    pub fn written(&self) -> u64 {
        self.atomic_u64(OFF_WRITTEN).load(Ordering::Relaxed)
    }

    /// Whether the producer said it wrote its last record.
    pub fn is_closed(&self) -> bool {
        self.atomic_u32(OFF_STATE).load(Ordering::Acquire) != OPEN
    }

    /// Producer side: no more records will come (thread exit, handler close).
    pub fn close(&self) {
        self.atomic_u32(OFF_STATE).store(CLOSED, Ordering::Release);
        self.wake_consumer();
    }

    /// Consumer side: everything before `pos` was handled; the producer may reuse it (and is
    /// woken if it waits for room).
    pub fn commit(&self, pos: u64) {
        self.atomic_u64(OFF_HEAD).store(pos, Ordering::Release);
        fence(Ordering::SeqCst);
        let waiting = self.atomic_u32(OFF_SPACE_WAITING);
        if waiting.load(Ordering::Relaxed) != 0 && waiting.swap(0, Ordering::AcqRel) != 0 {
            let space = self.atomic_u32(OFF_SPACE);
            space.fetch_add(1, Ordering::Release);
            futex_wake(space);
        }
    }

    fn wake_consumer(&self) {
        fence(Ordering::SeqCst);
        let sleeping = self.atomic_u32(OFF_SLEEPING);
        if sleeping.load(Ordering::Relaxed) != 0 && sleeping.swap(0, Ordering::AcqRel) != 0 {
            let wake = self.atomic_u32(OFF_WAKE);
            wake.fetch_add(1, Ordering::Release);
            futex_wake(wake);
        }
    }

    /// Consumer side: waits (at most `timeout`) until the tail moves past `pos`, the producer
    /// closes, or a spurious wake-up.
    pub fn wait(&self, pos: u64, timeout: Duration) {
        let wake = self.atomic_u32(OFF_WAKE);
        let sleeping = self.atomic_u32(OFF_SLEEPING);
        let seen = wake.load(Ordering::Acquire);
        sleeping.store(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.atomic_u64(OFF_TAIL).load(Ordering::Relaxed) == pos && !self.is_closed() {
            futex_wait(wake, seen, timeout);
        }
        sleeping.store(0, Ordering::Relaxed);
    }

    /// Consumer side: records lost in pieces since the last call (see [`pieces`]): a producer
    /// gave one up part-way, or a previous listener stopped inside one.
    pub fn take_lost(&self) -> u64 {
        std::mem::take(&mut self.assembly.lock().lost)
    }

    /// Consumer side: appends the record at `*pos` (which must be below `tail`, a value read
    /// by [`tail`](Ring::tail)) to `out` and advances `*pos` past it, skipping a padding
    /// marker first. Pieces of a larger record are taken in (and `*pos` moved past them) until
    /// its last, which appends the whole record. Returns `Ok(false)` once `*pos == tail` with
    /// no whole record appended (`*pos` may have moved: the caller commits it). Every length and position is
    /// checked against this side's capacity: a corrupt ring yields an error, never an
    /// out-of-bounds read or an allocation larger than the ring.
    pub fn read(&self, pos: &mut u64, tail: u64, out: &mut Vec<u8>) -> Result<bool, RingError> {
        let cap = self.capacity as u64;
        let corrupt = |pos: u64, reason: String| Err(RingError::Corrupt { pos, reason });
        loop {
            if *pos == tail {
                return Ok(false);
            }
            let avail = tail.wrapping_sub(*pos);
            if tail < *pos || avail > cap || !pos.is_multiple_of(ALIGN as u64) {
                return corrupt(*pos, format!("tail {tail}"));
            }
            let off = (*pos & (cap - 1)) as usize;
            let room = self.capacity - off;
            let len = self.read_u32(HEADER_LEN + off);
            if len == PAD {
                if room as u64 > avail {
                    return corrupt(*pos, "padding past the tail".into());
                }
                *pos += room as u64;
                continue;
            }
            let (flags, len) = (len & !LEN_MASK, len & LEN_MASK);
            let need = entry_len(len as usize);
            if need > room || need as u64 > avail {
                return corrupt(*pos, format!("record of {len} bytes"));
            }
            if flags != 0 {
                // A piece of a larger record (see `pieces`): bounded by the ring's size.
                let mut piece = vec![0; len as usize];
                self.read_bytes(HEADER_LEN + off + 4, &mut piece);
                *pos += need as u64;
                self.assembling.store(true, Ordering::Relaxed);
                match self.assembly.lock().piece(flags, &piece) {
                    Some(whole) => {
                        self.assembling.store(false, Ordering::Relaxed);
                        out.extend_from_slice(&whole);
                        return Ok(true);
                    }
                    None => continue,
                }
            }
            if self.assembling.swap(false, Ordering::Relaxed) {
                self.assembly.lock().whole_record_seen();
            }
            let start = out.len();
            out.resize(start + len as usize, 0);
            self.read_bytes(HEADER_LEN + off + 4, &mut out[start..]);
            *pos += need as u64;
            return Ok(true);
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what mmap returned; nothing refers into the mapping
        // any more (the atomics handed out borrow `self`).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// Bytes an entry of `len` payload bytes occupies (prefix and padding included).
pub fn entry_len(len: usize) -> usize {
    (4 + len).div_ceil(ALIGN) * ALIGN
}

fn cut_name(name: &str) -> &str {
    let mut end = name.len().min(NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Why a [`Producer::write`] did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// Not enough free space now (the listener has not caught up).
    Full,
    /// The record can never fit (larger than the ring's largest entry).
    TooLarge,
}

/// The only writer of one ring. Not `Clone`: a ring has exactly one producer, by construction.
#[derive(Debug)]
pub struct Producer {
    ring: Arc<Ring>,
    /// The producer's own copy of the tail (it is the only one to move it).
    tail: u64,
    /// The last head it read; refreshed only when space seems short.
    head: u64,
}

impl Producer {
    /// The shared ring.
    pub fn ring(&self) -> &Arc<Ring> {
        &self.ring
    }

    /// Largest payload one entry can hold.
    pub fn max_record(&self) -> usize {
        self.ring.capacity / 2 - 4
    }

    /// Commits `bytes` as one record: copies them in and then advances the tail (`Release`),
    /// waking the consumer if it sleeps. Larger than [`max_record`](Producer::max_record):
    /// `TooLarge` (see [`write_any`](Producer::write_any) for pieces).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        if bytes.len() > self.max_record() {
            return Err(WriteError::TooLarge);
        }
        self.write_entry(bytes, 0, true)
    }

    /// Commits one entry: `bytes` with `flags` in its length word; `ends_record`: counted as a
    /// record written.
    fn write_entry(
        &mut self,
        bytes: &[u8],
        flags: u32,
        ends_record: bool,
    ) -> Result<(), WriteError> {
        let cap = self.ring.capacity;
        let need = entry_len(bytes.len());
        let off = (self.tail & (cap as u64 - 1)) as usize;
        let room = cap - off;
        let total = if need > room { room + need } else { need };
        if self.free() < total {
            self.head = self.ring.head();
            if self.free() < total {
                return Err(WriteError::Full);
            }
        }
        let mut at = off;
        if need > room {
            self.ring.write_bytes(HEADER_LEN + off, &PAD.to_ne_bytes());
            at = 0;
        }
        // `bytes.len() <= max_record < CONT`: the flag bits are free.
        let word = bytes.len() as u32 | flags;
        self.ring.write_bytes(HEADER_LEN + at, &word.to_ne_bytes());
        self.ring.write_bytes(HEADER_LEN + at + 4, bytes);
        self.tail += total as u64;
        if ends_record {
            self.ring
                .atomic_u64(OFF_WRITTEN)
                .store(self.ring.written() + 1, Ordering::Relaxed);
        }
        self.ring
            .atomic_u64(OFF_TAIL)
            .store(self.tail, Ordering::Release);
        self.ring.wake_consumer();
        Ok(())
    }

    /// Sleeps until the consumer commits (room may have been made), at most `timeout`.
    pub fn wait_for_space(&self, timeout: Duration) {
        let ring = &self.ring;
        let space = ring.atomic_u32(OFF_SPACE);
        let waiting = ring.atomic_u32(OFF_SPACE_WAITING);
        let seen = space.load(Ordering::Acquire);
        waiting.store(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if ring.atomic_u64(OFF_HEAD).load(Ordering::Relaxed) == self.head {
            futex_wait(space, seen, timeout);
        }
        waiting.store(0, Ordering::Relaxed);
    }

    /// Free bytes as of the last head read. A consumer that publishes a head beyond the tail
    /// (a bug or corruption) yields 0, not an overflow.
    fn free(&self) -> usize {
        let used = self.tail.saturating_sub(self.head.min(self.tail));
        self.ring.capacity.saturating_sub(used as usize)
    }
}

/// Waits on a futex word while it still holds `expected`, at most `timeout`.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT (shared, not FUTEX_PRIVATE_FLAG: the word is in a mapping shared
    // between processes) reads the aligned u32 at `word`, which stays mapped for the call, and
    // sleeps at most `ts`. It writes no memory of ours. Errors (EAGAIN: the word changed,
    // EINTR, ETIMEDOUT) all mean "look again", which the caller does.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes the waiter on a futex word (there is at most one: the ring's consumer).
fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; the word is mapped for the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            1i32,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// A process descriptor: tells whether a process (the one with this pid when it was opened)
/// has ended, immune to pid reuse afterwards.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// Opens a descriptor for `pid` (fails with ESRCH if no such process exists any more).
    pub fn open(pid: u32) -> io::Result<PidFd> {
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; it
        // touches no memory of ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(|_| io::Error::other("descriptor out of range"))?;
        // SAFETY: `fd` is a descriptor the kernel just gave us and nothing else owns.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Whether the process has ended (a zombie counts as ended).
    pub fn has_exited(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout; poll writes only `revents` of it.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        n > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(capacity: usize) -> HeaderInfo {
        HeaderInfo {
            capacity,
            pid: std::process::id(),
            start_time: 7,
            process_name: "unit".into(),
        }
    }

    #[test]
    fn records_round_trip_across_the_wrap() {
        let file = tempfile::tempfile().unwrap();
        let (ring, mut producer) = Ring::create(&file, &info(MIN_CAPACITY)).unwrap();
        let consumer = Ring::open(&file).unwrap();
        assert_eq!(consumer.info(), ring.info());
        let mut pos = 0;
        let mut buf = Vec::new();
        for i in 0..10_000u32 {
            let rec = vec![(i % 251) as u8; (i % 300) as usize];
            producer.write(&rec).unwrap();
            let tail = consumer.tail();
            buf.clear();
            assert!(consumer.read(&mut pos, tail, &mut buf).unwrap());
            assert_eq!(buf, rec);
            assert!(!consumer.read(&mut pos, tail, &mut buf).unwrap());
            consumer.commit(pos);
        }
        assert_eq!(ring.written(), 10_000);
    }

    #[test]
    fn a_full_ring_refuses_until_the_consumer_commits() {
        let file = tempfile::tempfile().unwrap();
        let (_ring, mut producer) = Ring::create(&file, &info(MIN_CAPACITY)).unwrap();
        let consumer = Ring::open(&file).unwrap();
        let rec = [1u8; 100];
        let mut n = 0;
        while producer.write(&rec).is_ok() {
            n += 1;
        }
        assert_eq!(n, MIN_CAPACITY / entry_len(100));
        let (mut pos, mut buf) = (0, Vec::new());
        assert!(consumer.read(&mut pos, consumer.tail(), &mut buf).unwrap());
        assert_eq!(producer.write(&rec), Err(WriteError::Full));
        consumer.commit(pos);
        assert_eq!(producer.write(&rec), Ok(()));
        assert_eq!(
            producer.write(&[0; MIN_CAPACITY]),
            Err(WriteError::TooLarge)
        );
    }

    #[test]
    fn corrupt_headers_and_positions_are_refused() {
        let file = tempfile::tempfile().unwrap();
        let (ring, mut producer) = Ring::create(&file, &info(MIN_CAPACITY)).unwrap();
        producer.write(b"hello").unwrap();
        // A tail beyond the data, or behind the reader: refused, nothing read.
        let mut buf = Vec::new();
        let mut pos = 0;
        assert!(ring.read(&mut pos, 1 << 40, &mut buf).is_err());
        let mut pos = 64;
        assert!(ring.read(&mut pos, 8, &mut buf).is_err());
        // A length larger than the ring.
        ring.write_bytes(HEADER_LEN, &(1_000_000u32).to_ne_bytes());
        let mut pos = 0;
        assert!(ring.read(&mut pos, 16, &mut buf).is_err());
        // A wrong capacity or magic.
        ring.write_bytes(OFF_CAPACITY, &(3u64).to_ne_bytes());
        assert!(matches!(Ring::open(&file), Err(RingError::Header(_))));
        ring.write_bytes(OFF_MAGIC, b"NOTARING");
        assert!(matches!(Ring::open(&file), Err(RingError::Header(_))));
    }

    #[test]
    fn pidfd_sees_this_process_alive() {
        let me = PidFd::open(std::process::id()).unwrap();
        assert!(!me.has_exited());
    }
}
