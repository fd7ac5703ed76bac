//! The formatter's and the file handler's hot paths, short: a record formatted with `asctime`
//! in the same second (cached date) and in a new second each time (the date rendered), and a
//! line into a buffered `FileHandler` (UTF-8, the default, and Latin-1).
//!
//! Run: `cargo bench --bench format -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mplog::format::Format;
use mplog::handler::{Encoding, FileHandler, Handler};
use mplog::{Formatter, Level, Record};

const DETAILED: &str = "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s";

fn dates(c: &mut Criterion) {
    let f = Formatter::builder(DETAILED)
        .datefmt("%Y-%m-%d %H:%M:%S")
        .build()
        .expect("valid format");
    let mut record = Record::new("app.db.pool", Level::INFO, "request 17 served in 250 us");
    let mut out = String::with_capacity(256);
    c.bench_function("format, datefmt, same second (cached date)", |b| {
        b.iter(|| {
            out.clear();
            f.format(black_box(&record), &mut out).expect("formats");
            black_box(out.len())
        })
    });
    let mut second = 1_700_000_000i64;
    c.bench_function(
        "format, datefmt, new second each record (date rendered)",
        |b| {
            b.iter(|| {
                second += 1;
                record.created_ns = second * 1_000_000_000;
                out.clear();
                f.format(black_box(&record), &mut out).expect("formats");
                black_box(out.len())
            })
        },
    );
}

fn file_utf8(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let h = FileHandler::builder(dir.path().join("app.log"))
        .buffer(64 * 1024)
        .build()
        .expect("handler");
    let record = Record::new("app.db.pool", Level::INFO, "request 17 served in 250 us");
    c.bench_function("FileHandler emit, UTF-8, buffered", |b| {
        b.iter(|| h.handle(black_box(&record)))
    });
}

fn file_latin1(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let h = FileHandler::builder(dir.path().join("app.log"))
        .buffer(64 * 1024)
        .encoding(Encoding::new("latin-1").expect("codec"))
        .build()
        .expect("handler");
    let record = Record::new("app.db.pool", Level::INFO, "request 17 served in 250 us");
    c.bench_function("FileHandler emit, Latin-1, buffered", |b| {
        b.iter(|| h.handle(black_box(&record)))
    });
}

criterion_group!(benches, dates, file_utf8, file_latin1);
criterion_main!(benches);
