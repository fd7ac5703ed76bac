//! `mplog listen`: the dedicated listener process.
//!
//! Its handlers come from `--config FILE` (or `MPLOG_CONFIG`), or else from `--file`,
//! `--format` and `--level`. SIGHUP reloads the configuration file: the new one replaces the
//! old between two batches; one that fails is reported on stderr and on the `mplog.listener`
//! logger, and the running one stays. SIGINT and SIGTERM drain and stop; the exit status is 1
//! when records could not be written (the statistics say how many).
//!
//! Python processes log into it with `logging.handlers.SocketHandler` (`--tcp [HOST:]PORT`,
//! `--unix-stream PATH`) and `DatagramHandler` (`--udp [HOST:]PORT`, `--unix-dgram PATH`);
//! a port alone binds 127.0.0.1, and `--allow-peer` limits who may send. The configuration
//! file's `listener` section says the same (the flags add to it). Each bound input is printed
//! on stdout after the endpoint (`tcp 127.0.0.1:9020`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use mplog::config::ENV_CONFIG;
use mplog::handler::{FileHandler, Handler, StreamHandler};
use mplog::queue::listener::{AllowedPeer, PythonInput};
use mplog::queue::{ListenerStats, QueueListener, QueueListenerBuilder};
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
    /// Take Python's `SocketHandler(host, port)` records on TCP (repeatable). A port alone
    /// binds 127.0.0.1; Python's default port is 9020.
    #[arg(long, value_name = "[HOST:]PORT")]
    tcp: Vec<String>,
    /// Take Python's `DatagramHandler(host, port)` records on UDP (repeatable). A port alone
    /// binds 127.0.0.1; Python's default port is 9021.
    #[arg(long, value_name = "[HOST:]PORT")]
    udp: Vec<String>,
    /// Take Python's `SocketHandler(path, None)` records on this Unix stream socket (0600).
    #[arg(long, value_name = "PATH")]
    unix_stream: Vec<String>,
    /// Take Python's `DatagramHandler(path, None)` records on this Unix datagram socket (0600).
    #[arg(long, value_name = "PATH")]
    unix_dgram: Vec<String>,
    /// Only this address or network (`ADDRESS[/BITS]`) may send Python records over TCP or
    /// UDP (repeatable; default: any peer that reaches the bound address).
    #[arg(long, value_name = "ADDRESS[/BITS]")]
    allow_peer: Vec<AllowedPeer>,
}

/// Adds the Python inputs of the flags to `builder`.
fn python_inputs(
    args: &Args,
    mut builder: QueueListenerBuilder,
) -> Result<QueueListenerBuilder, String> {
    let flags = [
        ("tcp", &args.tcp),
        ("udp", &args.udp),
        ("unix-stream", &args.unix_stream),
        ("unix-dgram", &args.unix_dgram),
    ];
    for (kind, values) in flags {
        for text in values {
            let input = PythonInput::parse(kind, text).map_err(|e| format!("--{kind}: {e}"))?;
            builder = builder.python_input(input);
        }
    }
    Ok(builder.python_allow(args.allow_peer.iter().copied()))
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
    builder = python_inputs(&args, builder)?;
    let listener = builder.start()?;
    // The endpoint alone on the first line of stdout, for scripts:
    // `EP=$(mplog listen | head -1)`; then each Python input as bound.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", listener.endpoint().display())?;
    for input in listener.python_inputs() {
        writeln!(stdout, "{input}")?;
    }
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
         {} connections refused, {} closed for bad frames, {} bad datagrams dropped\n",
        stats.records,
        stats.bytes,
        stats.connections,
        stats.dropped,
        stats.rejected + stats.over_capacity,
        stats.malformed,
        stats.bad_datagrams
    );
    if stats.over_capacity + stats.stalled > 0 {
        text.push_str(&format!(
            "mplog:   {} refused over max_connections, {} closed for leaving their \
             acknowledgements unread\n",
            stats.over_capacity, stats.stalled
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
        let from = w
            .address
            .as_ref()
            .map_or_else(String::new, |a| format!(" from {a}"));
        text.push_str(&format!(
            "mplog:   {} (pid {}){from}: {} records, {} dropped\n",
            w.process_name, w.pid, w.records, w.dropped
        ));
    }
    text
}
