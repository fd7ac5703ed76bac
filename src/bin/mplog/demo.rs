//! `mplog demo`: the main job. A pool of worker processes logs through one listener, which is
//! the only writer of the files; then the demo checks that every record arrived exactly once,
//! intact and in each worker's order, and prints the figures.
//!
//! The listener runs as a thread of this process (the supervisor) with its own configuration,
//! as in the logging cookbook: everything to `demo.log` in the detailed format, ERROR and above
//! also to `demo-errors.log`, logger `d.e.f` also to `def.log`, the listener's own notices on
//! the console (logger `mplog.listener`). Workers are this same executable started again
//! (`mplog demo-worker`), with the endpoint handed over in `MPLOG_ENDPOINT`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use mplog::handler::{FileHandler, FileMode, Handler, StreamHandler};
use mplog::queue::listener::LISTENER_LOGGER;
use mplog::queue::spawn::CommandExt;
use mplog::queue::QueueListener;
use mplog::{Formatter, Level, Manager};

use crate::listen::{describe, DETAILED_FORMAT};
use crate::CliResult;

/// The loggers the workers pick from, as in the cookbook.
const LOGGERS: [&str; 3] = ["a.b.c", "d.e.f", "a.x"];
/// The levels the workers pick from.
const LEVELS: [Level; 5] = [
    Level::DEBUG,
    Level::INFO,
    Level::WARNING,
    Level::ERROR,
    Level::CRITICAL,
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Worker processes.
    #[arg(long, default_value_t = 4, value_parser = crate::workers, allow_hyphen_values = true)]
    workers: usize,
    /// Records each worker logs.
    #[arg(long, default_value_t = 100_000, value_parser = crate::records, allow_hyphen_values = true)]
    records: usize,
    /// Directory for the log files (created; files from an earlier run are replaced).
    #[arg(long, default_value = "mplog-demo")]
    dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Which worker this is.
    #[arg(long)]
    id: usize,
    /// Records to log.
    #[arg(long, value_parser = crate::records, allow_hyphen_values = true)]
    records: usize,
}

fn file(path: &Path, level: Level, format: &str) -> Result<Arc<dyn Handler>, String> {
    let handler = FileHandler::builder(path)
        .mode(FileMode::Truncate)
        .buffer(64 * 1024)
        .build()
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    handler.base().set_level(level);
    handler
        .base()
        .set_formatter(Arc::new(Formatter::new(format).map_err(|e| e.to_string())?));
    Ok(Arc::new(handler))
}

pub fn run(args: Args) -> CliResult {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let all = args.dir.join("demo.log");

    // The listener's own configuration.
    let manager = Manager::new();
    let root = manager.root();
    root.set_level(Level::DEBUG);
    root.add_handler(file(&all, Level::DEBUG, DETAILED_FORMAT)?);
    root.add_handler(file(
        &args.dir.join("demo-errors.log"),
        Level::ERROR,
        DETAILED_FORMAT,
    )?);
    // The listener's own troubles (bad frames, drops reported by workers) on the console.
    let console = StreamHandler::stderr();
    console.base().set_formatter(Arc::new(Formatter::new(
        "%(asctime)s %(name)s %(levelname)s %(message)s",
    )?));
    manager
        .get_logger(LISTENER_LOGGER)
        .add_handler(Arc::new(console));
    manager.get_logger("d.e.f").add_handler(file(
        &args.dir.join("def.log"),
        Level::DEBUG,
        DETAILED_FORMAT,
    )?);

    let listener = QueueListener::builder().manager(manager.clone()).start()?;
    eprintln!(
        "mplog demo: {} workers x {} records through the listener at {}",
        args.workers,
        args.records,
        listener.endpoint().display()
    );
    let started = Instant::now();
    let exe = std::env::current_exe()?;
    let mut children = Vec::with_capacity(args.workers);
    for id in 0..args.workers {
        let child = Command::new(&exe)
            .args(["demo-worker", "--id", &id.to_string()])
            .args(["--records", &args.records.to_string()])
            .mplog_endpoint(listener.endpoint())
            .mplog_process_name(format!("worker-{id}"))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start worker {id}: {e}"))?;
        children.push(child);
    }
    let mut failed = 0;
    for mut child in children {
        if !child.wait()?.success() {
            failed += 1;
        }
    }
    let stats = listener.stop();
    manager.shutdown();
    let elapsed = started.elapsed();
    eprint!("{}", describe(&stats));

    let problems = verify(&all, args.workers, args.records)?;
    let total = args.workers * args.records;
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / elapsed.as_secs_f64();
    let handled = usize::try_from(stats.records).unwrap_or(usize::MAX);
    println!(
        "{total} records from {} worker processes in {:.3} s ({:.2} M records/s end to end), \
         lost = {}",
        args.workers,
        elapsed.as_secs_f64(),
        rate / 1e6,
        total.saturating_sub(handled)
    );
    println!(
        "files in {}: demo.log (all), demo-errors.log (ERROR and above), def.log (logger d.e.f)",
        args.dir.display()
    );
    if let Ok(text) = std::fs::read_to_string(&all) {
        println!("the first lines of demo.log:");
        for line in text.lines().take(3) {
            println!("  {line}");
        }
    }
    if failed == 0 && problems.is_empty() {
        println!("check: every record arrived exactly once, intact, in each worker's order: ok");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            println!("check failed: {p}");
        }
        if failed > 0 {
            println!("check failed: {failed} workers did not exit cleanly");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Reads `demo.log` back: each worker's sequence numbers must be exactly `0..records`, in order.
fn verify(path: &Path, workers: usize, records: usize) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // date time processName name levelname "record" seq ...
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [_, _, process, _, _, "record", seq, "of", ..] => {
                seq.parse::<usize>().ok().map(|s| (*process, s))
            }
            _ => None,
        };
        let Some((process, seq)) = parsed else {
            problems.push(format!("line {}: not a demo record: {line:?}", n + 1));
            continue;
        };
        let expected = next.entry(process.to_owned()).or_insert(0);
        if seq != *expected {
            problems.push(format!(
                "line {}: {process} sent record {seq}, expected {expected}",
                n + 1
            ));
        }
        *expected = seq + 1;
    }
    for id in 0..workers {
        let got = next.get(&format!("worker-{id}")).copied().unwrap_or(0);
        if got != records {
            problems.push(format!("worker-{id}: {got} of {records} records"));
        }
    }
    if next.len() != workers {
        problems.push(format!(
            "{} processes in the file, {workers} expected",
            next.len()
        ));
    }
    Ok(problems)
}

/// One worker: random loggers and levels (a small xorshift, seeded by the worker id), numbered
/// messages, as the cookbook's `worker_process`.
pub fn worker(args: WorkerArgs) -> CliResult {
    let guard = mplog::worker::init_from_env()?;
    let loggers: Vec<_> = LOGGERS.iter().map(|n| mplog::get_logger(n)).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (args.id as u64 + 1);
    for seq in 0..args.records {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let logger = &loggers[(state % LOGGERS.len() as u64) as usize];
        let level = LEVELS[((state >> 8) % LEVELS.len() as u64) as usize];
        mplog::log!(logger, level, "record {} of {}", seq, args.records);
    }
    let stats = guard.stats();
    drop(guard);
    if stats.dropped > 0 {
        return Err(format!("worker {}: {} records dropped", args.id, stats.dropped).into());
    }
    Ok(ExitCode::SUCCESS)
}
