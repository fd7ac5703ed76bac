//! The queue's guarantees, each proven across real processes or real sockets:
//! nothing lost on the way out (guard, `shutdown()`, panic, `exit`), `sync` delivery survives
//! SIGKILL, a dead listener neither hangs nor panics a worker, drops reach the listener and are
//! logged naming the worker, bad frames close only their own connection, workers reconnect to
//! a restarted listener, the peer-uid check, and the fork helper.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mplog::handler::{Handler, HandlerBase, HandlerError};
use mplog::queue::listener::LISTENER_LOGGER;
use mplog::queue::transport::TransportKind;
use mplog::queue::wire::{encode_frame, Frame, Hello};
use mplog::queue::{Overflow, QueueHandler, QueueListener};
use mplog::{Level, Manager, Record};
use parking_lot::{Condvar, Mutex};

const RECORDS: usize = 2_000;
/// Generous: a bound on liveness, not a speed figure.
const LONG: Duration = Duration::from_secs(60);

/// Ends the process without running `atexit` hooks or destructors, so a test proves that the
/// path under test (not the exit hook) delivered the records.
fn hard_exit(code: i32) -> ! {
    // SAFETY: `_exit` ends the process at once; nothing runs after it.
    unsafe { nix::libc::_exit(code) }
}

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    match role.as_str() {
        "guard" => {
            let guard = mplog::worker::init_from_env().unwrap();
            common::log_numbered(0, RECORDS);
            drop(guard);
            hard_exit(0);
        }
        "shutdown" => {
            let _guard = mplog::worker::init_from_env().unwrap();
            common::log_numbered(0, RECORDS);
            mplog::shutdown();
            hard_exit(0);
        }
        "panic" => {
            let _guard = mplog::worker::init_from_env().unwrap();
            let t = std::thread::spawn(|| {
                common::log_numbered(0, RECORDS);
                panic!("worker gives up");
            });
            assert!(t.join().is_err());
            // Only the panic hook can have drained by now.
            hard_exit(3);
        }
        "exit" => {
            let _guard = mplog::worker::init_from_env().unwrap();
            common::log_numbered(0, RECORDS);
            std::process::exit(0); // the atexit hook drains
        }
        "sync-then-sigkill" => {
            std::env::set_var(mplog::queue::worker::ENV_DELIVERY, "sync");
            let _guard = mplog::worker::init_from_env().unwrap();
            common::log_numbered(0, RECORDS);
            // Tell the parent every call returned, then wait to be killed.
            println!("logged");
            std::io::stdout().flush().unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        "fork" => {
            let endpoint = std::env::var(mplog::queue::worker::ENV_ENDPOINT).unwrap();
            let pid = mplog::queue::spawn::fork_worker(&endpoint, "forked", || {
                common::log_numbered(0, RECORDS);
                0
            })
            .unwrap();
            let status = nix::sys::wait::waitpid(pid, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(pid, 0));
            hard_exit(0);
        }
        "fork-buffered" => {
            // A buffered file handler on a non-root logger, holding unflushed lines at the fork.
            let endpoint = std::env::var(mplog::queue::worker::ENV_ENDPOINT).unwrap();
            let user_file = std::env::var(USER_FILE).unwrap();
            let file: Arc<dyn Handler> = Arc::new(
                mplog::handler::FileHandler::builder(&user_file)
                    .buffer(64 * 1024)
                    .build()
                    .unwrap(),
            );
            let app = mplog::get_logger("app");
            app.set_level(Level::INFO);
            app.add_handler(file.clone());
            app.log(Level::INFO, "parent 1");
            app.log(Level::INFO, "parent 2");
            let pid = mplog::queue::spawn::fork_worker(&endpoint, "forked", || {
                mplog::get_logger("app").log(Level::INFO, "child 1");
                // Closes whatever handlers the child's loggers hold.
                mplog::shutdown();
                0
            })
            .unwrap();
            let status = nix::sys::wait::waitpid(pid, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(pid, 0));
            file.flush().unwrap();
            hard_exit(0);
        }
        "other-user" => {
            // Run as another uid: the listener must refuse the connection.
            let builder = mplog::queue::worker::builder_from_env()
                .unwrap()
                .drain_timeout(Duration::from_millis(300));
            let guard = mplog::queue::worker::init(builder).unwrap();
            mplog::get_logger("app").log(Level::INFO, "not allowed");
            assert!(!guard.handler().sync(Duration::from_millis(300)));
            drop(guard);
            hard_exit(0);
        }
        other => panic!("unknown role {other}"),
    }
}

/// Runs one child `role` against a fresh listener and checks that all its records arrived.
fn every_record_arrives(role: &str, expect_success: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let listener = common::file_listener(&path);
    let mut child = common::spawn_child(role, listener.endpoint(), role, &[]);
    let status = child.wait().unwrap();
    assert_eq!(status.success(), expect_success, "{role}: {status:?}");
    let stats = listener.stop();
    common::check_worker(&common::lines(&path), 0, RECORDS);
    assert_eq!(stats.records, RECORDS as u64, "{role}");
}

#[test]
fn dropping_the_guard_drains() {
    if common::role().is_none() {
        every_record_arrives("guard", true);
    }
}

#[test]
fn shutdown_drains() {
    if common::role().is_none() {
        every_record_arrives("shutdown", true);
    }
}

#[test]
fn a_panic_drains() {
    if common::role().is_none() {
        every_record_arrives("panic", false);
    }
}

#[test]
fn process_exit_drains() {
    if common::role().is_none() {
        every_record_arrives("exit", true);
    }
}

#[test]
fn a_forked_worker_gets_its_own_sender() {
    if common::role().is_none() {
        every_record_arrives("fork", true);
    }
}

/// The file the "fork-buffered" role's own handler writes.
const USER_FILE: &str = "MPLOG_TEST_USER_FILE";

#[test]
fn a_forked_worker_leaves_inherited_handlers_alone() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let user_file = dir.path().join("app.log");
    let listener = common::file_listener(&path);
    let user = user_file.to_str().unwrap();
    let mut child = common::spawn_child(
        "fork-buffered",
        listener.endpoint(),
        "parent",
        &[(USER_FILE, user)],
    );
    assert!(child.wait().unwrap().success());
    listener.stop();
    // The parent's pending lines once (flushed before the fork, not again by the child), and
    // none of the child's: its records went to the listener only.
    assert_eq!(common::lines(&user_file), ["parent 1", "parent 2"]);
    assert_eq!(common::lines(&path), ["child 1"]);
}

#[test]
fn sync_delivery_survives_sigkill() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let listener = common::file_listener(&path);
    let mut child = common::spawn_child("sync-then-sigkill", listener.endpoint(), "doomed", &[]);
    let _out = common::wait_for_line(&mut child, "logged");
    child.kill().unwrap(); // SIGKILL: no hook runs
    child.wait().unwrap();
    let stats = listener.stop();
    common::check_worker(&common::lines(&path), 0, RECORDS);
    assert_eq!(stats.records, RECORDS as u64);
}

#[test]
fn a_dead_listener_neither_hangs_nor_panics() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nobody-listens.sock");
    for transport in [TransportKind::Socket, TransportKind::Shm] {
        for overflow in [
            Overflow::Drop,
            Overflow::Block {
                timeout: Duration::from_millis(1),
            },
        ] {
            let handler = QueueHandler::builder(&nowhere)
                .transport(transport)
                .capacity(16)
                .ring_bytes(4096)
                .overflow(overflow)
                .max_pending(4096)
                .drain_timeout(Duration::from_millis(200))
                .build()
                .unwrap();
            let started = Instant::now();
            for i in 0..1_000 {
                handler.handle(&Record::new("a", Level::INFO, format!("record {i}")));
            }
            assert!(!handler.sync(Duration::from_millis(100)));
            handler.close();
            assert!(started.elapsed() < LONG, "{transport:?} {overflow:?} hung");
            let stats = handler.stats();
            // The socket keeps nothing; a ring keeps what fits, for a later listener.
            match transport {
                TransportKind::Socket => assert_eq!(stats.sent, 0, "{overflow:?}"),
                TransportKind::Shm => {
                    assert!(stats.sent < 1_000, "{overflow:?}: {stats:?}");
                    assert_eq!(stats.sent + stats.dropped, 1_000, "{overflow:?}");
                }
            }
            assert!(stats.dropped > 0, "{transport:?} {overflow:?}: {stats:?}");
            if overflow == Overflow::Drop {
                // Dropped quietly, as asked: no logging error.
                assert_eq!(handler.base().error_count(), 0, "{transport:?}");
            }
        }
    }
    // Rings nobody will drain: not left in /dev/shm.
    let _ = std::fs::remove_dir_all(mplog::queue::transport::shm::ring_dir(&nowhere));
    // Nobody listening, the sender keeps taking records (and drops the oldest beyond
    // `max_pending`), so whether the queue ever fills is timing. A listener that accepts no
    // connection and reads nothing blocks the sender's write: the queue fills for certain, and
    // each `block` timeout must be reported through the handler's error policy.
    let stuck = dir.path().join("stuck.sock");
    let _stuck = std::os::unix::net::UnixListener::bind(&stuck).unwrap();
    let handler = QueueHandler::builder(&stuck)
        .transport(TransportKind::Socket)
        .capacity(16)
        .overflow(Overflow::Block {
            timeout: Duration::from_millis(1),
        })
        .drain_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    // 4 MiB in all, well beyond what the kernel buffers for an unread socket.
    let payload = "x".repeat(4096);
    for _ in 0..1_000 {
        handler.handle(&Record::new("a", Level::INFO, payload.clone()));
    }
    handler.close();
    assert!(started.elapsed() < LONG, "a stuck listener hung the worker");
    assert!(handler.stats().dropped > 0, "{:?}", handler.stats());
    assert!(
        handler.base().error_count() > 0,
        "block timeouts not reported"
    );
}

/// A handler that keeps formatted lines in memory, and can hold the dispatch thread at a gate.
#[derive(Default)]
struct Capture {
    base: HandlerBase,
    lines: Mutex<Vec<String>>,
    gate: Mutex<bool>,
    opened: Condvar,
}

impl Capture {
    fn open_gate(&self) {
        *self.gate.lock() = true;
        self.opened.notify_all();
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().clone()
    }
}

impl Handler for Capture {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut open = self.gate.lock();
        while !*open {
            self.opened.wait(&mut open);
        }
        drop(open);
        self.lines.lock().push(format!(
            "{} {} {}",
            record.name, record.level_name, record.message
        ));
        Ok(())
    }
}

/// A listener dispatching through a manager whose root has a `Capture` handler.
fn capturing_listener(
    endpoint: Option<&Path>,
) -> (mplog::queue::ListenerHandle, Arc<Capture>, Manager) {
    let capture = Arc::new(Capture::default());
    let manager = Manager::new();
    manager.root().set_level(Level::DEBUG);
    manager.root().add_handler(capture.clone());
    let mut builder = QueueListener::builder().manager(manager.clone());
    if let Some(p) = endpoint {
        builder = builder.endpoint(p);
    }
    (builder.start().unwrap(), capture, manager)
}

/// Logs ~200-byte records `record 0 ...`, `record 1 ...` until the handler drops one.
fn log_until_dropped(handler: &QueueHandler) {
    let mut i = 0;
    while handler.stats().dropped == 0 {
        handler.handle(&Record::new(
            "app",
            Level::INFO,
            format!("record {i} {}", "x".repeat(200)),
        ));
        i += 1;
        assert!(i < 10_000_000, "never dropped");
    }
}

#[test]
fn records_left_in_a_part_filled_chunk_arrive_without_another_call() {
    if common::role().is_some() {
        return;
    }
    let (listener, capture, _m) = capturing_listener(None);
    let handler = QueueHandler::builder(listener.endpoint())
        .transport(TransportKind::Socket)
        .capacity(64)
        .overflow(Overflow::Drop)
        .batch_bytes(256)
        .flush_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    // The listener is held at the gate: its socket, then the handler's channel fill up.
    log_until_dropped(&handler);
    // Two records in a new chunk whose wake-up found the channel full. (Whether the sender
    // still had bytes pending when the gate opens depends on timing; when it had none, only
    // its timer's look at the open chunk writes these.)
    handler.handle(&Record::new("app", Level::INFO, "last one"));
    handler.handle(&Record::new("app", Level::INFO, "last two"));
    capture.open_gate();
    // No further call, flush or close: the sender's timer must find them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let arrived = |what: &str| capture.lines().iter().any(|l| l.ends_with(what));
    while !(arrived("last one") && arrived("last two")) {
        assert!(
            Instant::now() < deadline,
            "the part-filled chunk was never written"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    handler.close();
    listener.stop();
}

#[test]
fn drops_are_counted_and_reported_by_the_listener() {
    if common::role().is_some() {
        return;
    }
    let (listener, capture, _m) = capturing_listener(None);
    let handler = QueueHandler::builder(listener.endpoint())
        .capacity(8)
        .overflow(Overflow::Drop)
        .batch_bytes(256)
        .max_pending(1024)
        .process_name("flooder")
        .build()
        .unwrap();
    // The dispatch thread is held at the gate: the listener stops reading, the socket
    // fills, then the worker's queue, and records are dropped.
    log_until_dropped(&handler);
    capture.open_gate();
    handler.close();
    let worker_side = handler.stats();
    let stats = listener.stop();
    assert_eq!(stats.dropped, worker_side.dropped);
    assert_eq!(stats.per_worker[0].dropped, worker_side.dropped);
    let app = capture
        .lines()
        .iter()
        .filter(|l| l.starts_with("app "))
        .count();
    assert_eq!(app as u64, worker_side.sent);
    let notice = capture
        .lines()
        .into_iter()
        .find(|l| l.starts_with(LISTENER_LOGGER))
        .expect("a notice about the drops");
    assert!(notice.contains("WARNING"), "{notice}");
    assert!(notice.contains("flooder"), "{notice}");
    assert!(notice.contains("dropped"), "{notice}");
}

fn frame(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(f, &mut out).unwrap();
    out
}

fn hello() -> Vec<u8> {
    frame_of(&Hello::this_process())
}

fn frame_of<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(v, &mut out).unwrap();
    out
}

#[test]
fn bad_frames_close_only_their_connection() {
    if common::role().is_some() {
        return;
    }
    let (listener, capture, _m) = capturing_listener(None);
    capture.open_gate();
    let good = QueueHandler::builder(listener.endpoint())
        .process_name("good")
        .build()
        .unwrap();
    good.handle(&Record::new("app", Level::INFO, "before"));
    assert!(good.sync(LONG));

    let send_raw = |bytes: &[u8]| {
        let mut s = UnixStream::connect(listener.endpoint()).unwrap();
        s.write_all(bytes).unwrap();
        // The listener closes its end: reading sees EOF (or a reset) soon.
        s.set_read_timeout(Some(LONG)).unwrap();
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(&mut s, &mut buf);
    };
    // 1. Garbage instead of a hello.
    send_raw(b"GET / HTTP/1.1\r\n\r\n");
    // 2. A hello, then a frame announcing more than the limit.
    let mut bytes = hello();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    send_raw(&bytes);
    // 3. A hello, then a frame whose body is not a frame.
    let mut bytes = hello();
    bytes.extend_from_slice(&5u32.to_le_bytes());
    bytes.extend_from_slice(&[0xff; 5]);
    send_raw(&bytes);
    // 4. A wrong protocol version.
    let mut h = Hello::this_process();
    h.version = 99;
    send_raw(&frame_of(&h));
    // 5. A good frame, then a truncated final frame at EOF: the first is kept, the rest
    //    thrown away.
    let mut bytes = hello();
    bytes.extend(frame(&Frame::Records(vec![Record::new(
        "app",
        Level::INFO,
        "whole frame",
    )])));
    let cut = frame(&Frame::Records(vec![Record::new(
        "app",
        Level::INFO,
        "cut short",
    )]));
    bytes.extend_from_slice(&cut[..cut.len() / 2]);
    {
        let mut s = UnixStream::connect(listener.endpoint()).unwrap();
        s.write_all(&bytes).unwrap();
        // Dropping the stream ends it mid-frame.
    }
    // Once the reader has thrown the cut frame away, its whole frame is with the dispatcher:
    // "after" comes behind it.
    let deadline = Instant::now() + LONG;
    while listener.stats().malformed < 5 {
        assert!(Instant::now() < deadline, "{:?}", listener.stats());
        std::thread::sleep(Duration::from_millis(5));
    }

    good.handle(&Record::new("app", Level::INFO, "after"));
    good.close();
    let stats = listener.stop();
    let lines = capture.lines();
    let app: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("app "))
        .collect();
    assert_eq!(
        app,
        ["app INFO before", "app INFO whole frame", "app INFO after"]
    );
    assert_eq!(stats.malformed, 5, "{stats:?}");
    let notices: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with(LISTENER_LOGGER))
        .collect();
    assert_eq!(notices.len(), 5, "{notices:?}");
    assert!(notices.iter().any(|n| n.contains("limit")), "{notices:?}");
    assert!(
        notices.iter().any(|n| n.contains("version 99")),
        "{notices:?}"
    );
}

#[test]
fn workers_reconnect_to_a_restarted_listener() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("restart.sock");
    let (first, first_capture, _m1) = capturing_listener(Some(&endpoint));
    first_capture.open_gate();
    let handler = QueueHandler::builder(&endpoint)
        .process_name("survivor")
        .build()
        .unwrap();
    handler.handle(&Record::new("app", Level::INFO, "to the first"));
    assert!(handler.sync(LONG));
    first.stop();

    // Logged while no listener runs: kept in the bounded queue.
    handler.handle(&Record::new("app", Level::INFO, "while down"));
    let (second, second_capture, _m2) = capturing_listener(Some(&endpoint));
    second_capture.open_gate();
    handler.handle(&Record::new("app", Level::INFO, "to the second"));
    assert!(handler.sync(LONG), "no reconnection");
    handler.close();
    second.stop();
    assert_eq!(first_capture.lines(), ["app INFO to the first"]);
    assert_eq!(
        second_capture.lines(),
        ["app INFO while down", "app INFO to the second"]
    );
    assert_eq!(handler.stats().dropped, 0);
}

#[test]
fn peers_of_other_users_are_refused() {
    if common::role().is_some() {
        return;
    }
    if nix::unistd::getuid().is_root() {
        a_connection_from_nobody_is_refused();
    } else {
        a_uid_outside_the_allow_list_is_refused();
    }
}

/// As root (CI): a real client running as `nobody` connects and is refused.
fn a_connection_from_nobody_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt as _;

    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("a `nobody` user");
    let dir = tempfile::tempdir().unwrap();
    // Reachable by `nobody` for this test only; the listener still allows only root.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("out.log");
    let file: Arc<dyn Handler> = Arc::new(mplog::handler::FileHandler::new(&path).unwrap());
    let listener = QueueListener::builder()
        .endpoint(dir.path().join("mplog.sock"))
        .handlers(vec![file])
        .start()
        .unwrap();
    let socket = listener.endpoint().to_path_buf();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // The intruder means to reach root's listener (a worker checks whom it talks to).
    let mut cmd = common::child_command(
        "other-user",
        &socket,
        "intruder",
        &[("MPLOG_LISTENER_UID", "0")],
    );
    cmd.gid(nobody.gid.as_raw()).uid(nobody.uid.as_raw());
    let status = cmd.spawn().unwrap().wait().unwrap();
    assert!(status.success(), "{status:?}");
    // The refusal is counted when the listener accepts the connection.
    let until = Instant::now() + LONG;
    while listener.stats().rejected == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = listener.stop();
    assert!(stats.rejected >= 1, "{stats:?}");
    assert_eq!(stats.records, 0);
    // The listener's own warning about the refusal may be there; the client's record not.
    let lines = common::lines(&path);
    assert!(
        !lines.iter().any(|l| l.contains("not allowed")),
        "{lines:?}"
    );
}

/// Not root: no other uid to run as; an allow-list without ours stands in for one.
fn a_uid_outside_the_allow_list_is_refused() {
    let me = nix::unistd::getuid().as_raw();
    // The socket's SO_PEERCRED check, and the shm ring file's owner check.
    for transport in [TransportKind::Socket, TransportKind::Shm] {
        let listener = QueueListener::builder()
            .allowed_uids([me.wrapping_add(1)])
            .start()
            .unwrap();
        let handler = QueueHandler::builder(listener.endpoint())
            .transport(transport)
            .drain_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        handler.handle(&Record::new("app", Level::INFO, "not allowed"));
        assert!(!handler.sync(Duration::from_millis(300)), "{transport:?}");
        handler.close();
        let stats = listener.stop();
        assert!(stats.rejected >= 1, "{transport:?}: {stats:?}");
        assert_eq!(stats.records, 0, "{transport:?}");
    }
}
