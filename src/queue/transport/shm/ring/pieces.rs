//! Records larger than a ring entry, carried in pieces (issue 10 item 7).
//!
//! A record up to [`Producer::max_record`] bytes is one entry. A larger one (up to
//! [`MAX_ASSEMBLED`]) is cut into pieces of [`Producer::piece_len`] bytes (a quarter of the
//! ring, so the producer writes the next piece while the listener copies the last), each an
//! entry of its own whose length word carries two flags: [`MORE`] (pieces follow) and
//! [`CONT`] (this piece continues a record). A whole record is thus `MORE`, `MORE|CONT`...,
//! `CONT`; an unflagged entry is a whole record by itself. [`PAD`](super::PAD) (`u32::MAX`)
//! is told apart by its impossible length.
//!
//! The consumer copies pieces into a private buffer ([`Assembly`], bounded by
//! [`MAX_ASSEMBLED`]) and moves its position past them, so the listener commits the space
//! they took and the producer can go on: a record larger than the ring passes through it. The
//! record reaches the caller of [`Ring::read`](super::Ring::read) whole, in its place among
//! the others, once its last piece is read.
//!
//! Losses, counted on both sides, never silent:
//! - a producer that gives up part-way (its overflow policy: the listener did not make room in
//!   time) counts the record dropped; the consumer throws away the pieces it holds when the
//!   next record starts, and counts it ([`Ring::take_lost`](super::Ring::take_lost));
//! - a listener that stops after committing some pieces of a record and before its last (the
//!   shm transport's documented window, here one record long) leaves the next listener
//!   continuation pieces without a start: skipped and counted the same way.

use super::{entry_len, Producer, WriteError, ALIGN};

/// Length-word flag: more pieces of this record follow.
pub const MORE: u32 = 1 << 31;
/// Length-word flag: this piece continues a record begun before it.
pub const CONT: u32 = 1 << 30;
/// The length bits of a length word.
pub(super) const LEN_MASK: u32 = CONT - 1;
/// Largest record carried in pieces: the listener's default frame limit, so a ring's
/// reassembly never holds more than a socket frame may.
pub const MAX_ASSEMBLED: usize = crate::queue::wire::DEFAULT_MAX_FRAME;

/// The consumer's record being put together from pieces.
#[derive(Debug, Default)]
pub(super) struct Assembly {
    bytes: Vec<u8>,
    /// A record's first piece was seen and its last not yet.
    active: bool,
    /// Records lost in pieces since the last [`take_lost`](super::Ring::take_lost).
    pub(super) lost: u64,
}

impl Assembly {
    /// Takes the piece `bytes` (flags `flags`); returns the whole record after its last piece.
    pub(super) fn piece(&mut self, flags: u32, bytes: &[u8]) -> Option<Vec<u8>> {
        if flags & CONT == 0 {
            // A record starts: pieces held of an earlier one will never be completed.
            self.abandon();
            self.active = true;
        } else if !self.active {
            // A continuation without its start (see the module docs): skip it, count it once.
            if flags & MORE == 0 {
                self.lost += 1;
            }
            return None;
        }
        if self.bytes.len() + bytes.len() > MAX_ASSEMBLED {
            self.abandon();
            return None;
        }
        self.bytes.extend_from_slice(bytes);
        if flags & MORE != 0 {
            return None;
        }
        self.active = false;
        Some(std::mem::take(&mut self.bytes))
    }

    /// A whole (unflagged) record arrived: pieces still held are thrown away and counted.
    pub(super) fn whole_record_seen(&mut self) {
        self.abandon();
    }

    fn abandon(&mut self) {
        if self.active {
            self.lost += 1;
        }
        self.active = false;
        self.bytes = Vec::new();
    }
}

impl Producer {
    /// Bytes of each piece of a record larger than [`max_record`](Producer::max_record): its
    /// entry takes at most a quarter of the ring.
    pub fn piece_len(&self) -> usize {
        (self.ring.capacity / 4 - 4) / ALIGN * ALIGN
    }

    /// Commits a record of any size up to [`MAX_ASSEMBLED`], in pieces when it is larger than
    /// [`max_record`](Producer::max_record). When the ring is full, `wait` is called (with
    /// `true` the first time since a piece was committed) and returns whether to try again; a
    /// `false` gives the record up (`Full`), even part-way (see the module docs).
    pub fn write_any(
        &mut self,
        bytes: &[u8],
        mut wait: impl FnMut(&Producer, bool) -> bool,
    ) -> Result<(), WriteError> {
        if bytes.len() > MAX_ASSEMBLED {
            return Err(WriteError::TooLarge);
        }
        if bytes.len() <= self.max_record() {
            let mut fresh = true;
            while let Err(e) = self.write(bytes) {
                if e == WriteError::TooLarge || !wait(self, fresh) {
                    return Err(e);
                }
                fresh = false;
            }
            return Ok(());
        }
        let pieces: Vec<&[u8]> = bytes.chunks(self.piece_len()).collect();
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            let flags = if i > 0 { CONT } else { 0 } | if i < last { MORE } else { 0 };
            debug_assert!(entry_len(piece.len()) <= self.ring.capacity / 4);
            let mut fresh = true;
            while let Err(e) = self.write_entry(piece, flags, i == last) {
                if e == WriteError::TooLarge || !wait(self, fresh) {
                    return Err(e);
                }
                fresh = false;
            }
        }
        Ok(())
    }
}
