//! [`QueueListener`]: the one place that writes, fed by every worker.
//!
//! # Layout: the flow reads from the folder
//! `inputs/` (the Unix socket's readers, the shm rings' drainers) -> `dispatch.rs` (the one
//! thread that owns the hierarchy) -> the handlers. `peer.rs` is what inputs and dispatch
//! share about one peer; `stats.rs` what the listener counts.
//!
//! # Threads, and why
//! One acceptor thread takes connections and checks each peer's uid against the allow-list
//! (default: the listener's own uid; `SO_PEERCRED`, so it cannot be forged). Each accepted
//! connection gets a reader thread with a small stack ([`READER_STACK`]): at the scale we
//! target (hundreds of workers, at least 256) a blocking reader per connection is simpler than
//! a poll loop and costs only address space, and it keeps each worker's records in order for
//! free. Readers decode frames into owned records and pass whole batches, in order, to ONE
//! dispatch thread over a bounded channel ([`DISPATCH_CAPACITY`] batches), so memory stays
//! bounded however many workers push: a slow disk slows the readers, then the workers' sockets
//! fill, then the workers' own overflow policy applies.
//!
//! The dispatch thread owns the handler tree. With a [`Manager`] it does what the cookbook
//! does: `manager.get_logger(&record.name).handle(&record)` with no logger-level check (the
//! worker already chose what to send; handler levels still apply). With plain handlers it is
//! Python's `QueueListener`: every handler gets every record, or with
//! `respect_handler_level(true)` only those at or above its level. After each drained batch it
//! flushes the handlers, so a buffered [`FileHandler`](crate::handler::FileHandler) writes in
//! bulk. Only then are a connection's frames acknowledged (`Ack`, see [`wire`](super::wire)):
//! a `Sync` or `Goodbye` at once, record frames with the batch. The acks are written by one
//! more thread, without waiting on any peer: a peer that leaves them unread for
//! [`reply_timeout`](QueueListenerBuilder::reply_timeout) is disconnected and the reason
//! logged, and nothing it does delays the others.
//!
//! # Bad input
//! A malformed, oversized ([`max_frame`](QueueListenerBuilder::max_frame)) or wrong-version
//! frame closes that connection only; the reason is logged through the listener's own logger
//! [`LISTENER_LOGGER`] (at most [`NOTICES_PER_SECOND`] a second, the rest counted) and counted in
//! [`ListenerStats::malformed`]. Frame sizes are checked before anything is allocated, and a
//! connection's buffer grows only with the bytes it sent. At most
//! [`max_connections`](QueueListenerBuilder::max_connections) connections are served at once;
//! one more is refused, logged and counted ([`ListenerStats::over_capacity`]).
//!
//! # Stopping, always within a bound
//! [`ListenerHandle::stop`] stops accepting, lets every reader drain what its worker has
//! already written (until the connection ends or stays quiet for [`STOP_GRACE`]), has the
//! dispatch thread handle all of it and flush, and returns [`ListenerStats`]. It is idempotent.
//!
//! It returns within [`drain_timeout`](QueueListenerBuilder::drain_timeout)
//! ([`DEFAULT_DRAIN_TIMEOUT`], 10 s) plus [`DISPATCH_GRACE`], whatever the peers do: a worker
//! that never stops logging, a peer that never reads its acknowledgements, a socket file
//! removed by a cleaner (the acceptor does not need it to wake). At the deadline every input
//! stops where it is and the dispatch thread handles no more records (it flushes and confirms
//! what it handled); what was not delivered stays with its sender for the next listener (a
//! socket worker keeps its unacknowledged frames, a ring its uncommitted records) and is
//! reported: [`ListenerStats::drain_cut`], [`ListenerStats::cut_inputs`],
//! [`ListenerStats::undelivered_bytes`], and a notice on [`LISTENER_LOGGER`]. A dispatch thread
//! stuck in a handler (a hung file system) is left behind after [`DISPATCH_GRACE`] more.
//!
//! # One endpoint, one listener
//! The shm ring directory of an endpoint belongs to one live listener: it takes an exclusive
//! lock on it before it binds its socket and keeps it until its last commit (see
//! [`shm`](super::transport::shm)). A second listener on the same path is refused with an
//! error naming the first one's pid, even when the first lost its socket file; a listener that
//! was killed leaves the lock with its life, and the next one drains and deletes its rings.
//!
//! A listener whose socket file is removed or replaced (a `/tmp` cleaner, a careless script)
//! notices within [`ACCEPT_POLL`](super::transport::socket::ACCEPT_POLL) and says so on
//! [`LISTENER_LOGGER`] ([`ListenerHandle::endpoint_lost`] tells a supervisor, and `mplog
//! listen` prints it): it goes on serving the workers already connected and their rings (their
//! records are not stranded), but no new worker can reach it; stop it and start another.
//!
//! # Reloading
//! [`ListenerHandle::reload`] (in [`crate::config`]) hands the dispatch thread a new hierarchy;
//! it swaps it in between two messages and flushes and closes the old one's handlers, so each
//! record is handled by exactly one configuration.

mod dispatch;
mod inputs;
mod names;
mod peer;
mod shutdown;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender};
use parking_lot::Mutex;

pub(crate) use self::dispatch::DispatchMsg;
pub use self::inputs::replies::DEFAULT_REPLY_TIMEOUT;
pub use self::inputs::socket::DEFAULT_MAX_CONNECTIONS;
pub use self::names::{DEFAULT_MAX_LOGGER_NAMES, DEFAULT_MAX_LOGGER_NAME_LEN};
pub(crate) use self::stats::Shared;
pub use self::stats::{ListenerStats, WorkerStats};
use super::handler::{Overflow, QueueHandler};
#[cfg(target_os = "linux")]
use super::transport::address::check_socket_path;
#[cfg(target_os = "linux")]
use super::transport::shm::{self, owner::DirLock};
use super::transport::socket::SocketAcceptor;
use super::transport::Acceptor;
use super::wire::DEFAULT_MAX_FRAME;
use super::QueueError;
use crate::handler::Handler;
use crate::logger::Manager;

/// Stack of each reader thread: it decodes into heap buffers, so little is needed.
pub const READER_STACK: usize = 128 * 1024;
/// How long [`ListenerHandle::stop`] drains before it cuts the inputs off (see "Stopping").
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// After the drain deadline, how long stop waits more for the dispatch thread's last flush.
pub const DISPATCH_GRACE: Duration = Duration::from_secs(2);
/// Batches waiting for the dispatch thread before readers wait (bounds the listener's memory).
pub const DISPATCH_CAPACITY: usize = 64;
/// After stop, a reader ends once its connection is quiet for this long.
pub const STOP_GRACE: Duration = Duration::from_millis(200);
/// How often readers look at the stop flag while their connection is quiet.
pub const READ_POLL: Duration = Duration::from_millis(100);
/// A worker must send its hello within this time.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// The listener's own troubles are logged on this logger (of its manager, or to its handlers).
pub const LISTENER_LOGGER: &str = "mplog.listener";
/// At most this many notices a second from the listener's own logger; the rest are counted.
pub const NOTICES_PER_SECOND: u32 = 10;

/// Where the listener takes connections.
///
/// ```
/// use mplog::queue::{Endpoint, QueueListener};
/// let listener = QueueListener::builder().endpoint_kind(Endpoint::InProcess).start().unwrap();
/// assert_eq!(listener.endpoint(), std::path::Path::new("")); // no socket
/// # listener.stop();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Endpoint {
    /// A fresh private directory (0700) with the socket (0600) in it (the default).
    #[default]
    Auto,
    /// This socket path (a stale socket file is replaced).
    Path(PathBuf),
    /// No socket: only in-process handlers ([`ListenerHandle::local_handler`]).
    InProcess,
}

/// What the dispatch thread hands records to.
#[derive(Clone)]
pub(crate) enum Target {
    Manager(Manager),
    Handlers {
        handlers: Vec<Arc<dyn Handler>>,
        respect_level: bool,
    },
}

/// Starts listeners; see [`QueueListener::builder`].
///
/// ```
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// println!("workers connect to {}", listener.endpoint().display());
/// listener.stop();
/// ```
pub struct QueueListener;

impl QueueListener {
    /// A builder: private endpoint, a fresh [`Manager`] (the cookbook's own hierarchy),
    /// [`DEFAULT_MAX_FRAME`], peers of this uid only.
    ///
    /// ```
    /// use mplog::queue::QueueListener;
    /// let listener = QueueListener::builder().start().unwrap();
    /// assert!(listener.endpoint().exists());
    /// let stats = listener.stop();
    /// assert_eq!(stats.records, 0);
    /// ```
    pub fn builder() -> QueueListenerBuilder {
        QueueListenerBuilder {
            endpoint: Endpoint::Auto,
            target: None,
            respect_handler_level: false,
            max_frame: DEFAULT_MAX_FRAME,
            allowed_uids: vec![nix::unistd::getuid().as_raw()],
            max_connections: DEFAULT_MAX_CONNECTIONS,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            name_caps: names::NameCaps::default(),
        }
    }
}

/// Configures and starts a listener.
///
/// ```
/// use mplog::queue::QueueListener;
/// let listener = QueueListener::builder()
///     .manager(mplog::Manager::new())
///     .max_frame(1 << 20)
///     .start()
///     .unwrap();
/// # listener.stop();
/// ```
pub struct QueueListenerBuilder {
    endpoint: Endpoint,
    target: Option<Target>,
    respect_handler_level: bool,
    max_frame: usize,
    allowed_uids: Vec<u32>,
    max_connections: usize,
    reply_timeout: Duration,
    drain_timeout: Duration,
    name_caps: names::NameCaps,
}

impl std::fmt::Debug for QueueListenerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueListenerBuilder")
            .field("endpoint", &self.endpoint)
            .field("max_frame", &self.max_frame)
            .field("allowed_uids", &self.allowed_uids)
            .field("max_connections", &self.max_connections)
            .field("reply_timeout", &self.reply_timeout)
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}

impl QueueListenerBuilder {
    /// Listens on this socket path instead of a private directory.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.sock");
    /// let listener = mplog::queue::QueueListener::builder().endpoint(&path).start().unwrap();
    /// assert_eq!(listener.endpoint(), path);
    /// listener.stop();
    /// assert!(!path.exists()); // the socket file goes with the listener
    /// ```
    pub fn endpoint(mut self, path: impl AsRef<Path>) -> Self {
        self.endpoint = Endpoint::Path(path.as_ref().to_path_buf());
        self
    }

    /// Chooses the endpoint kind (e.g. [`Endpoint::InProcess`] for thread-only programs).
    ///
    /// ```
    /// use mplog::queue::{Endpoint, QueueListener};
    /// // Threads only: no socket, records go through `local_handler`.
    /// let listener = QueueListener::builder().endpoint_kind(Endpoint::InProcess).start().unwrap();
    /// let h = listener.local_handler();
    /// mplog::handler::Handler::handle(&h, &mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert_eq!(listener.stop().records, 1);
    /// ```
    pub fn endpoint_kind(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Dispatches through this hierarchy, as the cookbook does (replaces `handlers`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::MemoryHandler, queue::{Endpoint, QueueListener}, Level};
    /// let m = mplog::Manager::new();
    /// let db = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// m.get_logger("app.db").add_handler(db.clone());
    /// let listener = QueueListener::builder().manager(m).endpoint_kind(Endpoint::InProcess).start().unwrap();
    /// let h = listener.local_handler();
    /// mplog::handler::Handler::handle(&h, &mplog::Record::new("app.db", Level::INFO, "routed by name"));
    /// listener.stop();
    /// assert_eq!(db.buffered(), 1);
    /// ```
    pub fn manager(mut self, manager: Manager) -> Self {
        self.target = Some(Target::Manager(manager));
        self
    }

    /// Dispatches to these handlers, as Python's `QueueListener` (replaces `manager`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::MemoryHandler, queue::{Endpoint, QueueListener}, Level};
    /// let all = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// let listener = QueueListener::builder().handlers(vec![all.clone()])
    ///     .endpoint_kind(Endpoint::InProcess).start().unwrap();
    /// mplog::handler::Handler::handle(&listener.local_handler(), &mplog::Record::new("x", Level::DEBUG, "m"));
    /// listener.stop();
    /// assert_eq!(all.buffered(), 1); // every record, whatever its logger
    /// ```
    pub fn handlers(mut self, handlers: Vec<Arc<dyn Handler>>) -> Self {
        self.target = Some(Target::Handlers {
            handlers,
            respect_level: false,
        });
        self
    }

    /// With plain handlers: give a handler only records at or above its level (Python's
    /// `respect_handler_level`; default false). A manager always applies handler levels.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::{handler::{Handler, MemoryHandler}, queue::{Endpoint, QueueListener}, Level, Record};
    /// let errors = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
    /// errors.base().set_level(Level::ERROR);
    /// let listener = QueueListener::builder().handlers(vec![errors.clone()]).respect_handler_level(true)
    ///     .endpoint_kind(Endpoint::InProcess).start().unwrap();
    /// let h = listener.local_handler();
    /// h.handle(&Record::new("a", Level::INFO, "below the handler's level"));
    /// h.handle(&Record::new("a", Level::ERROR, "kept"));
    /// listener.stop();
    /// assert_eq!(errors.buffered(), 1);
    /// ```
    pub fn respect_handler_level(mut self, respect: bool) -> Self {
        self.respect_handler_level = respect;
        self
    }

    /// Largest frame accepted ([`DEFAULT_MAX_FRAME`]); larger ones close the connection.
    ///
    /// ```
    /// // Refuse (and close) connections that send a frame over 256 KiB.
    /// let listener = mplog::queue::QueueListener::builder().max_frame(256 * 1024).start().unwrap();
    /// assert_eq!(listener.stop().malformed, 0);
    /// ```
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// User ids allowed to connect (default: the listener's own).
    ///
    /// ```
    /// // Also accept workers running as uid 1001 (the listener's own uid is no longer implied).
    /// let me = nix::unistd::getuid().as_raw();
    /// let listener = mplog::queue::QueueListener::builder().allowed_uids([me, 1001]).start().unwrap();
    /// assert_eq!(listener.stop().rejected, 0);
    /// ```
    pub fn allowed_uids(mut self, uids: impl IntoIterator<Item = u32>) -> Self {
        self.allowed_uids = uids.into_iter().collect();
        self
    }

    /// Most connections served at once ([`DEFAULT_MAX_CONNECTIONS`]; at least 1). One more is
    /// closed at once, logged on [`LISTENER_LOGGER`] with the peer's pid, and counted in
    /// [`ListenerStats::over_capacity`]; its worker retries with backoff.
    ///
    /// ```
    /// use mplog::queue::QueueListener;
    /// // A small service: a few workers, and no more threads than that for strangers.
    /// let listener = QueueListener::builder().max_connections(16).start().unwrap();
    /// assert_eq!(listener.stop().over_capacity, 0);
    /// ```
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long a peer may leave its acknowledgements unread, its socket full, before its
    /// connection is closed ([`DEFAULT_REPLY_TIMEOUT`]). The reason is logged and counted in
    /// [`ListenerStats::stalled`]; other peers are never held up meanwhile.
    ///
    /// ```
    /// use std::time::Duration;
    /// let listener = mplog::queue::QueueListener::builder()
    ///     .reply_timeout(Duration::from_secs(2))
    ///     .start()
    ///     .unwrap();
    /// assert_eq!(listener.stop().stalled, 0);
    /// ```
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    /// How long [`stop`](ListenerHandle::stop) drains before it cuts the inputs off
    /// ([`DEFAULT_DRAIN_TIMEOUT`]); what was not delivered by then is left with its senders
    /// and reported in the statistics (see the module docs, "Stopping").
    ///
    /// ```
    /// use std::time::Duration;
    /// let listener = mplog::queue::QueueListener::builder()
    ///     .drain_timeout(Duration::from_secs(3))
    ///     .start()
    ///     .unwrap();
    /// let stats = listener.stop();
    /// assert!(!stats.drain_cut); // nothing was sending
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Most loggers created for the names of received records ([`DEFAULT_MAX_LOGGER_NAMES`];
    /// loggers that exist already never count). Past it a record is handled by the nearest
    /// existing ancestor of its name and keeps its name for formatting; the first time is
    /// logged on [`LISTENER_LOGGER`], every such record counted in
    /// [`ListenerStats::names_capped`].
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().max_logger_names(500).start().unwrap();
    /// assert_eq!(listener.stop().names_capped, 0);
    /// ```
    pub fn max_logger_names(mut self, names: usize) -> Self {
        self.name_caps.names = names;
        self
    }

    /// Longest name, in bytes, a logger is created for ([`DEFAULT_MAX_LOGGER_NAME_LEN`]); a
    /// record with a longer name is handled as past [`max_logger_names`](Self::max_logger_names).
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().max_logger_name_len(200).start().unwrap();
    /// assert_eq!(listener.stop().names_capped, 0);
    /// ```
    pub fn max_logger_name_len(mut self, bytes: usize) -> Self {
        self.name_caps.len = bytes;
        self
    }

    /// Binds the endpoint and starts the threads.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let sock = dir.path().join("app.sock");
    /// let listener = mplog::queue::QueueListener::builder().endpoint(&sock).start().unwrap();
    /// // A second listener on a live endpoint is refused, not silently stacked.
    /// assert!(mplog::queue::QueueListener::builder().endpoint(&sock).start().is_err());
    /// listener.stop();
    /// ```
    pub fn start(self) -> Result<ListenerHandle, QueueError> {
        // The rings' lock before the socket: a second listener on a path must not replace
        // the socket file of one that still serves (and drains) it.
        #[cfg(target_os = "linux")]
        let mut lock = match &self.endpoint {
            Endpoint::Path(p) => {
                check_socket_path(p).map_err(QueueError::Bind)?;
                Some(DirLock::acquire(&shm::ring_dir(p), p).map_err(QueueError::Bind)?)
            }
            _ => None,
        };
        let acceptor: Option<Arc<SocketAcceptor>> = match &self.endpoint {
            Endpoint::Auto => Some(Arc::new(
                SocketAcceptor::bind_private().map_err(QueueError::Bind)?,
            )),
            Endpoint::Path(p) => Some(Arc::new(SocketAcceptor::bind(p).map_err(QueueError::Bind)?)),
            Endpoint::InProcess => None,
        };
        let socket = acceptor.as_ref().map(Arc::downgrade);
        let acceptor: Option<Arc<dyn Acceptor>> = acceptor.map(|a| a as Arc<dyn Acceptor>);
        let endpoint = acceptor
            .as_ref()
            .map(|a| PathBuf::from(a.endpoint()))
            .unwrap_or_default();
        let mut target = self
            .target
            .unwrap_or_else(|| Target::Manager(Manager::new()));
        if let Target::Handlers { respect_level, .. } = &mut target {
            *respect_level = self.respect_handler_level;
        }
        let shared = Arc::new(Shared::default());
        let (tx, rx) = bounded(DISPATCH_CAPACITY);
        let target_copy = target.clone();
        let dispatch =
            dispatch::Dispatcher::new(target, rx, shared.clone()).with_name_caps(self.name_caps);
        let dispatch = std::thread::Builder::new()
            .name("mplog-dispatch".into())
            .spawn(move || dispatch.run())
            .map_err(QueueError::Thread)?;
        // The shm rings live beside the endpoint; a restarted listener resumes those left.
        #[cfg(target_os = "linux")]
        let rings = match &acceptor {
            Some(_) => Some(
                inputs::rings::RingSet::start(
                    match lock.take() {
                        Some(lock) => lock,
                        None => DirLock::acquire(&shm::ring_dir(&endpoint), &endpoint)
                            .map_err(QueueError::Bind)?,
                    },
                    self.endpoint == Endpoint::Auto,
                    self.allowed_uids.clone(),
                    shared.clone(),
                    tx.clone(),
                )
                .map_err(QueueError::Bind)?,
            ),
            None => None,
        };
        let replies = match &acceptor {
            Some(_) => Some(Arc::new(
                inputs::replies::Replies::start(self.reply_timeout).map_err(QueueError::Thread)?,
            )),
            None => None,
        };
        let acceptor_thread = match (&acceptor, &replies) {
            (Some(acceptor), Some(replies)) => {
                let acceptor = acceptor.clone();
                let ctx = inputs::socket::Context {
                    shared: shared.clone(),
                    tx: tx.clone(),
                    max_frame: self.max_frame,
                    allowed_uids: self.allowed_uids,
                    max_connections: self.max_connections,
                    live: Arc::default(),
                    replies: replies.clone(),
                    reply_timeout: self.reply_timeout,
                    #[cfg(target_os = "linux")]
                    rings: rings.clone(),
                };
                Some(
                    std::thread::Builder::new()
                        .name("mplog-accept".into())
                        .spawn(move || inputs::socket::accept_loop(acceptor, ctx))
                        .map_err(QueueError::Thread)?,
                )
            }
            _ => None,
        };
        Ok(ListenerHandle {
            endpoint,
            current: Mutex::new(target_copy),
            tx,
            shared,
            socket,
            drain_timeout: self.drain_timeout,
            acceptor: Mutex::new(acceptor),
            #[cfg(target_os = "linux")]
            rings,
            replies,
            threads: Mutex::new(Some((acceptor_thread, dispatch))),
            stats: Mutex::new(None),
        })
    }
}

/// A running listener: its endpoint, in-process handlers, and `stop`.
///
/// ```
/// use mplog::handler::Handler;
/// let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).build().unwrap();
/// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
/// h.close();
/// assert_eq!(listener.stop().records, 1);
/// ```
pub struct ListenerHandle {
    endpoint: PathBuf,
    /// What the dispatch thread hands records to; locked for the length of a reload.
    current: Mutex<Target>,
    tx: Sender<DispatchMsg>,
    shared: Arc<Shared>,
    /// The socket, to tell whether its path still names it (not an owner: `stop` closes it).
    socket: Option<std::sync::Weak<SocketAcceptor>>,
    /// How long `stop` drains before it cuts the inputs off.
    drain_timeout: Duration,
    /// Dropped by `stop`: the socket closes and its file goes, so a worker that reconnects
    /// finds no half-dead listener whose kernel backlog would swallow its records.
    acceptor: Mutex<Option<Arc<dyn Acceptor>>>,
    /// The shm rings of this endpoint.
    #[cfg(target_os = "linux")]
    rings: Option<Arc<inputs::rings::RingSet>>,
    /// Writes the socket connections' acks; stopped after the dispatch thread's last flush.
    replies: Option<Arc<inputs::replies::Replies>>,
    #[allow(clippy::type_complexity)]
    threads: Mutex<Option<(Option<JoinHandle<Vec<JoinHandle<()>>>>, JoinHandle<()>)>>,
    stats: Mutex<Option<ListenerStats>>,
}

impl std::fmt::Debug for ListenerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerHandle")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl ListenerHandle {
    /// The socket path workers connect to (empty for [`Endpoint::InProcess`]); hand it to
    /// children with [`CommandExt::mplog_endpoint`](super::spawn::CommandExt::mplog_endpoint).
    ///
    /// ```
    /// use std::os::unix::fs::FileTypeExt;
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// assert!(std::fs::metadata(listener.endpoint()).unwrap().file_type().is_socket());
    /// # listener.stop();
    /// ```
    pub fn endpoint(&self) -> &Path {
        &self.endpoint
    }

    /// A handler for threads of this process, pushing straight onto the dispatch channel (no
    /// socket, no sender thread).
    ///
    /// ```
    /// use mplog::queue::{Endpoint, QueueListener};
    /// use mplog::handler::{Handler, MemoryHandler};
    /// let listener = QueueListener::builder().endpoint_kind(Endpoint::InProcess).start().unwrap();
    /// let h = std::sync::Arc::new(listener.local_handler());
    /// let m = mplog::Manager::new();
    /// m.root().add_handler(h.clone());
    /// std::thread::scope(|s| { s.spawn(|| m.root().log(mplog::Level::ERROR, "from a thread")); });
    /// assert_eq!(listener.stop().records, 1);
    /// ```
    pub fn local_handler(&self) -> QueueHandler {
        QueueHandler::local(self.tx.clone(), Overflow::default())
    }

    /// The hierarchy records are dispatched through (`None` with plain handlers); after a
    /// [`reload`](ListenerHandle::reload), the new one.
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// assert!(listener.manager().is_some());
    /// ```
    pub fn manager(&self) -> Option<Manager> {
        match &*self.current.lock() {
            Target::Manager(m) => Some(m.clone()),
            Target::Handlers { .. } => None,
        }
    }

    /// Has the dispatch thread swap `target` in between two batches, waits until it did (the
    /// old target's handlers are then flushed and closed). `false` if the listener stopped.
    pub(crate) fn swap_target(&self, target: Target) -> bool {
        let mut current = self.current.lock();
        let (ack, done) = bounded(1);
        if self
            .tx
            .send(DispatchMsg::Reload(target.clone(), ack))
            .is_err()
        {
            return false;
        }
        let swapped = done.recv().is_ok();
        if swapped {
            let old = std::mem::replace(&mut *current, target.clone());
            drop(current);
            // Whoever fed the old hierarchy (a `tracing` layer) follows to the new one.
            if let (Target::Manager(old), Target::Manager(new)) = (&old, &target) {
                crate::logger::notify(&crate::logger::Change::Replaced { old, new });
            }
        }
        swapped
    }

    /// Logs `text` on the listener's own logger ([`LISTENER_LOGGER`]), through the dispatch
    /// thread.
    pub(crate) fn notice(&self, level: crate::level::Level, text: String) {
        let _ = self.tx.send(DispatchMsg::Notice(level, text));
    }

    /// Counts so far (without stopping).
    ///
    /// ```
    /// use mplog::handler::Handler;
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let h = mplog::queue::QueueHandler::builder(listener.endpoint()).build().unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "m"));
    /// assert!(h.sync(std::time::Duration::from_secs(5)));
    /// assert_eq!(listener.stats().records, 1); // still running
    /// # listener.stop();
    /// ```
    pub fn stats(&self) -> ListenerStats {
        if let Some(stats) = &*self.stats.lock() {
            return stats.clone();
        }
        self.shared.snapshot()
    }

    /// Stops accepting, drains every connection, handles and flushes everything, and returns
    /// the statistics. Idempotent: later calls return the same statistics.
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// let first = listener.stop();
    /// assert_eq!(listener.stop(), first); // idempotent
    /// ```
    pub fn stop(&self) -> ListenerStats {
        let Some((acceptor_thread, dispatch)) = self.threads.lock().take() else {
            return self.stats();
        };
        let deadline = Instant::now() + self.drain_timeout;
        self.shared.stopping.store(true, Ordering::Release);
        let watchdog = shutdown::Deadline::start(deadline, self.shared.clone(), self.tx.clone());
        let acceptor = self.acceptor.lock().take();
        if let Some(acceptor) = &acceptor {
            acceptor.wake();
        }
        if let Some(t) = acceptor_thread {
            for reader in t.join().unwrap_or_default() {
                let _ = reader.join();
            }
        }
        // Rings: drained until quiet, finished ones freed, the rest left for a later listener.
        #[cfg(target_os = "linux")]
        if let Some(rings) = &self.rings {
            rings.stop();
        }
        drop(acceptor); // the last reference: closes the socket, removes its file
        let _ = self.tx.send(DispatchMsg::Stop);
        // A dispatch thread stuck in a handler (a hung file system) is not waited for forever.
        let joined = shutdown::join_until(dispatch, deadline.max(Instant::now()) + DISPATCH_GRACE);
        watchdog.finish();
        // The last flush confirmed what the connections sent: acknowledge it, so a worker
        // that reconnects to the next listener does not send it again.
        if let Some(replies) = &self.replies {
            replies.stop();
        }
        // Only now may another listener drain these rings: every commit of this one is made.
        #[cfg(target_os = "linux")]
        if let (Some(rings), true) = (&self.rings, joined) {
            rings.release();
        }
        let stats = self.shared.snapshot();
        *self.stats.lock() = Some(stats.clone());
        stats
    }

    /// Whether the socket file was removed or replaced while the listener runs (a cleaner, a
    /// careless script): new workers cannot reach it any more. It goes on serving the workers
    /// already connected; a supervisor should stop it and start a new one. `false` once
    /// stopped.
    ///
    /// ```
    /// let listener = mplog::queue::QueueListener::builder().start().unwrap();
    /// assert!(!listener.endpoint_lost());
    /// std::fs::remove_file(listener.endpoint()).unwrap();
    /// assert!(listener.endpoint_lost());
    /// listener.stop(); // still stops at once
    /// ```
    pub fn endpoint_lost(&self) -> bool {
        self.socket
            .as_ref()
            .and_then(std::sync::Weak::upgrade)
            .is_some_and(|s| !s.still_bound())
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::MemoryHandler;
    use crate::{Level, Record};

    /// How many of DEBUG, INFO, WARNING records handlers at INFO and WARNING receive.
    fn received(respect_handler_level: bool) -> (usize, usize) {
        let at = |level| {
            // No target: the handler only counts what it buffers.
            let h = Arc::new(MemoryHandler::new(100, Level::CRITICAL, None));
            h.base().set_level(level);
            h
        };
        let (info, warning) = (at(Level::INFO), at(Level::WARNING));
        let listener = QueueListener::builder()
            .endpoint_kind(Endpoint::InProcess)
            .handlers(vec![info.clone(), warning.clone()])
            .respect_handler_level(respect_handler_level)
            .start()
            .expect("listener");
        let handler = listener.local_handler();
        for level in [Level::DEBUG, Level::INFO, Level::WARNING] {
            handler.handle(&Record::new("app", level, "m"));
        }
        assert_eq!(listener.stop().records, 3);
        (info.buffered(), warning.buffered())
    }

    #[test]
    fn without_respect_handler_level_every_handler_gets_every_record() {
        // Python's QueueListener.handle: handler levels are ignored unless asked for.
        assert_eq!(received(false), (3, 3));
    }

    #[test]
    fn with_respect_handler_level_a_handler_gets_records_at_or_above_its_level() {
        assert_eq!(received(true), (2, 1));
    }
}
