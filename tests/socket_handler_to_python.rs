//! mplog's `SocketHandler` and `DatagramHandler` into receivers written in Python from the
//! logging cookbook (TCP and a Unix stream socket; UDP and a Unix datagram socket): every
//! record arrives, once, in order, and Python formats it as mplog formats it. A receiver that
//! goes away and comes back gets the records kept meanwhile (the newest, within the bound; the
//! rest counted as dropped), and a peer that stops reading never holds the caller past the
//! overflow policy.

mod python;

use std::net::TcpListener;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mplog::handler::net::{Address, NetOptions, Overflow};
use mplog::handler::{DatagramHandler, Handler, SocketHandler};
use mplog::record::Value;
use mplog::{Formatter, Level, Record};

/// Records as four threads of a worker make them: named threads, every kind of extra value,
/// error text on some.
fn records(n: usize, tag: &str) -> Vec<Record> {
    mplog::add_level_name(Level::new(25), "NOTICE");
    let per_thread = n.div_ceil(4);
    let mut all = Vec::new();
    for t in 0..4 {
        let tag = tag.to_owned();
        let made = std::thread::Builder::new()
            .name(format!("io-{t} ✓"))
            .spawn(move || {
                (t * per_thread..((t + 1) * per_thread).min(n))
                    .map(|i| {
                        let level = Level::new([10, 20, 25, 30, 40, 50][i % 6]);
                        let mut r =
                            Record::new("svc.ünï", level, format!("{tag} {i:05} it's \"q\""));
                        r.pathname = "src/svc/worker.rs".into();
                        r.lineno = 10 + i as u32;
                        r.func_name = "svc::worker::run".into();
                        r.extra.push(("s".into(), Value::Str(format!("ü{i}\n"))));
                        r.extra
                            .push(("i".into(), Value::Int(i as i64 * 1_000_003 - 7)));
                        r.extra.push(("f".into(), Value::Float(i as f64 / 7.0)));
                        r.extra.push(("b".into(), Value::Bool(i % 2 == 0)));
                        r.extra.push(("n".into(), Value::None));
                        if i % 9 == 4 {
                            r = r.with_error(&std::io::Error::other(format!("disk {i} full")));
                        }
                        r
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap()
            .join()
            .unwrap();
        all.extend(made);
    }
    all
}

fn mplog_lines(records: &[Record]) -> Vec<String> {
    let formatter = Formatter::new(python::FORMAT).unwrap();
    records
        .iter()
        .map(|r| {
            let mut line = String::new();
            mplog::format::Format::format(&formatter, r, &mut line).unwrap();
            line
        })
        .collect()
}

struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    fn start(
        mode: &str,
        address: &str,
        out: &std::path::Path,
        expected: usize,
    ) -> Option<Receiver> {
        let py = python::python3(&format!("receiver ({mode})"))?;
        let mut child = python::spawn(
            py,
            python::RECEIVER,
            &[
                mode,
                address,
                out.to_str().unwrap(),
                python::FORMAT,
                &expected.to_string(),
            ],
        );
        let port = python::ready(&mut child);
        Some(Receiver { child, port })
    }

    /// Waits for the receiver to exit by itself (it counts the records it expects).
    fn wait(mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the receiver did not get every record"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(self.child.wait().unwrap().success());
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `records` through `handler` from four threads at once (each thread its own share,
/// in order), then closes the handler.
fn send_all(handler: Arc<dyn Handler>, records: &[Record]) {
    std::thread::scope(|scope| {
        for chunk in records.chunks(records.len().div_ceil(4)) {
            let handler = handler.clone();
            scope.spawn(move || {
                for r in chunk {
                    assert!(handler.handle(r));
                }
            });
        }
    });
    handler.flush().unwrap();
    handler.close();
}

/// Python's lines are mplog's, each once, each thread's in its order.
fn assert_same_lines(ours: &[String], mut theirs: Vec<String>) {
    assert_eq!(theirs.len(), ours.len(), "records lost or duplicated");
    // Threads interleave: compare each thread's share in order, then everything as a set.
    for chunk in ours.chunks(ours.len().div_ceil(4)) {
        let positions: Vec<usize> = chunk
            .iter()
            .map(|line| {
                theirs
                    .iter()
                    .position(|t| t == line)
                    .unwrap_or_else(|| panic!("not received as mplog formats it: {line}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order");
    }
    theirs.sort();
    let mut ours = ours.to_vec();
    ours.sort();
    assert_eq!(ours, theirs);
}

fn python_formats_as_mplog(mode: &str, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let path = dir.path().join("receiver.sock");
    let address = if mode.starts_with("unix") {
        path.to_str().unwrap().to_owned()
    } else {
        "0".to_owned()
    };
    let Some(receiver) = Receiver::start(mode, &address, &out, n) else {
        return;
    };
    let target = match mode {
        "tcp" | "udp" => Address::from_python("127.0.0.1", Some(receiver.port)),
        _ => Address::Unix(path.clone()),
    };
    let records = records(n, mode);
    let handler: Arc<dyn Handler> = match mode {
        "tcp" | "unix" => Arc::new(SocketHandler::new(target, NetOptions::default()).unwrap()),
        _ => Arc::new(DatagramHandler::new(target, NetOptions::default()).unwrap()),
    };
    send_all(handler.clone(), &records);
    receiver.wait();
    assert_eq!(handler.base().error_count(), 0);
    assert_same_lines(&mplog_lines(&records), python::received(&out));
}

#[test]
fn socket_handler_over_tcp_into_the_cookbook_receiver() {
    python_formats_as_mplog("tcp", 400);
}

#[test]
fn socket_handler_over_a_unix_socket_into_the_cookbook_receiver() {
    python_formats_as_mplog("unix", 400);
}

#[test]
fn datagram_handler_over_udp_into_pickle_loads() {
    // Few enough that the receiver's socket buffer holds them all: UDP drops silently.
    python_formats_as_mplog("udp", 150);
}

#[test]
fn datagram_handler_over_a_unix_socket_into_pickle_loads() {
    python_formats_as_mplog("unixdgram", 400);
}

#[test]
fn records_kept_while_the_receiver_is_away_arrive_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (first_out, second_out) = (
        dir.path().join("first.jsonl"),
        dir.path().join("second.jsonl"),
    );
    let Some(first) = Receiver::start("tcp", "0", &first_out, 0) else {
        return;
    };
    let port = first.port;
    let before = records(20, "before");
    let away = records(200, "away");
    let one = mplog_lines(&away[..1])[0].len();
    let options = NetOptions {
        retry_start: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
        // About 40 of the 200 records logged while the receiver is away.
        max_pending: 40 * (one + 250),
        drain_timeout: Duration::from_secs(30),
        ..NetOptions::default()
    };
    let handler =
        SocketHandler::new(Address::from_python("127.0.0.1", Some(port)), options).unwrap();
    for r in &before {
        handler.handle(r);
    }
    handler.flush().unwrap();
    assert_eq!(python::wait_for_lines(&first_out, 20).len(), 20);
    first.kill();

    for r in &away {
        handler.handle(r);
    }
    // Nothing can be sent: the receiver is gone (the connection it left is noticed before
    // anything is written into it).
    assert!(handler.flush().is_err());
    let stats = handler.stats();
    assert_eq!(stats.sent, 20);
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.dropped + stats.pending, 200, "{stats:?}");

    let Some(second) = Receiver::start("tcp", &port.to_string(), &second_out, 0) else {
        return;
    };
    handler.close(); // drains into the new receiver
    let stats = handler.stats();
    assert_eq!(
        (stats.pending, stats.sent + stats.dropped),
        (0, 220),
        "{stats:?}"
    );
    let kept = (stats.sent - 20) as usize;
    let got = python::wait_for_lines(&second_out, kept);
    second.kill();
    // The newest records were kept, in order, each once; what made room was counted.
    let kept_records: Vec<Record> = away[away.len() - kept..].to_vec();
    assert_eq!(got, mplog_lines(&kept_records));
    assert_eq!(python::received(&first_out), mplog_lines(&before));
}

#[test]
fn a_peer_that_stops_reading_never_holds_the_caller_past_the_policy() {
    // A peer that never reads (its connections wait in the listen backlog, which takes data
    // like any connection): the kernel buffers fill, then the handler's.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let big = "x".repeat(64 * 1024);
    let mut record = Record::new("flood", Level::INFO, big);
    record.extra.push(("n".into(), Value::Int(0)));
    let options = |overflow| NetOptions {
        overflow,
        max_pending: 1 << 20,
        timeout: Duration::from_secs(30),
        drain_timeout: Duration::from_millis(200),
        ..NetOptions::default()
    };
    let target = Address::from_python("127.0.0.1", Some(port));
    let handler = SocketHandler::new(target.clone(), options(Overflow::Drop)).unwrap();
    // 64 MiB: far more than the socket buffers and the pending buffer hold.
    for _ in 0..1024 {
        handler.handle(&record);
    }
    let stats = handler.stats();
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(
        stats.sent + stats.dropped + stats.pending,
        1024,
        "{stats:?}"
    );
    assert!(handler.base().error_count() > 0, "drops are reported");

    // Under Block, a caller waits for room at most the timeout, then drops and counts.
    let block = Duration::from_millis(300);
    let blocked = SocketHandler::new(target, options(Overflow::Block { timeout: block })).unwrap();
    let mut waited = Duration::ZERO;
    let mut n = 0;
    while blocked.stats().dropped == 0 {
        assert!(n < 4096, "the caller was never refused");
        let t = Instant::now();
        blocked.handle(&record);
        waited = t.elapsed();
        n += 1;
    }
    assert!(waited >= block, "the refused caller waited {waited:?}");
    // Closing gives up on the stuck peer within the drain timeout (not the 30 s write
    // timeout), counting what it could not send.
    let t = Instant::now();
    handler.close();
    blocked.close();
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "close took {:?}",
        t.elapsed()
    );
    let (a, b) = (handler.stats(), blocked.stats());
    assert_eq!((a.pending, b.pending), (0, 0));
    assert_eq!(a.sent + a.dropped, 1024);
    assert_eq!(b.sent + b.dropped, n);
    drop(listener);
}
