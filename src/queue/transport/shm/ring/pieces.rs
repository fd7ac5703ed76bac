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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{HeaderInfo, Ring, MIN_CAPACITY};
    use super::*;

    fn ring() -> (std::fs::File, Arc<Ring>, Producer) {
        let file = tempfile::tempfile().unwrap();
        let info = HeaderInfo {
            capacity: MIN_CAPACITY,
            pid: std::process::id(),
            start_time: 7,
            process_name: "unit".into(),
        };
        let (ring, producer) = Ring::create(&file, &info).unwrap();
        (file, ring, producer)
    }

    /// Reads everything committed, committing as it goes; returns the whole records.
    fn drain(consumer: &Ring, pos: &mut u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            let tail = consumer.tail();
            let found = consumer.read(pos, tail, &mut buf).unwrap();
            consumer.commit(*pos);
            if !found {
                return out;
            }
            out.push(buf);
        }
    }

    #[test]
    fn a_record_many_times_the_ring_passes_in_order_between_small_ones() {
        let (file, _ring, mut producer) = ring();
        let consumer = Ring::open(&file).unwrap();
        let big: Vec<u8> = (0..10 * MIN_CAPACITY + 13)
            .map(|i| (i % 251) as u8)
            .collect();
        let (mut pos, mut got) = (0, Vec::new());
        producer.write(b"before").unwrap();
        // The consumer runs whenever the producer waits: one thread plays both sides.
        let consumer_ref = &consumer;
        let mut drained = Vec::new();
        producer
            .write_any(&big, |_, _| {
                drained.extend(drain(consumer_ref, &mut pos));
                true
            })
            .unwrap();
        got.extend(drained);
        producer.write(b"after").unwrap();
        got.extend(drain(&consumer, &mut pos));
        assert_eq!(got, [b"before".to_vec(), big, b"after".to_vec()]);
        assert_eq!(consumer.written(), 3, "a record in pieces counts once");
        assert_eq!(consumer.take_lost(), 0);
    }

    #[test]
    fn a_record_given_up_part_way_is_thrown_away_and_counted() {
        let (file, _ring, mut producer) = ring();
        let consumer = Ring::open(&file).unwrap();
        let big = vec![7u8; 4 * MIN_CAPACITY];
        let mut pos = 0;
        let mut first = true;
        let result = producer.write_any(&big, |_, _| {
            // The consumer takes the pieces written so far, then the producer gives up.
            assert!(drain(&consumer, &mut pos).is_empty());
            std::mem::replace(&mut first, false)
        });
        assert_eq!(result, Err(WriteError::Full));
        producer.write(b"next").unwrap();
        assert_eq!(drain(&consumer, &mut pos), [b"next".to_vec()]);
        assert_eq!(consumer.take_lost(), 1);
    }

    #[test]
    fn continuation_pieces_without_their_start_are_skipped_and_counted() {
        let (file, _ring, mut producer) = ring();
        let first = Ring::open(&file).unwrap();
        let big = vec![3u8; 2 * MIN_CAPACITY];
        let mut pos = 0;
        let mut stopped_at = None;
        producer
            .write_any(&big, |_, _| {
                // A listener that takes the first pieces, commits, and dies.
                if stopped_at.is_none() {
                    drain(&first, &mut pos);
                    stopped_at = Some(pos);
                } else {
                    // Its successor starts at the committed head, mid-record.
                    let next = Ring::open(&file).unwrap();
                    let mut p = next.head();
                    assert!(drain(&next, &mut p).is_empty());
                    assert_eq!(
                        next.take_lost(),
                        0,
                        "pieces pending: the record is not over"
                    );
                    pos = p;
                }
                true
            })
            .unwrap();
        let next = Ring::open(&file).unwrap();
        let mut p = next.head();
        assert!(drain(&next, &mut p).is_empty());
        assert_eq!(next.take_lost(), 1);
        assert!(stopped_at.is_some());
    }

    #[test]
    fn beyond_the_assembly_bound_is_too_large() {
        let (_file, _ring, mut producer) = ring();
        let huge = vec![0u8; MAX_ASSEMBLED + 1];
        assert_eq!(
            producer.write_any(&huge, |_, _| true),
            Err(WriteError::TooLarge)
        );
    }
}
