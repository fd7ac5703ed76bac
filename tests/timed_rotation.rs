//! TimedRotatingFileHandler: CPython 3.13's rollover times for MIDNIGHT and W6 in a DST zone
//! (`tests/data/cpython_dst_rollovers.txt`, produced by CPython 3.13's own `computeRollover`
//! under `TZ=EST+05EDT,M3.2.0,M11.1.0`), the same through the system zone in a child process,
//! and rollover, naming, retention and "already rolled over" with an injected clock.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use mplog::handler::{Clock, Handler, ManualClock, TimedRotatingFileHandler, When};
use mplog::{Level, Record};

/// US Eastern in 2012: EDT (UTC-4) from 2012-03-11 07:00 UTC to 2012-11-04 06:00 UTC.
#[derive(Debug)]
struct Eastern2012(AtomicI64);

impl Clock for Eastern2012 {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn utc_offset(&self, t: i64) -> i32 {
        if (1_331_449_200..1_352_008_800).contains(&t) {
            -4 * 3600
        } else {
            -5 * 3600
        }
    }
}

/// Now fixed, local zone from the system (`TZ`).
#[derive(Debug)]
struct SystemZoneAt(i64);

impl Clock for SystemZoneAt {
    fn now(&self) -> i64 {
        self.0
    }
}

/// (when, interval, at_time, current, expected), computed by CPython 3.13's own
/// `computeRollover` (`tests/data/cpython_dst_rollovers.py` regenerates the file).
struct Case {
    when: String,
    interval: u32,
    at: Option<(u32, u32, u32)>,
    current: i64,
    expected: i64,
}

fn cpython_cases() -> Vec<Case> {
    include_str!("data/cpython_dst_rollovers.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let at = (f[2] != "-").then(|| {
                let p: Vec<u32> = f[2].split(':').map(|x| x.parse().unwrap()).collect();
                (p[0], p[1], p[2])
            });
            Case {
                when: f[0].to_owned(),
                interval: f[1].parse().unwrap(),
                at,
                current: f[3].parse().unwrap(),
                expected: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn first_rollover(
    clock: Arc<dyn Clock>,
    when: &str,
    interval: u32,
    at: Option<(u32, u32, u32)>,
) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let h = TimedRotatingFileHandler::builder(dir.path().join("t.log"))
        .when(when.parse().unwrap())
        .interval(interval)
        .at_time(at.and_then(|(h, m, s)| chrono::NaiveTime::from_hms_opt(h, m, s)))
        .clock(clock)
        .delay(true)
        .build()
        .unwrap();
    h.rollover_at()
}

fn check_table(clock: impl Fn(i64) -> Arc<dyn Clock>) {
    let cases = cpython_cases();
    assert_eq!(cases.len(), 480);
    let mut wrong = Vec::new();
    for c in &cases {
        let got = first_rollover(clock(c.current), &c.when, c.interval, c.at);
        if got != c.expected {
            wrong.push(format!(
                "{} x{} at {:?} from {}: got {got}, CPython {} ({:+}s)",
                c.when,
                c.interval,
                c.at,
                c.current,
                c.expected,
                got - c.expected
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn dst_zone_rollover_times_match_cpython() {
    if common::role().is_some() {
        return;
    }
    check_table(|t| Arc::new(Eastern2012(AtomicI64::new(t))));
}

#[test]
fn child() {
    if common::role().as_deref() == Some("system-zone") {
        check_table(|t| Arc::new(SystemZoneAt(t)));
    }
}

#[test]
fn the_system_zone_gives_the_same_times() {
    if common::role().is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(common::ROLE, "system-zone")
        .env("TZ", "EST+05EDT,M3.2.0,M11.1.0")
        .status()
        .unwrap();
    assert!(status.success());
}

fn rec(msg: &str) -> Record {
    Record::new("t", Level::INFO, msg.to_owned())
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const T0: i64 = 1_704_067_200; // 2024-01-01 00:00:00 UTC, a Monday

#[test]
fn hourly_rollover_names_the_interval_start_and_keeps_the_newest() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let clock = Arc::new(ManualClock::new(T0));
    let h = TimedRotatingFileHandler::builder(&path)
        .when(When::Hours)
        .utc(true)
        .backup_count(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(h.rollover_at(), T0 + 3600);
    for hour in 0..5 {
        h.handle(&rec(&format!("hour {hour}")));
        clock.advance(3600);
    }
    h.handle(&rec("hour 5"));
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.2024-01-01_03", "app.log.2024-01-01_04"]
    );
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("app.log.2024-01-01_04"), "hour 4\n");
    assert_eq!(read("app.log"), "hour 5\n");
    assert_eq!(h.base().error_count(), 0);
}

#[test]
fn an_existing_archive_is_never_overwritten() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let clock = Arc::new(ManualClock::new(T0));
    let h = TimedRotatingFileHandler::builder(&path)
        .when(When::Midnight)
        .utc(true)
        .clock(clock.clone())
        .build()
        .unwrap();
    h.handle(&rec("day one"));
    std::fs::write(
        dir.path().join("app.log.2024-01-01"),
        "rolled by someone else\n",
    )
    .unwrap();
    clock.advance(86_400);
    h.handle(&rec("day two"));
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("app.log.2024-01-01"), "rolled by someone else\n");
    assert_eq!(read("app.log"), "day one\nday two\n");
    assert_eq!(h.rollover_at(), T0 + 2 * 86_400);
}

#[test]
fn the_first_rollover_counts_from_the_files_mtime() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "left from yesterday\n").unwrap();
    let yesterday = std::time::UNIX_EPOCH + std::time::Duration::from_secs((T0 - 3600) as u64);
    std::fs::File::options()
        .append(true)
        .open(&path)
        .unwrap()
        .set_modified(yesterday)
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0 + 600));
    let h = TimedRotatingFileHandler::builder(&path)
        .when(When::Midnight)
        .utc(true)
        .clock(clock)
        .build()
        .unwrap();
    assert_eq!(h.rollover_at(), T0);
    h.handle(&rec("today"));
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("app.log.2023-12-31"), "left from yesterday\n");
    assert_eq!(read("app.log"), "today\n");
}

#[test]
fn size_and_time_together_number_archives_within_an_interval() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let clock = Arc::new(ManualClock::new(T0));
    let h = TimedRotatingFileHandler::builder(&path)
        .when(When::Midnight)
        .utc(true)
        .max_bytes(20)
        .backup_count(3)
        .clock(clock.clone())
        .build()
        .unwrap();
    for i in 0..4 {
        h.handle(&rec(&format!("day1 line {i}"))); // 13 bytes: one per file
    }
    clock.advance(86_400);
    h.handle(&rec("day2 line 0"));
    assert_eq!(
        names(dir.path()),
        [
            "app.log",
            "app.log.2024-01-01.2",
            "app.log.2024-01-01.3",
            "app.log.2024-01-01.4"
        ]
    );
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("app.log.2024-01-01.4"), "day1 line 3\n");
    assert_eq!(read("app.log"), "day2 line 0\n");
}

#[test]
fn gzip_archives_with_a_namer_and_retention() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let clock = Arc::new(ManualClock::new(T0));
    let h = TimedRotatingFileHandler::builder(&path)
        .when(When::Days)
        .utc(true)
        .gzip(true)
        .backup_count(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    for day in 0..4 {
        h.handle(&rec(&format!("day {day}")));
        clock.advance(86_400);
        assert!(h.wait_compressed(std::time::Duration::from_secs(60)));
    }
    h.handle(&rec("day 4"));
    assert!(h.wait_compressed(std::time::Duration::from_secs(60)));
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.2024-01-03.gz", "app.log.2024-01-04.gz"]
    );
    let text = common::gunzip(&dir.path().join("app.log.2024-01-04.gz"));
    assert_eq!(text, "day 3\n");
}

// CPython 3.13's doRollover names across DST changes (`tests/data/cpython_dst_suffixes.txt`).
#[test]
fn archive_names_across_dst_match_cpython() {
    if common::role().is_some() {
        return;
    }
    let table = include_str!("data/cpython_dst_suffixes.txt");
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let at = (f[1] != "-").then(|| {
            let p: Vec<u32> = f[1].split(':').map(|x| x.parse().unwrap()).collect();
            chrono::NaiveTime::from_hms_opt(p[0], p[1], p[2]).unwrap()
        });
        let start: i64 = f[2].parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let clock = Arc::new(Eastern2012(AtomicI64::new(start)));
        let h = TimedRotatingFileHandler::builder(&path)
            .when(f[0].parse().unwrap())
            .at_time(at)
            .clock(clock.clone())
            .build()
            .unwrap();
        h.handle(&rec("before"));
        clock.0.store(h.rollover_at(), Ordering::SeqCst);
        h.handle(&rec("after"));
        let archived = names(dir.path());
        assert_eq!(
            archived,
            ["a.log".to_owned(), format!("a.log.{}", f[3])],
            "{line}"
        );
        checked += 1;
    }
    assert_eq!(checked, 30);
}
