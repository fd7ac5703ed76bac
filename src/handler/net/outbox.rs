//! The bytes of the messages waiting to be sent, oldest first: one ring of bytes and one of
//! message lengths, so dropping the oldest costs nothing and nothing is allocated per message
//! once the rings have grown.

use std::collections::VecDeque;

/// Messages waiting to be sent.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    bytes: VecDeque<u8>,
    lens: VecDeque<usize>,
}

impl Outbox {
    /// Appends one message.
    pub(crate) fn push(&mut self, message: &[u8]) {
        self.bytes.extend(message);
        self.lens.push_back(message.len());
    }

    /// Total bytes waiting.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Messages waiting.
    pub(crate) fn len(&self) -> usize {
        self.lens.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The oldest message, contiguous.
    pub(crate) fn front(&mut self) -> Option<&[u8]> {
        let len = *self.lens.front()?;
        let bytes = self.bytes.make_contiguous();
        Some(&bytes[..len])
    }

    /// Removes the oldest message; whether there was one.
    pub(crate) fn pop_front(&mut self) -> bool {
        match self.lens.pop_front() {
            Some(len) => {
                self.bytes.drain(..len);
                true
            }
            None => false,
        }
    }

    /// Puts `older` (messages taken earlier and not sent) back in front of what arrived since,
    /// leaving `older` empty.
    pub(crate) fn prepend(&mut self, older: &mut Outbox) {
        older.bytes.append(&mut self.bytes);
        older.lens.append(&mut self.lens);
        std::mem::swap(self, older);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_first_and_put_back_in_front() {
        let mut taken = Outbox::default();
        taken.push(b"one");
        taken.push(b"two");
        assert_eq!(taken.front(), Some(&b"one"[..]));
        assert!(taken.pop_front());
        let mut waiting = Outbox::default();
        waiting.push(b"three");
        waiting.prepend(&mut taken);
        assert!(taken.is_empty());
        assert_eq!((waiting.len(), waiting.bytes()), (2, 8));
        assert_eq!(waiting.front(), Some(&b"two"[..]));
        assert!(waiting.pop_front());
        assert_eq!(waiting.front(), Some(&b"three"[..]));
        assert!(waiting.pop_front());
        assert!(!waiting.pop_front());
    }
}
