//! What the tests against real servers share: skipping (or, under `CI=true`, failing) when a
//! server is not installed, and waiting for files with a generous deadline.

use std::path::Path;
use std::time::{Duration, Instant};

/// A server needed by a test is missing: on a developer's machine the test says so and is
/// skipped (returns `None`); in CI (`CI=true`) it is a failure.
pub fn missing<T>(what: &str, why: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is needed in CI (.ci/run installs it): {why}");
    }
    eprintln!("skipped: {what} is not available here ({why}); `.ci/run` installs it");
    None
}

/// Whether `python3 -c "import MODULE"` works.
pub fn python_has(module: &str) -> Result<(), String> {
    match std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        Err(e) => Err(format!("python3: {e}")),
    }
}

/// The lines of `path` (none if it does not exist yet).
pub fn read_lines(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(str::to_owned).collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits until `path` has at least `n` lines, or `timeout` passed; returns its lines.
pub fn wait_for_lines(path: &Path, n: usize, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let lines = read_lines(path);
        if lines.len() >= n || Instant::now() >= deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` exists and is not empty; returns its text.
pub fn wait_for_file(path: &Path, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return Some(text);
            }
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
