//! `asctime` as CPython renders it on Linux (glibc `strftime`), with python3 as the oracle:
//! many datefmts × many instants (DST edges, ISO-week year boundaries, leap days, before 1970)
//! × several `TZ` values, through CPython's own `logging.Formatter.formatTime`, with
//! `converter` both `time.localtime` and `time.gmtime`. The `TZ` goes to the python3 process's
//! environment and, on the Rust side, to an injected [`Zone`], never to this process.

mod python;

use std::io::Write as _;
use std::process::Stdio;

use mplog::format::Zone;
use mplog::{Formatter, Level, Record};

const FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Z",
    "%z",
    "%#Z|%^Z|%10Z|%-10Z|%010Z",
    "%a %A %b %B %h %^a %#A %^B %#b",
    "%c|%^c|%30c|%Ec|%Oc",
    "%x|%X|%Ex|%EX|%Ox|%OX|%D|%F|%R|%T|%r",
    "%C %EC %y %Ey %Oy %Y %EY %OY",
    "%G %g %V %OV %EV %U %W %u %w %j %Ou %Ow",
    "%d %e %H %I %k %l %M %S %m %p %P %#p %^P",
    "%-d %-e %-H %-I %-k %-l %-M %-S %-m %-j %-y",
    "%_d %_H %_m %_j %_Y %_y %_S",
    "%0e %0k %0l %05Y %012s %_12s %-12s %12s",
    "%10Y|%-10Y|%_10Y|%010Y|%3d|%03e|%1H",
    "%s",
    "%n%t%5n%5t%%%5%%-5%",
    "%f %q %L %N %J %i %v %+ %:z %Ed %Od %EH %Ea %Oa %Eb %EB %Oz %OZ %Es %Ez",
    "%^q %^#x %#%",
    "%Ob %OB %Oh %Om %Od %Oe %OH %OI %OM %OS",
    "100%% at %H:%M, %",
    "%Y-%m-%dT%H:%M:%S%z",
    "%d/%b/%Y:%H:%M:%S %z",
    "[%A %d %B %Y] é ü %Z →",
    "%-",
    "%_",
    "%10",
    "%E",
    "%O",
    "%1500Y",
    "%5000Y",
];

const STAMPS: &[i64] = &[
    0,
    1,
    -1,
    -1_000_000_000,
    951_782_400,   // 2000-02-29
    1_609_372_800, // 2020-12-31 (ISO week 53 of 2020)
    1_609_459_200, // 2021-01-01
    1_609_632_000, // 2021-01-03
    1_609_718_400, // 2021-01-04
    1_451_606_400, // 2016-01-01
    1_483_142_400, // 2016-12-31
    1_514_678_400, // 2017-12-31
    1_700_000_000,
    1_690_000_000,
    1_711_846_799, // Europe/Paris: 2024-03-31 01:59:59 UTC, the last second of CET
    1_711_846_800, // first second of CEST
    1_729_990_799, // 2024-10-27 00:59:59 UTC: last second of CEST
    1_729_990_800,
    1_710_054_000, // America/New_York: 2024-03-10 07:00 UTC, into EDT
    1_730_613_600, // 2024-11-03 06:00 UTC, back to EST
    1_730_610_000,
    4_102_444_800, // 2100-01-01
    9_000_000_000, // 2255
    2_147_483_648, // past 2038
];

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Paris",
    ":America/New_York",
    "EST5EDT,M3.2.0,M11.1.0",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Asia/Istanbul",
    "Foo/Bar",
    "",
];

const ORACLE: &str = r#"
import json, logging, sys, time
job = json.load(sys.stdin)
out = []
for fmt in job["formats"]:
    for t in job["stamps"]:
        for utc in (False, True):
            f = logging.Formatter("%(asctime)s", datefmt=fmt or None)
            if utc:
                f.converter = time.gmtime
            r = logging.makeLogRecord({"msg": "m"})
            r.created = t + 0.25
            r.msecs = 250.0
            out.append(f.formatTime(r, f.datefmt))
print(json.dumps(out))
"#;

fn oracle(zone: &str, formats: &[&str]) -> Option<Vec<String>> {
    let mut cmd = python::python3("format_strftime")?;
    let mut child = cmd
        .args(["-c", ORACLE])
        .env("TZ", zone)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let job = serde_json::json!({"formats": formats, "stamps": STAMPS});
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(job.to_string().as_bytes())
        .expect("job written");
    let out = child.wait_with_output().expect("python3 output");
    assert!(out.status.success(), "python3 failed");
    Some(serde_json::from_slice(&out.stdout).expect("python3 JSON"))
}

fn ours(zone: &str, formats: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    for fmt in formats {
        for &t in STAMPS {
            for utc in [false, true] {
                let mut b = Formatter::builder("%(asctime)s")
                    .time_zone(Zone::from_tz(zone))
                    .utc(utc);
                if !fmt.is_empty() {
                    b = b.datefmt(fmt);
                }
                let f = b.build().expect("formatter");
                let mut r = Record::new("a", Level::INFO, "m");
                r.created_ns = t * 1_000_000_000 + 250_000_000;
                all.push(f.format_time(&r));
            }
        }
    }
    all
}

#[test]
fn datefmts_match_cpython_in_every_zone() {
    let mut formats = FORMATS.to_vec();
    formats.push(""); // Python's default: '%Y-%m-%d %H:%M:%S' then ',250'
    let mut failures = Vec::new();
    for zone in ZONES {
        let Some(want) = oracle(zone, &formats) else {
            return;
        };
        let got = ours(zone, &formats);
        assert_eq!(want.len(), got.len());
        let mut i = 0;
        for fmt in &formats {
            for t in STAMPS {
                for utc in [false, true] {
                    if want[i] != got[i] && failures.len() < 40 {
                        failures.push(format!(
                            "TZ={zone:?} datefmt={fmt:?} t={t} utc={utc}\n  python: {:?}\n  mplog:  {:?}",
                            want[i], got[i]
                        ));
                    }
                    i += 1;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// CPython's `FormatterTest.test_time` and `test_default_msec_format_none`, ported.
#[test]
fn cpython_formatter_time_cases() {
    // 1993-04-21 08:03:00.123 UTC
    let mut r = Record::new("a", Level::INFO, "m");
    r.created_ns = 735_379_380_123_000_000;
    let f = Formatter::builder("%(asctime)s").utc(true).build().unwrap();
    assert_eq!(f.format_time(&r), "1993-04-21 08:03:00,123");
    let f = Formatter::builder("%(asctime)s")
        .datefmt("%Y:%d")
        .utc(true)
        .build()
        .unwrap();
    assert_eq!(f.format_time(&r), "1993:21");
    // default_msec_format None: a datefmt equal to the default time format, no msecs.
    let f = Formatter::builder("%(asctime)s")
        .datefmt("%Y-%m-%d %H:%M:%S")
        .utc(true)
        .build()
        .unwrap();
    assert_eq!(f.format_time(&r), "1993-04-21 08:03:00");
}

/// CPython's `test_issue_89047`: msecs never round up to 1000.
#[test]
fn msecs_never_reach_a_thousand() {
    let f = Formatter::builder("{asctime}.{msecs:03.0f}")
        .style(mplog::format::Style::Brace)
        .datefmt("%Y-%m-%d %H:%M:%S")
        .utc(true)
        .build()
        .unwrap();
    for ns in [999_999_999i64, 999_500_000, 999_600_001, 999_000_000] {
        let mut r = Record::new("a", Level::INFO, "m");
        r.created_ns = 1_677_091_123_000_000_000 + ns;
        let mut out = String::new();
        mplog::format::Format::format(&f, &r, &mut out).unwrap();
        assert!(!out.contains(".1000"), "{out}");
        assert!(out.ends_with(".999"), "{out}");
    }
}

/// 300 formats drawn (with a fixed seed) from every glibc flag, width, modifier and conversion,
/// and some that glibc does not know, against python3 in three zones.
#[test]
fn random_directives_match_cpython() {
    let mut seed: u64 = 0x5eed_1234_abcd;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    let convs: Vec<char> = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%qfJ+Lv"
        .chars()
        .collect();
    let mut formats = Vec::new();
    for _ in 0..300 {
        let mut f = String::new();
        for _ in 0..1 + next(4) {
            f.push('%');
            for flag in ['_', '-', '0', '^', '#'] {
                if next(5) == 0 {
                    f.push(flag);
                }
            }
            if next(3) == 0 {
                f.push_str(&next(14).to_string());
            }
            match next(6) {
                0 => f.push('E'),
                1 => f.push('O'),
                _ => {}
            }
            f.push(convs[next(convs.len())]);
            if next(2) == 0 {
                f.push(['|', ' ', ':', 'x'][next(4)]);
            }
        }
        formats.push(f);
    }
    let formats: Vec<&str> = formats.iter().map(String::as_str).collect();
    let mut failures = Vec::new();
    for zone in ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"] {
        let Some(want) = oracle(zone, &formats) else {
            return;
        };
        let got = ours(zone, &formats);
        let per_format = STAMPS.len() * 2;
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            if w != g && failures.len() < 20 {
                failures.push(format!(
                    "TZ={zone} datefmt={:?}: python {w:?}, mplog {g:?}",
                    formats[i / per_format]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
