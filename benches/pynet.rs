//! Python's wire: the cost of writing and reading one pickled record, of one `SocketHandler`
//! call, and, where python3 is installed, records/s into the logging cookbook's receiver (the
//! one of `tests/python`) from mplog's `SocketHandler` and from Python's own, side by side in
//! the same run.
//!
//! Run: `cargo bench --bench pynet`.

#[path = "../tests/python/mod.rs"]
mod python;

use std::hint::black_box;
use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use mplog::compat::pickle::{decode_record, encode_record, Limits, PREFIX_LEN};
use mplog::handler::{Handler, SocketHandler};
use mplog::record::Value;
use mplog::{Level, Record};

fn record() -> Record {
    let mut r = Record::new("app.db.pool", Level::INFO, "request 17 served in 250 us");
    r.pathname = "src/db/pool.rs".into();
    r.lineno = 42;
    r.func_name = "pool::serve".into();
    // The extra fields the tests' receiver prints.
    r.extra.push(("s".into(), Value::Str("10.0.0.7".into())));
    r.extra.push(("i".into(), Value::Int(200)));
    r.extra.push(("f".into(), Value::Float(0.25)));
    r.extra.push(("b".into(), Value::Bool(true)));
    r.extra.push(("n".into(), Value::None));
    r
}

fn pickle(c: &mut Criterion) {
    let r = record();
    let mut out = Vec::with_capacity(1024);
    c.bench_function("encode one record (makePickle)", |b| {
        b.iter(|| {
            out.clear();
            encode_record(black_box(&r), &mut out);
        })
    });
    let mut frame = Vec::new();
    encode_record(&r, &mut frame);
    let limits = Limits::default();
    c.bench_function("decode one record (data opcodes only)", |b| {
        b.iter(|| decode_record(black_box(&frame[PREFIX_LEN..]), &limits).unwrap())
    });
}

fn socket_handler_call(c: &mut Criterion) {
    // A peer that reads and discards: the cost of the caller's side.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let h = SocketHandler::tcp("127.0.0.1", port).unwrap();
    let r = record();
    c.bench_function("SocketHandler.handle (TCP, a reading peer)", |b| {
        b.iter(|| h.handle(black_box(&r)))
    });
    h.close();
}

criterion_group!(benches, pickle, socket_handler_call);

const PY_SENDER: &str = r#"
import logging, logging.handlers, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
log = logging.getLogger('app.db.pool')
log.setLevel(logging.INFO)
log.propagate = False
log.addHandler(logging.handlers.SocketHandler('127.0.0.1', port))
extra = {'s': '10.0.0.7', 'i': 200, 'f': 0.25, 'b': True, 'n': None}
t = time.perf_counter()
for i in range(n):
    log.info('request 17 served in 250 us', extra=extra)
print('SENT', time.perf_counter() - t, flush=True)
"#;

/// Runs the tests' cookbook receiver (Python's logging handles and formats each record);
/// `send` logs `n` records to its port and returns the caller's seconds. Returns those and the
/// seconds until the receiver had all `n`.
fn into_python_receiver(n: usize, send: impl FnOnce(u16) -> f64) -> Option<(f64, f64)> {
    let py = python::python3("bench")?;
    let dir = tempfile::tempdir().ok()?;
    let out = dir.path().join("received.jsonl");
    let mut receiver = python::spawn(
        py,
        python::RECEIVER,
        &["tcp", "0", out.to_str()?, python::FORMAT, &n.to_string()],
    );
    let port = python::ready(&mut receiver);
    let t = Instant::now();
    let caller = send(port);
    let done = receiver.wait().ok()?.success();
    let seconds = t.elapsed().as_secs_f64();
    done.then_some((caller, seconds))
}

fn python_comparison() {
    let n = 20_000;
    let mplog = into_python_receiver(n, |port| {
        let h = SocketHandler::tcp("127.0.0.1", port).unwrap();
        let r = record();
        let t = Instant::now();
        for _ in 0..n {
            h.handle(&r);
        }
        let caller = t.elapsed().as_secs_f64();
        h.flush().unwrap_or_else(|e| eprintln!("flush: {e}"));
        h.close();
        caller
    });
    let python = into_python_receiver(n, |port| {
        let out = Command::new("python3")
            .args(["-c", PY_SENDER, &port.to_string(), &n.to_string()])
            .output()
            .expect("python3 sender");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .strip_prefix("SENT ")
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN)
    });
    match (mplog, python) {
        (Some((mc, mr)), Some((pc, pr))) => {
            println!("\n{n} records into the cookbook's receiver (Python logging formats each to a file):");
            println!(
                "{:<34} {:>16} {:>20}",
                "sender", "caller, ns/record", "end to end, records/s"
            );
            for (name, caller, recv) in [
                ("mplog SocketHandler", mc, mr),
                ("Python SocketHandler", pc, pr),
            ] {
                println!(
                    "{name:<34} {:>16.0} {:>20.0}",
                    caller / n as f64 * 1e9,
                    n as f64 / recv
                );
            }
        }
        _ => println!("python3 not run: no comparison with Python's SocketHandler"),
    }
    std::thread::sleep(Duration::from_millis(10));
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    python_comparison();
}
