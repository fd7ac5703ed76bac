//! Python processes into `mplog listen` (issue 12, the listener side): four python3 processes,
//! each with its own pid, `processName` and named threads, log through
//! `logging.handlers.SocketHandler` over TCP and over a Unix stream socket, and through
//! `DatagramHandler` over UDP and a Unix datagram socket, into one `mplog listen` while four
//! mplog workers log into the same listener. Every record arrives once, in each sender's
//! order, and each Python record's text is the one CPython's own receiver (the logging
//! cookbook's, fed the same records by a second handler of each sender) writes for it with the
//! same format.

mod common;
mod python;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const WORKERS: usize = 4;
const WORKER_RECORDS: usize = 2_000;
/// Records per thread of each Python sender (two threads each).
const PY_RECORDS: usize = 300;

/// Every attribute a Python record carries, and three extra fields (mplog's workers do not
/// send them: the formatter's defaults fill them in, as Python 3.10+ does).
const FORMAT: &str = "R|%(asctime)s|%(msecs)03d|%(created)f|%(relativeCreated)d|%(name)s|\
%(levelname)s|%(levelno)d|%(pathname)s|%(filename)s|%(module)s|%(lineno)d|%(funcName)s|\
%(thread)d|%(threadName)s|%(process)d|%(processName)s|%(job)s|%(tags)s|%(ratio)s|%(message)s";

/// A Python worker: `argv` = kind (tcp, unix, udp, unixdgram), the listener's address, the
/// cookbook receiver's port, its processName, records per thread. Each record goes to both.
const SENDER: &str = r#"
import logging, logging.handlers, multiprocessing, sys, threading, time
kind, address, receiver, name, n = sys.argv[1:6]
n = int(n)
multiprocessing.current_process().name = name
log = logging.getLogger('py.svc.' + kind)
log.setLevel(1)
log.propagate = False
if kind == 'tcp':
    h = logging.handlers.SocketHandler('127.0.0.1', int(address))
elif kind == 'unix':
    h = logging.handlers.SocketHandler(address, None)
elif kind == 'udp':
    h = logging.handlers.DatagramHandler('127.0.0.1', int(address))
else:
    h = logging.handlers.DatagramHandler(address, None)
reference = logging.handlers.SocketHandler('127.0.0.1', int(receiver))
log.addHandler(h)
log.addHandler(reference)
def work(t):
    for i in range(n):
        extra = {'job': i, 'tags': [t, 'x'], 'ratio': i / 7}
        level = [10, 20, 30, 40, 50][i % 5]
        if i % 10 == 3:
            try:
                {}['k%d' % i]
            except KeyError:
                log.exception('thread %d job %d failed', t, i, extra=extra)
        elif i % 17 == 5:
            log.log(level, 'thread %d job %d with its stack', t, i, stack_info=True, extra=extra)
        else:
            log.log(level, "thread %d job %d \u00fcn\u00ef 'q' %s", t, i, {'k': i}, extra=extra)
        if kind in ('udp', 'unixdgram') and i % 20 == 0:
            time.sleep(0.002)  # UDP has no flow control: a burst beyond the buffer is lost
threads = [threading.Thread(target=work, args=(t,), name='%s-io-%d' % (name, t)) for t in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
h.close()
reference.close()
"#;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let w: usize = role.parse().expect("worker number");
    let guard = mplog::worker::init_from_env().expect("init");
    common::log_numbered(w, WORKER_RECORDS);
    drop(guard);
}

/// The records of a log file in `FORMAT`: a record starts with `R|`; the lines after it (a
/// traceback, a stack) belong to it.
fn records_of(text: &str) -> Vec<String> {
    let mut records: Vec<String> = Vec::new();
    for line in text.lines() {
        match records.last_mut() {
            Some(last) if !line.starts_with("R|") => {
                last.push('\n');
                last.push_str(line);
            }
            _ => records.push(line.to_owned()),
        }
    }
    records
}

/// `(processName, threadName)` of a record in `FORMAT`.
fn sender(record: &str) -> (String, String) {
    let fields: Vec<&str> = record.splitn(18, '|').collect();
    (fields[16].to_owned(), fields[14].to_owned())
}

fn by_sender(records: &[String]) -> BTreeMap<(String, String), Vec<String>> {
    let mut map: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in records {
        map.entry(sender(r)).or_default().push(r.clone());
    }
    map
}

#[test]
fn python_and_mplog_workers_into_one_listener() {
    if common::role().is_some() {
        return;
    }
    let Some(_) = python::python3("python_and_mplog_workers_into_one_listener") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all.log");
    let endpoint = dir.path().join("mplog.sock");
    let unix_stream = dir.path().join("py.sock");
    let unix_dgram = dir.path().join("py.dgram");
    let config = dir.path().join("listener.yaml");
    // The Unix inputs from the file's `listener` section, TCP and UDP from the flags.
    std::fs::write(
        &config,
        format!(
            "version: 1\n\
             listener:\n  unix_stream: '{}'\n  unix_dgram: '{}'\n\
             formatters:\n  same:\n    format: '{FORMAT}'\n    defaults: {{job: '-', tags: '-', ratio: '-'}}\n\
             handlers:\n  file:\n    class: logging.FileHandler\n    filename: '{}'\n    formatter: same\n\
             root:\n  level: NOTSET\n  handlers: [file]\n",
            unix_stream.display(),
            unix_dgram.display(),
            out.display()
        ),
    )
    .unwrap();
    let mut listen = Command::new(env!("CARGO_BIN_EXE_mplog"));
    listen
        .arg("listen")
        .arg("--endpoint")
        .arg(&endpoint)
        .arg("--config")
        .arg(&config)
        .args(["--tcp", "0", "--udp", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut listen = common::Reap::new(listen.spawn().expect("mplog listen"));
    let mut stdout = BufReader::new(listen.stdout.take().unwrap());
    let mut bound = BTreeMap::new();
    for _ in 0..5 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let (kind, address) = line.trim().split_once(' ').unwrap_or(("endpoint", ""));
        bound.insert(kind.to_owned(), address.to_owned());
    }
    let port = |kind: &str| bound[kind].rsplit(':').next().unwrap().to_owned();
    assert!(bound["tcp"].starts_with("127.0.0.1:"), "{bound:?}");
    assert_eq!(bound["unix-stream"], unix_stream.to_str().unwrap());

    // CPython's own receiver, the logging cookbook's, writing each record formatted alike.
    let reference = dir.path().join("reference.jsonl");
    let expected = 4 * 2 * PY_RECORDS;
    let receiver = python::spawn(
        python::python3("receiver").unwrap(),
        python::RECEIVER,
        &[
            "tcp",
            "0",
            reference.to_str().unwrap(),
            FORMAT,
            &expected.to_string(),
        ],
    );
    let mut receiver = common::Reap::new(receiver);
    let receiver_port = python::ready(&mut receiver).to_string();

    let workers = common::spawn_workers(WORKERS, &endpoint, &[]);
    let senders: Vec<_> = [
        ("tcp", port("tcp")),
        ("unix", unix_stream.to_str().unwrap().to_owned()),
        ("udp", port("udp")),
        ("unixdgram", unix_dgram.to_str().unwrap().to_owned()),
    ]
    .into_iter()
    .map(|(kind, address)| {
        let name = format!("py-{kind}");
        let mut cmd = python::python3("sender").unwrap();
        cmd.arg("-c")
            .arg(SENDER)
            .args([kind, &address, &receiver_port, &name])
            .arg(PY_RECORDS.to_string())
            .spawn()
            .expect("python3 sender")
    })
    .collect();
    for mut s in senders {
        assert!(s.wait().unwrap().success(), "a Python sender failed");
    }
    for mut w in workers {
        assert!(w.wait().unwrap().success(), "an mplog worker failed");
    }
    let reference_lines = python::wait_for_lines(&reference, expected);
    assert_eq!(reference_lines.len(), expected, "the cookbook receiver");

    // Everything sent is in the listener's file once the listener stopped.
    kill(Pid::from_raw(listen.id() as i32), Signal::SIGTERM).unwrap();
    let status = listen.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut listen.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "mplog listen: {status}\n{stderr}");

    let text = std::fs::read_to_string(&out).unwrap();
    let records = records_of(&text);
    assert_eq!(
        records.len(),
        WORKERS * WORKER_RECORDS + expected,
        "every record once\n{stderr}"
    );
    // The mplog workers: each one's records, in its order.
    let messages: Vec<String> = records
        .iter()
        .filter(|r| r.contains("|worker-"))
        .map(|r| r.rsplit('|').next().unwrap().to_owned())
        .collect();
    for w in 0..WORKERS {
        common::check_worker(&messages, w, WORKER_RECORDS);
    }
    // The Python senders: per process and thread, the same texts, in the same order, as
    // CPython's receiver wrote.
    let ours = by_sender(
        &records
            .iter()
            .filter(|r| r.contains("|py-"))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let theirs = by_sender(&reference_lines);
    assert_eq!(ours.len(), 8, "4 processes x 2 threads: {:?}", ours.keys());
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    let all: Vec<&String> = ours.values().flatten().collect();
    assert!(all
        .iter()
        .any(|r| r.contains("\nTraceback (most recent call last):")));
    assert!(all
        .iter()
        .any(|r| r.contains("\nStack (most recent call last):")));
    assert!(
        all.iter().any(|r| r.contains("|[1, 'x']|")),
        "a list extra as Python prints it"
    );
    for (key, want) in &theirs {
        let got = &ours[key];
        assert_eq!(got.len(), PY_RECORDS, "{key:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(
                g, w,
                "{key:?} record {i}: mplog listen vs CPython's receiver"
            );
        }
    }
    // Each Python process has its own pid, and the statistics name its peers.
    let pids: std::collections::BTreeSet<&str> = ours
        .values()
        .map(|v| v[0].split('|').nth(15).unwrap())
        .collect();
    assert_eq!(pids.len(), 4);
    for name in ["py-tcp", "py-unix", "py-udp", "py-unixdgram"] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!(" {name} (pid ")))
            .unwrap_or_else(|| panic!("no statistics line for {name}:\n{stderr}"));
        assert!(line.contains(" from "), "{line}");
        assert!(line.ends_with(": 600 records, 0 dropped"), "{line}");
    }
    assert!(stderr.contains("0 closed for bad frames, 0 bad datagrams dropped"));
    assert!(
        !Path::new(&unix_stream).exists(),
        "socket files removed at stop"
    );
}
