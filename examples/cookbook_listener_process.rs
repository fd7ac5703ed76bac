//! The logging cookbook's "Logging to a single file from multiple processes", reproduced:
//! ten worker processes log to loggers `a.b.c` and `d.e.f` at random levels, and one
//! dedicated listener *process* is the only writer of `mptest.log`, which it rotates at 300
//! bytes keeping 10 backups (`mptest.log.1` .. `mptest.log.10`), as the cookbook's does.
//!
//! This executable plays all three parts: run plainly it is the supervisor, which starts the
//! listener process and the workers (itself again, with `COOKBOOK_ROLE` set), waits for the
//! workers, then stops the listener with SIGTERM (the listener drains every connection first)
//! and checks that all 100 records are in the file.
//!
//! Run: `cargo run --example cookbook_listener_process` (writes `mptest.log` here).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mplog::handler::{Handler, RotatingFileHandler};
use mplog::queue::spawn::CommandExt;
use mplog::queue::QueueListener;
use mplog::{Formatter, Level, Manager};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::unistd::Pid;

const WORKERS: usize = 10;
const MESSAGES: usize = 10;
const ROLE: &str = "COOKBOOK_ROLE";
const LOG_FILE: &str = "mptest.log";

fn main() -> ExitCode {
    let result = match std::env::var(ROLE).as_deref() {
        Ok("listener") => listener_process(),
        Ok("worker") => worker_process(),
        _ => supervisor(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cookbook_listener_process: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The listener's configuration is its own: here, one rotating file with the detailed format.
fn listener_process() -> Result<()> {
    let endpoint = std::env::var_os("MPLOG_ENDPOINT").ok_or("MPLOG_ENDPOINT not set")?;
    // Receive SIGTERM in this thread (the listener's threads inherit the blocked mask).
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGTERM);
    stop.add(Signal::SIGINT);
    stop.thread_block()?;

    let file = RotatingFileHandler::new(LOG_FILE, 300, 10)?;
    file.base().set_formatter(Arc::new(Formatter::new(
        "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s",
    )?));
    let manager = Manager::new();
    manager.root().add_handler(Arc::new(file));
    let listener = QueueListener::builder()
        .manager(manager.clone())
        .endpoint(PathBuf::from(endpoint))
        .start()?;
    stop.wait()?;
    let stats = listener.stop();
    manager.shutdown();
    eprintln!(
        "listener: {} records from {} workers",
        stats.records,
        stats.per_worker.len()
    );
    Ok(())
}

/// A worker: random logger, random level, a short random pause, as the cookbook's.
fn worker_process() -> Result<()> {
    let _guard = mplog::worker::init_from_env()?;
    let loggers = [mplog::get_logger("a.b.c"), mplog::get_logger("d.e.f")];
    let levels = [
        Level::DEBUG,
        Level::INFO,
        Level::WARNING,
        Level::ERROR,
        Level::CRITICAL,
    ];
    let mut rng = Rng::seeded(u64::from(std::process::id()));
    for i in 0..MESSAGES {
        std::thread::sleep(Duration::from_millis(rng.below(10)));
        let logger = &loggers[rng.below(2) as usize];
        let level = levels[rng.below(5) as usize];
        mplog::log!(logger, level, "Message no. {}", i + 1);
    }
    Ok(()) // the guard drains to the listener
}

/// The current file and its backups, oldest first.
fn log_files() -> Vec<String> {
    let mut files: Vec<String> = (1..=10).rev().map(|n| format!("{LOG_FILE}.{n}")).collect();
    files.push(LOG_FILE.to_owned());
    files
}

fn supervisor() -> Result<()> {
    for f in log_files() {
        let _ = std::fs::remove_file(f);
    }
    let dir = tempfile::Builder::new()
        .prefix("mplog-cookbook-")
        .tempdir()?;
    let endpoint = dir.path().join("listener.sock");
    let exe = std::env::current_exe()?;

    let mut listener = Command::new(&exe)
        .env(ROLE, "listener")
        .mplog_endpoint(&endpoint)
        .spawn()?;
    wait_for(&endpoint)?;

    let workers: Vec<_> = (1..=WORKERS)
        .map(|n| {
            Command::new(&exe)
                .env(ROLE, "worker")
                .mplog_endpoint(&endpoint)
                .mplog_process_name(format!("Worker-{n}"))
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    for mut w in workers {
        if !w.wait()?.success() {
            return Err("a worker failed".into());
        }
    }
    // Python puts `None` on the queue; our listener process stops on SIGTERM, after draining.
    let pid = i32::try_from(listener.id())?;
    kill(Pid::from_raw(pid), Signal::SIGTERM)?;
    if !listener.wait()?.success() {
        return Err("the listener failed".into());
    }

    let mut lines = Vec::new();
    for f in log_files() {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        if text.len() > 300 + 100 {
            return Err(format!("{f} holds {} bytes: rotation at 300 failed", text.len()).into());
        }
        lines.extend(text.lines().map(str::to_owned));
    }
    for line in lines.iter().rev().take(5) {
        println!("{line}");
    }
    println!(
        "... the newest {} lines, in {LOG_FILE} and its 10 backups (the cookbook keeps no more)",
        lines.len()
    );
    // 100 records of ~60 bytes, 4 or 5 a file: the 11 files keep the newest ~50.
    if lines.is_empty() || lines.len() >= WORKERS * MESSAGES {
        return Err("rotation did not keep the newest lines only".into());
    }
    Ok(())
}

/// Waits (generously) for the listener process to bind its socket.
fn wait_for(endpoint: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !endpoint.exists() {
        if Instant::now() > deadline {
            return Err("the listener did not start".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// A tiny xorshift generator: the example needs no cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn seeded(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
