//! `mplog listen`: the dedicated listener process.
//!
//! Its handlers come from `--config FILE` (or `MPLOG_CONFIG`), or else from `--file`,
//! `--format` and `--level`. SIGHUP reloads the configuration file: the new one replaces the
//! old between two batches; one that fails is reported on stderr and on the `mplog.listener`
//! logger, and the running one stays. SIGINT and SIGTERM drain and stop, within
//! `--drain-timeout` (10 s) whatever the workers do; what was left undelivered then is
//! reported. They stop it at once while a large configuration is still being built. The exit
//! status is 1 when records could not be written or were left undelivered (the statistics say
//! how many). A listener whose socket file is removed says so on stderr and goes on serving
//! the workers already connected; it cannot be reached by new ones.
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
use std::time::Duration;

use mplog::config::ENV_CONFIG;
use mplog::handler::{FileHandler, Handler, StreamHandler};
use mplog::queue::listener::{AllowedPeer, PythonInput, DEFAULT_DRAIN_TIMEOUT, DISPATCH_GRACE};
use mplog::queue::{ListenerHandle, ListenerStats, QueueListener};
use mplog::{Formatter, Level, Manager};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

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
    /// On SIGINT/SIGTERM, drain for at most this many seconds, then exit reporting what was
    /// left undelivered (it stays with the workers, or in their rings, for the next listener).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_DRAIN_TIMEOUT.as_secs_f64(),
          value_parser = seconds, allow_hyphen_values = true)]
    drain_timeout: f64,
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

/// The Python inputs and allowed peers of the flags.
fn python_inputs(args: &Args) -> Result<(Vec<PythonInput>, Vec<AllowedPeer>), String> {
    let flags = [
        ("tcp", &args.tcp),
        ("udp", &args.udp),
        ("unix-stream", &args.unix_stream),
        ("unix-dgram", &args.unix_dgram),
    ];
    let mut inputs = Vec::new();
    for (kind, values) in flags {
        for text in values {
            inputs.push(PythonInput::parse(kind, text).map_err(|e| format!("--{kind}: {e}"))?);
        }
    }
    Ok((inputs, args.allow_peer.clone()))
}

/// Most seconds `--drain-timeout` takes (a day).
const MAX_DRAIN_SECONDS: f64 = 86_400.0;

/// How often the serving loop looks at the socket file between signals.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// A number of seconds, from 0 to a day.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=MAX_DRAIN_SECONDS).contains(&value) {
        return Err(format!(
            "{text} is out of range: from 0 to {MAX_DRAIN_SECONDS} seconds"
        ));
    }
    Ok(value)
}

pub fn run(args: Args) -> CliResult {
    // Block the stop and reload signals in every thread (the listener's threads inherit the
    // mask); this thread reads them from a signalfd, also while the configuration is built:
    // it stops the listener in order, or reloads between two batches.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGHUP);
    signals.thread_block()?;
    let signal_fd = SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC)?;

    let Some(listener) = start(&args, &signal_fd)? else {
        return Ok(ExitCode::FAILURE);
    };
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

    let mut lost_said = false;
    let signal = loop {
        let Some(signal) = next_signal(&signal_fd, WATCH_EVERY)? else {
            if !lost_said && listener.endpoint_lost() {
                lost_said = true;
                eprintln!(
                    "mplog: the socket file {} was removed or replaced: new workers cannot \
                     reach this listener; it still serves those connected (SIGTERM stops it)",
                    listener.endpoint().display()
                );
            }
            continue;
        };
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
    eprintln!(
        "mplog: {signal}: draining (at most {} s)",
        args.drain_timeout
    );
    let stats = finish(&listener);
    eprint!("{}", describe(&stats));
    Ok(if stats.not_written + stats.held > 0 || stats.drain_cut {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Builds the configuration and starts the listener on another thread, while this one
/// watches the signals: SIGINT or SIGTERM meanwhile stops at once (`None`).
fn start(
    args: &Args,
    signal_fd: &SignalFd,
) -> Result<Option<ListenerHandle>, Box<dyn std::error::Error + Send + Sync>> {
    let config = args.config.clone();
    let endpoint = args.endpoint.clone();
    let drain = Duration::from_secs_f64(args.drain_timeout);
    let flags = match &config {
        Some(_) => None,
        None => Some(flag_manager(args)?),
    };
    let (python, allow) = python_inputs(args)?;
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("mplog-configure".into())
        .spawn(move || {
            let started =
                (|| -> Result<ListenerHandle, Box<dyn std::error::Error + Send + Sync>> {
                    let mut builder = match (&config, flags) {
                        (Some(path), _) => {
                            // The keys Python ignores, named as `mplog check` names them.
                            let cfg = mplog::config::DictConfig::from_path(path)?;
                            for w in cfg.warnings() {
                                eprintln!("mplog: {}: warning: {w}", path.display());
                            }
                            QueueListener::from_config(cfg)?
                        }
                        (None, Some(manager)) => QueueListener::builder().manager(manager),
                        (None, None) => QueueListener::builder(),
                    };
                    if let Some(path) = &endpoint {
                        builder = builder.endpoint(path);
                    }
                    for input in python {
                        builder = builder.python_input(input);
                    }
                    builder = builder.python_allow(allow);
                    Ok(builder.drain_timeout(drain).start()?)
                })();
            if tx.send(started).is_err() {
                // The receiver is gone only when a signal ended the wait: nothing to hand over.
            }
        })?;
    loop {
        match rx.try_recv() {
            Ok(started) => return started.map(Some),
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                return Err("the configuration thread ended without a word".into())
            }
            Err(crossbeam_channel::TryRecvError::Empty) => {}
        }
        match next_signal(signal_fd, Duration::from_millis(50))? {
            Some(Signal::SIGHUP) => eprintln!("mplog: SIGHUP while starting: ignored"),
            Some(signal) => {
                eprintln!(
                    "mplog: {signal} while the configuration was being built: stopped before \
                     listening (no records were received)"
                );
                return Ok(None);
            }
            None => {}
        }
    }
}

/// The next of the blocked signals, waiting at most `timeout` (`None`: none came).
fn next_signal(
    signal_fd: &SignalFd,
    timeout: Duration,
) -> Result<Option<Signal>, Box<dyn std::error::Error + Send + Sync>> {
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(signal_fd),
        PollFlags::POLLIN,
    )];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(info) = signal_fd.read_signal()? else {
        return Ok(None);
    };
    let number = i32::try_from(info.ssi_signo)?;
    Ok(Some(Signal::try_from(number)?))
}

/// Stops the listener and closes its handlers, each bounded (a handler stuck in a hung file
/// system does not keep the process from exiting); the statistics, with what closing gave up.
fn finish(listener: &ListenerHandle) -> ListenerStats {
    let mut stats = listener.stop();
    if let Some(manager) = listener.manager() {
        let handlers = manager.handlers();
        let given_up = move || -> u64 {
            handlers
                .iter()
                .map(|h| h.base().records_not_written())
                .sum()
        };
        let before = given_up();
        // Closing the handlers tries what they hold once more, and gives up on the rest.
        let (done, closed) = crossbeam_channel::bounded(1);
        let closing = std::thread::Builder::new().spawn(move || {
            manager.shutdown();
            if done.send(given_up()).is_err() {
                // Gave up waiting already: said so on stderr.
            }
        });
        match closing.map(|_| closed.recv_timeout(DISPATCH_GRACE)) {
            Ok(Ok(after)) => {
                stats.not_written += after.saturating_sub(before);
                stats.held = 0;
            }
            _ => eprintln!(
                "mplog: the handlers did not close within {} s (a hung file system?); \
                 {} records they held may not be written",
                DISPATCH_GRACE.as_secs(),
                stats.held
            ),
        }
    }
    stats
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
    if stats.drain_cut {
        text.push_str(&format!(
            "mplog: the drain deadline passed: {} inputs were still delivering, {} bytes of \
             records left undelivered (kept by their workers, or in their rings, for the next \
             listener)\n",
            stats.cut_inputs, stats.undelivered_bytes
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
