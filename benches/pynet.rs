//! Python's wire: the cost of writing and reading one pickled record, of one `SocketHandler`
//! call, and, where python3 is installed, side by side in the same run:
//! - records/s into the logging cookbook's receiver (the one of `tests/python`) from mplog's
//!   `SocketHandler` and from Python's own;
//! - decoding one record: mplog's data-only decoder against Python's `pickle.loads` (and
//!   `logging.makeLogRecord(pickle.loads(...))`), on the same bytes, best of several batches;
//! - Python workers (`SocketHandler`) into `mplog listen --tcp` against into the cookbook's
//!   receiver, the same records formatted alike into a file (the README's figure).
//!
//! Run: `cargo bench --bench pynet` (`cargo bench --bench pynet -- --warm-up-time 1
//! --measurement-time 3` for a short run).

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

/// Times `pickle.loads` of the bytes in hex `argv[1]`, best of 7 batches of `argv[2]`.
const PY_LOADS: &str = r#"
import logging, pickle, sys, timeit
data, n = bytes.fromhex(sys.argv[1]), int(sys.argv[2])
loads = min(timeit.repeat(lambda: pickle.loads(data), number=n, repeat=7)) / n
record = min(timeit.repeat(lambda: logging.makeLogRecord(pickle.loads(data)), number=n, repeat=7)) / n
print(loads * 1e9, record * 1e9)
"#;

fn decode_comparison() {
    let n = 20_000;
    let mut frame = Vec::new();
    encode_record(&record(), &mut frame);
    let pickle = &frame[PREFIX_LEN..];
    let limits = Limits::default();
    let ours = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(decode_record(black_box(pickle), &limits).unwrap());
            }
            t.elapsed().as_secs_f64() / n as f64 * 1e9
        })
        .fold(f64::INFINITY, f64::min);
    let hex: String = pickle.iter().map(|b| format!("{b:02x}")).collect();
    let Some(out) = python::python3("bench").and_then(|mut py| {
        py.args(["-c", PY_LOADS, &hex, &n.to_string()])
            .output()
            .ok()
    }) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text
        .split_whitespace()
        .filter_map(|s| s.parse::<f64>().ok());
    let (loads, with_record) = (it.next().unwrap_or(f64::NAN), it.next().unwrap_or(f64::NAN));
    println!(
        "\ndecoding one record of {} bytes, best of 7 batches of {n} (same run):",
        pickle.len()
    );
    println!(
        "{:<52} {:>8.0} ns",
        "mplog decode_record (data opcodes only, to a Record)", ours
    );
    println!(
        "{:<52} {:>8.0} ns",
        "Python pickle.loads (to a dict)", loads
    );
    println!(
        "{:<52} {:>8.0} ns",
        "Python makeLogRecord(pickle.loads(...))", with_record
    );
}

/// The logging cookbook's receiver ("Sending and receiving logging events across a
/// network"), its records formatted with `argv[3]` into the file `argv[2]`; prints `READY
/// <port>`.
const COOKBOOK_RECEIVER: &str = r#"
import logging, logging.handlers, pickle, socketserver, struct, sys, threading
port, out, fmt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
handler = logging.FileHandler(out)
handler.setFormatter(logging.Formatter(fmt))
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(1)
class LogRecordStreamHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            chunk = self.connection.recv(4)
            if len(chunk) < 4:
                break
            slen = struct.unpack('>L', chunk)[0]
            chunk = self.connection.recv(slen)
            while len(chunk) < slen:
                chunk = chunk + self.connection.recv(slen - len(chunk))
            record = logging.makeLogRecord(pickle.loads(chunk))
            logging.getLogger(record.name).handle(record)
socketserver.ThreadingTCPServer.allow_reuse_address = True
server = socketserver.ThreadingTCPServer(('127.0.0.1', port), LogRecordStreamHandler)
server.daemon_threads = True
print('READY', server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Waits until `path` holds `lines` lines (reading only what was added); the time it took
/// from `started`, or `None` after five minutes.
fn until_lines(path: &std::path::Path, lines: usize, started: Instant) -> Option<f64> {
    use std::io::{Seek, SeekFrom};
    let (mut seen, mut offset, mut buf) = (0usize, 0u64, vec![0u8; 1 << 16]);
    while started.elapsed() < Duration::from_secs(300) {
        if let Ok(mut f) = std::fs::File::open(path) {
            if f.seek(SeekFrom::Start(offset)).is_ok() {
                while let Ok(n) = f.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    offset += n as u64;
                    seen += buf[..n].iter().filter(|&&b| b == b'\n').count();
                }
            }
        }
        if seen >= lines {
            return Some(started.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// `workers` Python processes log `n` records each through `SocketHandler` to `port`;
/// records/s until `out` holds them all.
fn python_workers_into(port: u16, out: &std::path::Path, workers: usize, n: usize) -> Option<f64> {
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..workers {
        let mut py = python::python3("bench")?;
        py.args(["-c", PY_SENDER, &port.to_string(), &n.to_string()])
            .stdout(std::process::Stdio::null());
        senders.push(py.spawn().ok()?);
    }
    let seconds = until_lines(out, workers * n, started);
    for mut s in senders {
        s.wait().ok()?;
    }
    seconds.map(|s| (workers * n) as f64 / s)
}

fn listener_comparison() {
    use std::io::BufRead;
    let (workers, n) = (4, 5_000);
    let Some(dir) = tempfile::tempdir().ok() else {
        return;
    };
    // Python's own receiver.
    let theirs_out = dir.path().join("cookbook.log");
    let Some(mut py) = python::python3("bench") else {
        return;
    };
    py.args(["-u", "-c", COOKBOOK_RECEIVER, "0"])
        .arg(&theirs_out)
        .arg(python::FORMAT)
        .stdout(std::process::Stdio::piped());
    let Ok(mut cookbook) = py.spawn() else { return };
    let port = python::ready(&mut cookbook);
    let theirs = python_workers_into(port, &theirs_out, workers, n);
    let _ = cookbook.kill();
    let _ = cookbook.wait();
    // mplog listen, the same format into a file.
    let ours_out = dir.path().join("mplog.log");
    let listen = Command::new(env!("CARGO_BIN_EXE_mplog"))
        .args(["listen", "--tcp", "0", "--format", python::FORMAT, "--file"])
        .arg(&ours_out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut listen) = listen else { return };
    let mut lines = std::io::BufReader::new(listen.stdout.take().expect("piped")).lines();
    let port = lines
        .nth(1)
        .and_then(|l| l.ok())
        .and_then(|l| l.rsplit(':').next().and_then(|p| p.parse().ok()));
    let ours = port.and_then(|port| python_workers_into(port, &ours_out, workers, n));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(listen.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = listen.wait();
    println!(
        "\n{workers} Python workers x {n} records (SocketHandler over TCP), formatted alike into a \
         file, records/s until the last is written (same run):"
    );
    let show = |v: Option<f64>| v.map_or_else(|| "failed".to_owned(), |r| format!("{r:.0}"));
    println!("{:<44} {:>10}", "into mplog listen --tcp", show(ours));
    println!(
        "{:<44} {:>10}",
        "into the logging cookbook's receiver",
        show(theirs)
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    python_comparison();
    decode_comparison();
    listener_comparison();
}
