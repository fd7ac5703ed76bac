//! What bounds [`ListenerHandle::stop`](super::ListenerHandle::stop): the drain deadline's
//! watchdog, which cuts the inputs off (`Shared::cut`) when it passes, and a join that gives up
//! on a thread stuck past its bound (see the listener's module docs, "Stopping").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::dispatch::DispatchMsg;
use super::{Shared, READER_STACK};

/// Joins `thread` unless it is still running at `until`; whether it was joined.
pub(crate) fn join_until(thread: JoinHandle<()>, until: Instant) -> bool {
    while !thread.is_finished() {
        if Instant::now() >= until {
            return false; // left behind: it ends with the process
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    thread.join().is_ok()
}

/// Cuts the inputs off at the drain deadline (sets `Shared::cut`) unless stop finished first.
pub(crate) struct Deadline {
    thread: Option<JoinHandle<()>>,
    done: Arc<AtomicBool>,
}

impl Deadline {
    pub(crate) fn start(
        deadline: Instant,
        shared: Arc<Shared>,
        tx: Sender<DispatchMsg>,
    ) -> Deadline {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let cut = shared.clone();
        let thread = std::thread::Builder::new()
            .name("mplog-stop-deadline".into())
            .stack_size(READER_STACK)
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now >= deadline {
                        cut.cut.store(true, Ordering::Release);
                        let text = "the drain deadline passed: the inputs still delivering \
                                    were cut off; what they had not delivered stays with them \
                                    for the next listener"
                            .to_owned();
                        let _ =
                            tx.try_send(DispatchMsg::Notice(crate::level::Level::WARNING, text));
                        return;
                    }
                    std::thread::park_timeout(deadline - now);
                }
            });
        match thread {
            Ok(thread) => Deadline {
                thread: Some(thread),
                done,
            },
            Err(_) => {
                // No thread for the deadline: cut at once rather than risk waiting forever.
                shared.cut.store(true, Ordering::Release);
                Deadline { thread: None, done }
            }
        }
    }

    pub(crate) fn finish(mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
