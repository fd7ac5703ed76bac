//! The README's "more than one machine" example, both ends as shipped in `examples/offhost/`:
//! the central rsyslog config run by a real rsyslogd (its paths and port pointed into a temp
//! dir), and the host's handlers built from `mplog.yaml`'s arguments: records reach the local
//! file and, over TLS with a client certificate, the central per-host file.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::servers::{self, make_certs};
use mplog::handler::syslog::{Facility, SockType, SysLogHandler, SyslogAddress};
use mplog::handler::{FileHandler, Handler, TlsOptions};

/// What `SysLogHandler`'s configuration registration does with the example's arguments
/// (`address` as [host, port], `socktype`, `facility` by name, `ident`, the `tls_*` files).
fn syslog_from_args(args: &serde_yaml_ng::Mapping) -> SysLogHandler {
    let s = |k: &str| args.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let address = args["address"].as_sequence().expect("address [host, port]");
    let host = address[0].as_str().expect("host").to_owned();
    let port: u16 = match &address[1] {
        serde_yaml_ng::Value::Number(n) => n.as_u64().expect("port") as u16,
        v => v.as_str().expect("port").parse().expect("port"),
    };
    let tls = TlsOptions::default()
        .ca_file(s("tls_ca_file").expect("tls_ca_file"))
        .client_cert(s("tls_cert_file").unwrap(), s("tls_key_file").unwrap())
        .server_name(s("tls_server_name").unwrap());
    SysLogHandler::builder(SyslogAddress::inet(host, port))
        .socktype(s("socktype").unwrap().parse::<SockType>().unwrap())
        .facility(s("facility").unwrap().parse::<Facility>().unwrap())
        .ident(s("ident").unwrap_or_default())
        .tls(tls)
        .build()
        .expect("the example's SysLogHandler")
}

#[test]
fn both_ends_of_the_readme_example() {
    let Some(rsyslogd) = common::rsyslog::find_rsyslogd() else {
        return servers::missing("rsyslogd", "not installed").unwrap_or(());
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Ok(_certs) = make_certs(d) else {
        return servers::missing("openssl", "cannot make certificates").unwrap_or(());
    };
    for sub in ["work", "hosts", "local"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    // The central end, as shipped, with its paths and port moved into the temp dir.
    let conf = std::fs::read_to_string("examples/offhost/central-rsyslog.conf")
        .unwrap()
        .replace("/var/spool/rsyslog", &d.join("work").display().to_string())
        .replace(
            "/var/log/hosts/",
            &format!("{}/", d.join("hosts").display()),
        )
        .replace("/etc/mplog/certs/", &format!("{}/", d.display()))
        .replace(
            r#"port="6514""#,
            &format!(
                r#"port="0" address="127.0.0.1" listenPortFileName="{}/port""#,
                d.display()
            ),
        );
    std::fs::write(d.join("central.conf"), conf).unwrap();
    let mut central = Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(d.join("central.conf"))
        .arg("-i")
        .arg(d.join("pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let port = servers::wait_for_file(&d.join("port"), Duration::from_secs(20))
        .expect("central rsyslogd started");

    // The host's end, from the example's handler arguments (its ${VARS} given values).
    let yaml = std::fs::read_to_string("examples/offhost/mplog.yaml")
        .unwrap()
        .replace(
            "${LOG_DIR:-/var/log/app}",
            &d.join("local").display().to_string(),
        )
        .replace("${SYSLOG_HOST:-logs.example.com}", "127.0.0.1")
        .replace("${SYSLOG_PORT:-6514}", port.trim())
        .replace("${MPLOG_CERTS:-/etc/mplog/certs}", &d.display().to_string())
        .replace("${SYSLOG_NAME:-logs.example.com}", "localhost");
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let handlers = &config["handlers"];
    let relay_format = config["formatters"]["relay"]["format"].as_str().unwrap();
    let central_handler = syslog_from_args(handlers["central"].as_mapping().unwrap());
    central_handler
        .base()
        .set_formatter(Arc::new(mplog::Formatter::new(relay_format).unwrap()));
    let local = FileHandler::new(handlers["local"]["filename"].as_str().unwrap()).unwrap();
    let manager = mplog::Manager::new();
    let central_handler = Arc::new(central_handler);
    manager.root().add_handler(central_handler.clone());
    manager.root().add_handler(Arc::new(local));
    mplog::record::set_process_name("worker-1");
    for i in 0..10 {
        manager
            .get_logger("app.http")
            .log(mplog::Level::WARNING, format!("request {i} slow"));
    }
    assert_eq!(central_handler.base().error_count(), 0);
    central_handler.close();

    let lines =
        servers::wait_for_lines(&d.join("hosts/127.0.0.1.log"), 10, Duration::from_secs(30));
    central.kill().ok();
    central.wait().ok();
    assert_eq!(lines.len(), 10, "{lines:?}");
    assert!(
        lines[9].ends_with(" 127.0.0.1 app: worker-1 app.http: request 9 slow"),
        "{}",
        lines[9]
    );
    let local_lines = servers::read_lines(&d.join("local/app.log"));
    assert_eq!(local_lines.len(), 10);
}
