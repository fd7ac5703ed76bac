//! Outputs: the listener's handlers, and the ones that run behind their own queue and thread
//! ([`ThreadedHandler`]) so that a slow one never stalls the others.
//!
//! The dispatch thread calls every handler in turn. A handler that can wait (a network peer
//! that stopped reading, a slow disk) would hold up every other output; the cookbook's answer
//! is a `QueueHandler` in front of the slow handler. [`ThreadedHandler`] is that, inside the
//! listener: the dispatch thread only puts the record in a bounded queue, and one thread per
//! handler takes it from there, in order.
//!
//! # What "written" means behind a queue
//! A listener moves a shm ring's head, and acknowledges a worker's frames, only once its
//! handlers have written what that covers (see the dispatch thread). Behind a queue, the
//! handler says which moment counts ([`Confirm`]):
//! - [`Confirm::Written`] (the default for file-like handlers): once the handler's thread has
//!   written and flushed the record. Until then `flush` of the queue fails with
//!   `WouldBlock` and asks the thread to flush, so the dispatch thread holds the ring's head
//!   and the acknowledgements back, and retries, without ever waiting: the other outputs go
//!   on at their own pace. A record the queue had to drop counts as not written
//!   ([`HandlerBase::records_not_written`](crate::handler::HandlerBase::records_not_written)),
//!   so nothing claims it was.
//! - [`Confirm::Queued`] (the default for network handlers, whose own buffer already counts
//!   as received): once the record is in the queue. What the queue drops later is counted
//!   ([`ThreadedHandler::stats`]) and reported through the handler's error policy.
//!
//! When the queue is full, [`Overflow`](crate::handler::Overflow) decides, as for workers: wait for room at most its
//! timeout, or drop at once; either way a dropped record is counted and reported.
//!
//! `close` (a reload swapping the configuration out, the listener's shutdown) drains the
//! queue: every record in it is handed to the handler, which is then closed.
//!
//! In a configuration, any handler takes a `queue` key:
//!
//! ```yaml
//! handlers:
//!   archive:
//!     class: logging.FileHandler
//!     filename: /mnt/nfs/archive.log
//!     queue: {capacity: 50000, overflow: block, timeout: 2.0, confirm: written}
//! ```
//!
//! (`queue: true` takes the defaults; `overflow` is `block` or `drop`, `timeout` in seconds,
//! `confirm` is `written` or `queued`). In a listener's configuration
//! ([`QueueListener::from_config`](crate::queue::QueueListener::from_config), `mplog listen
//! --config`), the network handlers (`SocketHandler`, `DatagramHandler`, `SysLogHandler`,
//! `SMTPHandler`, `HTTPHandler`) get one without asking, with [`Confirm::Queued`] and
//! `Overflow::Drop`; a `queue` key of their own replaces it.

mod thread;

pub use self::thread::{Confirm, OutputStats, ThreadedHandler, ThreadedHandlerBuilder};
pub use self::thread::{DEFAULT_OUTPUT_CAPACITY, DEFAULT_OUTPUT_OVERFLOW};
