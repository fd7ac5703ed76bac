//! One endpoint, one listener, and workers that talk only to the listener they mean (real
//! `mplog listen` processes, real signals, the real `/dev/shm`):
//! - a second listener on a path whose first listener lost its socket file to a cleaner is
//!   refused, naming the first, and starts once the first has stopped; its workers' records
//!   then reach it, not the old one;
//! - another user's pre-made ring directory does not keep a listener from starting (as root);
//! - a SIGKILLed listener's rings are drained by the next listener on the endpoint, which
//!   deletes them and their directory;
//! - a worker sends nothing to a socket served by another user (as root);
//! - `MPLOG_ENDPOINT=""` is refused; `mplog send` to a dead listener fails at once and leaves
//!   no ring behind.
mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Reap;
use mplog::handler::Handler;
use mplog::queue::transport::shm::{list_rings, ring_dir};
use mplog::queue::transport::TransportKind;
use mplog::queue::{Delivery, QueueHandler};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");
const LONG: Duration = Duration::from_secs(60);
const RECORDS: usize = 1_000;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    if role == "empty-endpoint" {
        match mplog::worker::builder_from_env() {
            Ok(_) => println!("accepted"),
            Err(e) => println!("refused: {e}"),
        }
        return;
    }
    let w: usize = role.parse().unwrap();
    let guard = mplog::worker::init(mplog::worker::builder_from_env().unwrap()).unwrap();
    println!("started");
    common::log_numbered(w, RECORDS);
    drop(guard);
}

/// Whether this test may act as another user; under CI it must.
fn root_or_skip(what: &str) -> bool {
    if nix::unistd::getuid().is_root() {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "CI runs as root: {what}");
    println!("skipped: {what} needs root");
    false
}

/// `mplog listen` at `endpoint` writing message-only lines to `file`.
fn listen(endpoint: &Path, file: &Path) -> Reap {
    Reap::new(common::listen_process(endpoint, file, Stdio::piped()))
}

/// SIGTERM, then the exit status and standard error (bounded by [`LONG`]).
fn terminate(mut listener: Reap) -> (bool, String) {
    kill(Pid::from_raw(listener.id() as i32), Signal::SIGTERM).unwrap();
    common::wait_until(LONG, "the listener exits", || {
        matches!(listener.try_wait(), Ok(Some(_)))
    });
    let mut child = listener.take();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).unwrap();
    }
    (child.wait().unwrap().success(), stderr)
}

fn run_worker(w: usize, endpoint: &Path) {
    let mut worker = Reap::new(common::spawn_child(
        &w.to_string(),
        endpoint,
        &format!("worker-{w}"),
        &[],
    ));
    common::wait_until(LONG, "the worker ends", || {
        matches!(worker.try_wait(), Ok(Some(_)))
    });
    assert!(worker.take().wait().unwrap().success());
}

#[test]
fn a_second_listener_is_refused_until_the_first_has_stopped_draining() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    let (old_file, new_file) = (dir.path().join("old.log"), dir.path().join("new.log"));
    let old = listen(&endpoint, &old_file);
    std::fs::remove_file(&endpoint).unwrap(); // a /tmp cleaner
    let mut second = Reap::new(
        Command::new(MPLOG)
            .arg("listen")
            .arg("--endpoint")
            .arg(&endpoint)
            .arg("--file")
            .arg(&new_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Refused at once; one that started would serve until killed (by `Reap`).
    common::wait_until(LONG, "the second listener is refused", || {
        matches!(second.try_wait(), Ok(Some(_)))
    });
    let second = second.take().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "a second listener started: {stderr}"
    );
    assert!(
        stderr.contains(&format!("another listener (pid {})", old.id())),
        "{stderr}"
    );
    assert!(
        !endpoint.exists(),
        "the refused listener left a socket file"
    );
    let (ok, stderr) = terminate(old);
    assert!(ok, "{stderr}");
    // The first has stopped: the endpoint is free, and its workers' records reach the new one.
    let new = listen(&endpoint, &new_file);
    run_worker(0, &endpoint);
    let (ok, stderr) = terminate(new);
    assert!(ok, "{stderr}");
    common::check_worker(&common::lines(&new_file), 0, RECORDS);
    assert!(common::lines(&old_file).is_empty());
}

#[test]
fn another_users_ring_directory_does_not_keep_a_listener_from_starting() {
    if !root_or_skip("making a directory owned by nobody") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    let file = dir.path().join("out.log");
    // What another local user could do first: the directory's name is predictable.
    let squatted = ring_dir(&endpoint);
    std::fs::create_dir(&squatted).unwrap();
    std::fs::set_permissions(&squatted, std::fs::Permissions::from_mode(0o777)).unwrap();
    nix::unistd::chown(
        &squatted,
        Some(nix::unistd::Uid::from_raw(65534)),
        Some(nix::unistd::Gid::from_raw(65534)),
    )
    .unwrap();
    let removing = scopeguard(&squatted);
    let listener = listen(&endpoint, &file);
    assert_ne!(
        ring_dir(&endpoint),
        squatted,
        "the squatted name is passed over"
    );
    run_worker(0, &endpoint); // the shm transport: rings in the directory passed over to
    let (ok, stderr) = terminate(listener);
    assert!(ok, "{stderr}");
    common::check_worker(&common::lines(&file), 0, RECORDS);
    assert!(list_rings(&squatted).is_empty());
    drop(removing);
}

/// Removes `dir` when dropped (the squatter's directory lives in the shared /dev/shm).
fn scopeguard(dir: &Path) -> impl Drop + '_ {
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0);
        }
    }
    Remove(dir)
}

#[test]
fn a_killed_listeners_rings_are_drained_and_deleted_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    let (first_file, next_file) = (dir.path().join("first.log"), dir.path().join("next.log"));
    let first = listen(&endpoint, &first_file);
    // Stopped, then killed: the worker's records stay in its ring.
    kill(Pid::from_raw(first.id() as i32), Signal::SIGSTOP).unwrap();
    let mut worker = Reap::new(common::spawn_child("0", &endpoint, "worker-0", &[]));
    let _out = common::wait_for_line(&mut worker, "started");
    common::wait_until(LONG, "the worker ends", || {
        matches!(worker.try_wait(), Ok(Some(_)))
    });
    let rings = ring_dir(&endpoint);
    assert_eq!(list_rings(&rings).len(), 1, "the worker's ring is there");
    let mut first = first.take();
    first.kill().unwrap();
    first.wait().unwrap();
    let next = listen(&endpoint, &next_file);
    common::wait_until(LONG, "the ring drained and deleted", || {
        list_rings(&rings).is_empty()
    });
    let (ok, stderr) = terminate(next);
    assert!(ok, "{stderr}");
    common::check_worker(&common::lines(&next_file), 0, RECORDS);
    assert!(
        !rings.exists(),
        "the ring directory outlived its last listener"
    );
}

#[test]
fn a_worker_sends_nothing_to_a_socket_of_another_user() {
    if !root_or_skip("running a socket server as nobody") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let endpoint = dir.path().join("mplog.sock");
    // Another user's server at the endpoint path, counting what it is sent.
    let script = "import socket,sys\n\
        s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)\n\
        print('ready', flush=True)\n\
        s.settimeout(5); total=0\n\
        try:\n  while True:\n    c,_=s.accept(); c.settimeout(2)\n    \
        try:\n      while True:\n        d=c.recv(65536)\n        if not d: break\n        total+=len(d)\n    \
        except Exception: pass\n\
        except Exception: pass\n\
        print('received', total, flush=True)\n";
    let mut server = {
        use std::os::unix::process::CommandExt;
        Reap::new(
            Command::new("python3")
                .args(["-c", script])
                .arg(&endpoint)
                .uid(65534)
                .gid(65534)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let handler = QueueHandler::builder(&endpoint)
        .transport(TransportKind::Socket)
        .delivery(Delivery::Sync)
        .drain_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    handler.handle(&mplog::Record::new(
        "app",
        mplog::Level::ERROR,
        "root's secret",
    ));
    assert!(
        !handler.sync(Duration::from_secs(1)),
        "an impostor confirmed"
    );
    handler.close();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "received 0", "the impostor was sent something");
}

#[test]
fn an_empty_endpoint_variable_is_refused() {
    let mut child = common::spawn_child(
        "empty-endpoint",
        Path::new("/unused"),
        "w",
        &[("MPLOG_ENDPOINT", "")],
    );
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        text.contains("refused: environment variable MPLOG_ENDPOINT: empty"),
        "{text}"
    );
}

#[test]
fn send_to_a_dead_listener_fails_at_once_and_leaves_no_ring() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    // A listener that died without removing its socket file.
    drop(std::os::unix::net::UnixListener::bind(&endpoint).unwrap());
    let started = Instant::now();
    let out = Command::new(MPLOG)
        .args(["send", "--endpoint"])
        .arg(&endpoint)
        .arg("hello")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no listener at"), "{stderr}");
    // "About a second, not ten": a generous bound that the ten-second wait exceeds.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        list_rings(&ring_dir(&endpoint)).is_empty(),
        "a ring was left"
    );
}
