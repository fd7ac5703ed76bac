//! Bad command lines never panic: every subcommand, given absurd, negative, non-numeric or
//! huge values, or a socket path the system cannot take, exits with a message that names
//! the value (and the limit), never with a panic or an abort.

use std::process::{Command, Output};

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");

/// Runs `mplog args...` in `dir` with no environment hints, and returns its output.
fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(MPLOG)
        .args(args)
        .current_dir(dir)
        .env_remove("MPLOG_ENDPOINT")
        .env_remove("MPLOG_CONFIG")
        .output()
        .expect("mplog runs")
}

/// The run failed with a message containing every one of `words`, and did not panic.
fn refused(dir: &std::path::Path, args: &[&str], words: &[&str]) {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "mplog {args:?} panicked: {stderr}"
    );
    assert!(
        out.status.code().is_some_and(|c| c != 0),
        "mplog {args:?} was not refused ({:?}): {stderr}",
        out.status
    );
    for word in words {
        assert!(
            stderr.contains(word),
            "mplog {args:?}: the message does not say {word:?}: {stderr}"
        );
    }
}

#[test]
fn absurd_counts_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["demo", "bench"] {
        for flag in ["--workers", "--records"] {
            for value in [
                "0",
                "-1",
                "abc",
                "1e9",
                "99999999999999999999999",
                "18446744073709551615",
            ] {
                refused(dir.path(), &[command, flag, value], &[flag, value]);
            }
        }
        // One more worker process than the limit: refused before a single one starts.
        refused(
            dir.path(),
            &[command, "--workers", "100000"],
            &["--workers", "1024"],
        );
    }
    for worker in ["demo-worker", "bench-worker"] {
        refused(
            dir.path(),
            &[worker, "--id", "0", "--records", "0"],
            &["--records"],
        );
    }
    for value in ["-1", "nan", "inf", "1e300", "ten"] {
        refused(
            dir.path(),
            &["listen", "--drain-timeout", value],
            &["--drain-timeout", value],
        );
    }
}

#[test]
fn a_socket_path_too_long_or_in_a_missing_directory_is_named_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // 120 bytes of name: over sun_path's 108 (107 and the NUL) wherever the temp dir is.
    let long = dir.path().join(format!("{}.sock", "x".repeat(120)));
    let long = long.to_str().unwrap();
    refused(
        dir.path(),
        &["listen", "--endpoint", long],
        &[long, "107 bytes"],
    );
    refused(
        dir.path(),
        &["send", "--endpoint", long, "hello"],
        &[long, "107 bytes"],
    );
    let missing = dir.path().join("no-such-dir").join("mplog.sock");
    let missing = missing.to_str().unwrap();
    let parent = dir.path().join("no-such-dir");
    for args in [
        &["listen", "--endpoint", missing][..],
        &["send", "--endpoint", missing, "hello"][..],
    ] {
        refused(
            dir.path(),
            args,
            &[missing, parent.to_str().unwrap(), "does not exist"],
        );
    }
    // A listener whose configuration names such an endpoint: the same message.
    let out = run(
        dir.path(),
        &["send", "--endpoint", dir.path().to_str().unwrap(), "x"],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(!out.status.success());
}

#[test]
fn an_empty_endpoint_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(MPLOG)
        .args(["send", "hello"])
        .env("MPLOG_ENDPOINT", "")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("MPLOG_ENDPOINT is empty"), "{stderr}");
}
