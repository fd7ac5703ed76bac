//! Postcard for [`Record`] by hand, both ways: the shm transport's hot paths.
//!
//! [`encode_record`] writes exactly the bytes `postcard::to_extend(record)` writes (the unit
//! tests compare them), in about a third of serde's instructions: the worker's log call does
//! it for every record.
//!
//! [`RecordDecoder`] shares what repeats.
//!
//! serde's derived decoder allocates every string of every record (name, level name, path,
//! module, function, thread and process names: eight allocations and as many frees, about
//! half of the listener's time in the benchmark). Records of one ring come from one thread
//! and mostly from few call sites, so this decoder keeps the last value of each field and
//! hands out a clone of the shared `Arc<str>` when the bytes are the same, and interns the
//! `Cow<'static, str>` fields (level name, path, module, function, extra keys) as leaked
//! `&'static str`, bounded by [`INTERN_BUDGET`] bytes per process (beyond it they are
//! allocated as before). Only the message (and exception text, stack, extra values) is
//! allocated per record.
//!
//! The input is untrusted: every length is checked against the bytes left before anything is
//! allocated, varints are bounded, text is validated as UTF-8 unless it equals a cached value.
//! The byte layout is postcard's for `Record` (field order of the struct), which the unit
//! tests check against `postcard::to_allocvec`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::level::Level;
use crate::record::{Record, Value};

/// Appends postcard's encoding of `record` to `out` (the same bytes as serde's).
pub(crate) fn encode_record(record: &Record, out: &mut Vec<u8>) {
    put_str(out, &record.name);
    put_varint(out, u64::from(record.level.as_u32()));
    put_str(out, &record.level_name);
    put_str(out, &record.message);
    put_str(out, &record.pathname);
    put_varint(out, u64::from(record.lineno));
    put_str(out, &record.module_path);
    put_str(out, &record.func_name);
    put_i64(out, record.created_ns);
    put_i64(out, record.relative_created_ns);
    put_varint(out, record.thread);
    put_str(out, &record.thread_name);
    put_varint(out, u64::from(record.process));
    put_str(out, &record.process_name);
    put_opt_str(out, record.task_name.as_deref());
    put_opt_str(out, record.exc_text.as_deref());
    put_opt_str(out, record.stack_info.as_deref());
    put_varint(out, record.extra.len() as u64);
    for (key, value) in &record.extra {
        put_str(out, key);
        match value {
            Value::Str(s) => {
                out.push(0);
                put_str(out, s);
            }
            Value::Int(i) => {
                out.push(1);
                put_i64(out, *i);
            }
            Value::Float(f) => {
                out.push(2);
                out.extend_from_slice(&f.to_le_bytes());
            }
            Value::Bool(b) => {
                out.push(3);
                out.push(u8::from(*b));
            }
            Value::None => out.push(4),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Bytes of text this process may intern (leak) for the `Cow<'static, str>` fields.
pub(crate) const INTERN_BUDGET: usize = 1 << 20;

static INTERNED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed record at byte {offset}: {reason}")]
pub(crate) struct DecodeError {
    offset: usize,
    reason: &'static str,
}

/// Decodes records, sharing repeated strings with the previous records.
#[derive(Default)]
pub(crate) struct RecordDecoder {
    name: Option<Arc<str>>,
    thread_name: Option<Arc<str>>,
    process_name: Option<Arc<str>>,
    task_name: Option<Arc<str>>,
    /// The last value of each interned field (level name, path, module, function, extra
    /// key): a byte comparison, not a hash, for the common case of a repeat.
    last: [Option<&'static str>; 5],
    interned: HashSet<&'static str>,
}

const LEVEL_NAME: usize = 0;
const PATHNAME: usize = 1;
const MODULE_PATH: usize = 2;
const FUNC_NAME: usize = 3;
const EXTRA_KEY: usize = 4;

struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn fail<T>(&self, reason: &'static str) -> Result<T, DecodeError> {
        Err(DecodeError {
            offset: self.at,
            reason,
        })
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        match self.bytes.get(self.at) {
            Some(b) => {
                self.at += 1;
                Ok(*b)
            }
            None => self.fail("ends early"),
        }
    }

    fn varint(&mut self, max_bytes: usize) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.fail("varint too long")
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint(5)?).or_else(|_| self.fail("u32 out of range"))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.varint(10)
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() - self.at {
            return self.fail("length past the end");
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    /// The bytes of a string (length-prefixed), not yet validated.
    fn str_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.u64()?).unwrap_or(usize::MAX);
        self.raw(len)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.at;
        let b = self.str_bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError {
            offset: at,
            reason: "text is not UTF-8",
        })
    }

    fn option(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.fail("bad option tag"),
        }
    }
}

impl RecordDecoder {
    /// Decodes one postcard-encoded [`Record`] (trailing bytes are ignored, as postcard does).
    pub(crate) fn decode(&mut self, bytes: &[u8]) -> Result<Record, DecodeError> {
        let mut i = Input { bytes, at: 0 };
        let name = shared(&mut self.name, &mut i)?;
        let level = Level::new(i.u32()?);
        let level_name = self.intern(LEVEL_NAME, &mut i)?;
        let message = Cow::Owned(i.str()?.to_owned());
        let pathname = self.intern(PATHNAME, &mut i)?;
        let lineno = i.u32()?;
        let module_path = self.intern(MODULE_PATH, &mut i)?;
        let func_name = self.intern(FUNC_NAME, &mut i)?;
        let created_ns = i.i64()?;
        let relative_created_ns = i.i64()?;
        let thread = i.u64()?;
        let thread_name = shared(&mut self.thread_name, &mut i)?;
        let process = i.u32()?;
        let process_name = shared(&mut self.process_name, &mut i)?;
        let task_name = if i.option()? {
            Some(shared(&mut self.task_name, &mut i)?)
        } else {
            None
        };
        let exc_text = if i.option()? {
            Some(i.str()?.to_owned())
        } else {
            None
        };
        let stack_info = if i.option()? {
            Some(i.str()?.to_owned())
        } else {
            None
        };
        let n = usize::try_from(i.u64()?).unwrap_or(usize::MAX);
        // Each field takes at least two bytes: no allocation beyond what the input can hold.
        if n > (bytes.len() - i.at) / 2 {
            return i.fail("more extra fields than bytes");
        }
        let mut extra = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.intern(EXTRA_KEY, &mut i)?;
            let value = match i.u32()? {
                0 => Value::Str(i.str()?.to_owned()),
                1 => Value::Int(i.i64()?),
                2 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(i.raw(8)?);
                    Value::Float(f64::from_le_bytes(b))
                }
                3 => match i.byte()? {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    _ => return i.fail("bad bool"),
                },
                4 => Value::None,
                _ => return i.fail("unknown value variant"),
            };
            extra.push((key, value));
        }
        Ok(Record {
            name,
            level,
            level_name,
            message,
            pathname,
            lineno,
            module_path,
            func_name,
            created_ns,
            relative_created_ns,
            thread,
            thread_name,
            process,
            process_name,
            task_name,
            exc_text,
            stack_info,
            extra,
        })
    }

    /// A `Cow<'static, str>` field: interned while the budget lasts.
    fn intern(
        &mut self,
        field: usize,
        i: &mut Input<'_>,
    ) -> Result<Cow<'static, str>, DecodeError> {
        let at = i.at;
        let b = i.str_bytes()?;
        if let Some(last) = self.last[field] {
            if last.as_bytes() == b {
                return Ok(Cow::Borrowed(last));
            }
        }
        let s = std::str::from_utf8(b).map_err(|_| DecodeError {
            offset: at,
            reason: "text is not UTF-8",
        })?;
        if let Some(known) = self.interned.get(s) {
            self.last[field] = Some(known);
            return Ok(Cow::Borrowed(known));
        }
        let budget = INTERNED_BYTES.fetch_add(s.len(), Ordering::Relaxed);
        if budget + s.len() > INTERN_BUDGET {
            INTERNED_BYTES.fetch_sub(s.len(), Ordering::Relaxed);
            return Ok(Cow::Owned(s.to_owned()));
        }
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        self.interned.insert(leaked);
        self.last[field] = Some(leaked);
        Ok(Cow::Borrowed(leaked))
    }
}

/// An `Arc<str>` field: the cached one when the bytes are the same.
fn shared(cache: &mut Option<Arc<str>>, i: &mut Input<'_>) -> Result<Arc<str>, DecodeError> {
    let at = i.at;
    let b = i.str_bytes()?;
    if let Some(c) = cache {
        if c.as_bytes() == b {
            return Ok(c.clone());
        }
    }
    let s = std::str::from_utf8(b).map_err(|_| DecodeError {
        offset: at,
        reason: "text is not UTF-8",
    })?;
    let arc: Arc<str> = Arc::from(s);
    *cache = Some(arc.clone());
    Ok(arc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Record {
        let mut r = Record::new("app.db.pool", Level::INFO, "request 7 served in 42 us")
            .with_extra("host", "db1")
            .unwrap()
            .with_extra("n", 3)
            .unwrap()
            .with_extra("f", 2.5)
            .unwrap()
            .with_extra("ok", true)
            .unwrap()
            .with_extra("none", Value::None)
            .unwrap();
        r.exc_text = Some("Error: boom".into());
        r.task_name = Some(Arc::from("task-1"));
        r
    }

    fn encoded(r: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(r, &mut out);
        out
    }

    #[test]
    fn encodes_what_postcard_encodes() {
        let r = sample();
        assert_eq!(encoded(&r), postcard::to_allocvec(&r).unwrap());
    }

    #[test]
    fn decodes_what_postcard_encodes_and_shares_repeats() {
        let mut d = RecordDecoder::default();
        let r = sample();
        let bytes = postcard::to_allocvec(&r).unwrap();
        let a = d.decode(&bytes).unwrap();
        let b = d.decode(&bytes).unwrap();
        assert_eq!(a, r);
        assert_eq!(b, r);
        assert!(Arc::ptr_eq(&a.name, &b.name));
        assert!(matches!(b.pathname, Cow::Borrowed(_)));
    }

    #[test]
    fn truncated_or_garbage_input_is_an_error() {
        let mut d = RecordDecoder::default();
        let bytes = postcard::to_allocvec(&sample()).unwrap();
        for cut in 0..bytes.len() {
            assert!(d.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(d.decode(&[0xff; 64]).is_err());
    }

    proptest! {
        #[test]
        fn any_record_round_trips(
            name in ".{0,20}", message in ".{0,80}", line in any::<u32>(),
            created in any::<i64>(), thread in any::<u64>(), key in "[a-z]{1,8}",
            int in any::<i64>(), text in proptest::option::of(".{0,20}"),
        ) {
            let mut r = Record::new(&name, Level::new(line % 60), message);
            r.lineno = line;
            r.created_ns = created;
            r.relative_created_ns = -created / 2;
            r.thread = thread;
            r.stack_info = text.clone();
            r.extra.push((Cow::Owned(key), Value::Int(int)));
            let bytes = postcard::to_allocvec(&r).unwrap();
            prop_assert_eq!(&encoded(&r), &bytes);
            let mut d = RecordDecoder::default();
            prop_assert_eq!(d.decode(&bytes).unwrap(), r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RecordDecoder::default().decode(&bytes);
        }
    }
}
