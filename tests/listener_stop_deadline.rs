//! The listener always stops when told (`mplog listen`, real processes and signals): SIGTERM
//! drains with a deadline (`--drain-timeout`) and exits with the statistics, saying what was
//! left undelivered, however the peers behave: workers that never stop logging (on both
//! transports) beside a peer that floods `Sync` and never reads; a socket file removed by a
//! cleaner (the listener says so, and still stops); a configuration still being built.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Reap;
use mplog::queue::transport::TransportKind;
use mplog::queue::wire::{encode_frame, Frame, Hello};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");
/// A generous bound on a stop that must end: only keeps a broken run from hanging.
const LONG: Duration = Duration::from_secs(60);

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let transport = if role == "socket" {
        TransportKind::Socket
    } else {
        TransportKind::Shm
    };
    let _guard = mplog::worker::init(
        mplog::worker::builder_from_env()
            .unwrap()
            .transport(transport),
    )
    .unwrap();
    println!("logging");
    let log = mplog::get_logger("app");
    // Never stops: the listener must stop without waiting for it.
    for i in 0u64.. {
        log.log(
            mplog::Level::INFO,
            format!("{role} {i} {}", common::PAYLOAD),
        );
    }
}

/// `mplog listen` at `endpoint` into `file` with `extra` arguments; stderr piped.
fn listen(endpoint: &Path, file: &Path, extra: &[&str]) -> Reap {
    let mut child = Command::new(MPLOG)
        .arg("listen")
        .arg("--endpoint")
        .arg(endpoint)
        .arg("--file")
        .arg(file)
        .args(["--format", "%(message)s"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim_end(), endpoint.to_str().unwrap());
    Reap::new(child)
}

/// Sends SIGTERM and waits (at most [`LONG`]) for the exit; returns its code and stderr.
fn terminate(listener: Reap) -> (Option<i32>, String) {
    let mut child: Child = listener.take();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reading = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let reaped = Reap::new(child);
    let mut child = reaped;
    common::wait_until(LONG, "the listener exits after SIGTERM", || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let status = child.take().wait().unwrap();
    (status.code(), reading.join().unwrap())
}

#[test]
fn workers_that_never_stop_and_a_peer_that_never_reads_do_not_keep_it_from_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    let file = dir.path().join("out.log");
    let listener = listen(&endpoint, &file, &["--drain-timeout", "1"]);
    let mut workers: Vec<Reap> = ["socket", "shm"]
        .iter()
        .map(|role| Reap::new(common::spawn_child(role, &endpoint, role, &[])))
        .collect();
    for w in &mut workers {
        common::wait_for_line(w, "logging");
    }
    // A peer that floods `Sync` and never reads its acknowledgements.
    let mut deaf = UnixStream::connect(&endpoint).unwrap();
    let mut bytes = Vec::new();
    encode_frame(&Hello::this_process(), &mut bytes).unwrap();
    for seq in 0..10_000 {
        encode_frame(&Frame::Sync { seq }, &mut bytes).unwrap();
    }
    deaf.set_nonblocking(true).unwrap();
    let flooding = std::thread::spawn(move || {
        let mut at = 0;
        while at < bytes.len() {
            match deaf.write(&bytes[at..]) {
                Ok(n) => at += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => break, // closed by the listener: fine
            }
        }
        deaf
    });
    common::wait_until(LONG, "records arrive", || common::lines(&file).len() > 1000);
    let (code, stderr) = terminate(listener);
    assert_eq!(code, Some(1), "left undelivered: status 1\n{stderr}");
    assert!(stderr.contains("the drain deadline passed"), "{stderr}");
    assert!(stderr.contains("inputs were still delivering"), "{stderr}");
    drop(flooding.join().unwrap());
}

#[test]
fn a_listener_whose_socket_file_was_removed_says_so_and_still_stops() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    let file = dir.path().join("out.log");
    let mut listener = listen(&endpoint, &file, &[]);
    std::fs::remove_file(&endpoint).unwrap(); // a /tmp cleaner
    let stderr = BufReader::new(listener.stderr.take().unwrap());
    let (tx, said) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("was removed or replaced") && tx.send(line).is_err() {
                return;
            }
        }
    });
    said.recv_timeout(LONG)
        .expect("the listener says its socket file is gone");
    let child = listener.take();
    let mut listener = Reap::new(child);
    kill(Pid::from_raw(listener.id() as i32), Signal::SIGTERM).unwrap();
    common::wait_until(LONG, "the listener exits after SIGTERM", || {
        matches!(listener.try_wait(), Ok(Some(_)))
    });
    assert!(listener.take().wait().unwrap().success());
}

/// The signals `pid` blocks (`SigBlk` of /proc/<pid>/status).
fn blocked(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0)
}

#[test]
fn sigterm_while_a_large_configuration_is_built_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("big.toml");
    let mut text = String::from(
        "version = 1\n[handlers.f]\nclass = \"logging.FileHandler\"\nfilename = \"out.log\"\n\
         [root]\nlevel = \"INFO\"\nhandlers = [\"f\"]\n",
    );
    for i in 0..300_000 {
        text.push_str(&format!(
            "[loggers.\"app.m{}.c{i}\"]\nlevel = \"INFO\"\n",
            i % 97
        ));
    }
    std::fs::write(&config, text).unwrap();
    let mut listener = Reap::new(
        Command::new(MPLOG)
            .arg("listen")
            .arg("--endpoint")
            .arg(dir.path().join("mplog.sock"))
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let pid = listener.id();
    let sigterm = 1u64 << (Signal::SIGTERM as u64 - 1);
    common::wait_until(LONG, "SIGTERM blocked (to be read)", || {
        blocked(pid) & sigterm != 0
    });
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    common::wait_until(LONG, "the listener exits after SIGTERM", || {
        matches!(listener.try_wait(), Ok(Some(_)))
    });
    let out = listener.take().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Either stopped while configuring, or (a fast machine) started and drained at once.
    assert!(
        stderr.contains("while the configuration was being built") || stderr.contains("draining"),
        "{stderr}"
    );
}
