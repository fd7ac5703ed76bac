//! The five network handler classes loaded from configurations with Python's class names and
//! arguments: a dictConfig (JSON; YAML and TOML for SysLogHandler) and a fileConfig INI whose
//! `args` are written as Python writes them. Each configuration sends one record to a real
//! receiver; python3 loads the same configurations with its own `dictConfig`/`fileConfig`
//! and sends the same record to the same receiver: the oracle. What the receiver got from
//! mplog must be what it got from Python.

mod common;

use std::process::Command;

use common::http::HttpServer;
use common::rsyslog::Rsyslog;
use common::servers::PythonServer;
use common::smtp::{Mail, SmtpServer};
use mplog::config::DictConfig;
use mplog::Level;

const FORMAT: &str = "%(name)s:%(levelname)s:%(message)s";

/// A dictConfig with one handler `h` of `class` with `args` (JSON members) on the root.
fn dict(class: &str, args: &str) -> String {
    format!(
        r#"{{"version": 1,
            "formatters": {{"f": {{"format": "{FORMAT}"}}}},
            "handlers": {{"h": {{"class": "{class}", "formatter": "f", {args}}}}},
            "root": {{"level": "DEBUG", "handlers": ["h"]}}}}"#
    )
}

/// The same as a fileConfig INI with Python's `args=` tuple.
fn ini(class: &str, args: &str) -> String {
    format!(
        "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[formatters]\nkeys=f\n\
         [logger_root]\nlevel=DEBUG\nhandlers=h\n\
         [handler_h]\nclass={class}\nformatter=f\nargs={args}\n\
         [formatter_f]\nformat={FORMAT}\n"
    )
}

/// Logs the record through mplog configured by `config`, then shuts the handlers down (which
/// sends what they hold).
fn mplog_logs(config: DictConfig) {
    let m = config.build().expect("mplog takes the configuration");
    m.get_logger("app").log(Level::ERROR, "hello world");
    m.shutdown();
}

/// Python's `dictConfig` (`kind` "dict", JSON) or `fileConfig` ("ini") with `text`, then the
/// same record.
fn python_logs(kind: &str, text: &str) {
    let script = r#"
import io, json, logging, logging.config, logging.handlers, sys
kind, text = sys.argv[1], sys.argv[2]
if kind == "dict":
    logging.config.dictConfig(json.loads(text))
else:
    logging.config.fileConfig(io.StringIO(text))
logging.getLogger("app").error("hello world")
logging.shutdown()
"#;
    let out = Command::new("python3")
        .args(["-c", script, kind, text])
        .output()
        .expect("python3");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "python3 refused the configuration: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Both ends of each format: mplog's dict and INI, then Python's dict and INI.
fn all_four(class_dict: &str, dict_args: &str, class_ini: &str, ini_args: &str) {
    let (d, i) = (dict(class_dict, dict_args), ini(class_ini, ini_args));
    mplog_logs(DictConfig::from_json(&d).unwrap_or_else(|e| panic!("{e}\n{d}")));
    mplog_logs(DictConfig::from_ini(&i).unwrap_or_else(|e| panic!("{e}\n{i}")));
    python_logs("dict", &d);
    python_logs("ini", &i);
}

/// The cookbook's receiver, reduced: each record (a length-prefixed pickle, over TCP or UDP)
/// made into a LogRecord and printed with the test's format and its level number.
const RECEIVER: &str = r#"
import logging, pickle, socket, socketserver, struct, sys, threading
fmt = logging.Formatter("%(name)s:%(levelname)s:%(message)s:%(levelno)s")
def show(data):
    print(fmt.format(logging.makeLogRecord(pickle.loads(data))), flush=True)
class Stream(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = self.rfile.read(4)
            if len(head) < 4:
                return
            show(self.rfile.read(struct.unpack(">L", head)[0]))
class Datagram(socketserver.BaseRequestHandler):
    def handle(self):
        show(self.request[0][4:])
if sys.argv[1] == "tcp":
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Stream)
else:
    server = socketserver.UDPServer(("127.0.0.1", 0), Datagram)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

fn four_lines(server: &PythonServer) -> Vec<String> {
    (0..4)
        .map(|_| server.next().expect("a record at the receiver"))
        .collect()
}

#[test]
fn socket_and_datagram_handlers_reach_pythons_receiver() {
    for (proto, class) in [("tcp", "SocketHandler"), ("udp", "DatagramHandler")] {
        let Some(server) = PythonServer::start(RECEIVER, &[proto]) else {
            return common::servers::missing("python3", "the receiver did not start").unwrap_or(());
        };
        let port = server.port;
        all_four(
            &format!("logging.handlers.{class}"),
            &format!(r#""host": "127.0.0.1", "port": {port}"#),
            &format!("handlers.{class}"),
            &format!("('127.0.0.1', {port})"),
        );
        assert_eq!(
            four_lines(&server),
            vec!["app:ERROR:hello world:40"; 4],
            "{class}"
        );
    }
}

#[test]
fn sysloghandler_reaches_rsyslog_as_pythons() {
    let Some(rs) = Rsyslog::start() else { return };
    // Python's stream: unframed, ended by NUL (rsyslog's `nul` input splits on it).
    let port = rs.nul_port;
    all_four(
        "logging.handlers.SysLogHandler",
        &format!(
            r#""address": ["127.0.0.1", {port}], "facility": "local3",
                "socktype": "ext://socket.SOCK_STREAM""#
        ),
        "handlers.SysLogHandler",
        &format!(
            "(('127.0.0.1', {port}), handlers.SysLogHandler.LOG_LOCAL3, \
             handlers.socket.SOCK_STREAM)"
        ),
    );
    // local3.err = 19 * 8 + 3.
    let expected = "155|app:|app|-|-|-|ERROR:hello world";
    let lines = rs.wait_lines("nul", 4);
    assert_eq!(lines, vec![expected; 4], "{}", rs.output());

    // mplog's own options, in YAML and TOML: octet counting and RFC 5424 into the TCP input.
    let port = rs.tcp_port;
    let yaml = format!(
        "version: 1\nformatters: {{f: {{format: '%(message)s'}}}}\n\
         handlers:\n  h:\n    class: logging.handlers.SysLogHandler\n    formatter: f\n\
         \x20   address: [127.0.0.1, {port}]\n    socktype: SOCK_STREAM\n    facility: 16\n\
         \x20   framing: octet-counting\n    rfc5424: true\n    appName: billing\n    msgid: M1\n\
         root: {{level: DEBUG, handlers: [h]}}\n"
    );
    let toml = format!(
        "version = 1\n[formatters.f]\nformat = '%(message)s'\n\
         [handlers.h]\nclass = 'logging.handlers.SysLogHandler'\nformatter = 'f'\n\
         address = ['127.0.0.1', {port}]\nsocktype = 'tcp'\nfacility = 'LOG_LOCAL0'\n\
         framing = 'octet-counting'\nrfc5424 = true\napp_name = 'billing'\nmsgid = 'M1'\n\
         [root]\nlevel = 'DEBUG'\nhandlers = ['h']\n"
    );
    mplog_logs(DictConfig::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}")));
    mplog_logs(DictConfig::from_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}")));
    let lines = rs.wait_lines("tcp", 2);
    let pid = std::process::id();
    assert_eq!(
        lines,
        vec![format!("131|billing[{pid}]|billing|{pid}|M1|-|hello world"); 2],
        "{}",
        rs.output()
    );
}

/// The mail with its `Date` (now, different for each) taken out.
fn without_date(mail: &Mail) -> (String, Vec<String>, String) {
    let text = String::from_utf8_lossy(&mail.content);
    let kept: Vec<&str> = text
        .split("\r\n")
        .filter(|l| !l.starts_with("Date: "))
        .collect();
    (mail.from.clone(), mail.to.clone(), kept.join("\r\n"))
}

#[test]
fn smtphandler_mails_as_python() {
    let Some(server) = SmtpServer::start(None) else {
        return;
    };
    let port = server.port;
    all_four(
        "logging.handlers.SMTPHandler",
        &format!(
            r#""mailhost": ["127.0.0.1", {port}], "fromaddr": "app@example.com",
                "toaddrs": "ops@example.com", "subject": "app failed", "timeout": 10.0"#
        ),
        "handlers.SMTPHandler",
        &format!("(('127.0.0.1', {port}), 'app@example.com', ['ops@example.com'], 'app failed')"),
    );
    let mails: Vec<_> = (0..4)
        .map(|_| without_date(&server.next().expect("a mail")))
        .collect();
    assert!(mails[0].2.contains("Subject: app failed"), "{:?}", mails[0]);
    assert!(
        mails[0].2.contains("app:ERROR:hello world"),
        "{:?}",
        mails[0]
    );
    assert!(mails.iter().all(|m| *m == mails[0]), "{mails:#?}");
}

/// The request's method, path, and the form fields that do not change between processes.
fn stable(r: &common::http::Request) -> (String, String, Vec<String>) {
    let fields = r
        .body
        .split('&')
        .filter(|kv| {
            ["name=", "msg=", "args=", "levelname=", "levelno="]
                .iter()
                .any(|k| kv.starts_with(k))
        })
        .map(str::to_owned)
        .collect();
    (r.method.clone(), r.path.clone(), fields)
}

#[test]
fn httphandler_posts_as_python() {
    let server = HttpServer::start(None);
    let port = server.port;
    all_four(
        "logging.handlers.HTTPHandler",
        &format!(r#""host": "127.0.0.1:{port}", "url": "/log", "method": "POST""#),
        "handlers.HTTPHandler",
        &format!("('127.0.0.1:{port}', '/log', 'POST')"),
    );
    let requests: Vec<_> = (0..4)
        .map(|_| stable(&server.next().expect("a request")))
        .collect();
    assert_eq!(
        requests[0],
        (
            "POST".to_owned(),
            "/log".to_owned(),
            vec![
                "name=app".to_owned(),
                "msg=hello+world".to_owned(),
                "args=%28%29".to_owned(),
                "levelname=ERROR".to_owned(),
                "levelno=40".to_owned()
            ]
        )
    );
    assert!(requests.iter().all(|r| *r == requests[0]), "{requests:#?}");
}
