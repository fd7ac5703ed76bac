//! Encoding records for the wire, by hand, byte for byte what postcard writes.
//!
//! postcard through serde spent about 1,100 instructions on one ~120-byte record (measured
//! with callgrind under `mplog bench`): every field goes through the serializer's generic
//! machinery and the output grows a byte at a time. A record is a fixed shape, so this writes
//! it directly: one `reserve`, then varints and string bytes. The format is postcard's (the
//! listener decodes it with serde, [`decode`](super::decode)); the tests below compare the
//! two encoders on every field and kind of value.
//!
//! postcard's rules used here: unsigned integers are LEB128 varints, signed ones zig-zag
//! first, `f64` is 8 little-endian bytes, `bool` one byte, a string is its length (varint)
//! then its bytes, `Option` a 0 or a 1 then the value, a sequence its length then the items,
//! an enum variant its index (varint) then its payload, a struct its fields in order.

use crate::record::{Record, Value};

/// Appends `record`, encoded as postcard encodes it, to `out`. With `prepared`, the record as
/// [`QueueHandler::prepare`](super::QueueHandler::prepare) makes it: that text as the message,
/// no exception text and no stack (they are in the text).
pub(crate) fn encode_record(record: &Record, prepared: Option<&str>, out: &mut Vec<u8>) {
    let message = prepared.unwrap_or(&record.message);
    let (exc_text, stack_info) = match prepared {
        Some(_) => (None, None),
        None => (record.exc_text.as_deref(), record.stack_info.as_deref()),
    };
    let task_name = record.task_name.as_deref();
    let strings = [
        &*record.name,
        &*record.level_name,
        message,
        &*record.pathname,
        &*record.module_path,
        &*record.func_name,
        &*record.thread_name,
        &*record.process_name,
        task_name.unwrap_or(""),
        exc_text.unwrap_or(""),
        stack_info.unwrap_or(""),
    ];
    // The most the fixed part can take: six integers and eleven string lengths of at most
    // 10 bytes each, three option tags, the extra count. Written into a slice sized once, so
    // no write checks for room.
    let most = 6 * 10 + 11 * 10 + 3 + 10 + strings.iter().map(|s| s.len()).sum::<usize>();
    let start = out.len();
    out.resize(start + most, 0);
    let mut w = Writer {
        buf: &mut out[start..],
        pos: 0,
    };
    w.str(&record.name);
    w.varint(u64::from(record.level.as_u32()));
    w.str(&record.level_name);
    w.str(message);
    w.str(&record.pathname);
    w.varint(u64::from(record.lineno));
    w.str(&record.module_path);
    w.str(&record.func_name);
    w.signed(record.created_ns);
    w.signed(record.relative_created_ns);
    w.varint(record.thread);
    w.str(&record.thread_name);
    w.varint(u64::from(record.process));
    w.str(&record.process_name);
    w.option_str(task_name);
    w.option_str(exc_text);
    w.option_str(stack_info);
    w.varint(record.extra.len() as u64);
    let end = start + w.pos;
    out.truncate(end);
    for (key, value) in &record.extra {
        put_str(out, key);
        match value {
            Value::Str(s) => {
                out.push(0);
                put_str(out, s);
            }
            Value::Int(i) => {
                out.push(1);
                put_signed(out, *i);
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

/// At least as many bytes as [`encode_record`] writes for `record` (and `prepared`), in
/// O(fields): the string lengths plus the most every integer, length and tag can take. A
/// handler compares it with its record limit and encodes only when it is over (rare).
pub(crate) fn encoded_len_bound(record: &Record, prepared: Option<&str>) -> usize {
    let message = prepared.unwrap_or(&record.message);
    let (exc_text, stack_info) = match prepared {
        Some(_) => (None, None),
        None => (record.exc_text.as_deref(), record.stack_info.as_deref()),
    };
    let strings = [
        record.name.len(),
        record.level_name.len(),
        message.len(),
        record.pathname.len(),
        record.module_path.len(),
        record.func_name.len(),
        record.thread_name.len(),
        record.process_name.len(),
        record.task_name.as_deref().map_or(0, str::len),
        exc_text.map_or(0, str::len),
        stack_info.map_or(0, str::len),
    ];
    let extra: usize = record
        .extra
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::Str(s) => 10 + s.len(),
                Value::Int(_) => 10,
                Value::Float(_) => 8,
                Value::Bool(_) => 1,
                Value::None => 0,
            };
            10 + key.len() + 1 + value
        })
        .sum();
    6 * 10 + 11 * 10 + 3 + 10 + strings.iter().sum::<usize>() + extra
}

/// Writes into a slice known to be large enough (see [`encode_record`]).
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    #[inline]
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf[self.pos] = (v as u8) | 0x80;
            self.pos += 1;
            v >>= 7;
        }
        self.buf[self.pos] = v as u8;
        self.pos += 1;
    }

    #[inline]
    fn signed(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    #[inline]
    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.buf[self.pos..self.pos + s.len()].copy_from_slice(s.as_bytes());
        self.pos += s.len();
    }

    #[inline]
    fn option_str(&mut self, s: Option<&str>) {
        match s {
            None => {
                self.buf[self.pos] = 0;
                self.pos += 1;
            }
            Some(s) => {
                self.buf[self.pos] = 1;
                self.pos += 1;
                self.str(s);
            }
        }
    }
}

/// postcard's varint (LEB128).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::level::Level;

    fn encoded(r: &Record, prepared: Option<&str>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(r, prepared, &mut out);
        out
    }

    proptest! {
        #[test]
        fn writes_what_postcard_writes(
            name in ".{0,20}",
            level in 0u32..1000,
            message in ".{0,300}",
            lineno in any::<u32>(),
            created_ns in any::<i64>(),
            relative_ns in any::<i64>(),
            thread in any::<u64>(),
            process in any::<u32>(),
            task in proptest::option::of(".{0,8}"),
            exc in proptest::option::of(".{0,40}"),
            stack in proptest::option::of(".{0,40}"),
            int in any::<i64>(),
            float in any::<f64>(),
            flag in any::<bool>(),
            text in ".{0,10}",
        ) {
            let mut r = Record::new(&name, Level::new(level), message);
            r.lineno = lineno;
            r.created_ns = created_ns;
            r.relative_created_ns = relative_ns;
            r.thread = thread;
            r.process = process;
            r.task_name = task.map(|t| Arc::from(t.as_str()));
            r.exc_text = exc;
            r.stack_info = stack;
            r.pathname = Cow::Owned(format!("src/{name}.rs"));
            r.extra = vec![
                (Cow::Borrowed("s"), Value::Str(text)),
                (Cow::Borrowed("i"), Value::Int(int)),
                (Cow::Borrowed("f"), Value::Float(float)),
                (Cow::Borrowed("b"), Value::Bool(flag)),
                (Cow::Borrowed("n"), Value::None),
            ];
            prop_assert_eq!(encoded(&r, None), postcard::to_allocvec(&r).unwrap());
            prop_assert!(encoded(&r, None).len() <= encoded_len_bound(&r, None));
            prop_assert!(
                encoded(&r, Some("prepared text")).len()
                    <= encoded_len_bound(&r, Some("prepared text"))
            );
            let mut prepared = r.clone();
            prepared.message = Cow::Borrowed("prepared text");
            prepared.exc_text = None;
            prepared.stack_info = None;
            prop_assert_eq!(
                encoded(&r, Some("prepared text")),
                postcard::to_allocvec(&prepared).unwrap()
            );
        }
    }

    #[test]
    fn varints_at_their_edges() {
        for v in [
            0u64,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, postcard::to_allocvec(&v).unwrap(), "{v}");
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            put_signed(&mut out, v);
            assert_eq!(out, postcard::to_allocvec(&v).unwrap(), "{v}");
        }
    }
}
