//! HTTPHandler against a real HTTP server (python3's http.server on loopback, see
//! `tests/common/http.rs`): the request has the same method, path, query or body as the one
//! CPython's HTTPHandler sends for the same record; credentials; HTTPS; an error status and an
//! absent server are reported.

mod common;

use common::http::{HttpServer, Request};
use common::servers::make_certs;
use mplog::handler::http::Method;
use mplog::handler::net::NetOptions;
use mplog::handler::{HTTPHandler, Handler, TlsOptions};
use mplog::{Level, Record};
use std::time::Duration;

fn record() -> Record {
    let mut r = Record::new("app.db", Level::ERROR, "pool exhausted: 10/10 & more é")
        .with_extra("user", "ann")
        .unwrap()
        .with_extra("retries", 3)
        .unwrap();
    r.pathname = "src/db/pool.rs".into();
    r.lineno = 42;
    r.func_name = "acquire".into();
    r
}

/// CPython's HTTPHandler sends a record with the same attributes.
fn python_sends(port: u16, url: &str, method: &str, r: &Record) {
    let script = r#"
import json, logging, logging.handlers, sys
port, url, method, d, ns, rel_ns = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
extra = json.loads(sys.argv[7])
d["args"] = ()
d["created"] = ns / 1e9
d["msecs"] = (ns % 1_000_000_000) // 1_000_000 + 0.0
d["relativeCreated"] = rel_ns / 1e6
order = ["name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
         "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
         "relativeCreated", "thread", "threadName", "processName", "process", "taskName"]
rec = logging.makeLogRecord(dict([(k, d[k]) for k in order] + extra))
h = logging.handlers.HTTPHandler("127.0.0.1:%d" % port, url, method=method, credentials=("mplog", "s3cret:x"))
h.emit(rec)
"#;
    let d = serde_json::json!({
        "name": &*r.name, "msg": &*r.message, "levelname": &*r.level_name,
        "levelno": r.level.as_u32(), "pathname": &*r.pathname, "filename": r.filename(),
        "module": r.module(), "exc_info": null, "exc_text": null, "stack_info": null,
        "lineno": r.lineno, "funcName": &*r.func_name, "thread": r.thread,
        "threadName": &*r.thread_name, "processName": &*r.process_name, "process": r.process,
        "taskName": null,
    });
    let extra = serde_json::json!([["user", "ann"], ["retries", 3]]);
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &port.to_string(),
            url,
            method,
            &d.to_string(),
            &r.created_ns.to_string(),
            &r.relative_created_ns.to_string(),
            &extra.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn same_request(ours: &Request, theirs: &Request) {
    assert_eq!(ours.method, theirs.method);
    assert_eq!(ours.path, theirs.path);
    assert_eq!(ours.body, theirs.body);
    for h in ["Content-type", "Content-length", "Authorization"] {
        assert_eq!(ours.header(h), theirs.header(h), "{h}");
    }
}

#[test]
fn get_and_post_are_cpythons() {
    let server = HttpServer::start(None);
    let r = record();
    for (method, url) in [
        (Method::Get, "/log"),
        (Method::Get, "/log?app=billing"),
        (Method::Post, "/log"),
    ] {
        let h = HTTPHandler::builder(format!("127.0.0.1:{}", server.port), url)
            .method(method)
            .credentials("mplog", "s3cret:x")
            .build()
            .unwrap();
        assert!(h.handle(&r));
        assert_eq!(h.base().error_count(), 0);
        let ours = server.next().expect("mplog's request");
        let name = if method == Method::Get { "GET" } else { "POST" };
        python_sends(server.port, url, name, &r);
        let theirs = server.next().expect("Python's request");
        same_request(&ours, &theirs);
        assert_eq!(
            ours.header("Authorization"),
            Some("Basic bXBsb2c6czNjcmV0Ong=")
        );
        let form = if method == Method::Post {
            ours.body.clone()
        } else {
            ours.path.split_once("?").unwrap().1.to_owned()
        };
        assert!(
            form.contains("msg=pool+exhausted%3A+10%2F10+%26+more+%C3%A9&args=%28%29"),
            "{form}"
        );
        assert!(
            form.ends_with("&taskName=None&user=ann&retries=3"),
            "{form}"
        );
    }
}

#[test]
fn https_and_error_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let Ok(certs) = make_certs(dir.path()) else {
        return common::servers::missing("openssl", "cannot make certificates").unwrap_or(());
    };
    let server = HttpServer::start(Some(&certs));
    let h = HTTPHandler::builder(format!("localhost:{}", server.port), "/log")
        .method(Method::Post)
        .secure(TlsOptions::default().ca_file(&certs.ca))
        .build()
        .unwrap();
    let r = record();
    h.handle(&r);
    assert_eq!(h.base().error_count(), 0);
    let got = server.next().expect("the request over TLS");
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/log"));
    assert_eq!(got.body, h.form(&r));

    let failing = HTTPHandler::builder(format!("localhost:{}", server.port), "/fail")
        .secure(TlsOptions::default().ca_file(&certs.ca))
        .build()
        .unwrap();
    failing.handle(&record());
    assert!(server.next().is_some());
    failing.flush().unwrap();
    // A 500 drops that record (counted, reported); nothing waits for it.
    assert_eq!((failing.stats().sent, failing.stats().dropped), (0, 1));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let absent = HTTPHandler::builder(format!("127.0.0.1:{port}"), "/log")
        .options(NetOptions {
            flush_timeout: Duration::from_millis(200),
            drain_timeout: Duration::from_millis(200),
            ..NetOptions::default()
        })
        .build()
        .unwrap();
    absent.handle(&record());
    // No server: the record is kept (and retried), then counted as dropped at close.
    assert!(absent.flush().is_err());
    assert_eq!(absent.stats().pending, 1);
    absent.close();
    assert_eq!((absent.stats().dropped, absent.stats().pending), (1, 0));
}
