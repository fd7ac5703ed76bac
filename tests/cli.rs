//! The `mplog` command line: `listen` prints its endpoint, `send` logs through it, SIGTERM
//! drains and exits 0 with the statistics; `demo` runs its worker pool and checks itself.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");

#[test]
fn listen_send_and_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("listen.log");
    let mut listener = Command::new(MPLOG)
        .args([
            "listen",
            "--format",
            "%(processName)s %(name)s %(levelname)s %(message)s",
        ])
        .arg("--file")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut endpoint = String::new();
    BufReader::new(listener.stdout.take().unwrap())
        .read_line(&mut endpoint)
        .unwrap();
    let endpoint = endpoint.trim();
    assert!(endpoint.ends_with(".sock"), "{endpoint:?}");

    let send = |args: &[&str]| {
        Command::new(MPLOG)
            .args(["send", "--endpoint", endpoint])
            .args(args)
            .output()
            .unwrap()
    };
    let out = send(&[
        "--logger", "app.cron", "--level", "warning", "nightly", "job", "done",
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = send(&["--logger", "app.cron", "--level", "15", "custom level"]);
    assert!(out.status.success(), "{out:?}");

    let bad = Command::new(MPLOG)
        .args(["send", "--endpoint"])
        .arg(dir.path().join("nobody.sock"))
        .arg("hello")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(why.contains("no listener socket at"), "{why}");

    kill(Pid::from_raw(listener.id() as i32), Signal::SIGTERM).unwrap();
    let out = listener.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("2 records"), "{report}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "mplog-send app.cron WARNING nightly job done\nmplog-send app.cron Level 15 custom level\n"
    );
    assert!(
        !std::path::Path::new(endpoint).exists(),
        "the socket file is removed on exit"
    );
}

#[test]
fn demo_checks_its_own_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(MPLOG)
        .args(["demo", "--workers", "3", "--records", "2000", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("every record arrived exactly once"),
        "{stdout}"
    );
    let all = std::fs::read_to_string(dir.path().join("demo.log")).unwrap();
    assert_eq!(all.lines().count(), 6000);
    let errors = std::fs::read_to_string(dir.path().join("demo-errors.log")).unwrap();
    assert!(errors
        .lines()
        .all(|l| l.contains(" ERROR ") || l.contains(" CRITICAL ")));
}

#[test]
fn bench_counts_every_line_and_ends_with_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.log");
    for (delivery, transport) in [("async", "socket"), ("sync", "socket"), ("async", "both")] {
        let out = Command::new(MPLOG)
            .args(["bench", "--workers", "2", "--records", "3000", "--keep"])
            .args(["--delivery", delivery, "--transport", transport, "--file"])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let last = stdout.lines().last().unwrap_or_default();
        let fields: Vec<&str> = last.split(' ').collect();
        assert_eq!(fields[0], "bench", "{last}");
        let keys: Vec<&str> = fields[1..]
            .iter()
            .map(|f| f.split('=').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "workers",
                "records",
                "lines",
                "seconds",
                "records_per_s",
                "p50_ns",
                "p999_ns",
                "transport"
            ],
            "{last}"
        );
        assert!(
            last.starts_with("bench workers=2 records=3000 lines=6000 "),
            "{last}"
        );
        // `both`: the socket run's line, then shm's.
        let expect = if transport == "both" {
            "shm"
        } else {
            transport
        };
        assert!(last.ends_with(&format!(" transport={expect}")), "{last}");
        if transport == "both" {
            assert_eq!(stdout.matches(" transport=socket").count(), 1, "{stdout}");
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 6000);
        assert!(text
            .lines()
            .all(|l| l.contains(" app.db.pool INFO     request ") && l.ends_with(" us")));
    }
}
