//! The `mplog` command line: `listen` prints its endpoint, `send` logs through it, SIGTERM
//! drains and exits 0 with the statistics; `demo` runs its worker pool and checks itself.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");

/// Starts `mplog listen` with stdout and stderr piped; returns it and the endpoint it printed.
fn start(command: &mut Command) -> (std::process::Child, String) {
    let mut listener = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut endpoint = String::new();
    BufReader::new(listener.stdout.take().unwrap())
        .read_line(&mut endpoint)
        .unwrap();
    (listener, endpoint.trim().to_owned())
}

#[test]
fn listen_send_and_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("listen.log");
    let mut command = Command::new(MPLOG);
    command
        .args([
            "listen",
            "--format",
            "%(processName)s %(name)s %(levelname)s %(message)s",
        ])
        .arg("--file")
        .arg(&file);
    let (listener, endpoint) = start(&mut command);
    let endpoint = endpoint.as_str();
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

/// Runs `command` to its end; fails the test, showing both outputs, unless it succeeded.
/// Returns its standard output.
fn run_ok(command: &mut Command) -> String {
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn demo_checks_its_own_output() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = run_ok(
        Command::new(MPLOG)
            .args(["demo", "--workers", "3", "--records", "2000", "--dir"])
            .arg(dir.path()),
    );
    assert!(
        stdout.contains("every record arrived exactly once"),
        "{stdout}"
    );
    assert!(
        stdout.contains("6000 records from 3 worker processes"),
        "{stdout}"
    );
    assert!(stdout.contains(", lost = 0\n"), "{stdout}");
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
        let stdout = run_ok(
            Command::new(MPLOG)
                .args(["bench", "--workers", "2", "--records", "3000", "--keep"])
                .args(["--delivery", delivery, "--transport", transport, "--file"])
                .arg(&file),
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

#[test]
fn check_passes_the_examples_and_names_errors() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/configs");
    let out = Command::new(MPLOG)
        .arg("check")
        .args(["dev.toml", "prod.yaml", "cookbook.json"].map(|f| format!("{examples}/{f}")))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.matches(": ok\n").count(), 3, "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nhandlers:\n  file:\n    class: logging.FileHandler\n    filename: a.log\n    level: NTOSET\n",
    )
    .unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"version": 1}"#).unwrap();
    let out = Command::new(MPLOG)
        .arg("check")
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("good.json: ok"), "{stdout}");
    assert!(
        stdout.contains(
            "bad.yaml: handlers.file: unable to configure handler 'file': unknown level 'NTOSET'"
        ),
        "{stdout}"
    );
}

/// Reads lines from `reader` until one contains `needle` (the listener's stderr).
fn wait_for(reader: &mut impl BufRead, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "stream ended before {needle:?}; saw:\n{seen}");
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

#[test]
fn listen_with_config_reloads_on_sighup_and_keeps_a_good_config_over_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("listener.toml");
    let write_config = |file: &str, format: &str| {
        std::fs::write(
            &config,
            format!(
                "version = 1\n[formatters.f]\nformat = \"{format}\"\n\
                 [handlers.h]\nclass = \"logging.FileHandler\"\nfilename = \"{}\"\nformatter = \"f\"\n\
                 [root]\nlevel = \"DEBUG\"\nhandlers = [\"h\"]\n",
                dir.path().join(file).display()
            ),
        )
        .unwrap()
    };
    write_config("one.log", "one %(message)s");
    let mut command = Command::new(MPLOG);
    command.arg("listen").env("MPLOG_CONFIG", &config);
    let (mut listener, endpoint) = start(&mut command);
    let mut stderr = BufReader::new(listener.stderr.take().unwrap());
    wait_for(&mut stderr, "SIGHUP reloads");
    let send = |msg: &str| {
        let out = Command::new(MPLOG)
            .args(["send", "--endpoint", &endpoint, msg])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    let pid = Pid::from_raw(listener.id() as i32);
    send("a");
    write_config("two.log", "two %(message)s");
    kill(pid, Signal::SIGHUP).unwrap();
    wait_for(&mut stderr, "reloaded");
    send("b");
    std::fs::write(&config, "version = 2\n").unwrap();
    kill(pid, Signal::SIGHUP).unwrap();
    let why = wait_for(&mut stderr, "reload failed");
    assert!(why.contains("unsupported version: 2"), "{why}");
    send("c");
    kill(pid, Signal::SIGTERM).unwrap();
    let status = listener.wait().unwrap();
    assert!(status.success());
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(read("one.log"), "one a\n");
    assert!(
        read("two.log").starts_with("two b\n"),
        "{}",
        read("two.log")
    );
    assert!(read("two.log").contains("two c\n"));
    // The failed reload is logged through the running configuration's own logger too.
    assert!(read("two.log").contains("configuration reload failed"));
}
