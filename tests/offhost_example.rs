//! The README's "more than one machine" example, both ends as shipped in `examples/offhost/`:
//! the central rsyslog config run by a real rsyslogd (its paths and ports pointed into a temp
//! dir), and each host's `mplog listen --config` with the shipped configuration (YAML: TLS
//! with a client certificate; INI, Python's fileConfig: plain TCP, octet-counted), its
//! `${VARS}` given in the environment. Records sent to each host's listener reach its local
//! file and the central per-host file.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::servers::{self, make_certs};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");

/// Starts the central rsyslogd from the shipped config; returns it and its TLS and TCP ports.
fn central(rsyslogd: &Path, d: &Path) -> (Child, String, String) {
    let conf = std::fs::read_to_string("examples/offhost/central-rsyslog.conf")
        .unwrap()
        .replace("/var/spool/rsyslog", &d.join("work").display().to_string())
        .replace(
            "/var/log/hosts/",
            &format!("{}/", d.join("hosts").display()),
        )
        .replace("/etc/mplog/certs/", &format!("{}/", d.display()));
    let mut with_ports = conf.clone();
    for (port, file) in [("6514", "tls.port"), ("514", "tcp.port")] {
        with_ports = with_ports.replace(
            &format!(r#"port="{port}""#),
            &format!(
                r#"port="0" address="127.0.0.1" listenPortFileName="{}/{file}""#,
                d.display()
            ),
        );
    }
    assert_ne!(with_ports, conf, "the shipped config has its two inputs");
    std::fs::write(d.join("central.conf"), with_ports).unwrap();
    let child = Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(d.join("central.conf"))
        .arg("-i")
        .arg(d.join("pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let port = |f: &str| {
        servers::wait_for_file(&d.join(f), Duration::from_secs(20))
            .expect("central rsyslogd started")
            .trim()
            .to_owned()
    };
    let (tls, tcp) = (port("tls.port"), port("tcp.port"));
    (child, tls, tcp)
}

/// Runs `mplog listen --config <config>` with `env`, sends `messages` to it as `worker-1`
/// from logger `app.http`, then stops it (SIGTERM: its handlers drain).
fn host(config: &str, env: &[(&str, String)], messages: &[String]) {
    let mut listener = Command::new(MPLOG);
    listener
        .args(["listen", "--config", config])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        listener.env(k, v);
    }
    let mut listener = listener.spawn().unwrap();
    let mut endpoint = String::new();
    BufReader::new(listener.stdout.take().unwrap())
        .read_line(&mut endpoint)
        .unwrap();
    assert!(
        !endpoint.trim().is_empty(),
        "mplog listen --config {config} failed"
    );
    for m in messages {
        let out = Command::new(MPLOG)
            .args(["send", "--endpoint", endpoint.trim()])
            .args(["--logger", "app.http", "--level", "warning"])
            .args(["--process-name", "worker-1", m])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    kill(Pid::from_raw(listener.id() as i32), Signal::SIGTERM).unwrap();
    assert!(listener.wait().unwrap().success());
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
    for sub in ["work", "hosts", "tls-host", "tcp-host"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let (mut relay, tls_port, tcp_port) = central(&rsyslogd, d);

    let over = |how: &str| -> Vec<String> {
        (0..10)
            .map(|i| format!("request {i} slow over {how}"))
            .collect()
    };
    let dir_of = |sub: &str| d.join(sub).display().to_string();
    host(
        "examples/offhost/mplog.yaml",
        &[
            ("LOG_DIR", dir_of("tls-host")),
            ("SYSLOG_HOST", "127.0.0.1".into()),
            ("SYSLOG_PORT", tls_port),
            ("MPLOG_CERTS", d.display().to_string()),
            ("SYSLOG_NAME", "localhost".into()),
        ],
        &over("TLS"),
    );
    host(
        "examples/offhost/mplog.ini",
        &[
            ("LOG_DIR", dir_of("tcp-host")),
            ("SYSLOG_HOST", "127.0.0.1".into()),
            ("SYSLOG_TCP_PORT", tcp_port),
        ],
        &over("TCP"),
    );

    let lines =
        servers::wait_for_lines(&d.join("hosts/127.0.0.1.log"), 20, Duration::from_secs(30));
    relay.kill().ok();
    relay.wait().ok();
    assert_eq!(lines.len(), 20, "{lines:?}");
    let sent: Vec<String> = over("TLS").into_iter().chain(over("TCP")).collect();
    for (line, m) in lines.iter().zip(&sent) {
        assert!(
            line.ends_with(&format!(" 127.0.0.1 app: worker-1 app.http: {m}")),
            "{line}"
        );
    }
    for (sub, how) in [("tls-host", "TLS"), ("tcp-host", "TCP")] {
        let local = servers::read_lines(&d.join(sub).join("app.log"));
        assert_eq!(local.len(), 10, "{local:?}");
        assert!(
            local[9].ends_with(&format!(
                "worker-1   app.http WARNING  request 9 slow over {how}"
            )),
            "{}",
            local[9]
        );
    }
}
