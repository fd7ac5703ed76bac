//! A mail or web server that accepts connections and never answers (a hung server, or one
//! whose backlog the kernel fills for it) does not block the thread that logs: SMTPHandler
//! and HTTPHandler return at once, their records wait in the bounded buffer or are dropped
//! by the overflow policy, and every one dropped is counted; `close` ends within the drain
//! timeout plus one request's timeout.

use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mplog::handler::net::{NetOptions, NetStats, Overflow};
use mplog::handler::{HTTPHandler, Handler, SMTPHandler};
use mplog::{Level, Record};

const RECORDS: usize = 500;

/// A listening socket nobody accepts from: connections complete, nothing is ever said.
fn hung_server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn options() -> NetOptions {
    NetOptions {
        max_pending: 16 * 1024,
        overflow: Overflow::Drop,
        drain_timeout: Duration::from_millis(200),
        flush_timeout: Duration::from_millis(200),
        ..NetOptions::default()
    }
}

/// Logs `RECORDS` records from another thread; the caller must be done well within a minute
/// (on a blocking handler it takes `RECORDS` times the request timeout: over 15 minutes).
fn log_without_blocking(h: Arc<dyn Handler>) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..RECORDS {
            h.handle(&Record::new(
                "app",
                Level::ERROR,
                format!("record {i} {}", "x".repeat(100)),
            ));
        }
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the logging thread is blocked by a dead server");
}

fn check(stats: NetStats, after_close: NetStats) {
    assert_eq!(stats.sent, 0);
    assert!(stats.dropped > 0, "the bound overflowed: {stats:?}");
    assert_eq!(stats.dropped + stats.pending, RECORDS as u64, "{stats:?}");
    assert_eq!(
        after_close,
        NetStats {
            sent: 0,
            dropped: RECORDS as u64,
            pending: 0
        }
    );
}

#[test]
fn a_hung_mail_server_never_blocks_the_caller() {
    let (_server, port) = hung_server();
    let h = Arc::new(
        SMTPHandler::builder("127.0.0.1", "app@example.com", ["ops@example.com"], "alert")
            .port(port)
            .timeout(Duration::from_secs(3))
            .options(options())
            .build()
            .unwrap(),
    );
    log_without_blocking(h.clone());
    assert!(h.flush().is_err(), "nothing can be sent");
    let stats = h.stats();
    h.close();
    check(stats, h.stats());
}

#[test]
fn a_hung_web_server_never_blocks_the_caller() {
    let (_server, port) = hung_server();
    let h = Arc::new(
        HTTPHandler::builder(format!("127.0.0.1:{port}"), "/log")
            .timeout(Duration::from_secs(3))
            .options(options())
            .build()
            .unwrap(),
    );
    log_without_blocking(h.clone());
    assert!(h.flush().is_err(), "nothing can be sent");
    let stats = h.stats();
    h.close();
    check(stats, h.stats());
}
