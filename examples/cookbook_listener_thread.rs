//! The logging cookbook's listener *thread* in the main process, with worker processes:
//! the main process owns the configuration (console at INFO, `mplog.log` with the detailed
//! format, `mplog-errors.log` at ERROR, logger `foo` also to `mplog-foo.log`); five worker
//! processes only attach a queue handler and log.
//!
//! Run: `cargo run --example cookbook_listener_thread` (writes the three files here).

use std::process::{Command, ExitCode};
use std::sync::Arc;

use mplog::handler::{FileHandler, FileMode, Handler, StreamHandler};
use mplog::queue::spawn::CommandExt;
use mplog::queue::QueueListener;
use mplog::{Formatter, Level, Manager};

const WORKERS: usize = 5;
const MESSAGES: usize = 20;
const LOGGERS: [&str; 6] = [
    "foo",
    "foo.bar",
    "foo.bar.baz",
    "spam",
    "spam.ham",
    "spam.ham.eggs",
];
const DETAILED: &str = "%(asctime)s %(name)-15s %(levelname)-8s %(processName)-10s %(message)s";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let result = if std::env::var_os("MPLOG_ENDPOINT").is_some() {
        worker_process()
    } else {
        main_process()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cookbook_listener_thread: {e}");
            ExitCode::FAILURE
        }
    }
}

fn file(path: &str, level: Level) -> Result<Arc<dyn Handler>> {
    let h = FileHandler::builder(path)
        .mode(FileMode::Truncate)
        .build()?;
    h.base().set_level(level);
    h.base().set_formatter(Arc::new(Formatter::new(DETAILED)?));
    Ok(Arc::new(h))
}

fn main_process() -> Result<()> {
    // The listener's configuration, as the cookbook's dictConfig.
    let manager = Manager::new();
    let root = manager.root();
    root.set_level(Level::DEBUG);
    let console = StreamHandler::stdout();
    console.base().set_level(Level::INFO);
    console.base().set_formatter(Arc::new(Formatter::new(
        "%(name)-15s %(levelname)-8s %(processName)-10s %(message)s",
    )?));
    root.add_handler(Arc::new(console));
    root.add_handler(file("mplog.log", Level::DEBUG)?);
    root.add_handler(file("mplog-errors.log", Level::ERROR)?);
    manager
        .get_logger("foo")
        .add_handler(file("mplog-foo.log", Level::DEBUG)?);

    let listener = QueueListener::builder().manager(manager.clone()).start()?;
    let exe = std::env::current_exe()?;
    let workers: Vec<_> = (1..=WORKERS)
        .map(|n| {
            Command::new(&exe)
                .mplog_endpoint(listener.endpoint())
                .mplog_process_name(format!("Worker-{n}"))
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    for mut w in workers {
        if !w.wait()?.success() {
            return Err("a worker failed".into());
        }
    }
    let stats = listener.stop();
    manager.shutdown();

    let count =
        |path: &str| -> Result<usize> { Ok(std::fs::read_to_string(path)?.lines().count()) };
    let all = count("mplog.log")?;
    let errors = count("mplog-errors.log")?;
    let foo_lines = count("mplog-foo.log")?;
    println!(
        "{} records received; mplog.log {all} lines, mplog-errors.log {errors}, mplog-foo.log {foo_lines}",
        stats.records
    );
    if all != WORKERS * MESSAGES
        || errors == 0
        || errors >= all
        || foo_lines == 0
        || foo_lines >= all
    {
        return Err("the files do not hold what the configuration routes to them".into());
    }
    Ok(())
}

/// A worker: no configuration of its own beyond the queue handler.
fn worker_process() -> Result<()> {
    let _guard = mplog::worker::init_from_env()?;
    let levels = [
        Level::DEBUG,
        Level::INFO,
        Level::WARNING,
        Level::ERROR,
        Level::CRITICAL,
    ];
    let mut state = u64::from(std::process::id()) | 1;
    for i in 0..MESSAGES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let logger = mplog::get_logger(LOGGERS[(state % 6) as usize]);
        let level = levels[((state >> 16) % 5) as usize];
        mplog::log!(logger, level, "Message no. {}", i + 1);
    }
    Ok(())
}
