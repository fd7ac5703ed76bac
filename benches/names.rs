//! Issue 10 item 5: what new logger names cost. Two figures, for N distinct names:
//! - `manager new loggers/N`: `Manager::get_logger` of N new names into a fresh hierarchy;
//! - `listener new names/N`: N records of N distinct names through a listener dispatching
//!   through a hierarchy (the in-process input: the dispatch thread's work alone), from the
//!   first record to the last one handled.
//!
//! Names are `svc<i%10>.part<i%97>.n<i>`: three levels, shared parents made as placeholders
//! first. N defaults to 1,000, 4,000 and 100,000; `MPLOG_BENCH_NAMES=1000,4000` picks others
//! (main's code is quadratic: 16,000 names took it minutes).
//!
//! Run: `cargo bench --bench names -- --warm-up-time 1 --measurement-time 3`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mplog::handler::{Handler, NullHandler};
use mplog::queue::{Endpoint, QueueListener};
use mplog::{Level, Manager, Record};

fn sizes() -> Vec<usize> {
    std::env::var("MPLOG_BENCH_NAMES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 4_000, 100_000])
}

fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("svc{}.part{}.n{i}", i % 10, i % 97))
        .collect()
}

fn manager_new_loggers(c: &mut Criterion) {
    let mut group = c.benchmark_group("manager new loggers");
    group.sample_size(10);
    for n in sizes() {
        let names = names(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &names, |b, names| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let m = Manager::new();
                    let start = Instant::now();
                    for name in names {
                        m.get_logger(name);
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

fn listener_new_names(c: &mut Criterion) {
    let mut group = c.benchmark_group("listener new names");
    group.sample_size(10);
    for n in sizes() {
        let records: Vec<Record> = names(n)
            .iter()
            .map(|name| Record::new(name, Level::WARNING, "m"))
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &records, |b, records| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let m = Manager::new();
                    m.root()
                        .add_handler(Arc::new(NullHandler::new()) as Arc<dyn Handler>);
                    let listener = QueueListener::builder()
                        .endpoint_kind(Endpoint::InProcess)
                        .manager(m)
                        .start()
                        .expect("listener");
                    let h = listener.local_handler();
                    let start = Instant::now();
                    for r in records {
                        h.handle(r);
                    }
                    // Waits until the dispatch thread handled every record.
                    h.flush().expect("flushed");
                    total += start.elapsed();
                    listener.stop();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, manager_new_loggers, listener_new_names);
criterion_main!(benches);
