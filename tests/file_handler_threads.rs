//! Many threads logging through one FileHandler: every line whole, none lost.

use std::collections::HashSet;
use std::sync::Arc;

use mplog::handler::FileHandler;
use mplog::{Formatter, Handler, Level, Manager};

const THREADS: usize = 8;
const LINES: usize = 5_000;

#[test]
fn eight_threads_one_file_no_torn_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.log");
    let m = Manager::new();
    let handler = Arc::new(FileHandler::new(&path).unwrap());
    handler.base().set_formatter(Arc::new(
        Formatter::new("%(levelname)s %(name)s %(message)s").unwrap(),
    ));
    let log = m.get_logger("t");
    log.set_level(Level::DEBUG);
    log.add_handler(handler);

    std::thread::scope(|s| {
        for t in 0..THREADS {
            let log = log.clone();
            s.spawn(move || {
                for i in 0..LINES {
                    // A long payload makes interleaving visible if writes were not serialised.
                    mplog::info!(log, "thread={t} seq={i} {}", "x".repeat(200));
                }
            });
        }
    });

    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = HashSet::new();
    let mut last = [None::<usize>; THREADS];
    for line in text.lines() {
        let rest = line
            .strip_prefix("INFO t thread=")
            .expect("line starts whole");
        let (t, rest) = rest.split_once(" seq=").unwrap();
        let (i, payload) = rest.split_once(' ').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(payload, "x".repeat(200), "torn line: {line}");
        assert!(
            last[t].is_none_or(|p| p < i),
            "order within thread {t} broken"
        );
        last[t] = Some(i);
        assert!(seen.insert((t, i)), "duplicate line {line}");
    }
    assert_eq!(seen.len(), THREADS * LINES);
}
