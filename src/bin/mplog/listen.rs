//! `mplog listen`: the dedicated listener process.
//!
//! Its handlers come from `--config FILE` (or `MPLOG_CONFIG`), or else from `--file`,
//! `--format` and `--level`. SIGHUP reloads the configuration file: the new one replaces the
//! old between two batches; one that fails is reported on stderr and on the `mplog.listener`
//! logger, and the running one stays. SIGINT and SIGTERM drain and stop; the exit status is 1
//! when records could not be written (the statistics say how many).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use mplog::config::ENV_CONFIG;
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
    /// Configure the handlers from this file (dictConfig TOML/JSON/YAML or fileConfig INI);
    /// SIGHUP reloads it.
    #[arg(long, value_name = "FILE", env = ENV_CONFIG, conflicts_with_all = ["file", "format", "level"])]
    config: Option<PathBuf>,
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
    // Block the stop and reload signals in every thread (the listener's threads inherit the
    // mask), so this thread receives them with `sigwait`: it stops the listener in order, or
    // reloads between two batches.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGHUP);
    signals.thread_block()?;

    let mut builder = match &args.config {
        Some(path) => QueueListener::from_config(path)?,
        None => QueueListener::builder().manager(flag_manager(&args)?),
    };
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
        "mplog: listening on {} (pid {}); SIGINT or SIGTERM stops{}",
        listener.endpoint().display(),
        std::process::id(),
        if args.config.is_some() {
            ", SIGHUP reloads the configuration"
        } else {
            ""
        }
    );

    let signal = loop {
        let signal = signals.wait()?;
        if signal != Signal::SIGHUP {
            break signal;
        }
        match &args.config {
            Some(path) => match listener.reload(path) {
                Ok(()) => eprintln!("mplog: SIGHUP: reloaded {}", path.display()),
                // `reload` has logged it on `mplog.listener` too.
                Err(e) => eprintln!(
                    "mplog: SIGHUP: reload failed, keeping the running configuration: {e}"
                ),
            },
            None => eprintln!("mplog: SIGHUP: no --config to reload"),
        }
    };
    eprintln!("mplog: {signal}: draining");
    let mut stats = listener.stop();
    if let Some(manager) = listener.manager() {
        // Closing the handlers tries what they hold once more, and gives up on the rest.
        let handlers = manager.handlers();
        let given_up = || -> u64 {
            handlers
                .iter()
                .map(|h| h.base().records_not_written())
                .sum()
        };
        let before = given_up();
        manager.shutdown();
        stats.not_written += given_up().saturating_sub(before);
        stats.held = 0;
    }
    eprint!("{}", describe(&stats));
    Ok(if stats.not_written + stats.held > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The hierarchy of `--file`, `--format` and `--level`.
fn flag_manager(args: &Args) -> Result<Manager, Box<dyn std::error::Error + Send + Sync>> {
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
    Ok(manager)
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
        stats.rejected + stats.over_capacity,
        stats.malformed
    );
    if stats.over_capacity + stats.stalled > 0 {
        text.push_str(&format!(
            "mplog:   {} refused over max_connections, {} closed for leaving their \
             acknowledgements unread\n",
            stats.over_capacity, stats.stalled
        ));
    }
    if stats.names_capped > 0 {
        text.push_str(&format!(
            "mplog:   {} records handled by an ancestor logger: their names were past the \
             caps on logger names\n",
            stats.names_capped
        ));
    }
    let lost = stats.not_written + stats.held;
    if lost > 0 {
        text.push_str(&format!(
            "mplog: {lost} records not written: the handlers could not write them (see the \
             errors above)\n"
        ));
    }
    for w in &stats.per_worker {
        text.push_str(&format!(
            "mplog:   {} (pid {}): {} records, {} dropped\n",
            w.process_name, w.pid, w.records, w.dropped
        ));
    }
    text
}
