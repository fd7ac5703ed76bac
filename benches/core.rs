//! The core's three costs, as issue 2 states its targets on a 2-core machine:
//! a disabled call (<= 2 ns), an enabled call into a NullHandler (<= 100 ns), and formatting
//! one record with `%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s`
//! (<= 250 ns).
//!
//! Run: `cargo bench --bench core`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use mplog::format::Format;
use mplog::handler::NullHandler;
use mplog::{Formatter, Level, Manager, Record};

/// The detailed format of the issue (and of `mplog bench`).
const DETAILED: &str = "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s";

fn disabled_call(c: &mut Criterion) {
    let m = Manager::new();
    let log = m.get_logger("app.db.pool");
    c.bench_function("disabled call (debug! below WARNING)", |b| {
        b.iter(|| {
            mplog::debug!(
                log,
                "request {} served in {} us",
                black_box(17),
                black_box(250)
            )
        })
    });
}

fn enabled_to_null(c: &mut Criterion) {
    let m = Manager::new();
    let log = m.get_logger("app.db.pool");
    log.set_level(Level::INFO);
    log.set_propagate(false);
    log.add_handler(Arc::new(NullHandler::new()));
    c.bench_function("enabled call into NullHandler (literal message)", |b| {
        b.iter(|| mplog::info!(log, "request served"))
    });
    c.bench_function("enabled call into NullHandler (2 args)", |b| {
        b.iter(|| {
            mplog::info!(
                log,
                "request {} served in {} us",
                black_box(17),
                black_box(250)
            )
        })
    });
}

fn format_detailed(c: &mut Criterion) {
    let f = Formatter::new(DETAILED).expect("valid format");
    let record = Record::new("app.db.pool", Level::INFO, "request 17 served in 250 us");
    let mut out = String::with_capacity(256);
    c.bench_function("format one record (detailed format)", |b| {
        b.iter(|| {
            out.clear();
            f.format(black_box(&record), &mut out).expect("formats");
            black_box(out.len())
        })
    });
}

criterion_group!(benches, disabled_call, enabled_to_null, format_detailed);
criterion_main!(benches);
