//! `tracing` in worker processes: four workers, each a multi-threaded tokio runtime running
//! many tasks in spans, send their `tracing` events to one listener, the only writer of
//! `tokio_workers.log`.
//!
//! A worker does what any tokio service would: `mplog::worker::init_from_env()` (the queue
//! handler to the listener), then `tracing_subscriber::registry().with(mplog::compat::tracing::layer())`
//! as the global subscriber. `MPLOG_LEVEL=info` (set by the supervisor) chooses what is sent:
//! the workers' `debug!` events cost one load and never leave the process. The listener's
//! format shows the span chain with `%(span)s`.
//!
//! Run plainly, this executable is the supervisor: it starts the listener (a thread), the
//! workers (itself again, with `TOKIO_WORKERS_ROLE` set), waits for them, stops the listener
//! and checks that every event is in the file exactly once, in its spans, and no `debug!` is.
//!
//! Run: `cargo run --example tokio_workers` (writes `tokio_workers.log` here).

use std::collections::HashSet;
use std::process::{Command, ExitCode};
use std::sync::Arc;

use mplog::handler::{FileHandler, Handler};
use mplog::queue::spawn::CommandExt;
use mplog::queue::QueueListener;
use mplog::{Formatter, Manager};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

const WORKERS: usize = 4;
const TASKS: usize = 100;
const STEPS: usize = 5;
const ROLE: &str = "TOKIO_WORKERS_ROLE";
const LOG_FILE: &str = "tokio_workers.log";

fn main() -> ExitCode {
    let result = match std::env::var(ROLE).as_deref() {
        Ok("worker") => worker(),
        _ => supervisor(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_workers: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A worker process: a tokio runtime whose tasks log through `tracing`.
fn worker() -> Result<()> {
    let guard = mplog::worker::init_from_env()?;
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(mplog::compat::tracing::layer()),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let span = tracing::info_span!(target: "shop::orders", "order", id = task);
                tokio::spawn(handle_order(task).instrument(span))
            })
            .collect();
        for t in tasks {
            t.await?;
        }
        Ok::<(), tokio::task::JoinError>(())
    })?;
    drop(runtime);
    // Every event already logged reaches the listener before the process ends.
    drop(guard);
    Ok(())
}

#[tracing::instrument(target = "shop::orders", level = "info", skip_all)]
async fn handle_order(task: usize) {
    for step in 0..STEPS {
        tokio::task::yield_now().await;
        let span = tracing::info_span!(target: "shop::db", "step", n = step);
        async {
            tracing::info!(target: "shop::db", rows = step * 10, "order {task} step {step} done");
            tracing::debug!(target: "shop::db", "not sent: MPLOG_LEVEL=info");
        }
        .instrument(span)
        .await;
    }
}

fn supervisor() -> Result<()> {
    let file = FileHandler::builder(LOG_FILE)
        .mode(mplog::handler::FileMode::Truncate)
        .build()?;
    file.base().set_formatter(Arc::new(Formatter::new(
        "%(processName)s %(threadName)s %(name)s %(levelname)s [%(span)s] %(message)s",
    )?));
    let manager = Manager::new();
    manager.root().add_handler(Arc::new(file));
    let listener = QueueListener::builder().manager(manager.clone()).start()?;

    let exe = std::env::current_exe()?;
    let workers: Vec<_> = (1..=WORKERS)
        .map(|n| {
            Command::new(&exe)
                .env(ROLE, "worker")
                .env("MPLOG_LEVEL", "info")
                .mplog_endpoint(listener.endpoint())
                .mplog_process_name(format!("worker-{n}"))
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

    let text = std::fs::read_to_string(LOG_FILE)?;
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(3) {
        println!("{line}");
    }
    let mut seen = HashSet::new();
    for line in &lines {
        // worker-N tokio-rt-worker shop.db INFO [order{id=T}:handle_order:step{n=S}] order T step S done
        let check = || -> Option<(String, String, String)> {
            let mut words = line.split(' ');
            let process = words.next()?.to_owned();
            let (_thread, name, level) = (words.next()?, words.next()?, words.next()?);
            let (span, message) = line.split_once(" [")?.1.split_once("] ")?;
            let mut m = message.split(' ');
            let (task, step) = (m.nth(1)?, m.nth(1)?);
            let want = format!("order{{id={task}}}:handle_order:step{{n={step}}}");
            (name == "shop.db" && level == "INFO" && span == want)
                .then(|| (process, task.to_owned(), step.to_owned()))
        };
        let key = check().ok_or_else(|| format!("unexpected line: {line}"))?;
        if !seen.insert(key) {
            return Err(format!("a record twice: {line}").into());
        }
    }
    let want = WORKERS * TASKS * STEPS;
    println!(
        "... {} lines in {LOG_FILE} from {} workers ({} records received): each event once, in its spans",
        lines.len(),
        stats.per_worker.len(),
        stats.records
    );
    if seen.len() != want {
        return Err(format!("{} distinct records, {want} expected", seen.len()).into());
    }
    Ok(())
}
