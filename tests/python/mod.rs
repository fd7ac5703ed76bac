//! python3 as the oracle for Python's behaviour: finding it (a test without it prints that it
//! is skipped, and fails under `CI=true`), and running scripts.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// A `python3` command, or `None` (after saying why) when there is none to run. Under
/// `CI=true` a missing python3 fails the test instead.
pub fn python3(test: &str) -> Option<Command> {
    static WORKS: OnceLock<bool> = OnceLock::new();
    let works = *WORKS.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import logging.handlers, pickle"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if works {
        return Some(Command::new("python3"));
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: python3 is needed under CI and could not be run");
    }
    eprintln!("{test}: SKIPPED: python3 could not be run");
    None
}

/// Runs `script` with `args` to completion; panics with its stderr if it fails.
pub fn run(mut python: Command, script: &str, args: &[&str]) -> Output {
    let out = python
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts `script` with `args`, stdout piped, stderr inherited.
pub fn spawn(mut python: Command, script: &str, args: &[&str]) -> Child {
    python
        .arg("-u")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3")
}

/// The format string both sides use: every attribute a record has, and the extra fields of
/// the test records.
pub const FORMAT: &str = "%(asctime)s|%(created)f|%(msecs)03d|%(msecs)f|%(relativeCreated)d|\
%(relativeCreated)f|%(name)s|%(levelname)s|%(levelno)d|%(pathname)s|%(filename)s|%(module)s|\
%(lineno)d|%(funcName)s|%(thread)d|%(threadName)s|%(process)d|%(processName)s|%(message)s|\
%(s)s|%(s)r|%(i)d|%(i)s|%(f)s|%(f).3f|%(b)s|%(n)s";
