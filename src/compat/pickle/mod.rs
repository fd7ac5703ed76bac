//! Python's pickled log records: what `logging.handlers.SocketHandler` and `DatagramHandler`
//! send, read safely and written exactly.
//!
//! # The wire
//! Python's `SocketHandler.makePickle` sends a 4-byte big-endian length, then
//! `pickle.dumps(d, 1)` of the record's attribute dict `d` (message merged into `msg`, `args`
//! and `exc_info` set to `None`, `exc_text` filled, `message` removed, extra fields included).
//! `DatagramHandler` sends the same bytes, prefix included, as one datagram.
//! [`encode_record`] writes that, byte for byte what CPython 3.13 writes for a record with the
//! same attributes, so Python's own receivers (the logging cookbook's
//! `LogRecordStreamHandler`, anything that calls `pickle.loads`) take mplog's records unchanged.
//!
//! # Reading a pickle is running a program; this runs only the data part
//! In Python, `pickle.loads` can import and call anything, so an open pickle port is remote
//! code execution. [`decode_value`] and [`decode_record`] run the data opcodes only: `None`,
//! booleans, integers, floats, strings, bytes, tuples, lists, dicts, sets, the memo. Any
//! opcode that imports, calls or reaches outside the pickle (`GLOBAL`, `STACK_GLOBAL`,
//! `REDUCE`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`, `BUILD`, `EXT1/2/4`, `PERSID`,
//! `BINPERSID`, out-of-band buffers) refuses the whole frame ([`PickleError::Code`]), so a
//! record cannot even name a function. The consequence for Python senders: an extra field
//! whose value Python pickles with `GLOBAL` at protocol 1 (bytes, a set, a `datetime`, any
//! object) makes that record refused, with the reason.
//!
//! Everything a frame can make the decoder do is bounded by [`Limits`], checked before the
//! allocation it guards: the frame's length (a 4 GiB length prefix costs nothing:
//! [`frame_len`]), every string and bytes length against what is left of the frame, the
//! nesting depth (no recursion anywhere: the machine and the copy out of it are loops), and
//! the bytes the decoded value may take, counting each copy a memo reference makes (a few
//! hundred bytes of `BINGET`s cannot expand into gigabytes).
//!
//! # From the dict to a [`Record`]
//! [`record_from_dict`] keeps what Python sent: `name`, `msg`, `levelno`, `levelname`,
//! `pathname`, `filename`, `module`, `lineno`, `funcName`, `created`, `msecs`,
//! `relativeCreated`, `thread`, `threadName`, `process`, `processName`, `taskName`,
//! `exc_text`, `stack_info`, and every other key as an extra field in the dict's order. The
//! times, `filename` and `module` are kept exactly as Python computed them
//! ([`PythonAttrs`](crate::record::PythonAttrs)), so `%(asctime)s`, `%(msecs)03d` and
//! `%(relativeCreated)d` print what Python prints. Extra values that are not a `str`, `int`,
//! `float`, `bool` or `None` (a list, a dict, an int beyond 64 bits) become their Python
//! `str()` text, which is what `%(field)s` prints for them.

mod arena;
mod decode;
mod encode;
mod opcodes;
mod record;
mod scalars;
mod value;

use std::io::{self, Read};

pub use self::encode::encode_record;
pub use self::record::record_from_dict;
pub use self::value::PyValue;
use crate::record::Record;

/// Length of the big-endian length prefix in front of each pickle.
pub const PREFIX_LEN: usize = 4;
/// Longest pickle accepted by default (the same bound as mplog's own frames).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;
/// Deepest nesting of containers accepted by default (a record dict is 1; a list in an extra
/// field 2).
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// Most memory one decoded pickle may take by default, in bytes: every value, string, list
/// slot and memo entry, while the pickle runs and in the result together.
pub const DEFAULT_MAX_DECODED: usize = 64 * 1024 * 1024;

/// The bounds a pickle is decoded within.
///
/// ```
/// use mplog::compat::pickle::{decode_value, Limits, PickleError};
/// let limits = Limits { max_depth: 2, ..Limits::default() };
/// // [[[]]]: three lists deep (protocol 2: PROTO 2, EMPTY_LIST, EMPTY_LIST, EMPTY_LIST, APPEND, APPEND, STOP)
/// let nested = b"\x80\x02]]]aa.";
/// assert!(matches!(decode_value(nested, &limits), Err(PickleError::TooDeep { max: 2 })));
/// assert!(decode_value(nested, &Limits::default()).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest pickle, in bytes ([`DEFAULT_MAX_FRAME`]).
    pub max_frame: usize,
    /// Deepest nesting of containers ([`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
    /// Most bytes the decoding may take ([`DEFAULT_MAX_DECODED`]).
    pub max_decoded: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: DEFAULT_MAX_FRAME,
            max_depth: DEFAULT_MAX_DEPTH,
            max_decoded: DEFAULT_MAX_DECODED,
        }
    }
}

/// Why a pickle (or a frame, or a record dict) was refused. Offsets count from the first byte
/// of the pickle (after the length prefix).
///
/// ```
/// use mplog::compat::pickle::{decode_value, Limits, PickleError};
/// // What `pickle.dumps` makes of an object whose __reduce__ returns (os.system, ("id",)):
/// let evil = b"cposix\nsystem\n(Vid\ntR.";
/// let err = decode_value(evil, &Limits::default()).unwrap_err();
/// assert!(matches!(err, PickleError::Code { opcode: "GLOBAL", offset: 0 }));
/// assert_eq!(err.to_string(), "opcode GLOBAL at offset 0 imports or calls code: only data is accepted");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PickleError {
    /// The length prefix announces more than [`Limits::max_frame`].
    #[error("pickle of {len} bytes is longer than the limit of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A datagram whose length prefix does not match its size.
    #[error("datagram of {actual} bytes announces a pickle of {declared} bytes")]
    BadPrefix {
        /// Length from the prefix.
        declared: u64,
        /// Bytes after the prefix.
        actual: usize,
    },
    /// The pickle ends in the middle of an opcode.
    #[error("pickle truncated at offset {offset}")]
    Truncated {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// An opcode that imports, calls or reaches outside the pickle.
    #[error("opcode {opcode} at offset {offset} imports or calls code: only data is accepted")]
    Code {
        /// Where.
        offset: usize,
        /// The opcode's name in CPython's `pickle.py`.
        opcode: &'static str,
    },
    /// An opcode or protocol this decoder does not read.
    #[error("unsupported {what} at offset {offset}")]
    Unsupported {
        /// Where.
        offset: usize,
        /// What (`opcode 0xff`, `protocol 9`).
        what: String,
    },
    /// Containers nested deeper than [`Limits::max_depth`] (or a reference cycle).
    #[error("containers nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Decoding would take more than [`Limits::max_decoded`] bytes.
    #[error("decoded value would take more than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Bytes after the `STOP` opcode.
    #[error("{count} bytes after the end of the pickle at offset {offset}")]
    TrailingBytes {
        /// Where `STOP` ended.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
    /// The opcodes do not make sense (stack underflow, a missing memo entry, bad text...).
    #[error("malformed pickle at offset {offset}: {reason}")]
    Malformed {
        /// Where.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// A well-formed pickle that is not a log record's dict.
    #[error("not a log record: {0}")]
    NotARecord(String),
}

/// Decodes one pickle (without its length prefix) into a value, running its data opcodes
/// only, within `limits`.
///
/// ```
/// use mplog::compat::pickle::{decode_value, Limits, PyValue};
/// // pickle.dumps({'n': [1, 2.5]}, 1)
/// let bytes = b"}q\x00X\x01\x00\x00\x00nq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00es.";
/// let v = decode_value(bytes, &Limits::default()).unwrap();
/// assert_eq!(v.repr(), "{'n': [1, 2.5]}");
/// ```
pub fn decode_value(pickle: &[u8], limits: &Limits) -> Result<PyValue, PickleError> {
    decode::decode(pickle, limits)
}

/// Decodes one pickle (without its length prefix) of a log record's attribute dict into a
/// [`Record`] (see [`record_from_dict`]).
///
/// ```
/// use mplog::compat::pickle::{decode_record, encode_record, Limits, PREFIX_LEN};
/// let mut record = mplog::Record::new("app.db", mplog::Level::WARNING, "slow query");
/// record.extra.push(("ms".into(), 950.into()));
/// let mut frame = Vec::new();
/// encode_record(&record, &mut frame);
/// let back = decode_record(&frame[PREFIX_LEN..], &Limits::default()).unwrap();
/// assert_eq!((&*back.name, &*back.message, back.level), ("app.db", "slow query", mplog::Level::WARNING));
/// assert_eq!(back.get_extra("ms"), Some(&mplog::record::Value::Int(950)));
/// ```
pub fn decode_record(pickle: &[u8], limits: &Limits) -> Result<Record, PickleError> {
    decode::decode_record(pickle, limits)
}

/// Decodes one datagram as Python's `DatagramHandler` sends it: the length prefix (which must
/// match the rest of the datagram), then the record's pickle.
///
/// ```
/// use mplog::compat::pickle::{decode_datagram, encode_record, Limits, PickleError};
/// let mut datagram = Vec::new();
/// encode_record(&mplog::Record::new("udp", mplog::Level::INFO, "over UDP"), &mut datagram);
/// assert_eq!(&*decode_datagram(&datagram, &Limits::default()).unwrap().message, "over UDP");
/// datagram.pop();
/// assert!(matches!(decode_datagram(&datagram, &Limits::default()), Err(PickleError::BadPrefix { .. })));
/// ```
pub fn decode_datagram(datagram: &[u8], limits: &Limits) -> Result<Record, PickleError> {
    let Some((prefix, pickle)) = datagram.split_first_chunk::<PREFIX_LEN>() else {
        return Err(PickleError::Truncated { offset: 0 });
    };
    let declared = u64::from(u32::from_be_bytes(*prefix));
    if declared != pickle.len() as u64 {
        return Err(PickleError::BadPrefix {
            declared,
            actual: pickle.len(),
        });
    }
    decode_record(pickle, limits)
}

/// The pickle length a stream's 4-byte prefix announces, refused past [`Limits::max_frame`]
/// before anything is allocated for it.
///
/// ```
/// use mplog::compat::pickle::{frame_len, Limits, PickleError};
/// assert_eq!(frame_len([0, 0, 1, 0], &Limits::default()), Ok(256));
/// let four_gib = frame_len([0xff; 4], &Limits::default());
/// assert!(matches!(four_gib, Err(PickleError::FrameTooLarge { len: 4294967295, .. })));
/// ```
pub fn frame_len(prefix: [u8; PREFIX_LEN], limits: &Limits) -> Result<usize, PickleError> {
    let len = u32::from_be_bytes(prefix);
    match usize::try_from(len) {
        Ok(n) if n <= limits.max_frame => Ok(n),
        _ => Err(PickleError::FrameTooLarge {
            len: u64::from(len),
            max: limits.max_frame,
        }),
    }
}

/// What [`read_frame`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Reading the stream failed (or it ended in the middle of a frame).
    #[error("reading a pickle frame: {0}")]
    Io(#[from] io::Error),
    /// The frame was refused.
    #[error(transparent)]
    Pickle(#[from] PickleError),
}

/// Reads one length-prefixed pickle from a stream (as `SocketHandler` writes them) into `buf`
/// and returns it; `Ok(None)` at a clean end of stream between frames. The length is checked
/// before `buf` grows, `buf` grows with the bytes that actually arrive (a prefix announcing
/// 16 MiB followed by silence costs nothing), and it keeps its capacity for the next frame.
///
/// ```
/// use mplog::compat::pickle::{decode_record, encode_record, read_frame, Limits};
/// let mut stream = Vec::new();
/// encode_record(&mplog::Record::new("a", mplog::Level::INFO, "one"), &mut stream);
/// encode_record(&mplog::Record::new("a", mplog::Level::INFO, "two"), &mut stream);
/// let (mut reader, mut buf, limits) = (&stream[..], Vec::new(), Limits::default());
/// let mut messages = Vec::new();
/// while let Some(pickle) = read_frame(&mut reader, &mut buf, &limits).unwrap() {
///     messages.push(decode_record(pickle, &limits).unwrap().message.into_owned());
/// }
/// assert_eq!(messages, ["one", "two"]);
/// ```
pub fn read_frame<'b, R: Read>(
    reader: &mut R,
    buf: &'b mut Vec<u8>,
    limits: &Limits,
) -> Result<Option<&'b [u8]>, FrameError> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        match reader.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = frame_len(prefix, limits)?;
    buf.clear();
    let got = reader.by_ref().take(len as u64).read_to_end(buf)?;
    if got < len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(Some(buf))
}
