//! Where a pickle's values live while it runs, and how the result is copied out of it.
//!
//! Containers hold arena ids, so the memo shares objects as Python's does (`BINGET` of a list
//! pushes *that* list; an `APPEND` to it later shows through every reference). At `STOP` the
//! result is copied out into a [`PyValue`] tree, iteratively: a shared value is copied once
//! per reference, each copy charged against the same budget as the arena, so a few hundred
//! bytes of `BINGET`s cannot expand into gigabytes; a reference cycle never ends, so it meets
//! the depth limit and is refused.

use std::borrow::Cow;
use std::mem::size_of;

use super::scalars::utf8;
use super::{Limits, PickleError, PyValue};

pub(super) type Id = u32;

/// A value while the pickle runs: containers hold arena ids, so the memo can share them.
#[derive(Debug)]
pub(super) enum Node {
    /// Anything that holds no other value.
    Leaf(PyValue),
    /// A `str` still in the input (`input[start..end]`): made a `String` only when the result
    /// needs it, so a record's keys are compared where they lie and never copied.
    Text {
        start: usize,
        end: usize,
    },
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    FrozenSet(Vec<Id>),
}

/// What one value costs against the budget before its own bytes (text, items).
pub(super) const NODE_COST: usize = size_of::<Node>() + size_of::<Id>();
/// What one value of the result costs before its own bytes.
const VALUE_COST: usize = size_of::<PyValue>();
/// Most values an arena makes room for before the pickle runs.
const PRESIZE_MAX: usize = 256;
/// What a memo entry costs.
pub(super) const MEMO_COST: usize = 2 * size_of::<Id>() + 16;

/// The values of one pickle, and the bytes spent on them against [`Limits::max_decoded`].
pub(super) struct Arena {
    pub(super) nodes: Vec<Node>,
    /// How many containers hold each value (the root counts as held once): a leaf held once
    /// is moved out into the result, not copied.
    holders: Vec<u32>,
    /// Bytes charged so far (arena and result together).
    spent: usize,
    limits: Limits,
}

impl Arena {
    /// An arena for a pickle of `input_len` bytes: room for the values a log record's pickle
    /// of that size holds (one per 8 bytes, at most [`PRESIZE_MAX`]), so that the common case
    /// grows nothing; beyond, it grows with what the pickle makes, charged as it goes.
    pub(super) fn new(limits: &Limits, input_len: usize) -> Arena {
        let n = (input_len / 8).min(PRESIZE_MAX);
        Arena {
            nodes: Vec::with_capacity(n),
            holders: Vec::with_capacity(n),
            spent: 0,
            limits: *limits,
        }
    }

    /// Charges `bytes` against the budget, before they are allocated.
    pub(super) fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.spent = self.spent.saturating_add(bytes);
        if self.spent > self.limits.max_decoded {
            return Err(PickleError::TooLarge {
                max: self.limits.max_decoded,
            });
        }
        Ok(())
    }

    /// Stores a value (charged); its id.
    pub(super) fn add(&mut self, node: Node) -> Result<Id, PickleError> {
        self.charge(NODE_COST)?;
        let id = Id::try_from(self.nodes.len()).map_err(|_| PickleError::TooLarge {
            max: self.limits.max_decoded,
        })?;
        if let Node::List(items) | Node::Tuple(items) | Node::FrozenSet(items) = &node {
            for &item in items {
                self.held(item);
            }
        }
        self.nodes.push(node);
        self.holders.push(0);
        Ok(id)
    }

    /// One more container holds `id`.
    pub(super) fn held(&mut self, id: Id) {
        if let Some(n) = self.holders.get_mut(id as usize) {
            *n = n.saturating_add(1);
        }
    }

    /// Copies the value `root` out of the arena, iteratively, charging each copy; deeper than
    /// the limit (a reference cycle is infinitely deep) is refused.
    pub(super) fn expand(&mut self, root: Id, input: &[u8]) -> Result<PyValue, PickleError> {
        self.held(root);
        self.expand_in(root, 0, false, input)
    }

    /// The items of the dict `root` (the result of the pickle), each to be copied out with
    /// [`Arena::expand_item`]; `None` if `root` is not a dict.
    pub(super) fn dict_items(&mut self, root: Id) -> Result<Option<Vec<(Id, Id)>>, PickleError> {
        let Node::Dict(pairs) = &self.nodes[root as usize] else {
            return Ok(None);
        };
        let pairs = pairs.clone();
        self.charge(VALUE_COST + 2 * pairs.len() * VALUE_COST)?;
        Ok(Some(pairs))
    }

    /// Copies out an item of the result dict `root` (see [`Arena::dict_items`]), as
    /// [`Arena::expand`] would have as part of the whole.
    pub(super) fn expand_item(
        &mut self,
        root: Id,
        item: Id,
        input: &[u8],
    ) -> Result<PyValue, PickleError> {
        // The root is held once (by the caller); more means a container also holds it.
        let shared = self.holders[root as usize] > 0;
        self.expand_in(item, 1, shared, input)
    }

    /// The `str` `id` when it lies in the input as UTF-8 (charged like its copy).
    pub(super) fn text_in_input<'i>(&mut self, id: Id, input: &'i [u8]) -> Option<&'i str> {
        let Node::Text { start, end } = self.nodes[id as usize] else {
            return None;
        };
        let text = std::str::from_utf8(&input[start..end]).ok()?;
        self.charge(VALUE_COST + text.len()).ok()?;
        Some(text)
    }

    /// A key of the result dict as text: borrowed from the input when it lies there as UTF-8;
    /// a key that is not a `str` is refused, named by its type.
    pub(super) fn key_text<'i>(
        &self,
        id: Id,
        input: &'i [u8],
    ) -> Result<Cow<'i, str>, PickleError> {
        let what = match &self.nodes[id as usize] {
            Node::Text { start, end } => {
                let bytes = &input[*start..*end];
                return match std::str::from_utf8(bytes) {
                    Ok(s) => Ok(Cow::Borrowed(s)),
                    Err(_) => text(input, *start, *end).map(Cow::Owned),
                };
            }
            Node::Leaf(PyValue::Str(s)) => return Ok(Cow::Owned(s.clone())),
            Node::Leaf(v) => v.type_name(),
            Node::List(_) => "list",
            Node::Tuple(_) => "tuple",
            Node::Dict(_) => "dict",
            Node::Set(_) => "set",
            Node::FrozenSet(_) => "frozenset",
        };
        Err(PickleError::NotARecord(format!(
            "a key of the record dict is a {what}, not a str"
        )))
    }

    /// Copies `root` out, as the child of containers `depth` deep (`outer_shared`: one of them
    /// is copied more than once).
    fn expand_in(
        &mut self,
        root: Id,
        depth: usize,
        outer_shared: bool,
        input: &[u8],
    ) -> Result<PyValue, PickleError> {
        let mut open: Vec<Open> = Vec::new();
        let mut current = root;
        loop {
            // Descend into `current`: a leaf is finished at once, a container is opened.
            let leaf_bytes = match &self.nodes[current as usize] {
                Node::Leaf(v) => Some(payload(v)),
                Node::Text { start, end } => Some(end - start),
                _ => None,
            };
            let mut finished = match leaf_bytes {
                // Charged before the copy is made.
                Some(bytes) => {
                    self.charge(VALUE_COST + bytes)?;
                    // Moved only when nothing on the way down is copied more than once.
                    let only_holder = self.holders[current as usize] <= 1
                        && !open.last().map_or(outer_shared, |o| o.shared);
                    match &mut self.nodes[current as usize] {
                        Node::Leaf(v) if only_holder => std::mem::replace(v, PyValue::None),
                        Node::Leaf(v) => v.clone(),
                        Node::Text { start, end } => PyValue::Str(text(input, *start, *end)?),
                        _ => PyValue::None,
                    }
                }
                None => {
                    if depth + open.len() >= self.limits.max_depth {
                        return Err(PickleError::TooDeep {
                            max: self.limits.max_depth,
                        });
                    }
                    let n = children(&self.nodes[current as usize]);
                    self.charge(VALUE_COST + n * VALUE_COST)?;
                    let shared = self.holders[current as usize] > 1
                        || open.last().map_or(outer_shared, |o| o.shared);
                    open.push(Open {
                        id: current,
                        next: 0,
                        items: Vec::with_capacity(n),
                        shared,
                    });
                    match self.next_child(open.last_mut().expect("just pushed")) {
                        Some(child) => {
                            current = child;
                            continue;
                        }
                        None => {
                            let done = open.pop().expect("just pushed");
                            build(&self.nodes[done.id as usize], done.items)
                        }
                    }
                }
            };
            // Hand the finished value to its parent, closing every parent that is complete.
            loop {
                let Some(parent) = open.last_mut() else {
                    return Ok(finished);
                };
                parent.items.push(finished);
                match self.next_child(parent) {
                    Some(child) => {
                        current = child;
                        break;
                    }
                    None => {
                        let done = open.pop().expect("parent is open");
                        finished = build(&self.nodes[done.id as usize], done.items);
                    }
                }
            }
        }
    }

    fn next_child(&self, open: &mut Open) -> Option<Id> {
        let i = open.next;
        open.next += 1;
        match &self.nodes[open.id as usize] {
            Node::List(v) | Node::Tuple(v) | Node::Set(v) | Node::FrozenSet(v) => v.get(i).copied(),
            Node::Dict(pairs) => pairs
                .get(i / 2)
                .map(|&(k, v)| if i.is_multiple_of(2) { k } else { v }),
            _ => None,
        }
    }
}

/// A container being copied out of the arena.
struct Open {
    id: Id,
    /// Index of the next child to copy (dict: keys and values alternate).
    next: usize,
    items: Vec<PyValue>,
    /// This container, or one above it, is held more than once: it is copied each time, so
    /// its values are copied, never moved out.
    shared: bool,
}

/// The `str` at `input[start..end]`: UTF-8, or Python's surrogates (see `scalars::utf8`).
fn text(input: &[u8], start: usize, end: usize) -> Result<String, PickleError> {
    utf8(&input[start..end]).ok_or(PickleError::Malformed {
        offset: start,
        reason: "string is neither UTF-8 nor surrogates".into(),
    })
}

/// The bytes a leaf holds outside its own size.
fn payload(v: &PyValue) -> usize {
    match v {
        PyValue::BigInt(s) | PyValue::Str(s) => s.len(),
        PyValue::Bytes(b) | PyValue::ByteArray(b) => b.len(),
        _ => 0,
    }
}

/// How many children a node has (a dict's keys and values both count).
fn children(node: &Node) -> usize {
    match node {
        Node::List(v) | Node::Tuple(v) | Node::Set(v) | Node::FrozenSet(v) => v.len(),
        Node::Dict(pairs) => 2 * pairs.len(),
        _ => 0,
    }
}

/// The container value of `node` from its copied children.
fn build(node: &Node, mut items: Vec<PyValue>) -> PyValue {
    match node {
        Node::List(_) => PyValue::List(items),
        Node::Tuple(_) => PyValue::Tuple(items),
        Node::Set(_) => PyValue::Set(items),
        Node::FrozenSet(_) => PyValue::FrozenSet(items),
        Node::Dict(_) => {
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut it = items.drain(..);
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            PyValue::Dict(pairs)
        }
        // Leaves never reach here: they are finished when visited.
        _ => PyValue::None,
    }
}
