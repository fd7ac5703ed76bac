//! `mplog bench`: the end-to-end benchmark of the queue pattern.
//!
//! N worker processes (this executable again, `mplog bench-worker`) each log M records
//! (`request {i} served in {us} us` at INFO on logger `app.db.pool`) through one listener
//! thread of this process into one file with the detailed format. The bench then counts the
//! file's lines, and prints the figures, ending with one line a script can parse:
//!
//! ```text
//! bench workers=4 records=1000000 lines=1000000 seconds=0.412 records_per_s=2427184 p50_ns=95 p999_ns=2100 transport=shm
//! ```
//!
//! `--transport shm|socket` chooses the workers' transport (`MPLOG_TRANSPORT`); `--transport
//! both` runs the socket transport and then shm in one invocation, one such line each.
//!
//! The time runs from the first worker's start until the listener has written and flushed
//! the last record. Worker call latency is sampled: every [`SAMPLE_EVERY`]th call is timed
//! (timing every call would add two clock reads to what is measured), each worker sends its
//! samples back on its stdout, and the percentiles are over all workers' samples. The
//! listener's peak resident memory (`VmHWM` of this process, which is the listener) is printed
//! on the line before.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use mplog::handler::{FileHandler, FileMode, Handler};
use mplog::queue::spawn::CommandExt;
use mplog::queue::worker::{ENV_DELIVERY, ENV_TRANSPORT};
use mplog::queue::QueueListener;
use mplog::{Formatter, Level, Manager};
use nix::sys::resource::{getrusage, UsageWho};

use crate::listen::{describe, DETAILED_FORMAT};
use crate::CliResult;

/// One call in this many is timed in each worker.
pub const SAMPLE_EVERY: usize = 16;

/// The logger every worker logs to.
const LOGGER: &str = "app.db.pool";

/// When a worker's log call returns (`MPLOG_DELIVERY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryArg {
    /// Once the record is queued in the worker.
    Async,
    /// Once the record is in the kernel's socket buffer.
    Sync,
}

/// Which transport the workers use (`MPLOG_TRANSPORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    /// Shared-memory rings written by the calling thread (Linux).
    Shm,
    /// Batched frames on the Unix socket.
    Socket,
    /// The socket run, then the shm run, in one invocation.
    Both,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Worker processes.
    #[arg(long, default_value_t = 4, value_parser = crate::workers, allow_hyphen_values = true)]
    workers: usize,
    /// Records each worker logs.
    #[arg(long, default_value_t = 1_000_000, value_parser = crate::records, allow_hyphen_values = true)]
    records: usize,
    /// When a log call returns.
    #[arg(long, value_enum, default_value_t = DeliveryArg::Async)]
    delivery: DeliveryArg,
    /// The workers' transport.
    #[arg(long, value_enum, default_value_t = TransportArg::Shm)]
    transport: TransportArg,
    /// The file the listener writes (truncated first).
    #[arg(long, default_value = "mplog-bench.log")]
    file: PathBuf,
    /// Keep the file afterwards (default: removed once its lines are counted).
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Records to log.
    #[arg(long, value_parser = crate::records, allow_hyphen_values = true)]
    records: usize,
}

pub fn run(args: Args) -> CliResult {
    if args.workers == 0 || args.records == 0 {
        return Err("--workers and --records must be at least 1".into());
    }
    let transports: &[&str] = match args.transport {
        TransportArg::Shm => &["shm"],
        TransportArg::Socket => &["socket"],
        TransportArg::Both => &["socket", "shm"],
    };
    let mut code = ExitCode::SUCCESS;
    for transport in transports {
        if !run_one(&args, transport)? {
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

/// One run with the workers on `transport`; false if a record went missing or a worker
/// failed.
fn run_one(args: &Args, transport: &str) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let file = FileHandler::builder(&args.file)
        .mode(FileMode::Truncate)
        .buffer(64 * 1024)
        .build()
        .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
    file.base()
        .set_formatter(Arc::new(Formatter::new(DETAILED_FORMAT)?));
    let manager = Manager::new();
    manager.root().set_level(Level::NOTSET);
    manager.root().add_handler(Arc::new(file));
    let listener = QueueListener::builder().manager(manager.clone()).start()?;

    let delivery = match args.delivery {
        DeliveryArg::Async => "async",
        DeliveryArg::Sync => "sync",
    };
    let exe = std::env::current_exe()?;
    // CPU counters are per process: with `--transport both`, count only this run's.
    let cpu_before = (
        cpu_seconds(UsageWho::RUSAGE_SELF),
        cpu_seconds(UsageWho::RUSAGE_CHILDREN),
    );
    let started = Instant::now();
    let mut children = Vec::with_capacity(args.workers);
    for id in 0..args.workers {
        let child = Command::new(&exe)
            .args(["bench-worker", "--records", &args.records.to_string()])
            .mplog_endpoint(listener.endpoint())
            .mplog_process_name(format!("worker-{id}"))
            .env(ENV_DELIVERY, delivery)
            .env(ENV_TRANSPORT, transport)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start worker {id}: {e}"))?;
        children.push(child);
    }
    let mut samples: Vec<u32> = Vec::new();
    let mut failed = 0;
    for mut child in children {
        let mut bytes = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            out.read_to_end(&mut bytes)?;
        }
        samples.extend(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        if !child.wait()?.success() {
            failed += 1;
        }
    }
    let stats = listener.stop();
    manager.shutdown();
    let seconds = started.elapsed().as_secs_f64();
    // CPU time per record: steadier than the wall clock on a busy machine.
    let listener_cpu = cpu_seconds(UsageWho::RUSAGE_SELF) - cpu_before.0;
    let workers_cpu = cpu_seconds(UsageWho::RUSAGE_CHILDREN) - cpu_before.1;
    eprint!("{}", describe(&stats));

    let lines = count_lines(&args.file)?;
    if !args.keep {
        let _ = std::fs::remove_file(&args.file);
    }
    samples.sort_unstable();
    let total = args.workers * args.records;
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let rate = (total as f64 / seconds) as u64;
    if let Some(rss) = peak_rss_kib() {
        println!("listener peak RSS {:.1} MiB", rss as f64 / 1024.0);
    }
    #[allow(clippy::cast_precision_loss)]
    let per_record = |s: f64| s * 1e9 / total as f64;
    println!(
        "cpu per record: {:.0} ns in the listener, {:.0} ns in the workers",
        per_record(listener_cpu),
        per_record(workers_cpu)
    );
    println!(
        "bench workers={} records={} lines={lines} seconds={seconds:.3} records_per_s={rate} \
         p50_ns={} p999_ns={} transport={transport}",
        args.workers,
        args.records,
        percentile(&samples, 500),
        percentile(&samples, 999),
    );
    if failed > 0 || lines != total {
        eprintln!("mplog bench: {lines} lines for {total} records; {failed} workers failed");
        return Ok(false);
    }
    Ok(true)
}

/// One worker: `records` calls on `app.db.pool`, every [`SAMPLE_EVERY`]th timed; the samples
/// (nanoseconds, `u32` little-endian) go to stdout once the guard has drained.
pub fn worker(args: WorkerArgs) -> CliResult {
    let guard = mplog::worker::init_from_env()?;
    let log = mplog::get_logger(LOGGER);
    let mut samples = Vec::with_capacity(args.records / SAMPLE_EVERY + 1);
    for i in 0..args.records {
        // A made-up service time, so each message differs as in a real log.
        let us = (i * 7919) % 5000;
        if i % SAMPLE_EVERY == 0 {
            let t = Instant::now();
            mplog::info!(log, "request {} served in {} us", i, us);
            let ns = t.elapsed().as_nanos();
            samples.push(u32::try_from(ns).unwrap_or(u32::MAX));
        } else {
            mplog::info!(log, "request {} served in {} us", i, us);
        }
    }
    let stats = guard.stats();
    drop(guard);
    let mut out = Vec::with_capacity(samples.len() * 4);
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::io::stdout().lock().write_all(&out)?;
    if stats.dropped > 0 {
        return Err(format!("{} records dropped", stats.dropped).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The sample at `per_mille` of the sorted samples (0 when there are none).
fn percentile(sorted: &[u32], per_mille: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = (sorted.len() * per_mille / 1000).min(sorted.len() - 1);
    sorted[index]
}

fn count_lines(path: &std::path::Path) -> Result<usize, String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
}

/// User plus system CPU seconds of this process or of its waited-for children.
fn cpu_seconds(who: UsageWho) -> f64 {
    getrusage(who).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

/// Peak resident set of this process in KiB (`VmHWM`), where /proc has it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
