//! RotatingFileHandler: CPython 3.13's reference cases (naming with and without a namer,
//! max_bytes and backup_count edge cases, rotator), gzip archives readable by `gzip -d`,
//! WatchedFileHandler following its path, and errors that clear.

mod common;

use std::path::Path;
use std::time::Duration;

use mplog::handler::{Handler, RotatingFileHandler, WatchedFileHandler};
use mplog::{Level, Record};

fn rec(msg: &str) -> Record {
    Record::new("t", Level::INFO, msg.to_owned())
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn with_ext(p: &Path, ext: &str) -> std::path::PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(ext);
    s.into()
}

// CPython's test_max_bytes (and _delay).
#[test]
fn max_bytes_rolls_before_the_line_that_would_reach_it() {
    for delay in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let h = RotatingFileHandler::builder(&path)
            .max_bytes(100)
            .backup_count(2)
            .delay(delay)
            .build()
            .unwrap();
        assert_eq!(path.exists(), !delay);
        h.handle(&rec("a"));
        assert!(!with_ext(&path, ".1").exists());
        h.handle(&rec(&"b".repeat(100)));
        assert_eq!(read(&with_ext(&path, ".1")), "a\n");
        assert_eq!(read(&path), format!("{}\n", "b".repeat(100)));
        assert!(!with_ext(&path, ".2").exists());
    }
}

// CPython's test_should_not_rollover: an empty file, max_bytes = 0.
#[test]
fn empty_files_and_max_bytes_zero_never_roll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::new(&path, 1, 3).unwrap();
    h.handle(&rec("first record is larger than max_bytes"));
    assert!(!with_ext(&path, ".1").exists());
    drop(h);
    let h = RotatingFileHandler::new(&path, 0, 3).unwrap();
    for _ in 0..10 {
        h.handle(&rec("more"));
    }
    assert!(!with_ext(&path, ".1").exists());
}

#[test]
fn backup_count_zero_never_renames_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::new(&path, 5, 0).unwrap();
    for i in 0..5 {
        h.handle(&rec(&format!("line {i}")));
    }
    assert_eq!(read(&path).lines().count(), 5);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

// CPython's test_should_not_rollover_non_file; /dev/full also shows a full disk reported once
// and survived, its records held (and the flush failing) rather than lost.
#[test]
fn a_device_never_rolls_and_a_full_disk_is_reported() {
    let h = RotatingFileHandler::new("/dev/null", 1, 1).unwrap();
    h.handle(&rec("x"));
    h.handle(&rec("y"));
    assert_eq!(h.base().error_count(), 0);
    if Path::new("/dev/full").exists() {
        let full = RotatingFileHandler::new("/dev/full", 1, 1).unwrap();
        full.handle(&rec("no space"));
        full.handle(&rec("still no space"));
        assert_eq!(full.base().error_count(), 1, "one fault, reported once");
        assert_eq!(full.base().records_held(), 2);
        assert!(full.flush().is_err());
    }
}

// CPython's test_rollover_filenames.
#[test]
fn numbered_names_through_a_namer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::builder(&path)
        .max_bytes(1)
        .backup_count(2)
        .namer(|n| format!("{n}.test"))
        .build()
        .unwrap();
    let named = |i: u32| with_ext(&path, &format!(".{i}.test"));
    h.handle(&rec("1"));
    assert!(!named(1).exists());
    h.handle(&rec("2"));
    assert_eq!(read(&named(1)), "1\n");
    h.handle(&rec("3"));
    assert_eq!(read(&named(2)), "1\n");
    assert_eq!(read(&named(1)), "2\n");
    h.handle(&rec("4"));
    assert_eq!(read(&named(2)), "2\n");
    assert!(!named(3).exists());
}

#[test]
fn numbered_sequence_keeps_the_newest_n() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::new(&path, 1, 3).unwrap();
    for i in 0..6 {
        h.handle(&rec(&i.to_string()));
    }
    assert_eq!(read(&path), "5\n");
    for (n, expect) in [(1, "4\n"), (2, "3\n"), (3, "2\n")] {
        assert_eq!(read(&with_ext(&path, &format!(".{n}"))), expect);
    }
    assert!(!with_ext(&path, ".4").exists());
}

// CPython's test_namer_rotator_inheritance: the rotator does the move.
#[test]
fn a_rotator_moves_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::builder(&path)
        .max_bytes(1)
        .backup_count(2)
        .namer(|n| format!("{n}.test"))
        .rotator(|src, dst| {
            if src.exists() {
                std::fs::rename(src, with_ext(dst, ".rotated"))?;
            }
            Ok(())
        })
        .build()
        .unwrap();
    h.handle(&rec("1"));
    h.handle(&rec("2"));
    assert_eq!(read(&with_ext(&path, ".1.test.rotated")), "1\n");
    assert!(!with_ext(&path, ".1.test").exists());
}

// CPython's test_rotator, with the built-in gzip rotator and `gzip -d`.
#[test]
fn gzip_archives_shift_and_decompress_with_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::builder(&path)
        .max_bytes(1)
        .backup_count(2)
        .gzip(true)
        .build()
        .unwrap();
    let gz = |i: u32| with_ext(&path, &format!(".{i}.gz"));
    h.handle(&rec("m1"));
    h.handle(&rec("m2"));
    assert!(h.wait_compressed(Duration::from_secs(60)));
    assert_eq!(common::gunzip(&gz(1)), "m1\n");
    h.handle(&rec("m3"));
    assert!(h.wait_compressed(Duration::from_secs(60)));
    assert_eq!(common::gunzip(&gz(2)), "m1\n");
    assert_eq!(common::gunzip(&gz(1)), "m2\n");
    h.handle(&rec("m4"));
    h.close();
    assert_eq!(common::gunzip(&gz(2)), "m2\n");
    assert_eq!(common::gunzip(&gz(1)), "m3\n");
    assert!(!gz(3).exists());
    assert!(!with_ext(&path, ".1").exists(), "staged file left behind");
}

#[test]
fn rollovers_faster_than_compression_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let h = RotatingFileHandler::builder(&path)
        .max_bytes(2000)
        .backup_count(1000)
        .gzip(true)
        .build()
        .unwrap();
    for i in 0..2000 {
        h.handle(&rec(&format!("{i:05} {}", "x".repeat(90))));
    }
    h.close();
    let mut seen = read(&path).lines().count();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "gz") {
            seen += common::gunzip(&p).lines().count();
        }
    }
    assert_eq!(seen, 2000);
    assert_eq!(h.base().error_count(), 0);
}

#[test]
fn watched_file_reopens_after_rename_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.log");
    let h = WatchedFileHandler::new(&path).unwrap();
    h.handle(&rec("one"));
    std::fs::rename(&path, with_ext(&path, ".old")).unwrap();
    h.handle(&rec("two"));
    std::fs::remove_file(&path).unwrap();
    h.handle(&rec("three"));
    assert_eq!(read(&with_ext(&path, ".old")), "one\n");
    assert_eq!(read(&path), "three\n");
}

#[test]
fn a_missing_directory_is_reported_then_logging_resumes_held_records_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later/t.log");
    let err = RotatingFileHandler::new(&path, 10, 1).unwrap_err();
    assert!(err.to_string().contains("later/t.log"), "{err}");
    let h = RotatingFileHandler::builder(&path)
        .max_bytes(10)
        .backup_count(1)
        .delay(true)
        .build()
        .unwrap();
    h.handle(&rec("held"));
    assert_eq!(h.base().error_count(), 1);
    std::fs::create_dir(dir.path().join("later")).unwrap();
    h.handle(&rec("kept"));
    h.handle(&rec("rolled"));
    assert_eq!(read(&path), "rolled\n");
    assert_eq!(read(&with_ext(&path, ".1")), "held\nkept\n");
}
