//! The supervisor's side of a worker pool: handing the endpoint to children.
//!
//! Children started with [`std::process::Command`] get the endpoint in their environment
//! ([`CommandExt::mplog_endpoint`]) and call
//! [`worker::init_from_env`]. Children made with `fork`
//! ([`fork_worker`]) inherit the parent's memory but not its threads: the helper resets what
//! the record cache holds about the process, flushes every handler before the fork, takes the
//! inherited handlers off all loggers in the child (never dropping them, so nothing the parent
//! buffered is written twice), and gives the child a fresh [`QueueHandler`] with its own sender
//! thread.
//!
//! `fork` in a process with other threads is only safe if none of them holds a lock the child
//! needs; fork early, before the program starts its own threads, or from a quiet moment.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use nix::unistd::{fork, ForkResult, Pid};

use super::worker::{self, ENV_ENDPOINT, ENV_PROCESS_NAME};
use super::{QueueError, QueueHandler};

/// Hands a listener's endpoint to a child started with [`Command`].
///
/// ```
/// use mplog::queue::spawn::CommandExt;
/// let mut cmd = std::process::Command::new("true");
/// cmd.mplog_endpoint("/tmp/mplog-x/mplog.sock").mplog_process_name("worker-1");
/// let envs: Vec<_> = cmd.get_envs().collect();
/// assert_eq!(envs.len(), 2);
/// ```
pub trait CommandExt {
    /// Sets `MPLOG_ENDPOINT`.
    ///
    /// ```
    /// use mplog::queue::spawn::CommandExt;
    /// let mut cmd = std::process::Command::new("./worker");
    /// cmd.mplog_endpoint("/tmp/mplog-1/mplog.sock");
    /// let (key, value) = cmd.get_envs().next().unwrap();
    /// assert_eq!((key, value), ("MPLOG_ENDPOINT".as_ref(), Some("/tmp/mplog-1/mplog.sock".as_ref())));
    /// ```
    fn mplog_endpoint(&mut self, endpoint: impl AsRef<Path>) -> &mut Self;
    /// Sets `MPLOG_PROCESS_NAME` (the child's `processName`).
    ///
    /// ```
    /// use mplog::queue::spawn::CommandExt;
    /// let mut cmd = std::process::Command::new("./worker");
    /// cmd.mplog_process_name("worker-3");
    /// let (key, value) = cmd.get_envs().next().unwrap();
    /// assert_eq!((key, value), ("MPLOG_PROCESS_NAME".as_ref(), Some("worker-3".as_ref())));
    /// ```
    fn mplog_process_name(&mut self, name: impl AsRef<OsStr>) -> &mut Self;
}

impl CommandExt for Command {
    fn mplog_endpoint(&mut self, endpoint: impl AsRef<Path>) -> &mut Self {
        self.env(ENV_ENDPOINT, endpoint.as_ref())
    }

    fn mplog_process_name(&mut self, name: impl AsRef<OsStr>) -> &mut Self {
        self.env(ENV_PROCESS_NAME, name)
    }
}

/// Forks a worker that logs to `endpoint` as `process_name`, runs `work` in it and exits with
/// the code `work` returns, after draining (bounded). Returns the child's pid in the parent.
///
/// Every handler of the default hierarchy (and every queue handler) is flushed first, so
/// nothing buffered or queued in the parent is copied into the child; in the child, the
/// inherited handlers are detached from all loggers and left untouched, and the child's
/// records go to the listener only.
///
/// ```no_run
/// # let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let pid = mplog::queue::spawn::fork_worker(listener.endpoint(), "worker-1", || {
///     mplog::get_logger("job").log(mplog::Level::INFO, "hello from a forked child");
///     0
/// }).unwrap();
/// nix::sys::wait::waitpid(pid, None).unwrap();
/// ```
#[allow(unsafe_code)] // `fork`, see the SAFETY note below
pub fn fork_worker(
    endpoint: impl AsRef<Path>,
    process_name: &str,
    work: impl FnOnce() -> i32,
) -> Result<Pid, QueueError> {
    let builder = QueueHandler::builder(endpoint.as_ref()).process_name(process_name);
    // Whatever a handler still buffers would otherwise be copied into the child.
    for h in crate::manager().handlers() {
        let _ = h.flush();
    }
    worker::flush_all(super::handler::DEFAULT_DRAIN_TIMEOUT);
    // SAFETY: nix marks `fork` unsafe because only async-signal-safe work is sound in the
    // child of a multi-threaded process. The documented contract above (fork before other
    // threads hold locks) is the caller's; the child first resets our own statics, which no
    // other thread of the child can hold (it has none).
    match unsafe { fork() }.map_err(QueueError::Fork)? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            crate::record::reinit_after_fork();
            crate::record::set_process_name(process_name);
            detach_inherited_handlers();
            let code = match worker::init(builder) {
                Ok(guard) => {
                    let code = work();
                    drop(guard);
                    code
                }
                Err(e) => {
                    eprintln!("mplog: worker {process_name}: {e}");
                    1
                }
            };
            std::process::exit(code)
        }
    }
}

/// In a forked child: takes every handler off every logger of the default hierarchy and never
/// drops them. They belong to the parent: dropping or closing one here would write what it
/// inherited (a buffered file handler's pending lines) a second time, or act on the parent's
/// files and sockets.
fn detach_inherited_handlers() {
    let manager = crate::manager();
    for logger in std::iter::once(manager.root()).chain(manager.loggers()) {
        for h in logger.clear_handlers() {
            std::mem::forget(h);
        }
    }
}
