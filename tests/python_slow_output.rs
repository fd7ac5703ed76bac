//! A slow output never stalls the files (issue 12, item 4): inside the listener, a
//! `SocketHandler` whose peer stops reading runs behind its own queue and thread
//! ([`ThreadedHandler`]). While the peer reads nothing, a worker's records are all written to
//! the file and confirmed (`sync`), at a throughput measured and printed beside the one with a
//! healthy peer; the socket output's drops are counted; once the peer reads again it gets what
//! was kept, in order, and every record sent is either received or counted as dropped.

use std::io::BufReader;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mplog::compat::pickle::{decode_record, read_frame, Limits};
use mplog::handler::net::{Address, NetOptions, Overflow};
use mplog::handler::{FileHandler, Handler, SocketHandler};
use mplog::queue::listener::{Confirm, ThreadedHandler};
use mplog::queue::{QueueHandler, QueueListener};
use mplog::{Formatter, Level, Manager, Record};
use parking_lot::Mutex;

const PER_PHASE: usize = 20_000;
/// Records logged once the peer reads again (within its buffer: they must all arrive).
const AFTER: usize = 100;

/// A peer that reads Python frames while `reading` is set, keeping each record's sequence
/// number; a tiny receive buffer so that it stops the sender soon after it stops reading.
fn peer(reading: Arc<AtomicBool>, got: Arc<Mutex<Vec<u64>>>) -> (u16, std::thread::JoinHandle<()>) {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(4).unwrap();
    let listener: TcpListener = sock.into();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::with_capacity(4096, stream);
        let (mut buf, limits) = (Vec::new(), Limits::default());
        loop {
            while !reading.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(5));
            }
            match read_frame(&mut reader, &mut buf, &limits) {
                Ok(Some(pickle)) => {
                    let r = decode_record(pickle, &limits).unwrap();
                    got.lock().push(r.message.parse().unwrap());
                }
                _ => return,
            }
        }
    });
    (port, thread)
}

/// Logs `range` through a worker connection and waits until the listener confirms it written.
fn phase(endpoint: &std::path::Path, range: std::ops::Range<usize>) -> f64 {
    let worker = QueueHandler::builder(endpoint).build().unwrap();
    let started = Instant::now();
    let n = range.len();
    for i in range {
        worker.handle(&Record::new("app", Level::INFO, i.to_string()));
    }
    assert!(
        worker.sync(Duration::from_secs(120)),
        "the listener did not confirm the file written"
    );
    let rate = n as f64 / started.elapsed().as_secs_f64();
    worker.close();
    rate
}

#[test]
fn a_socket_peer_that_stops_reading_never_stalls_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let reading = Arc::new(AtomicBool::new(true));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (port, peer) = peer(reading.clone(), got.clone());

    let file = Arc::new(
        FileHandler::builder(&path)
            .buffer(64 * 1024)
            .build()
            .unwrap(),
    );
    file.base()
        .set_formatter(Arc::new(Formatter::new("%(message)s").unwrap()));
    let options = NetOptions {
        max_pending: 256 * 1024,
        overflow: Overflow::Drop,
        ..NetOptions::default()
    };
    let socket = Arc::new(
        SocketHandler::new(Address::from_python("127.0.0.1", Some(port)), options).unwrap(),
    );
    let output = Arc::new(
        ThreadedHandler::builder(socket.clone())
            .capacity(1000)
            .overflow(Overflow::Drop)
            .confirm(Confirm::Queued)
            .build()
            .unwrap(),
    );
    let manager = Manager::new();
    manager.root().set_level(Level::NOTSET);
    manager.root().add_handler(file.clone());
    manager.root().add_handler(output.clone());
    let listener = QueueListener::builder()
        .manager(manager.clone())
        .start()
        .unwrap();

    let healthy = phase(listener.endpoint(), 0..PER_PHASE);
    reading.store(false, Ordering::Release);
    let got_before_stall = got.lock().len();
    let stalled = phase(listener.endpoint(), PER_PHASE..2 * PER_PHASE);
    eprintln!(
        "file output: {healthy:.0} records/s with the socket peer reading, {stalled:.0} \
         records/s while it reads nothing"
    );
    // Every record of the stalled phase is in the file (sync confirmed it), while the peer
    // read at most what was in flight when it stopped.
    let in_file = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = in_file.lines().collect();
    assert_eq!(lines.len(), 2 * PER_PHASE);
    assert!(lines.iter().enumerate().all(|(i, l)| *l == i.to_string()));
    drop(in_file);

    // The peer comes back: what was kept is sent, in order, and the rest is counted; records
    // logged from then on all arrive.
    reading.store(true, Ordering::Release);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let o = output.stats();
        if o.handled + o.dropped == 2 * PER_PHASE as u64 && socket.stats().pending == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(socket.stats().pending, 0, "the socket's buffer drained");
    phase(listener.endpoint(), 2 * PER_PHASE..2 * PER_PHASE + AFTER);
    let stats = listener.stop();
    assert_eq!(stats.records, 2 * PER_PHASE as u64 + AFTER as u64);
    manager.shutdown(); // drains the output's queue, then the socket's buffer
    peer.join().unwrap(); // until the connection's end
    let received = got.lock().clone();
    assert!(received.len() >= got_before_stall);
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "the socket output kept its order"
    );
    let after: Vec<u64> = received
        .iter()
        .copied()
        .filter(|&i| i >= 2 * PER_PHASE as u64)
        .collect();
    assert!(
        after == (2 * PER_PHASE as u64..2 * PER_PHASE as u64 + AFTER as u64).collect::<Vec<_>>(),
        "once back, the peer gets every record: {} of {AFTER}",
        after.len()
    );
    let (queue_dropped, socket_dropped) = (output.stats().dropped, socket.stats().dropped);
    eprintln!(
        "socket peer: {} received, {queue_dropped} dropped by the output's queue, \
         {socket_dropped} by the socket's buffer",
        received.len()
    );
    assert!(
        queue_dropped + socket_dropped > 0,
        "a peer that reads nothing makes drops"
    );
    assert_eq!(
        received.len() as u64 + queue_dropped + socket_dropped,
        2 * PER_PHASE as u64 + AFTER as u64,
        "every record received or counted as dropped"
    );
    // Drops of an output confirmed once queued never withhold the files' confirmations.
    assert_eq!(file.base().records_not_written(), 0);
}

/// A file handler put behind its own queue by the configuration (`queue: {confirm: written}`)
/// still confirms a worker's records only once they are in the file: a file that cannot be
/// written withholds the confirmation, one that can gives it.
#[test]
fn a_queued_file_confirms_only_what_it_wrote() {
    use mplog::config::DictConfig;
    let dir = tempfile::tempdir().unwrap();
    for (file, confirmed) in [
        (dir.path().join("ok.log"), true),
        (std::path::PathBuf::from("/dev/full"), false),
    ] {
        let config = DictConfig::from_json(&format!(
            r#"{{"version": 1,
                "handlers": {{"f": {{"class": "logging.FileHandler", "filename": "{}",
                                     "queue": {{"capacity": 100, "confirm": "written"}}}}}},
                "root": {{"level": "NOTSET", "handlers": ["f"]}}}}"#,
            file.display()
        ))
        .unwrap();
        let listener = QueueListener::from_config(config).unwrap().start().unwrap();
        let worker = QueueHandler::builder(listener.endpoint()).build().unwrap();
        for i in 0..50 {
            worker.handle(&Record::new("app", Level::INFO, i.to_string()));
        }
        let wait = if confirmed { 120 } else { 2 };
        assert_eq!(
            worker.sync(Duration::from_secs(wait)),
            confirmed,
            "{}",
            file.display()
        );
        worker.close();
        listener.stop();
        if confirmed {
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(text.lines().count(), 50);
        }
        listener.manager().unwrap().shutdown();
    }
}
