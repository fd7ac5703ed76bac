//! SMTPHandler against a real SMTP server (aiosmtpd on loopback, see
//! `tests/common/smtp.rs`): the mail it receives has the same headers and body as the one
//! CPython's SMTPHandler sends for the same record (the `Date` aside, which is the clock's);
//! STARTTLS and AUTH; a refused login and an absent server are reported.

mod common;

use std::time::Duration;

use common::servers::make_certs;
use common::smtp::{Mail, SmtpServer};
use mplog::handler::net::NetOptions;
use mplog::handler::{Handler, SMTPHandler, TlsOptions};
use mplog::{Level, Record};

const SUBJECTS: [&str; 3] = [
    "App error",
    "Réseau coupé: the mail relay of the billing service is unreachable since",
    "x",
];
const BODIES: [&str; 3] = [
    "payment failed for order 1234",
    "Traceback (most recent call last):\n  File \"app.py\", line 3\nValueError: é",
    "a very long line that goes on and on and on and on and on and on and on and on and on and on",
];

/// CPython's SMTPHandler sends `body` with `subject` to the server.
fn python_sends(port: u16, subject: &str, body: &str, secure: bool) {
    let script = r#"
import logging, logging.handlers, sys
port, subject, body, secure = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
h = logging.handlers.SMTPHandler(("127.0.0.1", port), "Ann Smith <mplog@example.com>",
        ["ops@example.com", "Zoë <dev@example.com>"], subject,
        credentials=("mplog", "secret") if secure else None, secure=() if secure else None)
h.emit(logging.makeLogRecord(dict(name="app", levelname="ERROR", levelno=40, msg=body)))
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &port.to_string(),
            subject,
            body,
            if secure { "1" } else { "0" },
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn handler(port: u16, subject: &str) -> mplog::handler::SMTPHandlerBuilder {
    SMTPHandler::builder(
        "127.0.0.1",
        "Ann Smith <mplog@example.com>",
        ["ops@example.com", "Zoë <dev@example.com>"],
        subject,
    )
    .port(port)
}

/// The mail with its `Date` header's value replaced, after checking it has CPython's form.
fn without_date(mail: &Mail) -> String {
    let text = String::from_utf8(mail.content.clone()).expect("utf-8 mail");
    let mut out = Vec::new();
    for line in text.split("\r\n") {
        if let Some(date) = line.strip_prefix("Date: ") {
            // email.utils.format_datetime: "Tue, 14 Nov 2023 22:13:20 +0100"
            assert!(
                chrono::DateTime::parse_from_str(date, "%a, %d %b %Y %H:%M:%S %z").is_ok(),
                "{date}"
            );
            out.push("Date: <now>".to_owned());
        } else {
            out.push(line.to_owned());
        }
    }
    out.join("\r\n")
}

#[test]
fn mails_are_cpythons() {
    let Some(server) = SmtpServer::start(None) else {
        return;
    };
    for (subject, body) in SUBJECTS.iter().zip(BODIES) {
        let h = handler(server.port, subject).build().unwrap();
        assert!(h.handle(&Record::new("app", Level::ERROR, body)));
        assert_eq!(h.base().error_count(), 0);
        let ours = server.next().expect("mplog's mail");
        python_sends(server.port, subject, body, false);
        let theirs = server.next().expect("Python's mail");
        assert_eq!((&ours.from, &ours.to), (&theirs.from, &theirs.to));
        assert_eq!(ours.to, ["ops@example.com", "dev@example.com"]);
        assert_eq!(without_date(&ours), without_date(&theirs), "{subject}");
    }
}

#[test]
fn starttls_and_auth() {
    let dir = tempfile::tempdir().unwrap();
    let Ok(certs) = make_certs(dir.path()) else {
        return common::servers::missing("openssl", "cannot make certificates").unwrap_or(());
    };
    let Some(server) = SmtpServer::start(Some(&certs)) else {
        return;
    };
    let tls = TlsOptions::default()
        .ca_file(&certs.ca)
        .server_name("localhost");
    let h = handler(server.port, SUBJECTS[0])
        .credentials("mplog", "secret")
        .secure(tls.clone())
        .build()
        .unwrap();
    h.handle(&Record::new("app", Level::ERROR, BODIES[1]));
    assert_eq!(h.base().error_count(), 0);
    let ours = server.next().expect("mplog's mail");
    python_sends(server.port, SUBJECTS[0], BODIES[1], true);
    let theirs = server.next().expect("Python's mail");
    assert_eq!(without_date(&ours), without_date(&theirs));

    // A wrong password, and a server that requires TLS spoken to in clear: reported, no mail.
    // Each mail is dropped (at once when the server refuses it for good, at close when it is
    // retried in vain), counted and reported.
    let wrong = handler(server.port, "x")
        .credentials("mplog", "nope")
        .secure(tls)
        .options(short())
        .build()
        .unwrap();
    wrong.handle(&Record::new("app", Level::ERROR, "never sent"));
    let clear = handler(server.port, "x")
        .credentials("mplog", "secret")
        .options(short())
        .build()
        .unwrap();
    clear.handle(&Record::new("app", Level::ERROR, "never sent"));
    for h in [&wrong, &clear] {
        h.close();
        assert_eq!((h.stats().sent, h.stats().dropped), (0, 1));
    }
    assert!(server.try_next(Duration::from_millis(500)).is_none());
}

#[test]
fn an_absent_server_is_reported_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = handler(port, "x")
        .timeout(Duration::from_secs(2))
        .options(short())
        .build()
        .unwrap();
    h.handle(&Record::new("app", Level::ERROR, "nobody listens"));
    // Kept while the server is away; counted as dropped when the handler closes.
    assert!(h.flush().is_err());
    assert_eq!(h.stats().pending, 1);
    h.close();
    assert_eq!((h.stats().sent, h.stats().dropped), (0, 1));
}

fn short() -> NetOptions {
    NetOptions {
        flush_timeout: Duration::from_millis(300),
        drain_timeout: Duration::from_millis(300),
        ..NetOptions::default()
    }
}
