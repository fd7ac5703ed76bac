//! SysLogHandler against a real rsyslogd (started by each test, see `tests/common/rsyslog.rs`):
//! UDP, TCP with octet counting, TCP with the legacy LF framing, TCP with Python's unframed
//! bytes, a Unix socket, TLS with a client certificate; and Python's own SysLogHandler into
//! the same rsyslogd giving the same lines.

mod common;

use std::time::Duration;

use common::rsyslog::Rsyslog;
use mplog::handler::net::NetOptions;
use mplog::handler::syslog::{
    Facility, Framing, Rfc5424, Severity, SockType, SysLogHandler, SyslogAddress,
};
use mplog::handler::{Handler, TlsOptions};
use mplog::{Level, Record};

/// The records both senders send: (level, level name, message).
const RECORDS: [(u32, &str, &str); 5] = [
    (40, "ERROR", "disk full on /var"),
    (20, "INFO", "served 200 in 3 ms"),
    (25, "NOTICE", "custom level: warning unless mapped"),
    (10, "DEBUG", "accents: héllo wörld"),
    (50, "CRITICAL", "the end"),
];

fn record(level: u32, name: &str, msg: &str) -> Record {
    let mut r = Record::new("app", Level::new(level), msg.to_owned());
    r.level_name = name.to_owned().into();
    r
}

fn send_all(h: &SysLogHandler) {
    for (level, name, msg) in RECORDS {
        assert!(h.handle(&record(level, name, msg)));
    }
    assert_eq!(h.base().error_count(), 0, "no record may fail");
}

/// Python's SysLogHandler sends the same records: `address` is `[host, port]` or a path.
fn python_sends(address: serde_json::Value, tcp: bool, facility: &str, ident: &str) {
    let script = r#"
import json, logging, logging.handlers, socket, sys
cfg = json.loads(sys.argv[1])
addr = cfg["address"]
addr = tuple(addr) if isinstance(addr, list) else addr
h = logging.handlers.SysLogHandler(address=addr, facility=cfg["facility"],
        socktype=socket.SOCK_STREAM if cfg["tcp"] else None)
h.ident = cfg["ident"]
for level, name, msg in cfg["records"]:
    h.emit(logging.makeLogRecord(dict(name="app", levelno=level, levelname=name, msg=msg)))
h.close()
"#;
    let cfg = serde_json::json!({
        "address": address, "tcp": tcp, "facility": facility, "ident": ident,
        "records": RECORDS.iter().map(|(l, n, m)| serde_json::json!([l, n, m])).collect::<Vec<_>>(),
    });
    let out = std::process::Command::new("python3")
        .args(["-c", script, &cfg.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn udp_lines_are_pythons() {
    let Some(rs) = Rsyslog::start() else { return };
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.udp_port))
        .facility(Facility::LOCAL3)
        .ident("app: ")
        .build()
        .unwrap();
    send_all(&h);
    let mplog_lines = rs.wait_lines("udp", RECORDS.len());
    python_sends(
        serde_json::json!(["127.0.0.1", rs.udp_port]),
        false,
        "local3",
        "app: ",
    );
    let lines = rs.wait_lines("udp", 2 * RECORDS.len());
    assert_eq!(mplog_lines.len(), RECORDS.len(), "{}", rs.output());
    assert_eq!(
        lines[..RECORDS.len()],
        lines[RECORDS.len()..],
        "mplog's, then Python's"
    );
    // PRI: local3 (19 * 8) + severity; NOTICE is unmapped, so warning (4), as in Python.
    assert_eq!(lines[0], "155|app:|app|-|-|-| disk full on /var");
    assert_eq!(
        lines[2],
        "156|app:|app|-|-|-| custom level: warning unless mapped"
    );
    assert_eq!(lines[3], "159|app:|app|-|-|-| accents: héllo wörld");
}

#[test]
fn tcp_unframed_lines_are_pythons() {
    let Some(rs) = Rsyslog::start() else { return };
    // Python's bytes on a stream (NUL-terminated, no frame): the input that splits on NUL.
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.nul_port))
        .socktype(SockType::Stream)
        .ident("app: ")
        .build()
        .unwrap();
    send_all(&h);
    h.close();
    let mplog_lines = rs.wait_lines("nul", RECORDS.len());
    python_sends(
        serde_json::json!(["127.0.0.1", rs.nul_port]),
        true,
        "user",
        "app: ",
    );
    let lines = rs.wait_lines("nul", 2 * RECORDS.len());
    assert_eq!(mplog_lines.len(), RECORDS.len(), "{}", rs.output());
    assert_eq!(
        lines[..RECORDS.len()],
        lines[RECORDS.len()..],
        "mplog's, then Python's"
    );
    assert_eq!(lines[1], "14|app:|app|-|-|-| served 200 in 3 ms");
}

#[test]
fn tcp_octet_counting_keeps_multiline_messages_whole_and_maps_custom_levels() {
    let Some(rs) = Rsyslog::start() else { return };
    mplog::add_level_name(Level::new(25), "NOTICE");
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tcp_port))
        .socktype(SockType::Stream)
        .framing(Framing::OctetCounting)
        .ident("app: ")
        .priority("NOTICE", Severity::Notice)
        .build()
        .unwrap();
    h.handle(&record(40, "ERROR", "Traceback:\n  line 1\n  line 2"));
    h.handle(&record(25, "NOTICE", "mapped"));
    h.handle(&record(
        20,
        "INFO",
        "<13>forged? no: inside a counted frame",
    ));
    assert_eq!(h.base().error_count(), 0);
    let lines = rs.wait_lines("tcp", 3);
    assert_eq!(
        lines,
        [
            "11|app:|app|-|-|-| Traceback:#012  line 1#012  line 2",
            "13|app:|app|-|-|-| mapped",
            "14|app:|app|-|-|-| <13>forged? no: inside a counted frame",
        ],
        "{}",
        rs.output()
    );
}

#[test]
fn tcp_lf_framing_cannot_be_split_by_a_message() {
    let Some(rs) = Rsyslog::start() else { return };
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tcp_port))
        .socktype(SockType::Stream)
        .framing(Framing::LineFeed)
        .ident("app: ")
        .build()
        .unwrap();
    h.handle(&record(40, "ERROR", "one\n<9>forged: two"));
    h.handle(&record(20, "INFO", "next"));
    assert_eq!(h.base().error_count(), 0);
    let lines = rs.wait_lines("tcp", 2);
    assert_eq!(
        lines,
        [
            "11|app:|app|-|-|-| one#012<9>forged: two",
            "14|app:|app|-|-|-| next"
        ],
        "{}",
        rs.output()
    );
}

#[test]
fn rfc5424_fields_and_structured_data_reach_rsyslog() {
    let Some(rs) = Rsyslog::start() else { return };
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tcp_port))
        .socktype(SockType::Stream)
        .framing(Framing::OctetCounting)
        .facility(Facility::LOCAL0)
        .rfc5424(
            Rfc5424::default()
                .hostname("web-1")
                .app_name("billing")
                .msgid("PAY")
                .sd_id("mplog@32473"),
        )
        .build()
        .unwrap();
    let mut r = record(30, "WARNING", "card declined")
        .with_extra("order", 1234)
        .unwrap()
        .with_extra("note", "a \"quoted\" ] value")
        .unwrap();
    r.process = 4242;
    h.handle(&r);
    assert_eq!(h.base().error_count(), 0);
    let lines = rs.wait_lines("tcp", 1);
    assert_eq!(
        lines,
        [
            r#"132|billing[4242]|billing|4242|PAY|[mplog@32473 order="1234" note="a \"quoted\" \] value"]|card declined"#
        ],
        "{}",
        rs.output()
    );
}

#[test]
fn unix_socket_lines_are_pythons() {
    let Some(rs) = Rsyslog::start() else { return };
    let h = SysLogHandler::builder(SyslogAddress::unix(rs.unix_socket()))
        .ident("app: ")
        .build()
        .unwrap();
    send_all(&h);
    let mplog_lines = rs.wait_lines("unix", RECORDS.len());
    python_sends(
        serde_json::json!(rs.unix_socket().to_str().unwrap()),
        false,
        "user",
        "app: ",
    );
    let lines = rs.wait_lines("unix", 2 * RECORDS.len());
    assert_eq!(mplog_lines.len(), RECORDS.len(), "{}", rs.output());
    assert_eq!(
        lines[..RECORDS.len()],
        lines[RECORDS.len()..],
        "mplog's, then Python's"
    );
}

#[test]
fn tls_with_a_client_certificate() {
    let Some(rs) = Rsyslog::start() else { return };
    let tls = TlsOptions::default()
        .ca_file(&rs.certs.ca)
        .client_cert(&rs.certs.client_cert, &rs.certs.client_key)
        .server_name("localhost");
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tls_port))
        .tls(tls)
        .ident("app: ")
        .build()
        .unwrap();
    send_all(&h);
    h.handle(&record(40, "ERROR", "two\nlines"));
    h.close();
    let lines = rs.wait_lines("tls", RECORDS.len() + 1);
    assert_eq!(lines.len(), RECORDS.len() + 1, "{}", rs.output());
    assert_eq!(lines[0], "11|app:|app|-|-|-| disk full on /var");
    assert_eq!(lines[RECORDS.len()], "11|app:|app|-|-|-| two#012lines");
    assert_eq!(h.base().error_count(), 0);

    // Without the client certificate rsyslog refuses us; trusting another CA, we refuse it.
    // Either way the records are kept (and retried with the backoff), never written into a
    // connection that is refused, and counted as dropped at close.
    let short = NetOptions {
        timeout: Duration::from_secs(3),
        flush_timeout: Duration::from_millis(500),
        drain_timeout: Duration::from_millis(500),
        ..NetOptions::default()
    };
    let anonymous = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tls_port))
        .tls(
            TlsOptions::default()
                .ca_file(&rs.certs.ca)
                .server_name("localhost"),
        )
        .options(short)
        .build()
        .unwrap();
    anonymous.handle(&record(40, "ERROR", "never written"));
    anonymous.handle(&record(40, "ERROR", "never written either"));
    let other_ca = rs.dir.path().join("other-ca.pem");
    std::fs::copy(&rs.certs.client_cert, &other_ca).unwrap(); // a certificate, but no CA of the server's
    let distrustful = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tls_port))
        .tls(
            TlsOptions::default()
                .ca_file(&other_ca)
                .client_cert(&rs.certs.client_cert, &rs.certs.client_key),
        )
        .options(short)
        .build()
        .unwrap();
    distrustful.handle(&record(40, "ERROR", "never sent"));
    // TLS 1.3: rsyslog refuses the certificate-less client after the handshake, with an
    // alert the handler waits for before writing anything.
    for (h, n) in [(&anonymous, 2), (&distrustful, 1)] {
        assert!(h.flush().is_err(), "an unreachable relay cannot be flushed");
        assert_eq!((h.stats().sent, h.stats().pending), (0, n));
        h.close();
        assert_eq!((h.stats().dropped, h.stats().pending), (n, 0));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(common::servers::read_lines(&rs.file("tls"))
        .iter()
        .all(|l| !l.contains("never")));
}

#[test]
fn a_relay_restart_over_tcp_is_survived() {
    let Some(mut rs) = Rsyslog::start() else {
        return;
    };
    let h = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tcp_port))
        .socktype(SockType::Stream)
        .framing(Framing::OctetCounting)
        .ident("app: ")
        .build()
        .unwrap();
    h.handle(&record(20, "INFO", "before"));
    assert_eq!(rs.wait_lines("tcp", 1).len(), 1);
    rs.restart();
    // The old connection is closed by the relay; the handler notices before writing into it
    // and reconnects: nothing is written into the dead connection.
    for i in 0..50 {
        h.handle(&record(20, "INFO", &format!("after {i}")));
    }
    assert_eq!(h.base().error_count(), 0, "{}", rs.output());
    let lines = rs.messages("tcp", 51);
    assert_eq!(lines.len(), 51, "{}", rs.output());
    assert_eq!(lines[50], "after 49", "{lines:?}");
}
