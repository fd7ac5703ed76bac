//! The supervisor's side of a worker pool: handing the endpoint to children.
//!
//! Children started with [`std::process::Command`] get the endpoint in their environment
//! ([`CommandExt::mplog_endpoint`]) and call
//! [`worker::init_from_env`]. Children made with `fork`
//! ([`fork_worker`]) inherit the parent's memory but not its threads: the helper resets what
//! the record cache holds about the process, gives the child a fresh [`QueueHandler`] with its
//! own sender thread, and leaves the inherited handlers inert (a handler does nothing in a
//! process other than the one that made it).
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
/// The parent's queue handlers are flushed first, so nothing queued in the parent is copied
/// into the child.
///
/// ```no_run
/// # let listener = mplog::queue::QueueListener::builder().start().unwrap();
/// let pid = mplog::queue::spawn::fork_worker(listener.endpoint(), "worker-1", || {
///     mplog::get_logger("job").log(mplog::Level::INFO, "hello from a forked child");
///     0
/// }).unwrap();
/// nix::sys::wait::waitpid(pid, None).unwrap();
/// ```
pub fn fork_worker(
    endpoint: impl AsRef<Path>,
    process_name: &str,
    work: impl FnOnce() -> i32,
) -> Result<Pid, QueueError> {
    let builder = QueueHandler::builder(endpoint.as_ref()).process_name(process_name);
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
            // Inherited handlers belong to the parent: detach them (they are inert here).
            let root = crate::root();
            for h in root.handlers() {
                root.remove_handler(&h);
            }
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
