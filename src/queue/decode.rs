//! Decoding frames on the listener without an allocation per record.
//!
//! A record carries nine strings, and all but the message repeat from one record to the next
//! of the same worker: the logger name, level name, path, module, function, thread and process
//! names. Decoding each into a fresh `String` (serde's way) made the listener spend a third of
//! its time in `malloc` and `free`, and serde's generic machinery plus UTF-8 checks of every
//! string cost about 1,800 instructions a record (measured with `perf` and callgrind under
//! `mplog bench`). [`Decoder`] reads postcard's encoding by hand, straight into one reused
//! record, and shares what repeats:
//!
//! - a string equal, byte for byte, to the same field of the previous record is that value
//!   again: no UTF-8 check, no lookup, no copy;
//! - the `Arc<str>` fields (logger, thread and process names) come from a per-connection set,
//!   so a name seen before costs a reference count, not an allocation;
//! - the `Cow<'static, str>` fields (level name, path, module, function) come from one
//!   process-wide set of leaked strings. These are call-site constants of the workers'
//!   binaries, a small and fixed set in practice; the set is capped at [`STATIC_LIMIT`] bytes,
//!   so a peer sending endless distinct paths costs at most that, after which such strings are
//!   simply owned by their record;
//! - the message, exception text and stack are copied into the reused record's buffers.
//!
//! The checks are postcard's own, in its order (varint limits, UTF-8, option and bool tags,
//! enum variants, lengths against the bytes left), so a frame is accepted exactly when
//! `postcard::from_bytes::<Frame>` accepts it, and gives the same records; the tests hold the
//! two together, on valid frames and on damaged ones.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use super::wire::WireError;
use crate::level::Level;
use crate::record::{Record, Value};

/// Bytes of strings the process-wide set may leak before it stops growing.
pub const STATIC_LIMIT: usize = 1024 * 1024;
/// Distinct names a connection's set holds before it starts afresh.
pub const NAMES_LIMIT: usize = 4096;

/// The variant index of [`Frame::Records`] in postcard's encoding.
pub(crate) const RECORDS_VARIANT: u8 = 0;

/// Whether a frame body is a `Frame::Records` (decoded with [`Decoder::each_record`]; any
/// other frame is small and decoded whole with postcard).
pub(crate) fn is_records(body: &[u8]) -> bool {
    body.first() == Some(&RECORDS_VARIANT)
}

/// The process-wide set of leaked call-site strings, and the bytes it holds.
static STATICS: LazyLock<Mutex<(HashSet<&'static str>, usize)>> =
    LazyLock::new(|| Mutex::new((HashSet::new(), 0)));

/// One connection's decoder: decode every frame of that connection through it.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    names: HashSet<Arc<str>>,
    statics: HashSet<&'static str>,
    /// The record decoded into: it holds the previous record's strings to compare with, and
    /// buffers (message, exception text) that keep their capacity.
    scratch: Option<Record>,
}

impl Decoder {
    /// Decodes the records of one `Frame::Records` body (`offset`: where the frame starts in
    /// the stream, for errors) one at a time into a reused record, and hands each to `f`.
    /// Returns how many were handed over; on bad bytes, that count with the error (the
    /// records before the bad one were handed over).
    pub(crate) fn each_record(
        &mut self,
        bytes: &[u8],
        offset: u64,
        mut f: impl FnMut(&Record),
    ) -> Result<u64, (u64, WireError)> {
        let malformed = |n: u64, e: postcard::Error| {
            (
                n,
                WireError::Malformed {
                    offset,
                    reason: e.to_string(),
                },
            )
        };
        let mut c = Cursor { bytes, pos: 0 };
        if c.varint_u32().map_err(|e| malformed(0, e))? != u32::from(RECORDS_VARIANT) {
            return Err(malformed(0, postcard::Error::DeserializeBadEnum));
        }
        let count = c.varint_u64().map_err(|e| malformed(0, e))?;
        let mut record = self
            .scratch
            .take()
            .unwrap_or_else(|| Record::new("", Level::NOTSET, String::new()));
        let mut result = Ok(count);
        for n in 0..count {
            if let Err(e) = self.read_record(&mut c, &mut record) {
                result = Err(malformed(n, e));
                break;
            }
            f(&record);
        }
        self.scratch = Some(record);
        result
    }

    /// Reads one record into `out`, reusing its buffers; fields in `Record`'s order.
    fn read_record(&mut self, c: &mut Cursor<'_>, out: &mut Record) -> Result<(), postcard::Error> {
        self.set_name(&mut out.name, c.bytes()?)?;
        out.level = Level::new(c.varint_u32()?);
        self.set_static(&mut out.level_name, c.bytes()?)?;
        let message = c.str()?;
        match &mut out.message {
            Cow::Owned(m) => {
                m.clear();
                m.push_str(message);
            }
            m => *m = Cow::Owned(message.to_owned()),
        }
        self.set_static(&mut out.pathname, c.bytes()?)?;
        out.lineno = c.varint_u32()?;
        self.set_static(&mut out.module_path, c.bytes()?)?;
        self.set_static(&mut out.func_name, c.bytes()?)?;
        out.created_ns = c.signed()?;
        out.relative_created_ns = c.signed()?;
        out.thread = c.varint_u64()?;
        self.set_name(&mut out.thread_name, c.bytes()?)?;
        out.process = c.varint_u32()?;
        self.set_name(&mut out.process_name, c.bytes()?)?;
        match (c.option()?, &mut out.task_name) {
            (false, task) => *task = None,
            (true, Some(task)) => self.set_name(task, c.bytes()?)?,
            (true, task) => *task = Some(self.shared_name(utf8(c.bytes()?)?)),
        }
        let exc_text = c.option_str()?;
        reuse(&mut out.exc_text, exc_text);
        let stack_info = c.option_str()?;
        reuse(&mut out.stack_info, stack_info);
        out.extra.clear();
        for _ in 0..c.varint_u64()? {
            let key = self.interned(c.str()?);
            let value = match c.varint_u32()? {
                0 => Value::Str(c.str()?.to_owned()),
                1 => Value::Int(c.signed()?),
                2 => Value::Float(f64::from_le_bytes(c.array()?)),
                3 => Value::Bool(match c.byte()? {
                    0 => false,
                    1 => true,
                    _ => return Err(postcard::Error::DeserializeBadBool),
                }),
                4 => Value::None,
                _ => return Err(postcard::Error::DeserializeBadEnum),
            };
            out.extra.push((key, value));
        }
        Ok(())
    }

    /// `slot` becomes the name in `bytes`, unless it already is.
    fn set_name(&mut self, slot: &mut Arc<str>, bytes: &[u8]) -> Result<(), postcard::Error> {
        if slot.as_bytes() != bytes {
            *slot = self.shared_name(utf8(bytes)?);
        }
        Ok(())
    }

    /// `slot` becomes the call-site string in `bytes`, unless it already is.
    fn set_static(
        &mut self,
        slot: &mut Cow<'static, str>,
        bytes: &[u8],
    ) -> Result<(), postcard::Error> {
        if slot.as_bytes() != bytes {
            *slot = self.interned(utf8(bytes)?);
        }
        Ok(())
    }

    fn shared_name(&mut self, s: &str) -> Arc<str> {
        if let Some(name) = self.names.get(s) {
            return name.clone();
        }
        if self.names.len() >= NAMES_LIMIT {
            self.names.clear();
        }
        let name: Arc<str> = Arc::from(s);
        self.names.insert(name.clone());
        name
    }

    fn interned(&mut self, s: &str) -> Cow<'static, str> {
        if let Some(&known) = self.statics.get(s) {
            return Cow::Borrowed(known);
        }
        let mut global = STATICS.lock();
        let (set, bytes) = &mut *global;
        let known = match set.get(s) {
            Some(&known) => known,
            None if *bytes + s.len() <= STATIC_LIMIT => {
                let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
                set.insert(leaked);
                *bytes += s.len();
                leaked
            }
            None => return Cow::Owned(s.to_owned()),
        };
        drop(global);
        if self.statics.len() >= NAMES_LIMIT {
            self.statics.clear();
        }
        self.statics.insert(known);
        Cow::Borrowed(known)
    }
}

/// postcard's UTF-8 check of a string.
fn utf8(bytes: &[u8]) -> Result<&str, postcard::Error> {
    std::str::from_utf8(bytes).map_err(|_| postcard::Error::DeserializeBadUtf8)
}

/// Reads postcard's encoding, with postcard's checks.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, postcard::Error> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], postcard::Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], postcard::Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A LEB128 varint of at most `max_bytes`, whose last byte may be at most `max_last`
    /// (postcard's limits: 5 and 0x0f for `u32`, 10 and 0x01 for `u64`).
    #[inline]
    fn varint(&mut self, max_bytes: u32, max_last: u8) -> Result<u64, postcard::Error> {
        // Most varints (lengths, small numbers) are one byte.
        if let Some(&b) = self.bytes.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        let mut out = 0u64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if i == max_bytes - 1 && b > max_last {
                    return Err(postcard::Error::DeserializeBadVarint);
                }
                return Ok(out);
            }
        }
        Err(postcard::Error::DeserializeBadVarint)
    }

    fn varint_u32(&mut self) -> Result<u32, postcard::Error> {
        // Five bytes whose last is at most 0x0f hold at most 32 bits.
        self.varint(5, 0x0f).map(|v| v as u32)
    }

    fn varint_u64(&mut self) -> Result<u64, postcard::Error> {
        self.varint(10, 0x01)
    }

    fn signed(&mut self) -> Result<i64, postcard::Error> {
        let v = self.varint_u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A string's bytes, not yet checked for UTF-8.
    fn bytes(&mut self) -> Result<&'a [u8], postcard::Error> {
        let len = self.varint_u64()?;
        self.take(usize::try_from(len).map_err(|_| postcard::Error::DeserializeUnexpectedEnd)?)
    }

    fn str(&mut self) -> Result<&'a str, postcard::Error> {
        utf8(self.bytes()?)
    }

    fn option(&mut self) -> Result<bool, postcard::Error> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(postcard::Error::DeserializeBadOption),
        }
    }

    fn option_str(&mut self) -> Result<Option<&'a str>, postcard::Error> {
        Ok(match self.option()? {
            false => None,
            true => Some(self.str()?),
        })
    }
}

/// Sets `slot` to `text`, reusing the string already there.
fn reuse(slot: &mut Option<String>, text: Option<&str>) {
    match (slot.as_mut(), text) {
        (Some(s), Some(t)) => {
            s.clear();
            s.push_str(t);
        }
        (_, t) => *slot = t.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::queue::wire::{encode_frame, Frame, RecordBatch};

    fn full_record(i: u32) -> Record {
        let mut r = Record::new("app.db", Level::ERROR, format!("message {i}"));
        r.lineno = i;
        r.pathname = Cow::Owned(format!("src/file{}.rs", i % 3));
        r.task_name = Some(Arc::from("task-1"));
        r.exc_text = Some("boom: caused by: disk".into());
        r.stack_info = Some("stack".into());
        r.extra
            .push((Cow::Borrowed("host"), Value::Str("db1".into())));
        r.extra.push((Cow::Borrowed("n"), Value::Int(-3)));
        r.extra.push((Cow::Borrowed("f"), Value::Float(0.5)));
        r.extra.push((Cow::Borrowed("b"), Value::Bool(true)));
        r.extra.push((Cow::Borrowed("none"), Value::None));
        r
    }

    fn decode_all(decoder: &mut Decoder, body: &[u8]) -> Result<Vec<Record>, (u64, WireError)> {
        let mut out = Vec::new();
        decoder.each_record(body, 0, |r| out.push(r.clone()))?;
        Ok(out)
    }

    #[test]
    fn decodes_exactly_what_postcard_decodes() {
        let mut batch = RecordBatch::default();
        // Full records, a bare one (no task, exception, extra) after them, and a full one
        // again: every field is overwritten or cleared in the reused record.
        let records: Vec<Record> = (0..5)
            .map(full_record)
            .chain([Record::new("", Level::INFO, ""), full_record(9)])
            .collect();
        for r in &records {
            batch.push(r);
        }
        let mut framed = Vec::new();
        batch.seal_into(&mut framed);
        let body = &framed[4..];
        let expected: Frame = postcard::from_bytes(body).unwrap();
        assert_eq!(expected, Frame::Records(records.clone()));
        let mut decoder = Decoder::default();
        assert_eq!(decode_all(&mut decoder, body).unwrap(), records);
        // Names are shared between records of a connection, call-site strings are static.
        let got = decode_all(&mut decoder, body).unwrap();
        assert_eq!(got, records);
        assert!(Arc::ptr_eq(&got[0].name, &got[1].name));
        assert!(matches!(got[0].pathname, Cow::Borrowed(_)));
    }

    #[test]
    fn bad_bytes_are_errors_after_the_good_records() {
        let mut decoder = Decoder::default();
        let mut framed = Vec::new();
        encode_frame(
            &Frame::Goodbye {
                sent: 3,
                dropped: 1,
            },
            &mut framed,
        )
        .unwrap();
        assert!(decode_all(&mut decoder, &framed[4..]).is_err());
        // A huge count with no bytes behind it: an error, not an allocation.
        let lie = [RECORDS_VARIANT, 0xff, 0xff, 0xff, 0xff, 0x0f];
        let (n, err) = decoder.each_record(&lie, 40, |_| {}).unwrap_err();
        assert_eq!(n, 0);
        assert!(
            matches!(err, WireError::Malformed { offset: 40, .. }),
            "{err}"
        );
        // Two records, the second cut short: the first is handed over.
        let mut batch = RecordBatch::default();
        batch.push(&full_record(1));
        batch.push(&full_record(2));
        let mut framed = Vec::new();
        batch.seal_into(&mut framed);
        let cut = &framed[4..framed.len() - 3];
        let mut seen = Vec::new();
        let (n, _) = decoder
            .each_record(cut, 0, |r| seen.push(r.lineno))
            .unwrap_err();
        assert_eq!((n, seen), (1, vec![1]));
    }

    fn frame_body(records: &[Record]) -> Vec<u8> {
        let mut batch = RecordBatch::default();
        for r in records {
            batch.push(r);
        }
        let mut framed = Vec::new();
        batch.seal_into(&mut framed);
        framed.split_off(4)
    }

    proptest! {
        /// A damaged frame (a byte changed, or cut short) is refused exactly when postcard
        /// refuses it, and otherwise gives postcard's records.
        #[test]
        fn damaged_frames_are_judged_as_postcard_judges_them(
            at in 1usize..2000,
            value in any::<u8>(),
            cut in any::<bool>(),
        ) {
            let records: Vec<Record> = (0..3).map(full_record).collect();
            let mut body = frame_body(&records);
            let at = at % body.len().max(2);
            if cut {
                body.truncate(at.max(1));
            } else {
                body[at.max(1)] = value;
            }
            let theirs: Result<Frame, _> = postcard::from_bytes(&body);
            let ours = decode_all(&mut Decoder::default(), &body);
            match (theirs, ours) {
                (Ok(Frame::Records(theirs)), Ok(ours)) => prop_assert_eq!(theirs, ours),
                (Err(_), Err(_)) => {}
                (theirs, ours) => prop_assert!(
                    false,
                    "postcard {:?}, ours {:?}",
                    theirs.map(|_| ()),
                    ours.map(|_| ()).map_err(|e| e.1.to_string())
                ),
            }
        }
    }
}
