//! [`Overflow`]: what a handler that queues records does when its queue is full (the worker's
//! [`QueueHandler`](crate::queue::QueueHandler), the network handlers).

use std::time::Duration;

/// How long a caller waits for room by default under [`Overflow::Block`].
pub const DEFAULT_BLOCK_TIMEOUT: Duration = Duration::from_secs(1);

/// What `emit` does when the handler's queue is full.
///
/// ```
/// use std::time::Duration;
/// use mplog::queue::{Overflow, QueueHandler};
/// // A hot path that must never wait: drop (and count) when the queue is full.
/// let h = QueueHandler::builder("/tmp/nowhere/mplog.sock").overflow(Overflow::Drop)
///     .drain_timeout(Duration::from_millis(50)).build().unwrap();
/// assert_eq!(Overflow::default(), Overflow::Block { timeout: mplog::handler::DEFAULT_BLOCK_TIMEOUT });
/// # mplog::handler::Handler::close(&h);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for room, at most `timeout`; then drop, count and report.
    Block {
        /// Longest wait per record.
        timeout: Duration,
    },
    /// Drop the record at once and count it.
    Drop,
}

impl Default for Overflow {
    fn default() -> Self {
        Overflow::Block {
            timeout: DEFAULT_BLOCK_TIMEOUT,
        }
    }
}
