//! A real rsyslogd for the tests: started in the foreground with a config, pid file and work
//! directory of its own in a temp dir, on loopback ports it picks (TCP: `port="0"` and its
//! `listenPortFileName`; UDP: a port the test found free), with one input and one output file
//! per transport:
//!
//! | input | what it reads | file |
//! |---|---|---|
//! | `udp` | UDP datagrams | `udp.log` |
//! | `tcp` | TCP, octet-counted or LF-framed (rsyslog tells them apart per frame) | `tcp.log` |
//! | `nul` | TCP, also split on NUL (`AddtlFrameDelimiter="0"`, for Python's unframed bytes) | `nul.log` |
//! | `unix` | a Unix datagram socket (`imuxsock`) | `unix.log` |
//! | `tls` | TLS (`gtls`, client certificate required), octet-counted | `tls.log` |
//!
//! Each line is `PRI|TAG|APP-NAME|PROCID|MSGID|STRUCTURED-DATA|MSG`.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::servers::{self, make_certs, Certs};

pub struct Rsyslog {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub udp_port: u16,
    pub tcp_port: u16,
    pub nul_port: u16,
    pub tls_port: u16,
    pub certs: Certs,
}

const TEMPLATE: &str = "%pri%|%syslogtag%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n";

impl Rsyslog {
    /// Starts rsyslogd, or says why it cannot (skipped; a failure under `CI=true`).
    pub fn start() -> Option<Rsyslog> {
        let rsyslogd = match find_rsyslogd() {
            Some(p) => p,
            None => return servers::missing("rsyslogd", "not found in PATH nor /usr/sbin"),
        };
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("work")).expect("work dir");
        let certs = match make_certs(dir.path()) {
            Ok(c) => c,
            Err(why) => return servers::missing("openssl", &why),
        };
        if !has_module("lmnsd_gtls.so") {
            return servers::missing("rsyslog-gnutls", "rsyslog's gtls driver is not installed");
        }
        let udp_port = free_udp_port();
        let mut server = Rsyslog {
            dir,
            child: None,
            udp_port,
            tcp_port: 0,
            nul_port: 0,
            tls_port: 0,
            certs,
        };
        server.launch(&rsyslogd);
        Some(server)
    }

    /// The output file of an input (`udp`, `tcp`, `nul`, `unix`, `tls`).
    pub fn file(&self, input: &str) -> PathBuf {
        self.dir.path().join(format!("{input}.log"))
    }

    /// The Unix socket `imuxsock` reads.
    pub fn unix_socket(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// Waits (generously) for `n` lines in an input's file; returns them.
    pub fn wait_lines(&self, input: &str, n: usize) -> Vec<String> {
        servers::wait_for_lines(&self.file(input), n, Duration::from_secs(60))
    }

    /// The message part of each line (after the six `|`-separated fields), without the space
    /// rsyslog keeps after the tag.
    pub fn messages(&self, input: &str, n: usize) -> Vec<String> {
        self.wait_lines(input, n)
            .into_iter()
            .map(|l| {
                let msg = l.splitn(7, '|').nth(6).unwrap_or("").to_owned();
                msg.strip_prefix(' ').map(str::to_owned).unwrap_or(msg)
            })
            .collect()
    }

    /// Stops rsyslogd (SIGTERM, then waits for it to exit).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_ok() {
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts rsyslogd again on the same ports and files.
    pub fn restart(&mut self) {
        self.stop();
        let rsyslogd = find_rsyslogd().expect("rsyslogd was there a moment ago");
        self.launch(&rsyslogd);
    }

    fn launch(&mut self, rsyslogd: &Path) {
        let d = self.dir.path();
        let port = |p: u16| {
            if p == 0 {
                "0".to_owned()
            } else {
                p.to_string()
            }
        };
        for f in ["tcp.port", "nul.port", "tls.port"] {
            std::fs::remove_file(d.join(f)).ok();
        }
        let conf = format!(
            r#"global(workDirectory="{d}/work" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp" MaxSessions="1000")
module(load="imuxsock" SysSock.Use="off")
template(name="T" type="string" string="{TEMPLATE}")
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" listenPortFileName="{d}/tcp.port" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="{nul}" listenPortFileName="{d}/nul.port" AddtlFrameDelimiter="0" ruleset="nul")
input(type="imtcp" address="127.0.0.1" port="{tls}" listenPortFileName="{d}/tls.port" ruleset="tls"
  StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid"
  StreamDriver.CAFile="{d}/ca.pem" StreamDriver.CertFile="{d}/server.pem" StreamDriver.KeyFile="{d}/server.key")
input(type="imuxsock" Socket="{d}/log" UseSpecialParser="off" ruleset="unix")
ruleset(name="udp") {{ action(type="omfile" file="{d}/udp.log" template="T") }}
ruleset(name="tcp") {{ action(type="omfile" file="{d}/tcp.log" template="T") }}
ruleset(name="nul") {{ action(type="omfile" file="{d}/nul.log" template="T") }}
ruleset(name="tls") {{ action(type="omfile" file="{d}/tls.log" template="T") }}
ruleset(name="unix") {{ action(type="omfile" file="{d}/unix.log" template="T") }}
"#,
            d = d.display(),
            udp = self.udp_port,
            tcp = port(self.tcp_port),
            nul = port(self.nul_port),
            tls = port(self.tls_port),
        );
        std::fs::write(d.join("rsyslog.conf"), conf).expect("write rsyslog.conf");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(d.join("rsyslogd.out"))
            .expect("rsyslogd.out");
        let child = Command::new(rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("spawn rsyslogd");
        self.child = Some(child);
        let out = self.dir.path().join("rsyslogd.out");
        let read_port = |name: &str| -> u16 {
            let text = servers::wait_for_file(&d.join(name), Duration::from_secs(20))
                .unwrap_or_else(|| {
                    let said = std::fs::read_to_string(&out).unwrap_or_default();
                    panic!("rsyslogd did not start: {said}")
                });
            text.trim().parse().expect("a port number")
        };
        if self.tcp_port == 0 {
            let ports = [
                read_port("tcp.port"),
                read_port("nul.port"),
                read_port("tls.port"),
            ];
            [self.tcp_port, self.nul_port, self.tls_port] = ports;
        } else {
            // A port given in the config is not written to the port file: wait until the
            // inputs accept connections.
            for port in [self.tcp_port, self.nul_port, self.tls_port] {
                let deadline = Instant::now() + Duration::from_secs(20);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    assert!(
                        Instant::now() < deadline,
                        "rsyslogd did not restart: {}",
                        self.output()
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        // The Unix socket and UDP input are up once the TCP ones are (same start-up).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.unix_socket().exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What rsyslogd printed (its own errors), for failure messages.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rsyslogd.out")).unwrap_or_default()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn find_rsyslogd() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")]);
    candidates.map(|d| d.join("rsyslogd")).find(|p| p.is_file())
}

fn has_module(name: &str) -> bool {
    // Debian's multiarch directory, and the plain ones of other distributions.
    let multiarch = format!("/usr/lib/{}-linux-gnu/rsyslog", std::env::consts::ARCH);
    [multiarch.as_str(), "/usr/lib/rsyslog", "/usr/lib64/rsyslog"]
        .iter()
        .any(|d| Path::new(d).join(name).exists())
}

fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
    s.local_addr().expect("local addr").port()
}
