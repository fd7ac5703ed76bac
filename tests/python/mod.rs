//! python3 as the oracle for Python's behaviour: finding it (a test without it prints that it
//! is skipped, and fails under `CI=true`), and running scripts.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// A `python3` command, or `None` (after saying why) when there is none to run. Under
/// `CI=true` a missing python3 fails the test instead.
pub fn python3(test: &str) -> Option<Command> {
    static WORKS: OnceLock<bool> = OnceLock::new();
    let works = *WORKS.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import logging.handlers, pickle"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if works {
        return Some(Command::new("python3"));
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: python3 is needed under CI and could not be run");
    }
    eprintln!("{test}: SKIPPED: python3 could not be run");
    None
}

/// Runs `script` with `args` to completion; panics with its stderr if it fails.
pub fn run(mut python: Command, script: &str, args: &[&str]) -> Output {
    let out = python
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts `script` with `args`, stdout piped, stderr inherited.
pub fn spawn(mut python: Command, script: &str, args: &[&str]) -> Child {
    python
        .arg("-u")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3")
}

/// The format string both sides use: every attribute a record has, and the extra fields of
/// the test records.
pub const FORMAT: &str = "%(asctime)s|%(created)f|%(msecs)03d|%(msecs)f|%(relativeCreated)d|\
%(relativeCreated)f|%(name)s|%(levelname)s|%(levelno)d|%(pathname)s|%(filename)s|%(module)s|\
%(lineno)d|%(funcName)s|%(thread)d|%(threadName)s|%(process)d|%(processName)s|%(message)s|\
%(s)s|%(s)r|%(i)d|%(i)s|%(f)s|%(f).3f|%(b)s|%(n)s";

/// A receiver in Python: the logging cookbook's `LogRecordStreamHandler` on a
/// `ThreadingTCPServer` (`tcp`) or `ThreadingUnixStreamServer` (`unix`), or a datagram loop
/// doing `pickle.loads` of each datagram after its 4-byte prefix (`udp`, `unixdgram`). Each
/// record is handled by Python's logging and written, formatted with `argv[4]`, as one JSON
/// string per line to `argv[3]`. It prints `READY <port>` once bound, and exits after `argv[5]`
/// records (0: when killed).
pub const RECEIVER: &str = r#"
import json, logging, logging.handlers, os, pickle, socket, socketserver, struct, sys, threading
mode, address, out_path, fmt, expected = sys.argv[1:6]
expected = int(expected)
logging.addLevelName(25, 'NOTICE')
out = open(out_path, 'a', encoding='utf-8')
lock = threading.Lock()
count = 0
done = threading.Event()
class JsonLines(logging.Handler):
    def emit(self, record):
        global count
        with lock:
            out.write(json.dumps(self.format(record)) + '\n')
            out.flush()
            count += 1
            if expected and count >= expected:
                done.set()
handler = JsonLines()
handler.setFormatter(logging.Formatter(fmt))
root = logging.getLogger()
root.setLevel(1)
root.addHandler(handler)

# The logging cookbook's receiver ("Sending and receiving logging events across a network").
class LogRecordStreamHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            chunk = self.connection.recv(4)
            if len(chunk) < 4:
                break
            slen = struct.unpack('>L', chunk)[0]
            chunk = self.connection.recv(slen)
            while len(chunk) < slen:
                chunk = chunk + self.connection.recv(slen - len(chunk))
            obj = self.unPickle(chunk)
            record = logging.makeLogRecord(obj)
            self.handleLogRecord(record)
    def unPickle(self, data):
        return pickle.loads(data)
    def handleLogRecord(self, record):
        logger = logging.getLogger(record.name)
        logger.handle(record)

def datagrams(sock):
    while True:
        data = sock.recv(1 << 20)
        (n,) = struct.unpack('>L', data[:4])
        assert n == len(data) - 4, (n, len(data))
        record = logging.makeLogRecord(pickle.loads(data[4:]))
        logging.getLogger(record.name).handle(record)

if mode in ('tcp', 'unix'):
    if mode == 'tcp':
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(('127.0.0.1', int(address)), LogRecordStreamHandler)
        port = server.server_address[1]
    else:
        server = socketserver.ThreadingUnixStreamServer(address, LogRecordStreamHandler)
        port = 0
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
else:
    if mode == 'udp':
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('127.0.0.1', int(address)))
        port = sock.getsockname()[1]
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(address)
        port = 0
    threading.Thread(target=datagrams, args=(sock,), daemon=True).start()
print('READY', port, flush=True)
done.wait()
"#;

/// Reads a receiver's `READY <port>` line.
pub fn ready(child: &mut Child) -> u16 {
    use std::io::{BufRead, BufReader};
    let mut line = String::new();
    let stdout = child.stdout.as_mut().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("receiver stdout");
    line.trim()
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("receiver said {line:?}"))
        .parse()
        .expect("port")
}

/// The lines a receiver wrote so far.
pub fn received(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Only whole lines: the receiver may be in the middle of one.
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    whole
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Waits (generously) until `path` holds `n` lines; returns them.
pub fn wait_for_lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let lines = received(path);
        if lines.len() >= n || std::time::Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
