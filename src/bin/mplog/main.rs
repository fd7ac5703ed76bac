//! `mplog`: the dedicated listener process and its companions.
//!
//! - `mplog listen`: the cookbook's listener process; workers connect to its endpoint and it is
//!   the only writer of the log files. SIGINT/SIGTERM drain every connection and exit with
//!   the statistics within `--drain-timeout` (status 1 if records could not be written, or
//!   were left undelivered at the deadline). With `--config FILE` (or `MPLOG_CONFIG`) the handlers come from a
//!   configuration file, and SIGHUP reloads it.
//! - `mplog check FILE...`: checks configuration files (dictConfig in TOML/JSON/YAML, or
//!   fileConfig INI); prints `ok` or the errors, exit status 0 or 1.
//! - `mplog send`: logs one record to a running listener, from a shell script.
//! - `mplog demo`: the main job: a pool of worker processes logging through one listener, with
//!   the check that every record arrived once and in order.
//! - `mplog bench`: the end-to-end benchmark (records/s into one file, worker call latency).

mod bench;
mod check;
mod demo;
mod listen;
mod send;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Python's logging queue pattern for Rust: many worker processes, one listener.
#[derive(Debug, Parser)]
#[command(name = "mplog", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a listener process: receive records from workers and write them.
    Listen(listen::Args),
    /// Check configuration files: prints `FILE: ok` or the errors; exit status 1 if any failed.
    Check(check::Args),
    /// Log one record to a running listener.
    Send(send::Args),
    /// Run the demo: a pool of worker processes logging through one listener.
    Demo(demo::Args),
    /// Measure the pipeline: N worker processes x M records into one file.
    Bench(bench::Args),
    /// (internal) One worker of the bench; started by `mplog bench`.
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
    /// (internal) One worker of the demo; started by `mplog demo`.
    #[command(hide = true)]
    DemoWorker(demo::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Listen(args) => listen::run(args),
        Command::Check(args) => check::run(args),
        Command::Send(args) => send::run(args),
        Command::Demo(args) => demo::run(args),
        Command::DemoWorker(args) => demo::worker(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchWorker(args) => bench::worker(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                // An error that quotes its source already (`cannot bind ...: {0}`) is not
                // followed by it again.
                let cause_text = cause.to_string();
                if !text.ends_with(&cause_text) {
                    text.push_str(": ");
                    text.push_str(&cause_text);
                }
                source = cause.source();
            }
            eprintln!("mplog: {text}");
            ExitCode::FAILURE
        }
    }
}

/// Most worker processes `--workers` takes (each is a process of its own).
pub const MAX_WORKERS: usize = 1024;
/// Most records per worker `--records` takes.
pub const MAX_RECORDS: usize = 1_000_000_000;

/// `--workers`: a whole number from 1 to [`MAX_WORKERS`].
pub fn workers(text: &str) -> Result<usize, String> {
    count(text, MAX_WORKERS)
}

/// `--records`: a whole number from 1 to [`MAX_RECORDS`].
pub fn records(text: &str) -> Result<usize, String> {
    count(text, MAX_RECORDS)
}

/// A whole number from 1 to `max`, or a message saying what is wrong with `text`.
fn count(text: &str, max: usize) -> Result<usize, String> {
    let value: i128 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number (from 1 to {max})"))?;
    usize::try_from(value)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("{text} is out of range: from 1 to {max}"))
}

/// What every subcommand returns.
type CliResult = Result<ExitCode, Box<dyn std::error::Error + Send + Sync>>;
