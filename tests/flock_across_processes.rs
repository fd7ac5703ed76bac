//! FLockRLock between real processes: a held lock makes `try_acquire` report busy at once and
//! `acquire_timeout` give up; four processes incrementing one counter never collide; a forked
//! child gets its own lock, never the parent's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use mplog::lock::FLockRLock;

fn spawn(role: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(common::ROLE, role)
        .env("FLOCK_DIR", dir)
        .spawn()
        .unwrap()
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let dir = PathBuf::from(std::env::var("FLOCK_DIR").unwrap());
    let lock = FLockRLock::new(dir.join("x.lock")).unwrap();
    match role.as_str() {
        "hold" => {
            let _g = lock.acquire().unwrap();
            std::fs::write(dir.join("held"), "").unwrap();
            wait_for(&dir.join("release"));
        }
        "count" => {
            let counter = dir.join("counter");
            for _ in 0..200 {
                let _g = lock.acquire().unwrap();
                let n: u64 = std::fs::read_to_string(&counter)
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .unwrap_or(0);
                std::fs::write(&counter, (n + 1).to_string()).unwrap();
            }
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn another_process_holding_it_makes_try_acquire_say_no_at_once() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut holder = spawn("hold", dir.path());
    wait_for(&dir.path().join("held"));
    let lock = FLockRLock::new(dir.path().join("x.lock")).unwrap();
    assert!(lock.try_acquire().unwrap().is_none());
    assert!(lock
        .acquire_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    std::fs::write(dir.path().join("release"), "").unwrap();
    let g = lock.acquire_timeout(Duration::from_secs(60)).unwrap();
    assert!(g.is_some());
    assert!(holder.wait().unwrap().success());
}

#[test]
fn four_processes_take_turns() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..4).map(|_| spawn("count", dir.path())).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let n = std::fs::read_to_string(dir.path().join("counter")).unwrap();
    assert_eq!(n.trim(), "800");
}

/// Forks; the child runs `f` and exits with its code (no unwinding in the child).
fn fork_check(f: impl FnOnce() -> bool) -> bool {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    // SAFETY: the child only uses the lock and the file system, then `_exit`s.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(false);
            std::process::exit(if ok { 0 } else { 1 })
        }
        ForkResult::Parent { child } => {
            matches!(waitpid(child, None).unwrap(), WaitStatus::Exited(_, 0))
        }
    }
}

#[test]
fn a_forked_child_gets_its_own_lock() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.lock");
    let lock = FLockRLock::new(&path).unwrap();
    let held = lock.acquire().unwrap();
    // The same thread in the child must not find itself the owner (no reentrancy into the
    // parent's lock), and dropping the guard it inherited must not unlock the parent.
    assert!(fork_check(|| {
        let busy = matches!(lock.try_acquire(), Ok(None));
        // SAFETY: the child's memory is a copy; the parent's `held` is never dropped here.
        drop(unsafe { std::ptr::read(&held) });
        busy
    }));
    let other = FLockRLock::new(&path).unwrap();
    assert!(
        other.try_acquire().unwrap().is_none(),
        "the child released the parent's lock"
    );
    drop(held);
    assert!(fork_check(|| {
        matches!(lock.acquire_timeout(Duration::from_secs(30)), Ok(Some(_)))
    }));
    assert!(
        other.try_acquire().unwrap().is_some(),
        "the child's lock outlived it"
    );
}
