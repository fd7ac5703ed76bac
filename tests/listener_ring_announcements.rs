//! Ring announcements for files that do not exist are not remembered: a peer announcing
//! hundreds of thousands of made-up ring names costs the listener nothing that lasts (on
//! `mplog listen`, measured by its resident memory), and the listener still serves records.
mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Duration;

use common::Reap;
use mplog::queue::wire::{encode_frame, Frame, Hello};

const LONG: Duration = Duration::from_secs(120);
/// Names announced: at ~130 bytes each, ~40 MB if each were kept.
const NAMES: usize = 300_000;

/// Resident memory of `pid` in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn announcements_of_missing_rings_are_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("mplog.sock");
    let file = dir.path().join("out.log");
    let listener = Reap::new(common::listen_process(&endpoint, &file, Stdio::null()));
    let pid = listener.id();
    let before = rss_kib(pid);
    let mut peer = UnixStream::connect(&endpoint).unwrap();
    let mut bytes = Vec::new();
    encode_frame(&Hello::this_process(), &mut bytes).unwrap();
    peer.write_all(&bytes).unwrap();
    let long = "7".repeat(100);
    for chunk in 0..NAMES / 1000 {
        bytes.clear();
        for i in 0..1000 {
            let name = format!("{}-{long}-{chunk}-{i}.ring", std::process::id());
            encode_frame(&Frame::Ring { name }, &mut bytes).unwrap();
        }
        peer.write_all(&bytes).unwrap();
    }
    // A Sync after them: answered once every announcement before it was read.
    bytes.clear();
    encode_frame(&Frame::Sync { seq: 1 }, &mut bytes).unwrap();
    peer.write_all(&bytes).unwrap();
    peer.set_read_timeout(Some(LONG)).unwrap();
    let mut ack = [0u8; 64];
    let n = std::io::Read::read(&mut peer, &mut ack).unwrap();
    assert!(n > 0, "no answer to the Sync");
    let grown = rss_kib(pid).saturating_sub(before);
    // Kept, they would take tens of MiB; forgotten, nothing beyond buffers.
    assert!(grown < 16 * 1024, "the listener grew by {grown} KiB");
    drop(peer);
    mplog::handler::Handler::close(&{
        let h = mplog::queue::QueueHandler::builder(&endpoint)
            .build()
            .unwrap();
        mplog::handler::Handler::handle(
            &h,
            &mplog::Record::new("app", mplog::Level::INFO, "still served"),
        );
        assert!(h.sync(LONG));
        h
    });
    assert_eq!(common::lines(&file), ["still served"]);
}
