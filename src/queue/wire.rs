//! The wire protocol (v2) between workers and a listener: a [`Hello`], then length-prefixed
//! [`Frame`]s.
//!
//! Every message on the stream, the hello included, is a `u32` little-endian length followed by
//! that many bytes of postcard. The reader ([`FrameReader`]) checks the length against its limit
//! (default [`DEFAULT_MAX_FRAME`]) *before* it allocates anything, and its buffer grows only
//! with the bytes that actually arrive: a hostile 4 GiB prefix costs nothing, and a peer that
//! announces 16 MiB and sends 10 bytes costs a few KiB. Every error carries the byte offset of
//! the frame that caused it. A stream that ends inside a frame yields
//! [`WireError::Truncated`]: the partial frame is discarded and reported, never half-handled.
//!
//! # Acknowledgements (v2)
//! The listener answers on the same connection with [`Frame::Ack`]`{ frames: n }`: the first
//! `n` frames this connection carried after its hello were handled, and their records written
//! and flushed by the listener's handlers. Acks are cumulative and coalesced (at most one per
//! connection every couple of milliseconds, except the answer to a `Sync`, which goes as soon
//! as the batch holding it is flushed). A connection that sends no records and no `Sync` (a shm
//! worker's control connection) gets none. A worker
//! keeps every frame until an ack covers it and sends the uncovered ones again, first, on its
//! next connection: a listener killed and restarted loses nothing, and what it receives twice
//! is bounded by the worker's window (see [`QueueHandlerBuilder::window`]).
//! v1 had no acks (only an answer to `Sync`); a listener refuses a v1 hello with
//! [`WireError::Version`], which it logs.
//!
//! [`QueueHandlerBuilder::window`]: super::QueueHandlerBuilder::window
//!
//! Workers do not build a `Vec<Record>` to send a batch: [`RecordBatch`] appends each record's
//! postcard bytes to a reused buffer and writes the frame header in front when it is sealed. The
//! bytes are exactly those of `Frame::Records(vec)`, which the listener decodes normally.
//!
//! One deviation from the architecture page: [`Frame::Report`] (variant 4) carries a worker's
//! running `sent`/`dropped` counts while it lives, so that drops reach the listener (and its
//! warning names the worker) without waiting for `Goodbye`. Listeners that predate it would
//! close the connection as malformed; there are none yet. [`Frame::Ring`] (variant 5) announces
//! a shared-memory ring on a shm worker's control connection (issue 6).

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::encode::{encode_record, put_varint};
use crate::record::Record;

/// The four bytes every hello starts with.
pub const MAGIC: [u8; 4] = *b"MPLG";

/// The protocol version this crate speaks (2: the listener acknowledges what it wrote).
pub const VERSION: u16 = 2;

/// The largest record a worker sends unless configured otherwise, in encoded bytes: a 16 MiB
/// message with its record's other fields (name, path, thread...) in the 64 KiB beyond.
/// A larger one is refused at the call and counted
/// ([`QueueHandlerBuilder::max_record`](super::QueueHandlerBuilder::max_record)).
pub const DEFAULT_MAX_RECORD: usize = 16 * 1024 * 1024 + 64 * 1024;

/// The largest frame a listener accepts unless configured otherwise: the largest record
/// ([`DEFAULT_MAX_RECORD`]) with room for the records batched with it (a worker's batch is
/// sealed once it holds [`DEFAULT_BATCH_BYTES`](super::handler::DEFAULT_BATCH_BYTES)) and the
/// frame's own bytes: 16 MiB + 1088 KiB.
pub const DEFAULT_MAX_FRAME: usize = DEFAULT_MAX_RECORD + 1024 * 1024;

/// Bytes of the length prefix in front of every frame.
pub const PREFIX_LEN: usize = 4;

/// What a worker says first: who it is and which protocol it speaks.
///
/// ```
/// use mplog::queue::wire::{Hello, MAGIC, VERSION};
/// let h = Hello::this_process();
/// assert_eq!(h.magic, MAGIC);
/// assert_eq!(h.version, VERSION);
/// assert_eq!(h.pid, std::process::id());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// The protocol version ([`VERSION`]).
    pub version: u16,
    /// The worker's process id.
    pub pid: u32,
    /// The worker's `processName`.
    pub process_name: String,
    /// The worker's host name.
    pub host: String,
}

impl Hello {
    /// The hello of the calling process.
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, FrameReader, Hello};
    /// mplog::record::set_process_name("worker-2");
    /// let mut bytes = Vec::new();
    /// encode_frame(&Hello::this_process(), &mut bytes).unwrap(); // what a worker sends first
    /// let hello = FrameReader::new(&bytes[..]).read_hello().unwrap();
    /// assert_eq!(hello.process_name, "worker-2");
    /// ```
    pub fn this_process() -> Hello {
        Hello {
            magic: MAGIC,
            version: VERSION,
            pid: std::process::id(),
            process_name: crate::record::process_name().to_string(),
            // Linux's view of uname's nodename, without another nix feature.
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// One message after the hello.
///
/// ```
/// use mplog::queue::wire::{encode_frame, Frame, FrameReader};
/// let mut bytes = Vec::new();
/// encode_frame(&Frame::Sync { seq: 7 }, &mut bytes).unwrap();
/// let mut reader = FrameReader::new(&bytes[..]);
/// assert_eq!(reader.next_frame().unwrap(), Some(Frame::Sync { seq: 7 }));
/// assert_eq!(reader.next_frame().unwrap(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// A batch of prepared records, in the order they were logged.
    Records(Vec<Record>),
    /// Worker to listener: answer, once everything up to this frame was handled and flushed,
    /// with an `Ack` covering it.
    Sync {
        /// Chosen by the worker (the listener does not use it).
        seq: u64,
    },
    /// Listener to worker: the first `frames` frames after the hello on this connection were
    /// handled, and their records written and flushed. Cumulative.
    Ack {
        /// Frames of this connection covered, counted from the first after the hello.
        frames: u64,
    },
    /// The worker's last frame: how many records it sent and dropped in its life (not
    /// acknowledged: a worker syncs before it).
    Goodbye {
        /// Records written to the transport.
        sent: u64,
        /// Records lost (queue full, or no listener).
        dropped: u64,
    },
    /// A worker's running counts, sent when its drop count grows.
    Report {
        /// Records written to the transport so far.
        sent: u64,
        /// Records lost so far.
        dropped: u64,
    },
    /// Worker to listener (shm transport): a new ring file in the listener's ring directory.
    Ring {
        /// The file's name in the directory (no path).
        name: String,
    },
}

/// Why a stream could not be read.
///
/// ```
/// use mplog::queue::wire::{encode_frame, Frame, FrameReader, WireError};
/// let mut bytes = Vec::new();
/// encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
/// bytes.pop(); // the stream ends inside the frame
/// let err = FrameReader::new(&bytes[..]).next_frame().unwrap_err();
/// assert!(matches!(err, WireError::Truncated { offset: 0, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The transport failed (including read timeouts: the reader keeps its state and can be
    /// called again).
    #[error("read failed at byte {offset}: {source}")]
    Io {
        /// Bytes of the stream consumed before the failure.
        offset: u64,
        /// The OS error.
        source: io::Error,
    },
    /// The length prefix exceeds the limit; nothing was allocated for it.
    #[error("frame at byte {offset} announces {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Where the frame starts.
        offset: u64,
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a valid postcard message.
    #[error("malformed frame at byte {offset}: {reason}")]
    Malformed {
        /// Where the frame starts.
        offset: u64,
        /// What postcard said.
        reason: String,
    },
    /// The hello does not start with [`MAGIC`].
    #[error("not an mplog stream: bad magic {found:?} at byte {offset}")]
    BadMagic {
        /// Where the hello starts.
        offset: u64,
        /// What came instead.
        found: [u8; 4],
    },
    /// The worker speaks another protocol version.
    #[error(
        "unsupported protocol version {found} at byte {offset} (this listener speaks {VERSION})"
    )]
    Version {
        /// Where the hello starts.
        offset: u64,
        /// The worker's version.
        found: u16,
    },
    /// The stream ended inside a frame; the partial frame was discarded.
    #[error("stream ended inside the frame at byte {offset}: {have} of {need} bytes; discarded")]
    Truncated {
        /// Where the frame starts.
        offset: u64,
        /// Bytes received (prefix included).
        have: usize,
        /// Bytes the frame needed (prefix included).
        need: usize,
    },
}

impl WireError {
    /// Whether this is a read timeout (the stream is fine, try again).
    ///
    /// ```
    /// use mplog::queue::wire::FrameReader;
    /// let err = FrameReader::new(&[0xff, 0xff, 0xff, 0xff][..]).next_frame().unwrap_err();
    /// assert!(!err.is_timeout()); // too large: the connection is done for
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, WireError::Io { source, .. }
            if matches!(source.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

/// Appends `frame`, length prefix included, to `out`.
///
/// ```
/// use mplog::queue::wire::{encode_frame, Frame, PREFIX_LEN};
/// let mut out = vec![0xAA]; // appended to, not replaced
/// encode_frame(&Frame::Ack { frames: 3 }, &mut out).unwrap();
/// let len = u32::from_le_bytes(out[1..1 + PREFIX_LEN].try_into().unwrap()) as usize;
/// assert_eq!(out.len(), 1 + PREFIX_LEN + len);
/// ```
pub fn encode_frame<T: Serialize>(frame: &T, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let start = out.len();
    out.extend_from_slice(&[0; PREFIX_LEN]);
    let mut body = postcard::to_extend(frame, std::mem::take(out))?;
    let len = u32::try_from(body.len() - start - PREFIX_LEN)
        .map_err(|_| postcard::Error::SerializeBufferFull)?;
    body[start..start + PREFIX_LEN].copy_from_slice(&len.to_le_bytes());
    *out = body;
    Ok(())
}

/// A `Frame::Records` built one record at a time into reused buffers.
///
/// ```
/// use mplog::queue::wire::{Frame, FrameReader, RecordBatch};
/// let mut batch = RecordBatch::default();
/// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "one"));
/// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "two"));
/// let mut out = Vec::new();
/// assert_eq!(batch.seal_into(&mut out), 2);
/// assert!(batch.is_empty());
/// let Some(Frame::Records(v)) = FrameReader::new(&out[..]).next_frame().unwrap() else { panic!() };
/// assert_eq!(&*v[1].message, "two");
/// ```
#[derive(Debug, Default)]
pub struct RecordBatch {
    body: Vec<u8>,
    count: usize,
}

impl RecordBatch {
    /// Appends one record.
    ///
    /// ```
    /// let mut batch = mplog::queue::wire::RecordBatch::default();
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert_eq!(batch.len(), 1);
    /// ```
    pub fn push(&mut self, record: &Record) {
        self.push_prepared(record, None);
    }

    /// Appends one record with `prepared` as its message (see `encode_record`).
    pub(crate) fn push_prepared(&mut self, record: &Record, prepared: Option<&str>) {
        encode_record(record, prepared, &mut self.body);
        self.count += 1;
    }

    /// Appends `count` records encoded elsewhere (by the calling threads of a handler).
    pub(crate) fn push_encoded(&mut self, bytes: &[u8], count: u64) {
        self.body.extend_from_slice(bytes);
        self.count += usize::try_from(count).unwrap_or(usize::MAX);
    }

    /// Records in the batch.
    ///
    /// ```
    /// let mut batch = mplog::queue::wire::RecordBatch::default();
    /// assert_eq!(batch.len(), 0);
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "n"));
    /// assert_eq!(batch.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the batch is empty.
    ///
    /// ```
    /// let mut batch = mplog::queue::wire::RecordBatch::default();
    /// assert!(batch.is_empty());
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert!(!batch.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded bytes so far (without the header).
    ///
    /// ```
    /// let mut batch = mplog::queue::wire::RecordBatch::default();
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// let one = batch.bytes();
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert!(one > 0 && batch.bytes() > one); // a sender seals once this passes its batch size
    /// ```
    pub fn bytes(&self) -> usize {
        self.body.len()
    }

    /// Appends the finished frame to `out`, empties the batch (keeping its buffer) and returns
    /// how many records the frame holds.
    ///
    /// ```
    /// use mplog::queue::wire::{Frame, FrameReader, RecordBatch};
    /// let mut batch = RecordBatch::default();
    /// batch.push(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// let mut out = Vec::new();
    /// assert_eq!(batch.seal_into(&mut out), 1);
    /// assert!(batch.is_empty() && batch.bytes() == 0);
    /// assert!(matches!(FrameReader::new(&out[..]).next_frame().unwrap(), Some(Frame::Records(_))));
    /// ```
    pub fn seal_into(&mut self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.extend_from_slice(&[0; PREFIX_LEN]);
        out.push(0); // the variant index of Frame::Records
        put_varint(out, self.count as u64);
        out.extend_from_slice(&self.body);
        // A batch is bounded by the sender's buffer size, far below u32::MAX.
        let len = u32::try_from(out.len() - start - PREFIX_LEN).unwrap_or(u32::MAX);
        out[start..start + PREFIX_LEN].copy_from_slice(&len.to_le_bytes());
        self.body.clear();
        std::mem::replace(&mut self.count, 0)
    }
}

/// Reads length-prefixed frames from a byte stream into one reused buffer.
///
/// The buffer starts at [`FIRST_BUFFER`] bytes and doubles only when the bytes received fill
/// it, up to the frame being read (so at most twice what arrived); once it holds nothing and
/// is larger than [`READ_BUFFER`], it shrinks back to that. A length prefix alone never
/// allocates.
///
/// ```
/// use mplog::queue::wire::{FrameReader, WireError};
/// // A 4 GiB length prefix: refused before any allocation.
/// let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
/// let err = FrameReader::new(&bytes[..]).next_frame().unwrap_err();
/// assert!(matches!(err, WireError::TooLarge { offset: 0, .. }));
/// ```
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Valid bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    max_frame: usize,
}

/// Size of the reader's first buffer: what an idle connection costs.
pub const FIRST_BUFFER: usize = 4 * 1024;

/// The buffer grows to this size for small frames (reads of many frames at once); beyond it
/// only for a larger frame, and it shrinks back to it once that frame is consumed.
pub const READ_BUFFER: usize = 128 * 1024;

impl<R: Read> FrameReader<R> {
    /// A reader with the default limit ([`DEFAULT_MAX_FRAME`]).
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, Frame, FrameReader};
    /// let mut bytes = Vec::new();
    /// encode_frame(&Frame::Goodbye { sent: 10, dropped: 0 }, &mut bytes).unwrap();
    /// let mut reader = FrameReader::new(std::io::Cursor::new(bytes));
    /// assert_eq!(reader.next_frame().unwrap(), Some(Frame::Goodbye { sent: 10, dropped: 0 }));
    /// ```
    pub fn new(inner: R) -> FrameReader<R> {
        FrameReader::with_max_frame(inner, DEFAULT_MAX_FRAME)
    }

    /// A reader refusing frames larger than `max_frame` bytes.
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, Frame, FrameReader, WireError};
    /// let mut bytes = Vec::new();
    /// encode_frame(&Frame::Records(vec![mplog::Record::new("a", mplog::Level::INFO, "m")]), &mut bytes).unwrap();
    /// let err = FrameReader::with_max_frame(&bytes[..], 8).next_frame().unwrap_err();
    /// assert!(matches!(err, WireError::TooLarge { max: 8, .. }));
    /// ```
    pub fn with_max_frame(inner: R, max_frame: usize) -> FrameReader<R> {
        FrameReader {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            max_frame,
        }
    }

    /// The underlying stream.
    ///
    /// ```
    /// let data: &[u8] = &[];
    /// let reader = mplog::queue::wire::FrameReader::new(data);
    /// assert!(reader.get_ref().is_empty());
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Bytes of the stream consumed so far.
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, Frame, FrameReader};
    /// let mut bytes = Vec::new();
    /// encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
    /// let mut reader = FrameReader::new(&bytes[..]);
    /// reader.next_frame().unwrap();
    /// assert_eq!(reader.offset(), bytes.len() as u64);
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads and checks the hello.
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, Frame, FrameReader, WireError};
    /// let mut bytes = Vec::new();
    /// encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap(); // not a hello
    /// let err = FrameReader::new(&bytes[..]).read_hello().unwrap_err();
    /// assert!(matches!(err, WireError::BadMagic { .. } | WireError::Malformed { .. }));
    /// ```
    pub fn read_hello(&mut self) -> Result<Hello, WireError> {
        let offset = self.offset;
        let Some(bytes) = self.next_frame_bytes()? else {
            return Err(WireError::Truncated {
                offset,
                have: 0,
                need: PREFIX_LEN,
            });
        };
        if bytes.len() < 4 || bytes[..4] != MAGIC {
            let mut found = [0; 4];
            let n = bytes.len().min(4);
            found[..n].copy_from_slice(&bytes[..n]);
            return Err(WireError::BadMagic { offset, found });
        }
        let hello: Hello = postcard::from_bytes(bytes).map_err(|e| WireError::Malformed {
            offset,
            reason: e.to_string(),
        })?;
        if hello.version != VERSION {
            return Err(WireError::Version {
                offset,
                found: hello.version,
            });
        }
        Ok(hello)
    }

    /// The next frame, `None` at a clean end of stream.
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, Frame, FrameReader};
    /// let mut bytes = Vec::new();
    /// encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
    /// encode_frame(&Frame::Sync { seq: 2 }, &mut bytes).unwrap();
    /// let mut reader = FrameReader::new(&bytes[..]);
    /// assert_eq!(reader.next_frame().unwrap(), Some(Frame::Sync { seq: 1 }));
    /// assert_eq!(reader.next_frame().unwrap(), Some(Frame::Sync { seq: 2 }));
    /// assert_eq!(reader.next_frame().unwrap(), None); // clean end
    /// ```
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        let offset = self.offset;
        match self.next_frame_bytes()? {
            None => Ok(None),
            Some(bytes) => {
                postcard::from_bytes(bytes)
                    .map(Some)
                    .map_err(|e| WireError::Malformed {
                        offset,
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// The body of the next frame, `None` at a clean end of stream. On a timeout the partial
    /// frame stays buffered and the next call resumes it.
    ///
    /// ```
    /// use mplog::queue::wire::{encode_frame, Frame, FrameReader, PREFIX_LEN};
    /// let mut bytes = Vec::new();
    /// encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
    /// let mut reader = FrameReader::new(&bytes[..]);
    /// let body = reader.next_frame_bytes().unwrap().unwrap();
    /// assert_eq!(body, &bytes[PREFIX_LEN..]); // the postcard body, prefix stripped
    /// ```
    pub fn next_frame_bytes(&mut self) -> Result<Option<&[u8]>, WireError> {
        if !self.fill(PREFIX_LEN)? {
            return Ok(None);
        }
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&self.buf[self.start..self.start + PREFIX_LEN]);
        let len = u32::from_le_bytes(prefix) as usize;
        if len > self.max_frame {
            return Err(WireError::TooLarge {
                offset: self.offset,
                len: len as u64,
                max: self.max_frame,
            });
        }
        if !self.fill(PREFIX_LEN + len)? {
            return Err(WireError::Truncated {
                offset: self.offset,
                have: self.end - self.start,
                need: PREFIX_LEN + len,
            });
        }
        let body = self.start + PREFIX_LEN;
        self.start = body + len;
        self.offset += (PREFIX_LEN + len) as u64;
        Ok(Some(&self.buf[body..body + len]))
    }

    /// Ensures `need` bytes are buffered. `Ok(false)`: the stream ended first (with nothing
    /// buffered when `need` is the prefix; otherwise mid-frame).
    fn fill(&mut self, need: usize) -> Result<bool, WireError> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == 0 && self.buf.len() > READ_BUFFER {
            // A large frame was consumed: give its memory back.
            self.buf.truncate(READ_BUFFER);
            self.buf.shrink_to_fit();
        }
        while self.end < need {
            if self.end == self.buf.len() {
                // Full of bytes that arrived: grow with them, never to what the prefix
                // announced. `need` is at most PREFIX_LEN + max_frame: checked by the caller.
                let grown = (self.buf.len() * 2)
                    .max(FIRST_BUFFER)
                    .min(need.max(READ_BUFFER));
                self.buf.resize(grown, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    if need == PREFIX_LEN && self.end > 0 {
                        return Err(WireError::Truncated {
                            offset: self.offset,
                            have: self.end,
                            need: PREFIX_LEN,
                        });
                    }
                    return Ok(false);
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(WireError::Io {
                        offset: self.offset,
                        source,
                    })
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    #[test]
    fn batch_bytes_are_a_records_frame() {
        let mut batch = RecordBatch::default();
        let records: Vec<Record> = (0..300)
            .map(|i| Record::new("a.b", Level::INFO, format!("m{i}")))
            .collect();
        for r in &records {
            batch.push(r);
        }
        let mut manual = Vec::new();
        batch.seal_into(&mut manual);
        let mut reference = Vec::new();
        encode_frame(&Frame::Records(records), &mut reference).unwrap();
        assert_eq!(manual, reference);
    }

    #[test]
    fn hello_round_trip_and_checks() {
        let mut bytes = Vec::new();
        encode_frame(&Hello::this_process(), &mut bytes).unwrap();
        assert_eq!(
            FrameReader::new(&bytes[..]).read_hello().unwrap(),
            Hello::this_process()
        );
        let mut other = Hello::this_process();
        other.version = 9;
        let mut bytes = Vec::new();
        encode_frame(&other, &mut bytes).unwrap();
        let err = FrameReader::new(&bytes[..]).read_hello().unwrap_err();
        assert!(matches!(err, WireError::Version { found: 9, .. }));
        let garbage = [3u8, 0, 0, 0, b'x', b'y', b'z'];
        let err = FrameReader::new(&garbage[..]).read_hello().unwrap_err();
        assert!(matches!(err, WireError::BadMagic { .. }));
    }

    #[test]
    fn truncated_final_frame_is_reported_with_its_offset() {
        let mut bytes = Vec::new();
        encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
        let first = bytes.len();
        encode_frame(&Frame::Sync { seq: 2 }, &mut bytes).unwrap();
        bytes.pop();
        let mut r = FrameReader::new(&bytes[..]);
        assert_eq!(r.next_frame().unwrap(), Some(Frame::Sync { seq: 1 }));
        let err = r.next_frame().unwrap_err();
        assert!(matches!(err, WireError::Truncated { offset, .. } if offset == first as u64));
    }

    /// A stream that yields its bytes, then times out (a peer that stopped sending).
    struct Stalled(Vec<u8>, usize);

    impl Read for Stalled {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 == self.0.len() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn an_announced_length_allocates_nothing_until_the_bytes_arrive() {
        // 16 MiB announced, 10 bytes sent, then silence: the buffer stays at its first size.
        let mut bytes = ((DEFAULT_MAX_FRAME as u32).to_le_bytes()).to_vec();
        bytes.extend_from_slice(&[0; 10]);
        let mut reader = FrameReader::new(Stalled(bytes, 0));
        assert!(reader.next_frame_bytes().unwrap_err().is_timeout());
        assert!(
            reader.buf.capacity() <= FIRST_BUFFER,
            "{}",
            reader.buf.capacity()
        );
    }

    #[test]
    fn the_buffer_grows_with_what_arrives_and_shrinks_after_a_large_frame() {
        let big = Frame::Records(vec![Record::new("a", Level::INFO, "x".repeat(1 << 20))]);
        let mut bytes = Vec::new();
        encode_frame(&big, &mut bytes).unwrap();
        let half = bytes.len() / 2;
        encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
        let mut reader = FrameReader::new(Stalled(bytes[..half].to_vec(), 0));
        assert!(reader.next_frame_bytes().unwrap_err().is_timeout());
        // At most twice what arrived, not the 1 MiB announced.
        assert!(reader.buf.len() <= 2 * half && reader.buf.len() >= half);
        reader.inner.0.extend_from_slice(&bytes[half..]);
        assert_eq!(reader.next_frame().unwrap(), Some(big));
        assert_eq!(reader.next_frame().unwrap(), Some(Frame::Sync { seq: 1 }));
        assert!(reader.next_frame_bytes().unwrap_err().is_timeout());
        assert!(
            reader.buf.capacity() <= READ_BUFFER,
            "{}",
            reader.buf.capacity()
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let bytes = [5u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff];
        let err = FrameReader::new(&bytes[..]).next_frame().unwrap_err();
        assert!(matches!(err, WireError::Malformed { offset: 0, .. }));
    }
}
