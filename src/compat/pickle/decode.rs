//! The data-only pickle machine: runs a pickle's opcodes on a stack of values (held in an
//! [`Arena`]), never importing or calling anything, within [`Limits`].
//!
//! Every length is checked against what is left of the input before anything is allocated for
//! it; every allocation is charged against [`Limits::max_decoded`] first; MARKs nest no deeper
//! than [`Limits::max_depth`].

use std::collections::HashMap;
use std::mem::size_of;

use super::arena::{Arena, Id, Node, MEMO_COST};
use super::opcodes::*;
use super::record::{record_from_pairs, Item};
use super::scalars::{
    int_from_le_bytes, int_from_text, parse_float, raw_unicode_escape, MAX_INT_DIGITS,
    MAX_LONG_BYTES,
};
use super::{Limits, PickleError, PyValue};
use crate::record::Record;

/// Decodes one pickle into a value.
pub(super) fn decode(input: &[u8], limits: &Limits) -> Result<PyValue, PickleError> {
    let mut m = Machine::new(input, limits)?;
    let root = m.run()?;
    m.arena.expand(root, input)
}

/// Decodes one pickle of a record's attribute dict straight into a [`Record`]: the dict's
/// items are copied out of the arena one by one and handed to the record, without building
/// the dict as a value first.
pub(super) fn decode_record(input: &[u8], limits: &Limits) -> Result<Record, PickleError> {
    let mut m = Machine::new(input, limits)?;
    let root = m.run()?;
    let arena = &mut m.arena;
    match arena.dict_items(root)? {
        Some(items) => record_from_pairs(items.into_iter().map(|(k, v)| {
            let key = arena.key_text(k, input)?;
            let value = match arena.text_in_input(v, input) {
                Some(t) => Item::Text(t),
                None => Item::Value(arena.expand_item(root, v, input)?),
            };
            Ok((key, value))
        })),
        None => Err(PickleError::NotARecord(format!(
            "the pickle holds a {}, not a dict",
            arena.expand(root, input)?.type_name()
        ))),
    }
}

/// Most memo entries made room for before the pickle runs (a record's pickle memoizes each of
/// its strings: about one per 16 bytes).
const PRESIZE_MEMO: usize = 128;

/// The memo. Python writes keys 0, 1, 2... in order, so they index a vector; any other key (a
/// forger's) goes to a map. Entries are charged by the caller.
#[derive(Default)]
struct Memo {
    dense: Vec<Option<Id>>,
    sparse: HashMap<u32, Id>,
    /// Entries stored (MEMOIZE's next key).
    len: usize,
}

impl Memo {
    fn get(&self, key: u32) -> Option<Id> {
        match self.dense.get(key as usize) {
            Some(slot) => *slot,
            None => self.sparse.get(&key).copied(),
        }
    }

    fn put(&mut self, key: u32, id: Id) {
        let i = key as usize;
        if self.get(key).is_none() {
            self.len += 1;
        }
        if i < self.dense.len() {
            self.dense[i] = Some(id);
        } else if i == self.dense.len() && !self.sparse.contains_key(&key) {
            self.dense.push(Some(id));
        } else {
            self.sparse.insert(key, id);
        }
    }
}

impl<'a> Machine<'a> {
    /// A machine for `input`, refused at once past [`Limits::max_frame`].
    fn new(input: &'a [u8], limits: &'a Limits) -> Result<Machine<'a>, PickleError> {
        if input.len() > limits.max_frame {
            return Err(PickleError::FrameTooLarge {
                len: input.len() as u64,
                max: limits.max_frame,
            });
        }
        Ok(Machine {
            input,
            pos: 0,
            op_at: 0,
            arena: Arena::new(limits, input.len()),
            stack: Vec::with_capacity(16),
            marks: Vec::new(),
            memo: Memo {
                dense: Vec::with_capacity((input.len() / 16).min(PRESIZE_MEMO)),
                ..Memo::default()
            },
            limits,
        })
    }
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Offset of the opcode being run, for errors.
    op_at: usize,
    arena: Arena,
    stack: Vec<Id>,
    /// Stack lengths saved by MARK.
    marks: Vec<usize>,
    memo: Memo,
    limits: &'a Limits,
}

impl Machine<'_> {
    fn malformed(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.op_at,
            reason: reason.into(),
        }
    }

    fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.arena.charge(bytes)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or(PickleError::Truncated { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` input bytes; `n` is checked against what is left, so a forged length
    /// costs nothing.
    fn take(&mut self, n: u64) -> Result<&[u8], PickleError> {
        let left = (self.input.len() - self.pos) as u64;
        if n > left {
            return Err(PickleError::Truncated { offset: self.pos });
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.input[start..self.pos])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    /// A text argument up to its newline (newline excluded).
    fn line(&mut self) -> Result<&[u8], PickleError> {
        let rest = &self.input[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated {
                offset: self.input.len(),
            })?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn ascii_line(&mut self) -> Result<&str, PickleError> {
        let at = self.pos;
        let line = self.line()?;
        std::str::from_utf8(line)
            .ok()
            .filter(|s| s.is_ascii())
            .ok_or(PickleError::Malformed {
                offset: at,
                reason: "text argument is not ASCII".into(),
            })
    }

    fn len_prefixed(&mut self, len: u64) -> Result<&[u8], PickleError> {
        // Charged before the copy is made; `take` has bounded it by the input's length.
        if len > (self.input.len() - self.pos) as u64 {
            return Err(PickleError::Truncated { offset: self.pos });
        }
        self.charge(len as usize)?;
        self.take(len)
    }

    fn push(&mut self, node: Node) -> Result<(), PickleError> {
        let id = self.arena.add(node)?;
        self.stack.push(id);
        Ok(())
    }

    fn push_leaf(&mut self, value: PyValue) -> Result<(), PickleError> {
        self.push(Node::Leaf(value))
    }

    /// Pushes an integer; one beyond `i64` is charged for its digits first.
    fn push_text_int(&mut self, value: PyValue) -> Result<(), PickleError> {
        if let PyValue::BigInt(digits) = &value {
            self.charge(digits.len())?;
        }
        self.push_leaf(value)
    }

    fn pop(&mut self) -> Result<Id, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.malformed("stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.malformed("stack underflow"))
    }

    fn top(&self) -> Result<Id, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.malformed("stack underflow"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.malformed("stack underflow"))
    }

    /// The items pushed since the last MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let start = self
            .marks
            .pop()
            .ok_or_else(|| self.malformed("no MARK on the stack"))?;
        Ok(self.stack.split_off(start))
    }

    fn memo_put(&mut self, key: u32) -> Result<(), PickleError> {
        let id = self.top()?;
        // What Python writes: the next key, in order.
        if key as usize == self.memo.dense.len() && self.memo.sparse.is_empty() {
            self.charge(MEMO_COST)?;
            self.memo.dense.push(Some(id));
            self.memo.len += 1;
            return Ok(());
        }
        if self.memo.get(key).is_none() {
            self.charge(MEMO_COST)?;
        }
        self.memo.put(key, id);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Result<(), PickleError> {
        let id = self
            .memo
            .get(key)
            .ok_or_else(|| self.malformed(format!("memo key {key} was never stored")))?;
        self.charge(size_of::<Id>())?;
        self.stack.push(id);
        Ok(())
    }

    fn unhashable(&self, id: Id) -> bool {
        matches!(
            self.arena.nodes[id as usize],
            Node::List(_) | Node::Dict(_) | Node::Set(_) | Node::Leaf(PyValue::ByteArray(_))
        )
    }

    fn set_items(&mut self, target: Id, items: Vec<Id>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.malformed("odd number of items for a dict"));
        }
        if items.chunks(2).any(|kv| self.unhashable(kv[0])) {
            return Err(self.malformed("unhashable dict key"));
        }
        self.charge(items.len() * size_of::<Id>())?;
        for &item in &items {
            self.arena.held(item);
        }
        match &mut self.arena.nodes[target as usize] {
            Node::Dict(pairs) => {
                pairs.extend(items.chunks(2).map(|kv| (kv[0], kv[1])));
                Ok(())
            }
            _ => Err(self.malformed("SETITEM(S) on something that is not a dict")),
        }
    }

    fn append(&mut self, target: Id, items: Vec<Id>) -> Result<(), PickleError> {
        self.charge(items.len() * size_of::<Id>())?;
        for &item in &items {
            self.arena.held(item);
        }
        match &mut self.arena.nodes[target as usize] {
            Node::List(list) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(self.malformed("APPEND(S) on something that is not a list")),
        }
    }

    /// Runs the opcodes up to STOP; returns the id of the result.
    fn run(&mut self) -> Result<Id, PickleError> {
        loop {
            self.op_at = self.pos;
            let op = self.byte()?;
            match op {
                PROTO => {
                    let version = self.byte()?;
                    if version > HIGHEST_PROTOCOL {
                        return Err(PickleError::Unsupported {
                            offset: self.op_at,
                            what: format!("protocol {version}"),
                        });
                    }
                }
                // A hint for buffered readers: the whole pickle is in memory already.
                FRAME => {
                    self.array::<8>()?;
                }
                STOP => {
                    let root = self.pop()?;
                    if self.pos != self.input.len() {
                        return Err(PickleError::TrailingBytes {
                            offset: self.pos,
                            count: self.input.len() - self.pos,
                        });
                    }
                    return Ok(root);
                }
                MARK => {
                    // Marks nest with containers: deeper than the depth limit is refused
                    // here, so a run of MARKs cannot grow this stack without bound.
                    if self.marks.len() > self.limits.max_depth {
                        return Err(PickleError::TooDeep {
                            max: self.limits.max_depth,
                        });
                    }
                    self.charge(size_of::<usize>())?;
                    self.marks.push(self.stack.len());
                }
                POP => {
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() > floor {
                        self.stack.pop();
                    } else {
                        // Python's POP discards a MARK when it is on top.
                        self.pop_mark()?;
                    }
                }
                POP_MARK => {
                    self.pop_mark()?;
                }
                DUP => {
                    let id = self.top()?;
                    self.charge(size_of::<Id>())?;
                    self.stack.push(id);
                }
                NONE => self.push_leaf(PyValue::None)?,
                NEWTRUE => self.push_leaf(PyValue::Bool(true))?,
                NEWFALSE => self.push_leaf(PyValue::Bool(false))?,
                INT => {
                    let text = self.ascii_line()?;
                    let node = match text {
                        "01" => PyValue::Bool(true),
                        "00" => PyValue::Bool(false),
                        t => int_from_text(t).ok_or_else(|| self.malformed("bad INT"))?,
                    };
                    self.push_leaf(node)?;
                }
                LONG => {
                    let text = self.ascii_line()?;
                    let digits = text.strip_suffix('L').unwrap_or(text);
                    let value = int_from_text(digits).ok_or_else(|| self.malformed("bad LONG"))?;
                    self.push_text_int(value)?;
                }
                BININT => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.push_leaf(PyValue::Int(i64::from(v)))?;
                }
                BININT1 => {
                    let v = self.byte()?;
                    self.push_leaf(PyValue::Int(i64::from(v)))?;
                }
                BININT2 => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.push_leaf(PyValue::Int(i64::from(v)))?;
                }
                LONG1 | LONG4 => {
                    let n = if op == LONG1 {
                        u64::from(self.byte()?)
                    } else {
                        let n = i32::from_le_bytes(self.array()?);
                        u64::try_from(n).map_err(|_| self.malformed("negative LONG4 length"))?
                    };
                    if n > MAX_LONG_BYTES as u64 {
                        return Err(self.malformed(format!(
                            "integer of {n} bytes (more than {MAX_INT_DIGITS} digits)"
                        )));
                    }
                    let bytes = self.take(n)?.to_vec();
                    self.push_text_int(int_from_le_bytes(&bytes))?;
                }
                FLOAT => {
                    let text = self.ascii_line()?;
                    let v = parse_float(text).ok_or_else(|| self.malformed("bad FLOAT"))?;
                    self.push_leaf(PyValue::Float(v))?;
                }
                BINFLOAT => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.push_leaf(PyValue::Float(v))?;
                }
                UNICODE => {
                    let at = self.pos;
                    let line = self.line()?;
                    let len = line.len();
                    let line = line.to_vec();
                    self.charge(len)?;
                    let text = raw_unicode_escape(&line).ok_or(PickleError::Malformed {
                        offset: at,
                        reason: "bad raw-unicode-escape text".into(),
                    })?;
                    self.push_leaf(PyValue::Str(text))?;
                }
                // Left in the input (charged now), decoded if the result needs it.
                BINUNICODE | SHORT_BINUNICODE | BINUNICODE8 => {
                    let len = self.length(op)?;
                    let start = self.pos;
                    self.len_prefixed(len)?;
                    self.push(Node::Text {
                        start,
                        end: self.pos,
                    })?;
                }
                BINBYTES | SHORT_BINBYTES | BINBYTES8 | BYTEARRAY8 => {
                    let len = self.length(op)?;
                    let bytes = self.len_prefixed(len)?.to_vec();
                    self.push_leaf(if op == BYTEARRAY8 {
                        PyValue::ByteArray(bytes)
                    } else {
                        PyValue::Bytes(bytes)
                    })?;
                }
                EMPTY_TUPLE => self.push(Node::Tuple(Vec::new()))?,
                TUPLE => {
                    let items = self.pop_mark()?;
                    self.charge(items.len() * size_of::<Id>())?;
                    self.push(Node::Tuple(items))?;
                }
                TUPLE1 | TUPLE2 | TUPLE3 => {
                    let n = usize::from(op - TUPLE1 + 1);
                    let mut items = vec![0; n];
                    for slot in items.iter_mut().rev() {
                        *slot = self.pop()?;
                    }
                    self.charge(n * size_of::<Id>())?;
                    self.push(Node::Tuple(items))?;
                }
                EMPTY_LIST => self.push(Node::List(Vec::new()))?,
                LIST => {
                    let items = self.pop_mark()?;
                    self.charge(items.len() * size_of::<Id>())?;
                    self.push(Node::List(items))?;
                }
                APPEND => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.append(list, vec![item])?;
                }
                APPENDS => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.append(list, items)?;
                }
                EMPTY_DICT => self.push(Node::Dict(Vec::new()))?,
                DICT => {
                    let items = self.pop_mark()?;
                    self.push(Node::Dict(Vec::new()))?;
                    let dict = self.top()?;
                    self.set_items(dict, items)?;
                }
                SETITEM => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let dict = self.top()?;
                    self.set_items(dict, vec![key, value])?;
                }
                SETITEMS => {
                    let items = self.pop_mark()?;
                    let dict = self.top()?;
                    self.set_items(dict, items)?;
                }
                EMPTY_SET => self.push(Node::Set(Vec::new()))?,
                ADDITEMS => {
                    let items = self.pop_mark()?;
                    let set = self.top()?;
                    if items.iter().any(|&i| self.unhashable(i)) {
                        return Err(self.malformed("unhashable set item"));
                    }
                    self.charge(items.len() * size_of::<Id>())?;
                    for &item in &items {
                        self.arena.held(item);
                    }
                    match &mut self.arena.nodes[set as usize] {
                        Node::Set(v) => v.extend(items),
                        _ => return Err(self.malformed("ADDITEMS on something that is not a set")),
                    }
                }
                FROZENSET => {
                    let items = self.pop_mark()?;
                    if items.iter().any(|&i| self.unhashable(i)) {
                        return Err(self.malformed("unhashable frozenset item"));
                    }
                    self.charge(items.len() * size_of::<Id>())?;
                    self.push(Node::FrozenSet(items))?;
                }
                PUT => {
                    let key = self.memo_key_line()?;
                    self.memo_put(key)?;
                }
                BINPUT => {
                    let key = self.byte()?;
                    self.memo_put(u32::from(key))?;
                }
                LONG_BINPUT => {
                    let key = u32::from_le_bytes(self.array()?);
                    self.memo_put(key)?;
                }
                MEMOIZE => {
                    let key =
                        u32::try_from(self.memo.len).map_err(|_| self.malformed("memo full"))?;
                    self.memo_put(key)?;
                }
                GET => {
                    let key = self.memo_key_line()?;
                    self.memo_get(key)?;
                }
                BINGET => {
                    let key = self.byte()?;
                    self.memo_get(u32::from(key))?;
                }
                LONG_BINGET => {
                    let key = u32::from_le_bytes(self.array()?);
                    self.memo_get(key)?;
                }
                op => {
                    return Err(if let Some(name) = code_opcode(op) {
                        PickleError::Code {
                            offset: self.op_at,
                            opcode: name,
                        }
                    } else if let Some(name) = python2_opcode(op) {
                        PickleError::Unsupported {
                            offset: self.op_at,
                            what: format!("opcode {name} (a Python 2 str)"),
                        }
                    } else {
                        PickleError::Unsupported {
                            offset: self.op_at,
                            what: format!("opcode 0x{op:02x}"),
                        }
                    });
                }
            }
        }
    }

    /// The length argument of a string or bytes opcode.
    fn length(&mut self, op: u8) -> Result<u64, PickleError> {
        Ok(match op {
            SHORT_BINUNICODE | SHORT_BINBYTES => u64::from(self.byte()?),
            BINUNICODE | BINBYTES => u64::from(u32::from_le_bytes(self.array()?)),
            _ => u64::from_le_bytes(self.array()?),
        })
    }

    fn memo_key_line(&mut self) -> Result<u32, PickleError> {
        let at = self.pos;
        let text = self.ascii_line()?;
        text.parse().map_err(|_| PickleError::Malformed {
            offset: at,
            reason: format!("bad memo key {text:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(bytes: &[u8]) -> String {
        decode(bytes, &Limits::default()).unwrap().repr()
    }

    #[test]
    fn the_memo_shares_objects_as_python_does() {
        // l = []; d = [l, l]; l.append(1), written as Python would: the later APPEND shows
        // through both references.
        assert_eq!(
            repr(b"\x80\x02]q\x00(h\x00h\x00lq\x01h\x00K\x01a0."),
            "[[1], [1]]"
        );
        assert_eq!(
            repr(b"\x80\x02]q\x00]q\x01(h\x00h\x00eh\x00K\x01a0."),
            "[[1], [1]]"
        );
    }

    #[test]
    fn frames_that_do_not_end_well_are_refused() {
        let limits = Limits::default();
        assert!(matches!(
            decode(b"N.N", &limits),
            Err(PickleError::TrailingBytes {
                offset: 2,
                count: 1
            })
        ));
        assert!(matches!(
            decode(b"N", &limits),
            Err(PickleError::Truncated { offset: 1 })
        ));
        assert!(matches!(
            decode(b".", &limits),
            Err(PickleError::Malformed { .. })
        ));
        assert!(matches!(
            decode(b"\x80\x06N.", &limits),
            Err(PickleError::Unsupported { .. })
        ));
        assert!(matches!(
            decode(b"UxN.", &limits),
            Err(PickleError::Unsupported { .. })
        ));
        assert!(matches!(
            decode(b"h\x05.", &limits),
            Err(PickleError::Malformed { .. })
        ));
        assert!(matches!(
            decode(b"}]]s.", &limits),
            Err(PickleError::Malformed { .. })
        ));
        assert!(matches!(
            decode(b"(Na.", &limits),
            Err(PickleError::Malformed { .. })
        ));
    }

    #[test]
    fn small_opcodes() {
        assert_eq!(repr(b"I01\n."), "True");
        assert_eq!(repr(b"I-7\n."), "-7");
        assert_eq!(
            repr(b"L-123456789012345678901234567890L\n."),
            "-123456789012345678901234567890"
        );
        assert_eq!(repr(b"F1.5\n."), "1.5");
        assert_eq!(repr(b"(K\x01K\x02\x30t."), "(1,)"); // POP inside a MARK
        assert_eq!(repr(b"K\x01(K\x021."), "1"); // POP_MARK
                                                 // DUP pushes the same list: appending it to itself makes a cycle, refused as too deep.
        assert!(matches!(
            decode(b"]2a.", &Limits::default()),
            Err(PickleError::TooDeep { .. })
        ));
        assert_eq!(repr(b"K\x01K\x022\x87."), "(1, 2, 2)");
        assert_eq!(
            repr(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xff."),
            "-18446744073709551616"
        );
        assert_eq!(
            repr(b"\x8a\x09\x05\x00\x00\x00\x00\x00\x00\x00\x01."),
            "18446744073709551621"
        );
        assert_eq!(repr(b"\x8a\x02\xff\x7f."), "32767");
        assert_eq!(repr(b"\x8a\x00."), "0");
        // A lone surrogate (Python's surrogatepass) cannot live in a Rust string.
        assert_eq!(repr(b"X\x03\x00\x00\x00\xed\xa0\x80."), "'\u{fffd}'");
        assert_eq!(
            repr(b"Va\\u00e9\\U0001f600\xff\n."),
            "'a\u{e9}\u{1f600}\u{ff}'"
        );
    }
}
