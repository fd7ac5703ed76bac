//! `tracing` through mplog, next to `tracing`'s own stack, in the same run:
//! - a disabled `tracing::debug!` through the mplog layer vs through `tracing-subscriber`'s
//!   own static filter (`Targets`), both with another target at DEBUG so that the callsite's
//!   cached interest, not the global max level, rejects the event (issue 14's target: within
//!   1 ns);
//! - an enabled `tracing::info!` (a message and two fields) written to a file end to end:
//!   through the mplog layer, a `QueueHandler` and a `QueueListener` with a `FileHandler`, vs
//!   through `tracing-subscriber`'s `fmt` layer into `tracing-appender`'s `non_blocking`
//!   writer (lossless, as mplog's default). Each figure runs from the first event until the
//!   last line is written (mplog: the listener acknowledged it flushed; tracing-appender: its
//!   guard's drop joined the writer thread), rounds alternating (target: at least 2x).
//!
//! Run: `cargo bench --bench tracing` (`MPLOG_BENCH_RECORDS` sets the records per round,
//! default 200,000). Instruction counts of the disabled events, which do not drift with the
//! machine's load: `MPLOG_BENCH_LOOPS=1000000 valgrind --tool=callgrind BENCH_BINARY --bench`,
//! then `callgrind_annotate --inclusive=yes` (`quiet_loop` is mplog's, `hush_loop` tracing's).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mplog::handler::{FileHandler, Handler};
use mplog::queue::{QueueHandler, QueueListener};
use mplog::{Formatter, Level, Manager};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// The mplog hierarchy of the global subscriber: root at INFO, `loud` at DEBUG.
fn global_manager() -> &'static Manager {
    static M: std::sync::OnceLock<Manager> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let m = Manager::new();
        m.root().set_level(Level::INFO);
        m.set_last_resort(None);
        let subscriber =
            tracing_subscriber::registry().with(mplog::compat::tracing::layer_for(m.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        m.get_logger("loud").set_level(Level::DEBUG);
        m
    })
}

/// The event both enabled paths write.
#[inline(never)]
fn served(i: usize) {
    tracing::info!(target: "bench::http", status = 200, path = "/api/orders", "request {} served in {} us", i, 42);
}

fn records() -> usize {
    std::env::var("MPLOG_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// The disabled event through the mplog layer (the global subscriber).
#[inline(always)]
fn quiet() {
    tracing::debug!(target: "bench::quiet", n = black_box(17), "request {} served", black_box(250));
}

/// The same event under tracing's own filter (a scoped subscriber).
#[inline(always)]
fn hush() {
    tracing::debug!(target: "bench::hush", n = black_box(17), "request {} served", black_box(250));
}

#[inline(never)]
fn quiet_loop(n: u64) {
    for _ in 0..n {
        quiet();
    }
}

#[inline(never)]
fn hush_loop(n: u64) {
    for _ in 0..n {
        hush();
    }
}

fn disabled(c: &mut Criterion) {
    let m = global_manager();
    // tracing's own: a scoped subscriber whose static filter says the same as the hierarchy.
    let own = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(
                Targets::new()
                    .with_default(tracing::Level::INFO)
                    .with_target("loud", tracing::Level::DEBUG),
            ),
    );
    // Both callsites are registered first; registering one (and a dispatcher) asks every
    // subscriber outside an mplog rebuild, where the layer answers `sometimes` (see
    // `mplog::compat::tracing::interest`), which would make both callsites dynamic. A change
    // to the hierarchy rebuilds with the layer's exact answers: both become `never`.
    quiet();
    tracing::dispatcher::with_default(&own, hush);
    m.get_logger("loud").set_level(Level::DEBUG);
    assert_eq!(
        tracing::level_filters::LevelFilter::current(),
        tracing::level_filters::LevelFilter::DEBUG,
        "the interest cache, not the max level, must reject the events"
    );
    // MPLOG_BENCH_LOOPS=N: run each N times and nothing else, for instruction counts
    // (`valgrind --tool=callgrind`, then compare `quiet_loop` and `hush_loop`).
    if let Some(n) = std::env::var("MPLOG_BENCH_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        quiet_loop(n);
        tracing::dispatcher::with_default(&own, || hush_loop(n));
        std::process::exit(0);
    }
    let mut group = c.benchmark_group("disabled tracing::debug!");
    group.bench_function("mplog layer", |b| b.iter(quiet));
    tracing::dispatcher::with_default(&own, || {
        group.bench_function("tracing-subscriber Targets filter", |b| b.iter(hush));
    });
    group.finish();
}

fn mplog_round(dir: &Path, n: usize) -> Duration {
    let m = global_manager();
    let path = dir.join("mplog.log");
    let file = FileHandler::builder(&path)
        .buffer(64 * 1024)
        .build()
        .expect("open");
    file.base().set_formatter(Arc::new(
        Formatter::new(
            "%(asctime)s %(levelname)s %(name)s: %(message)s status=%(status)s path=%(path)s",
        )
        .expect("format"),
    ));
    let dispatch = Manager::new();
    dispatch.root().add_handler(Arc::new(file));
    let listener = QueueListener::builder()
        .manager(dispatch.clone())
        .start()
        .expect("listener");
    let queue: Arc<dyn Handler> = Arc::new(
        QueueHandler::builder(listener.endpoint())
            .build()
            .expect("queue handler"),
    );
    m.root().add_handler(queue.clone());
    let start = Instant::now();
    for i in 0..n {
        served(i);
    }
    let emitted = start.elapsed();
    assert!(
        queue.flush().is_ok(),
        "the listener acknowledged everything"
    );
    let elapsed = start.elapsed();
    if std::env::var_os("MPLOG_BENCH_SPLIT").is_some() {
        println!(
            "  mplog: calls {emitted:?}, then {:?} until the listener acknowledged",
            elapsed - emitted
        );
    }
    m.root().remove_handler(&queue);
    queue.close();
    listener.stop();
    dispatch.shutdown();
    check_lines(&path, n);
    elapsed
}

fn appender_round(dir: &Path, n: usize) -> Duration {
    let path = dir.join("appender.log");
    let file = std::fs::File::create(&path).expect("create");
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(file);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer),
        ),
    );
    let elapsed = tracing::dispatcher::with_default(&dispatch, || {
        let start = Instant::now();
        for i in 0..n {
            served(i);
        }
        drop(guard); // flushes and joins the writer thread
        start.elapsed()
    });
    check_lines(&path, n);
    elapsed
}

/// CPU time of this process so far (every thread: the listener's too), in seconds.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// Wall and CPU seconds of one round.
fn measured(round: impl FnOnce() -> Duration) -> (f64, f64) {
    let cpu = cpu_seconds();
    let wall = round().as_secs_f64();
    (wall, cpu_seconds() - cpu)
}

fn check_lines(path: &Path, n: usize) {
    let text = std::fs::read_to_string(path).expect("read");
    let lines = text.lines().count();
    assert_eq!(lines, n, "{}: every record written once", path.display());
    std::fs::remove_file(path).expect("remove");
}

fn enabled_end_to_end(_: &mut Criterion) {
    global_manager();
    let dir = tempfile::tempdir().expect("tempdir");
    let n = records();
    println!("\nenabled tracing::info! into a file, end to end ({n} records a round)");
    // MPLOG_BENCH_ONLY=mplog runs mplog's rounds alone (to profile them).
    let only_mplog = std::env::var("MPLOG_BENCH_ONLY").as_deref() == Ok("mplog");
    let us = |secs: f64| secs * 1e6 / n as f64;
    let mut ratios = Vec::new();
    for round in 1..=5 {
        let (a, a_cpu) = if only_mplog {
            (f64::NAN, f64::NAN)
        } else {
            measured(|| appender_round(dir.path(), n))
        };
        let (m, m_cpu) = measured(|| mplog_round(dir.path(), n));
        ratios.push(a / m);
        println!(
            "round {round}: tracing-appender non_blocking + fmt {:>9.0} records/s ({:.2} us CPU each) | mplog layer + listener {:>9.0} records/s ({:.2} us CPU each) | {:.2}x",
            n as f64 / a,
            us(a_cpu),
            n as f64 / m,
            us(m_cpu),
            a / m
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median records/s ratio (mplog / tracing-appender): {:.2}x",
        ratios[ratios.len() / 2]
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = disabled, enabled_end_to_end
}
criterion_main!(benches);
