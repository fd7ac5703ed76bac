//! `mplog listen`: the dedicated listener process.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use mplog::handler::{FileHandler, Handler, StreamHandler};
use mplog::queue::{ListenerStats, QueueListener};
use mplog::{Formatter, Level, Manager};
use nix::sys::signal::{SigSet, Signal};

use crate::CliResult;

/// The format of `mplog listen` when none is given: the cookbook's detailed one.
pub const DETAILED_FORMAT: &str =
    "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Socket path to listen on (default: a fresh private directory, printed on start).
    #[arg(long, value_name = "PATH")]
    endpoint: Option<PathBuf>,
    /// Append records to this file (default: standard error).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Format of each line (`%` style).
    #[arg(long, default_value = DETAILED_FORMAT)]
    format: String,
    /// Lowest level written.
    #[arg(long, default_value = "NOTSET")]
    level: Level,
}

pub fn run(args: Args) -> CliResult {
    // Block the stop signals in every thread (the listener's threads inherit the mask), so
    // this thread receives them with `sigwait` and stops the listener in order.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block()?;

    let formatter = Arc::new(Formatter::new(&args.format)?);
    let handler: Arc<dyn Handler> = match &args.file {
        Some(path) => Arc::new(
            FileHandler::builder(path)
                .buffer(64 * 1024)
                .build()
                .map_err(|e| format!("cannot open --file {}: {e}", path.display()))?,
        ),
        None => Arc::new(StreamHandler::stderr()),
    };
    handler.base().set_formatter(formatter);
    handler.base().set_level(args.level);
    let manager = Manager::new();
    manager.root().set_level(Level::NOTSET);
    manager.root().add_handler(handler);

    let mut builder = QueueListener::builder().manager(manager.clone());
    if let Some(path) = &args.endpoint {
        builder = builder.endpoint(path);
    }
    let listener = builder.start()?;
    // The endpoint alone on stdout, for scripts: `EP=$(mplog listen | head -1)`.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", listener.endpoint().display())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "mplog: listening on {} (pid {}); SIGINT or SIGTERM stops",
        listener.endpoint().display(),
        std::process::id()
    );

    let signal = signals.wait()?;
    eprintln!("mplog: {signal}: draining");
    let stats = listener.stop();
    manager.shutdown();
    eprint!("{}", describe(&stats));
    Ok(ExitCode::SUCCESS)
}

/// The statistics as a few lines of text.
pub fn describe(stats: &ListenerStats) -> String {
    let mut text = format!(
        "mplog: {} records ({} bytes) from {} connections; {} dropped by workers, \
         {} connections refused, {} closed for bad frames\n",
        stats.records,
        stats.bytes,
        stats.connections,
        stats.dropped,
        stats.rejected,
        stats.malformed
    );
    for w in &stats.per_worker {
        text.push_str(&format!(
            "mplog:   {} (pid {}): {} records, {} dropped\n",
            w.process_name, w.pid, w.records, w.dropped
        ));
    }
    text
}
