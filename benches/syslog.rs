//! Records/s through SysLogHandler (TCP, octet counting) into a real rsyslogd, beside Python's
//! own SysLogHandler (TCP) into the same rsyslogd, same run: each side's time from its first
//! record to rsyslog's file holding its last.
//!
//! `cargo bench --bench syslog` (`MPLOG_BENCH_RECORDS` sets the count, default 200,000).

#[path = "../tests/common/rsyslog.rs"]
#[allow(dead_code)]
mod rsyslog;
#[path = "../tests/common/servers.rs"]
#[allow(dead_code)]
mod servers;

use std::time::{Duration, Instant};

use mplog::handler::net::{NetOptions, Overflow};
use mplog::handler::syslog::{Framing, SockType, SysLogHandler, SyslogAddress, DEFAULT_TIMEOUT};
use mplog::handler::Handler;
use mplog::{Level, Record};

fn main() {
    let n: usize = std::env::var("MPLOG_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let Some(rs) = rsyslog::Rsyslog::start() else {
        return;
    };
    let record = Record::new("app.db.pool", Level::INFO, "request 12345 served in 321 us");

    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tcp_port))
        .socktype(SockType::Stream)
        .framing(Framing::OctetCounting)
        .ident("app: ")
        // Callers wait for room rather than drop: every record must reach rsyslog.
        .options(NetOptions {
            overflow: Overflow::Block {
                timeout: Duration::from_secs(60),
            },
            timeout: DEFAULT_TIMEOUT,
            ..NetOptions::default()
        })
        .build()
        .expect("handler");
    let start = Instant::now();
    for _ in 0..n {
        h.handle(&record);
    }
    let sent = start.elapsed();
    assert_eq!(h.stats().dropped, 0, "no record dropped");
    let got = servers::wait_for_lines(&rs.file("tcp"), n, Duration::from_secs(300)).len();
    let total = start.elapsed();
    assert_eq!(got, n, "mplog: {got} of {n} lines");
    report("mplog SysLogHandler (TCP, octet counting)", n, sent, total);

    let script = r#"
import logging, logging.handlers, socket, sys, time
n, port = int(sys.argv[1]), int(sys.argv[2])
h = logging.handlers.SysLogHandler(address=("127.0.0.1", port), socktype=socket.SOCK_STREAM)
h.ident = "app: "
r = logging.makeLogRecord(dict(name="app.db.pool", levelname="INFO", levelno=20, msg="request 12345 served in 321 us"))
t = time.perf_counter()
for _ in range(n):
    h.emit(r)
print(time.perf_counter() - t)
"#;
    let start = Instant::now();
    let out = std::process::Command::new("python3")
        .args(["-c", script, &n.to_string(), &rs.nul_port.to_string()])
        .output()
        .expect("python3");
    let sent: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN);
    let got = servers::wait_for_lines(&rs.file("nul"), n, Duration::from_secs(300)).len();
    let total = start.elapsed();
    assert_eq!(got, n, "Python: {got} of {n} lines");
    report(
        "Python SysLogHandler (TCP)",
        n,
        Duration::from_secs_f64(sent),
        total,
    );
}

fn report(what: &str, n: usize, sent: Duration, total: Duration) {
    println!(
        "{what:45} {n} records: emit {:>9.0} records/s, into rsyslog's file {:>9.0} records/s",
        n as f64 / sent.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
}
