//! rsyslog stopped for some seconds and restarted in the middle of a stream of records sent by
//! SysLogHandler over TCP with octet counting: the records logged while it is away wait in the
//! handler's bounded buffer and reach it once it is back, in order; what the bound cannot hold
//! (the oldest) is dropped, counted in the handler's stats and reported on stderr through its
//! error policy; the caller is never blocked past its overflow policy.
//!
//! The sender is this test binary run again as a child (its `child` test), so that its stderr,
//! where the handler reports, can be read.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::rsyslog::Rsyslog;
use mplog::handler::net::NetOptions;
use mplog::handler::syslog::{Framing, SockType, SysLogHandler, SyslogAddress};
use mplog::handler::Handler;
use mplog::{Level, Record};

/// Records before the stop, while rsyslog is away, and after it is back.
const BEFORE: usize = 1000;
const WHILE_AWAY: usize = 2000;
const AFTER: usize = 1000;
/// The handler's buffer bound in this test (the default is 4 MiB).
const MAX_PENDING: usize = 64 * 1024;
/// What pads each record, so that the records sent while away overflow the bound.
const PAD: usize = 100;

fn message(phase: &str, i: usize) -> String {
    format!("{phase}-{i:05} {}", "x".repeat(PAD))
}

/// The sender: reads the port from the environment and the phases from stdin.
#[test]
fn child() {
    if common::role().as_deref() != Some("relay-sender") {
        return;
    }
    let port: u16 = std::env::var("RELAY_PORT").unwrap().parse().unwrap();
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", port))
        .socktype(SockType::Stream)
        .framing(Framing::OctetCounting)
        .ident("app: ")
        .options(NetOptions {
            max_pending: MAX_PENDING,
            retry_start: Duration::from_millis(50),
            retry_max: Duration::from_millis(400),
            flush_timeout: Duration::from_secs(60),
            ..NetOptions::default()
        })
        .build()
        .unwrap();
    h.base().set_name("relay");
    let mut stdin = BufReader::new(std::io::stdin());
    let mut step = |said: &str| {
        println!("{said}");
        std::io::stdout().flush().unwrap();
        let mut line = String::new();
        stdin.read_line(&mut line).unwrap();
    };
    let send = |phase: &str, n: usize| {
        for i in 0..n {
            assert!(h.handle(&Record::new("app", Level::INFO, message(phase, i))));
        }
    };
    send("before", BEFORE);
    step("sent before");
    // rsyslog is stopped now.
    send("away", WHILE_AWAY);
    step("sent away");
    // rsyslog is back.
    send("after", AFTER);
    h.flush()
        .expect("everything kept is sent once rsyslog is back");
    let s = h.stats();
    println!("stats {} {} {}", s.sent, s.dropped, s.pending);
    h.close();
}

#[test]
fn records_wait_in_the_bounded_buffer_while_rsyslog_restarts() {
    if common::role().is_some() {
        return;
    }
    let Some(mut rs) = Rsyslog::start() else {
        return;
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(common::ROLE, "relay-sender")
        .env("RELAY_PORT", rs.tcp_port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut wait_for = |word: &str| loop {
        let mut line = String::new();
        assert!(
            from_child.read_line(&mut line).unwrap() > 0,
            "the sender ended before '{word}'"
        );
        // The harness may print "test child ... " on the same line first.
        if let Some(at) = line.find(word) {
            return line.trim_end()[at + word.len()..].to_owned();
        }
    };

    wait_for("sent before");
    // Everything sent so far is in rsyslog's file (what the kernel held when a relay dies
    // is lost in any TCP syslog, a limit of the protocol): stop it for some seconds.
    assert_eq!(
        rs.wait_lines("tcp", BEFORE).len(),
        BEFORE,
        "{}",
        rs.output()
    );
    rs.stop();
    writeln!(to_child, "go").unwrap();
    wait_for("sent away");
    std::thread::sleep(Duration::from_secs(2));
    rs.restart();
    writeln!(to_child, "go").unwrap();
    let stats = wait_for("stats ");
    let status = child.wait().unwrap();
    let stderr = said.join().unwrap();
    assert!(status.success(), "the sender failed: {stderr}");
    let [sent, dropped, pending]: [usize; 3] = stats
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();

    // Every record sent or dropped, none left; the dropped ones are the oldest of the outage.
    let total = BEFORE + WHILE_AWAY + AFTER;
    assert_eq!((sent + dropped, pending), (total, 0), "{stderr}");
    assert!(dropped > 0, "the outage overflowed the bound");
    let lines = rs.messages("tcp", total - dropped);
    assert_eq!(lines.len(), total - dropped, "{}", rs.output());
    // Until the handler is connected again (its backoff), the records logged after the
    // restart wait too: the ones dropped are the oldest of those logged from the stop on.
    let logged_since_stop: Vec<String> = (0..WHILE_AWAY)
        .map(|i| message("away", i))
        .chain((0..AFTER).map(|i| message("after", i)))
        .collect();
    assert!(dropped < logged_since_stop.len(), "{stderr}");
    let expected: Vec<String> = (0..BEFORE)
        .map(|i| message("before", i))
        .chain(logged_since_stop[dropped..].iter().cloned())
        .collect();
    assert!(
        lines == expected,
        "each record once, in order, none lost but the dropped ones"
    );
    // Nothing lost beyond the documented bound: at least a full buffer of the records
    // logged while rsyslog was away reached it.
    let msg = format!("<14>app: {}", message("after", 0)); // the longer of the two
    let framed = format!("{} {msg}", msg.len()).len();
    let kept = logged_since_stop.len() - dropped;
    assert!(
        kept >= MAX_PENDING / framed,
        "{kept} records of {framed} bytes kept, the bound is {MAX_PENDING} bytes"
    );
    // Reported through the handler's error policy, naming it and the bound.
    assert!(
        stderr.contains(&format!(
            "mplog: handler 'relay': 1 record(s) dropped: oldest records make room for new ones \
             (pending buffer of {MAX_PENDING} bytes full while syslog tcp 127.0.0.1:{} is unreachable)",
            rs.tcp_port
        )),
        "{stderr}"
    );
}
