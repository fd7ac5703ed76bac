//! Hostile Python peers at the listener (issue 12, item 3): pickles that call `os.system` (as
//! CPython writes them, protocols 0 to 5), deep nesting, a 4 GiB length and garbage datagrams
//! are refused, nothing runs (the marker file the pickles would create never appears), each
//! bad frame closes only its own connection, each bad datagram is dropped and counted, and
//! the listener goes on serving the well-behaved peers, whose records all arrive in order. An
//! allow-list of peer addresses refuses everyone else.

mod common;
mod python;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use mplog::compat::pickle::encode_record;
use mplog::queue::listener::PythonInput;
use mplog::queue::{Endpoint, QueueListener};
use mplog::{Level, Record};

/// Prints, one hex line each, `pickle.dumps` at protocols 0 to 5 of a record dict whose
/// `msg` would run `touch argv[1]` when unpickled, then the same with the call in an extra
/// field.
const EVIL: &str = r#"
import os, pickle, sys
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[1],))
for p in range(6):
    print(pickle.dumps({'name': 'x', 'msg': Evil(), 'levelno': 20}, p).hex())
print(pickle.dumps({'name': 'x', 'msg': 'm', 'levelno': 20, 'job': Evil()}, 1).hex())
"#;

fn frame(pickle: &[u8]) -> Vec<u8> {
    let mut f = (pickle.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(pickle);
    f
}

fn good(n: usize, tag: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut r = Record::new("good", Level::INFO, format!("{tag} {i}"));
        r.process = 4242;
        r.process_name = Arc::from("good-peer");
        encode_record(&r, &mut out);
    }
    out
}

/// Sends `bytes` on a fresh connection and waits (generously) for the listener to close it.
fn closed_after(port: u16, bytes: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(bytes).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 16];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the listener kept a hostile connection open: {other:?}"),
    }
}

#[test]
fn hostile_peers_are_refused_and_the_others_served() {
    let Some(py) = python::python3("hostile_peers_are_refused_and_the_others_served") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let evil = python::run(py, EVIL, &[marker.to_str().unwrap()]);
    let evil: Vec<Vec<u8>> = String::from_utf8(evil.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    assert_eq!(evil.len(), 7);

    let keep = Arc::new(common::Keep::default());
    let listener = QueueListener::builder()
        .endpoint_kind(Endpoint::InProcess)
        .handlers(vec![keep.clone()])
        .python_input(PythonInput::parse("tcp", "0").unwrap())
        .python_input(PythonInput::parse("udp", "0").unwrap())
        .start()
        .unwrap();
    let (mut tcp, mut udp) = (0, 0);
    for input in listener.python_inputs() {
        match input {
            PythonInput::Tcp(a) => tcp = a.port(),
            PythonInput::Udp(a) => udp = a.port(),
            _ => {}
        }
    }
    // A well-behaved peer, connected throughout.
    let mut peer = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    peer.write_all(&good(100, "before")).unwrap();

    let mut hostile = 0;
    for pickle in &evil {
        closed_after(tcp, &frame(pickle));
        hostile += 1;
    }
    // 100,000 MARKs; and 10,000 lists each appended to the one before it.
    let mut marks = b"\x80\x02".to_vec();
    marks.extend(std::iter::repeat_n(b'(', 100_000));
    closed_after(tcp, &frame(&marks));
    let mut nested = b"\x80\x02".to_vec();
    nested.extend(std::iter::repeat_n(b']', 10_000));
    nested.extend(std::iter::repeat_n(b'a', 9_999));
    nested.push(b'.');
    closed_after(tcp, &frame(&nested));
    // A 4 GiB length: refused from the prefix, nothing allocated, no wait for the bytes.
    closed_after(tcp, &[0xff, 0xff, 0xff, 0xff, b'(']);
    // Not a pickle at all; and a pickle that is not a record.
    closed_after(tcp, &frame(b"GET / HTTP/1.1\r\n\r\n"));
    closed_after(tcp, &frame(b"\x80\x02K\x01."));
    hostile += 5;

    // Garbage datagrams, each dropped and counted; good ones around them arrive.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut one = Vec::new();
    encode_record(
        &Record::new("good.udp", Level::INFO, "udp before"),
        &mut one,
    );
    sock.send_to(&one, ("127.0.0.1", udp)).unwrap();
    let mut garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 3],
        b"\x00\x00\x10\x00short".to_vec(),
        frame(&evil[2]),
        frame(&nested),
    ];
    garbage.push((0..1000u32).map(|i| (i * 7919 % 251) as u8).collect());
    for g in &garbage {
        sock.send_to(g, ("127.0.0.1", udp)).unwrap();
    }
    let mut two = Vec::new();
    encode_record(&Record::new("good.udp", Level::INFO, "udp after"), &mut two);
    sock.send_to(&two, ("127.0.0.1", udp)).unwrap();

    peer.write_all(&good(100, "after")).unwrap();
    drop(peer);
    common::wait_until(Duration::from_secs(60), "the good records", || {
        let records = keep.records.lock();
        records
            .iter()
            .filter(|r| r.name.starts_with("good"))
            .count()
            >= 202
    });
    let stats = listener.stop();
    assert!(!marker.exists(), "a pickle ran code");
    let records = keep.take();
    // Each refusal was logged with its reason.
    let notices: Vec<&str> = records
        .iter()
        .filter(|r| &*r.name == "mplog.listener")
        .map(|r| &*r.message)
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("opcode") && n.contains("only data is accepted")),
        "{notices:?}"
    );
    let tcp_messages: Vec<String> = records
        .iter()
        .filter(|r| &*r.name == "good")
        .map(|r| r.message.to_string())
        .collect();
    let want: Vec<String> = (0..100)
        .map(|i| format!("before {i}"))
        .chain((0..100).map(|i| format!("after {i}")))
        .collect();
    assert_eq!(tcp_messages, want);
    let udp_messages: Vec<&str> = records
        .iter()
        .filter(|r| &*r.name == "good.udp")
        .map(|r| &*r.message)
        .collect();
    assert_eq!(udp_messages, ["udp before", "udp after"]);
    assert_eq!(stats.malformed, hostile);
    assert_eq!(stats.bad_datagrams, garbage.len() as u64);
    let good_peer = stats
        .per_worker
        .iter()
        .find(|w| w.process_name == "good-peer")
        .expect("the good peer's statistics");
    assert_eq!((good_peer.pid, good_peer.records), (4242, 200));
    assert!(good_peer
        .address
        .as_deref()
        .unwrap()
        .starts_with("127.0.0.1:"));
}

#[test]
fn peers_outside_the_allow_list_are_refused() {
    let keep = Arc::new(common::Keep::default());
    let listener = QueueListener::builder()
        .endpoint_kind(Endpoint::InProcess)
        .handlers(vec![keep.clone()])
        .python_input(PythonInput::parse("tcp", "0").unwrap())
        .python_input(PythonInput::parse("udp", "0").unwrap())
        .python_allow(["10.0.0.0/8".parse().unwrap()])
        .start()
        .unwrap();
    let ports: Vec<u16> = listener
        .python_inputs()
        .iter()
        .map(|i| match i {
            PythonInput::Tcp(a) | PythonInput::Udp(a) => a.port(),
            _ => 0,
        })
        .collect();
    closed_after(ports[0], &good(1, "refused"));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(&good(1, "refused"), ("127.0.0.1", ports[1]))
        .unwrap();
    common::wait_until(Duration::from_secs(30), "both refusals", || {
        listener.stats().rejected >= 2
    });
    let stats = listener.stop();
    assert_eq!(stats.rejected, 2);
    // Nothing from the refused peers; the refusals are logged on the listener's logger.
    let records = keep.take();
    assert!(records.iter().all(|r| &*r.name == "mplog.listener"));
    assert!(records
        .iter()
        .any(|r| r.message.contains("refused a connection from 127.0.0.1:")));
    assert!(records
        .iter()
        .any(|r| r.message.contains("refused a datagram from 127.0.0.1:")));
}
