//! Writing a [`Record`] as Python's `SocketHandler.makePickle` does: the length prefix, then
//! `pickle.dumps(d, 1)` of the attribute dict, byte for byte what CPython's pickler writes
//! (its memo numbering, `SETITEMS` batches of 1000, protocol 1's integer and boolean forms).

use super::opcodes::{
    BINFLOAT, BINGET, BININT, BININT1, BININT2, BINPUT, BINUNICODE, EMPTY_DICT, LONG, LONG_BINGET,
    LONG_BINPUT, MARK, NONE, SETITEMS, STOP,
};
use super::PREFIX_LEN;
use crate::record::{Record, Value};

/// `pickle.py`'s `_BATCHSIZE`: items per `SETITEMS`.
const BATCH: usize = 1000;
/// The attributes of a 3.13 `LogRecord`, before the extra fields.
const ATTRIBUTES: usize = 21;

/// Appends `record` to `out` as Python's `SocketHandler` sends it: a 4-byte big-endian length,
/// then the protocol 1 pickle of the dict `makePickle` builds for a `LogRecord` with the same
/// attributes, in `LogRecord.__init__`'s order (CPython 3.13, `taskName` included), extra
/// fields after them in their order:
///
/// `name`, `msg` (the message), `args` (`None`), `levelname`, `levelno`, `pathname`,
/// `filename`, `module`, `exc_info` (`None`), `exc_text`, `stack_info`, `lineno`,
/// `funcName`, `created`, `msecs`, `relativeCreated`, `thread`, `threadName`,
/// `processName`, `process`, `taskName`.
///
/// `msecs` is computed as 3.13 computes it (0 when `created` rounds up to the next second),
/// so Python's `formatTime` prints the right second.
///
/// ```
/// use mplog::compat::pickle::{decode_value, encode_record, Limits, PREFIX_LEN};
/// let record = mplog::Record::new("app", mplog::Level::ERROR, "disk full");
/// let mut frame = Vec::new();
/// encode_record(&record, &mut frame);
/// let len = u32::from_be_bytes(frame[..PREFIX_LEN].try_into().unwrap()) as usize;
/// assert_eq!(len, frame.len() - PREFIX_LEN);
/// let dict = decode_value(&frame[PREFIX_LEN..], &Limits::default()).unwrap().repr();
/// assert!(dict.starts_with("{'name': 'app', 'msg': 'disk full', 'args': None, 'levelname': 'ERROR', 'levelno': 40,"));
/// ```
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; PREFIX_LEN]);
    let mut p = Pickler {
        out,
        memo: 0,
        singletons: [NOT_SEEN; 257],
    };
    p.out.push(EMPTY_DICT);
    p.memoize();
    // `batch_dict_exact` in CPython's _pickle.c: MARK, up to 1000 items, SETITEMS, repeated
    // while a batch came out full (so a multiple of 1000 ends with an empty batch). A record
    // dict always has more than one item, which the C pickler would write with SETITEM.
    let items = ATTRIBUTES + record.extra.len();
    let mut written = 0;
    let mut item = |p: &mut Pickler<'_>, key: &str, value: Scalar<'_>| {
        if written % BATCH == 0 {
            p.out.push(MARK);
        }
        p.str(key);
        p.scalar(value);
        written += 1;
        if written % BATCH == 0 || written == items {
            p.out.push(SETITEMS);
        }
        if written == items && items.is_multiple_of(BATCH) {
            p.out.extend_from_slice(&[MARK, SETITEMS]);
        }
    };
    item(&mut p, "name", Scalar::Str(&record.name));
    item(&mut p, "msg", Scalar::Str(&record.message));
    item(&mut p, "args", Scalar::None);
    item(&mut p, "levelname", Scalar::Str(&record.level_name));
    item(
        &mut p,
        "levelno",
        Scalar::Int(i128::from(record.level.as_u32())),
    );
    item(&mut p, "pathname", Scalar::Str(&record.pathname));
    item(&mut p, "filename", Scalar::Str(record.filename()));
    item(&mut p, "module", Scalar::Str(record.module()));
    item(&mut p, "exc_info", Scalar::None);
    item(&mut p, "exc_text", opt(record.exc_text.as_deref()));
    item(&mut p, "stack_info", opt(record.stack_info.as_deref()));
    item(&mut p, "lineno", Scalar::Int(i128::from(record.lineno)));
    item(&mut p, "funcName", Scalar::Str(&record.func_name));
    item(&mut p, "created", Scalar::Float(record.created()));
    item(&mut p, "msecs", Scalar::Float(python_msecs(record)));
    item(
        &mut p,
        "relativeCreated",
        Scalar::Float(record.relative_created()),
    );
    item(&mut p, "thread", Scalar::Int(i128::from(record.thread)));
    item(&mut p, "threadName", Scalar::Str(&record.thread_name));
    item(&mut p, "processName", Scalar::Str(&record.process_name));
    item(&mut p, "process", Scalar::Int(i128::from(record.process)));
    item(&mut p, "taskName", opt(record.task_name.as_deref()));
    for (key, value) in &record.extra {
        let value = match value {
            Value::Str(s) => Scalar::Str(s),
            Value::Int(i) => Scalar::Int(i128::from(*i)),
            Value::Float(f) => Scalar::Float(*f),
            Value::Bool(b) => Scalar::Bool(*b),
            Value::None => Scalar::None,
        };
        item(&mut p, key, value);
    }
    p.out.push(STOP);
    // A pickle longer than 4 GiB cannot be framed; Python's struct.pack would raise. Records
    // that large are refused long before (the listener's frame limit is far below).
    let len = u32::try_from(out.len() - start - PREFIX_LEN).unwrap_or(u32::MAX);
    out[start..start + PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
}

/// `msecs` as CPython 3.13's `LogRecord.__init__` computes it from the nanosecond time.
fn python_msecs(record: &Record) -> f64 {
    if let Some(py) = &record.python {
        return py.msecs;
    }
    let ns = record.created_ns;
    let msecs = ns.rem_euclid(1_000_000_000) / 1_000_000;
    // `int(self.created) != ct // 1_000_000_000`: the float rounded up to the next second.
    if msecs == 999 && (record.created().trunc() as i64) != ns.div_euclid(1_000_000_000) {
        0.0
    } else {
        msecs as f64
    }
}

fn opt(s: Option<&str>) -> Scalar<'_> {
    s.map_or(Scalar::None, Scalar::Str)
}

enum Scalar<'a> {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'a str),
}

const NOT_SEEN: u32 = u32::MAX;

/// Protocol 1 writer for the scalars of a record dict.
struct Pickler<'a> {
    out: &'a mut Vec<u8>,
    /// Next memo index (the pickler memoizes the dict and every string).
    memo: u32,
    /// Memo index of `""` (slot 0) and of each one-character string below U+0100 (slot
    /// 1 + code): CPython keeps one object for each, so its pickler writes them once and then
    /// `BINGET`s them (a record whose `pathname` is empty has an empty `filename` and
    /// `module` too: the same object).
    singletons: [u32; 257],
}

impl Pickler<'_> {
    fn memoize(&mut self) {
        match u8::try_from(self.memo) {
            Ok(i) => self.out.extend_from_slice(&[BINPUT, i]),
            Err(_) => {
                self.out.push(LONG_BINPUT);
                self.out.extend_from_slice(&self.memo.to_le_bytes());
            }
        }
        self.memo += 1;
    }

    fn str(&mut self, s: &str) {
        let mut chars = s.chars();
        let slot = match (chars.next(), chars.next()) {
            (None, _) => Some(0),
            (Some(c), None) if u32::from(c) < 0x100 => Some(1 + c as usize),
            _ => None,
        };
        if let Some(slot) = slot {
            match self.singletons[slot] {
                NOT_SEEN => self.singletons[slot] = self.memo,
                seen => return self.get(seen),
            }
        }
        self.out.push(BINUNICODE);
        // Strings past 4 GiB cannot be written at protocol 1 (Python raises); cut, never
        // wrap the length.
        let bytes = &s.as_bytes()[..s.len().min(u32::MAX as usize)];
        self.out
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.out.extend_from_slice(bytes);
        self.memoize();
    }

    fn get(&mut self, index: u32) {
        match u8::try_from(index) {
            Ok(i) => self.out.extend_from_slice(&[BINGET, i]),
            Err(_) => {
                self.out.push(LONG_BINGET);
                self.out.extend_from_slice(&index.to_le_bytes());
            }
        }
    }

    fn scalar(&mut self, v: Scalar<'_>) {
        match v {
            Scalar::None => self.out.push(NONE),
            // Protocol 1 has no NEWTRUE/NEWFALSE: `save_bool` writes INT "01"/"00".
            Scalar::Bool(b) => self
                .out
                .extend_from_slice(if b { b"I01\n" } else { b"I00\n" }),
            Scalar::Int(i) => self.int(i),
            Scalar::Float(f) => {
                self.out.push(BINFLOAT);
                self.out.extend_from_slice(&f.to_be_bytes());
            }
            Scalar::Str(s) => self.str(s),
        }
    }

    /// `save_long` at protocol 1: BININT1/BININT2/BININT when they fit, else text `LONG`.
    fn int(&mut self, i: i128) {
        if (0..=0xff).contains(&i) {
            self.out.extend_from_slice(&[BININT1, i as u8]);
        } else if (0..=0xffff).contains(&i) {
            self.out.push(BININT2);
            self.out.extend_from_slice(&(i as u16).to_le_bytes());
        } else if let Ok(v) = i32::try_from(i) {
            self.out.push(BININT);
            self.out.extend_from_slice(&v.to_le_bytes());
        } else {
            self.out.push(LONG);
            self.out.extend_from_slice(i.to_string().as_bytes());
            self.out.extend_from_slice(b"L\n");
        }
    }
}
