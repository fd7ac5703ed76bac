//! Configuration input cannot crash a listener (issue 10, item 6): deep nesting in every
//! format (INI `args=`, JSON, TOML, YAML flow and block), YAML alias bombs and files too large
//! give a clear error from `mplog check` in bounded time, never a crash; and the same files on
//! a SIGHUP reload leave the running listener serving with its configuration.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");
const DEEP: usize = 100_000;

fn deep_ini() -> String {
    format!(
        "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[formatters]\nkeys=\n[logger_root]\n\
         handlers=h\n[handler_h]\nclass=StreamHandler\nargs={}{}\n",
        "(".repeat(DEEP),
        ")".repeat(DEEP)
    )
}

/// Each hostile file: (name, contents, what the error says).
fn hostile() -> Vec<(&'static str, String, &'static str)> {
    let open_close = |o: &str, c: &str| format!("{}{}", o.repeat(DEEP), c.repeat(DEEP));
    let block: String = (0..2_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let mut bomb = String::from("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = format!("*a{}", i - 1);
        let list = vec![p; 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{list}]\n"));
    }
    vec![
        ("deep.ini", deep_ini(), "nested deeper than 128 levels"),
        (
            "deep.json",
            format!("{{\"version\": 1, \"x\": {}}}", open_close("[", "]")),
            "recursion limit",
        ),
        (
            "deep.toml",
            format!("version = 1\nx = {}\n", open_close("[", "]")),
            "nested deeper than 128 levels",
        ),
        (
            "deep-table.toml",
            format!("version = 1\nx = {}\n", open_close("{a = ", "}")),
            "nested deeper than 128 levels",
        ),
        (
            "deep.yaml",
            format!("version: 1\nx: {}\n", open_close("[", "]")),
            "invalid YAML",
        ),
        (
            "deep-map.yaml",
            format!("version: 1\nx: {}\n", open_close("{a: ", "}")),
            "invalid YAML",
        ),
        (
            "deep-block.yaml",
            format!("version: 1\n{block}"),
            "nested deeper than 128 levels",
        ),
        ("bomb.yaml", bomb, "more than 4000000 values"),
    ]
}

/// Runs `command`, killing it after a generous bound (a hang fails the test, it does not
/// hang the suite).
fn run_bounded(command: &mut Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("{command:?} still running after 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn check_refuses_hostile_files_clearly_without_crashing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, says) in hostile() {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = run_bounded(Command::new(MPLOG).arg("check").arg(&path));
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Exit 1 with the error, not a signal (a stack overflow aborts with SIGABRT).
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        assert!(stdout.contains(says), "{name}: {stdout}");
        assert!(stdout.starts_with(&path.display().to_string()), "{stdout}");
        // The error quotes a bounded part of the input.
        assert!(
            stdout.len() < 1_000,
            "{name}: {} bytes of error",
            stdout.len()
        );
    }
}

#[test]
fn a_file_larger_than_the_bound_is_refused_before_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    // /dev/zero has no end: only a bounded read finishes.
    let path = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let out = run_bounded(Command::new(MPLOG).arg("check").arg(&path));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("larger than 32 MiB"), "{stdout}");
}

/// A good configuration in the format of `ext`: every record to `log` as `name message`.
fn write_good(path: &Path, log: &Path, ext: &str) {
    let log = log.display().to_string();
    let text = match ext {
        "ini" => format!(
            "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[formatters]\nkeys=f\n\
             [logger_root]\nlevel=DEBUG\nhandlers=h\n\
             [handler_h]\nclass=FileHandler\nformatter=f\nargs=({log:?},)\n\
             [formatter_f]\nformat=%(name)s %(message)s\n"
        ),
        "yaml" => format!(
            "version: 1\nformatters: {{f: {{format: '%(name)s %(message)s'}}}}\n\
             handlers: {{h: {{class: FileHandler, formatter: f, filename: {log:?}}}}}\n\
             root: {{level: DEBUG, handlers: [h]}}\n"
        ),
        "json" => format!(
            r#"{{"version": 1, "formatters": {{"f": {{"format": "%(name)s %(message)s"}}}},
                "handlers": {{"h": {{"class": "FileHandler", "formatter": "f", "filename": {log:?}}}}},
                "root": {{"level": "DEBUG", "handlers": ["h"]}}}}"#
        ),
        _ => format!(
            "version = 1\n[formatters.f]\nformat = \"%(name)s %(message)s\"\n\
             [handlers.h]\nclass = \"FileHandler\"\nformatter = \"f\"\nfilename = {log:?}\n\
             [root]\nlevel = \"DEBUG\"\nhandlers = [\"h\"]\n"
        ),
    };
    std::fs::write(path, text).unwrap();
}

/// A listener on a good `ext` file; each hostile file of that format in its place, then
/// SIGHUP: the reload fails with the clear error, and the listener goes on serving with its
/// configuration.
fn hostile_reloads_leave_the_listener_serving(ext: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(format!("logging.{ext}"));
    let log = dir.path().join("out.log");
    let endpoint = dir.path().join("l.sock");
    write_good(&config, &log, ext);
    let mut listener = Command::new(MPLOG)
        .arg("listen")
        .arg("--config")
        .arg(&config)
        .arg("--endpoint")
        .arg(&endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(listener.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "{line}");
    let send = |msg: &str| {
        let out = Command::new(MPLOG)
            .arg("send")
            .arg("--endpoint")
            .arg(&endpoint)
            .args(["--logger", "app", msg])
            .output()
            .unwrap();
        assert!(out.status.success(), "send {msg}: {out:?}");
    };
    send("before");
    let pid = Pid::from_raw(listener.id() as i32);
    let cases: Vec<_> = hostile()
        .into_iter()
        .filter(|(n, _, _)| n.ends_with(&format!(".{ext}")))
        .collect();
    assert!(!cases.is_empty());
    for (name, text, says) in &cases {
        std::fs::write(&config, text).unwrap();
        kill(pid, Signal::SIGHUP).unwrap();
        line.clear();
        stderr.read_line(&mut line).unwrap();
        assert!(line.contains("reload failed"), "{name}: {line}");
        assert!(line.contains(says), "{name}: {line}");
        assert!(line.len() < 1_000, "{name}: {} bytes", line.len());
        send(&format!("after {name}"));
    }
    kill(pid, Signal::SIGTERM).unwrap();
    let status = listener.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // Each failure is also logged on `mplog.listener`, which the root's handler writes.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * cases.len(), "{text}");
    assert_eq!(lines[0], "app before");
    for (i, (name, _, says)) in cases.iter().enumerate() {
        let failed = lines[1 + 2 * i];
        assert!(
            failed.starts_with(
                "mplog.listener configuration reload failed, keeping the running one:"
            ) && failed.contains(says),
            "{text}"
        );
        assert_eq!(lines[2 + 2 * i], format!("app after {name}"));
    }
}

#[test]
fn a_hostile_ini_reload_leaves_the_listener_serving() {
    hostile_reloads_leave_the_listener_serving("ini");
}

#[test]
fn a_hostile_yaml_reload_leaves_the_listener_serving() {
    hostile_reloads_leave_the_listener_serving("yaml");
}

#[test]
fn a_hostile_json_or_toml_reload_leaves_the_listener_serving() {
    hostile_reloads_leave_the_listener_serving("json");
    hostile_reloads_leave_the_listener_serving("toml");
}
