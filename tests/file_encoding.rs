//! `encoding` and `errors` on the file handlers, with python3 as the oracle: each codec's table
//! against Python's `str.encode`, and the bytes of files written by mplog's handlers against
//! the files CPython's `logging` handlers write for the same records and options (appending to
//! a file with content, truncating, delaying, rolling over by size).

mod python;

use std::path::Path;
use std::process::Stdio;

use mplog::handler::{
    Encoding, Errors, FileHandler, FileMode, Handler, LockedFileHandler, RotatingFileHandler,
    WatchedFileHandler,
};
use mplog::{Level, Record};

const CODECS: &[&str] = &[
    "utf-8",
    "utf-8-sig",
    "latin-1",
    "ascii",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-be",
    "cp1250",
    "cp1251",
    "cp1252",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "iso8859-2",
    "iso8859-3",
    "iso8859-4",
    "iso8859-5",
    "iso8859-6",
    "iso8859-7",
    "iso8859-8",
    "iso8859-10",
    "iso8859-13",
    "iso8859-14",
    "iso8859-15",
    "iso8859-16",
    "koi8-r",
    "cp866",
    "mac-roman",
];

const TABLE: &str = r#"
import sys, json
codecs = sys.argv[1].split(",")
chars = list(range(0, 0x3000)) + [c for c in range(0x3000, 0x10000, 7) if not 0xd800 <= c < 0xe000] + [0x1f600, 0x10348, 0x20000]
out = {}
for name in codecs:
    row = []
    for c in chars:
        try:
            row.append(chr(c).encode(name).hex())
        except UnicodeEncodeError:
            row.append("-")
    out[name] = row
print(json.dumps({"chars": chars, "codecs": out}))
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_codec_encodes_as_python() {
    let Some(mut py) = python::python3("every_codec_encodes_as_python") else {
        return;
    };
    let out = py
        .args(["-c", TABLE, &CODECS.join(",")])
        .stderr(Stdio::inherit())
        .output()
        .expect("python3");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let chars: Vec<u32> = serde_json::from_value(v["chars"].clone()).unwrap();
    let mut failures = Vec::new();
    for codec in CODECS {
        let want: Vec<String> = serde_json::from_value(v["codecs"][codec].clone()).unwrap();
        let enc = Encoding::new(codec).unwrap();
        let mut diffs = 0;
        for (c, want) in chars.iter().zip(&want) {
            let ch = char::from_u32(*c).unwrap();
            let mut buf = Vec::new();
            let got = match enc.encode(ch.encode_utf8(&mut [0; 4]), true, &mut buf) {
                Ok(()) => hex(&buf),
                Err(_) => "-".to_owned(),
            };
            if &got != want {
                diffs += 1;
                if diffs <= 3 {
                    failures.push(format!("{codec} U+{c:04X}: python {want}, mplog {got}"));
                }
            }
        }
        if diffs > 3 {
            failures.push(format!("{codec}: {diffs} differences in all"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const MESSAGES: &[&str] = &["plain", "café", "5 €", "smile 😀", "漢字 and ü", "tab\tend"];

const WRITER: &str = r#"
import json, logging, logging.handlers, sys
logging.raiseExceptions = False
for case in json.load(sys.stdin):
    path = case["dir"] + "/app.log"
    if case["existing"] is not None:
        with open(path, "wb") as f:
            f.write(bytes.fromhex(case["existing"]))
    cls = getattr(logging.handlers, case["class"], None) or getattr(logging, case["class"])
    h = cls(path, **case["kwargs"])
    h.setFormatter(logging.Formatter("%(message)s"))
    for m in case["messages"]:
        h.handle(logging.makeLogRecord({"msg": m, "levelno": 20}))
    h.close()
"#;

/// One file CPython's `logging.<class>(dir/app.log, **kwargs)` writes (over `existing`).
struct Case {
    dir: std::path::PathBuf,
    class: &'static str,
    kwargs: serde_json::Value,
    existing: Option<&'static [u8]>,
}

/// Has python3 write every case; `None` when python3 is missing (skipped).
fn python_writes(cases: &[Case]) -> Option<()> {
    let mut py = python::python3("file_encoding")?;
    let job: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            std::fs::create_dir_all(&c.dir).unwrap();
            serde_json::json!({
                "dir": c.dir.to_str().unwrap(),
                "class": c.class,
                "kwargs": c.kwargs,
                "existing": c.existing.map(hex),
                "messages": MESSAGES,
            })
        })
        .collect();
    let mut child = py
        .args(["-c", WRITER])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        serde_json::to_string(&job).unwrap().as_bytes(),
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    Some(())
}

fn ours_writes(h: &dyn Handler) {
    for m in MESSAGES {
        h.handle(&Record::new("a", Level::INFO, *m));
    }
    h.flush().expect("flushed");
}

/// Every file under `dir`, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

fn py_errors(errors: Errors) -> &'static str {
    match errors {
        Errors::Strict => "strict",
        Errors::Replace => "replace",
        Errors::Ignore => "ignore",
        Errors::BackslashReplace => "backslashreplace",
        Errors::XmlCharRefReplace => "xmlcharrefreplace",
        Errors::NameReplace => "namereplace",
    }
}

#[test]
fn file_handlers_write_the_bytes_python_writes() {
    let errors = [
        Errors::Strict,
        Errors::Replace,
        Errors::Ignore,
        Errors::BackslashReplace,
        Errors::XmlCharRefReplace,
        Errors::NameReplace,
    ];
    let existing: &[Option<&'static [u8]>] = &[None, Some(b"old\n")];
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for codec in [
        "latin-1",
        "Latin1",
        "cp1252",
        "ascii",
        "utf-16",
        "utf-8-sig",
        "UTF8",
        "mac-roman",
    ] {
        for errors in errors {
            for before in existing {
                for (mode, delay) in [("a", false), ("w", false), ("a", true)] {
                    let n = cases.len();
                    let kwargs = serde_json::json!({
                        "encoding": codec, "errors": py_errors(errors), "mode": mode, "delay": delay,
                    });
                    cases.push(Case {
                        dir: tmp.path().join(format!("{n}-py")),
                        class: "FileHandler",
                        kwargs: kwargs.clone(),
                        existing: *before,
                    });
                    let our_dir = tmp.path().join(format!("{n}-rs"));
                    std::fs::create_dir_all(&our_dir).unwrap();
                    let path = our_dir.join("app.log");
                    if let Some(bytes) = before {
                        std::fs::write(&path, bytes).unwrap();
                    }
                    let enc = Encoding::new(codec).unwrap().errors(errors);
                    let h = FileHandler::builder(&path)
                        .encoding(enc)
                        .mode(if mode == "w" {
                            FileMode::Truncate
                        } else {
                            FileMode::Append
                        })
                        .delay(delay)
                        .build()
                        .unwrap();
                    ours_writes(&h);
                    drop(h);
                    ours.push((our_dir, kwargs, before.is_some()));
                }
            }
        }
    }
    if python_writes(&cases).is_none() {
        return;
    }
    let failures: Vec<String> = cases
        .iter()
        .zip(&ours)
        .filter(|(case, (dir, _, _))| files(&case.dir) != files(dir))
        .map(|(_, (_, kwargs, existing))| format!("{kwargs} over existing content: {existing}"))
        .collect();
    assert!(
        failures.is_empty(),
        "differ from python3:\n{}",
        failures.join("\n")
    );
}

#[test]
fn rollover_counts_characters_and_starts_each_file_with_its_bom() {
    let tmp = tempfile::tempdir().unwrap();
    let codecs = ["utf-16", "utf-8-sig", "latin-1", "utf-8"];
    let cases: Vec<Case> = codecs
        .iter()
        .map(|codec| Case {
            dir: tmp.path().join(format!("{codec}-py")),
            class: "RotatingFileHandler",
            kwargs: serde_json::json!({
                "encoding": codec, "errors": "replace", "maxBytes": 24, "backupCount": 9,
            }),
            existing: None,
        })
        .collect();
    if python_writes(&cases).is_none() {
        return;
    }
    for (codec, case) in codecs.iter().zip(&cases) {
        let our_dir = tmp.path().join(format!("{codec}-rs"));
        std::fs::create_dir_all(&our_dir).unwrap();
        let enc = Encoding::new(codec).unwrap().errors(Errors::Replace);
        let h = RotatingFileHandler::builder(our_dir.join("app.log"))
            .encoding(enc)
            .max_bytes(24)
            .backup_count(9)
            .build()
            .unwrap();
        ours_writes(&h);
        drop(h);
        assert!(files(&our_dir).len() >= 2, "{codec}: rolled over");
        assert_eq!(files(&case.dir), files(&our_dir), "{codec}");
    }
}

#[test]
fn watched_and_locked_handlers_encode_too() {
    let tmp = tempfile::tempdir().unwrap();
    let case = Case {
        dir: tmp.path().join("py"),
        class: "WatchedFileHandler",
        kwargs: serde_json::json!({"encoding": "cp1252", "errors": "xmlcharrefreplace"}),
        existing: None,
    };
    if python_writes(std::slice::from_ref(&case)).is_none() {
        return;
    }
    let enc = Encoding::new("windows-1252")
        .unwrap()
        .errors(Errors::XmlCharRefReplace);
    let watched = tmp.path().join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    let h = WatchedFileHandler::builder(watched.join("app.log"))
        .encoding(enc)
        .build()
        .unwrap();
    ours_writes(&h);
    drop(h);
    assert_eq!(files(&case.dir), files(&watched));
    let locked = tmp.path().join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    let h = LockedFileHandler::builder(locked.join("app.log"))
        .lock_path(tmp.path().join("app.lock"))
        .encoding(enc)
        .build()
        .unwrap();
    ours_writes(&h);
    drop(h);
    assert_eq!(files(&case.dir), files(&locked));
}

#[test]
fn strict_refusal_is_reported_and_the_record_not_written() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("app.log");
    let h = FileHandler::builder(&path)
        .encoding(Encoding::new("ascii").unwrap())
        .build()
        .unwrap();
    h.handle(&Record::new("a", Level::INFO, "ok"));
    let err = h.emit(&Record::new("a", Level::INFO, "5 €")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "'ascii' codec can't encode character '\\u20ac' in position 2: ordinal not in range(128)"
    );
    h.handle(&Record::new("a", Level::INFO, "after"));
    drop(h);
    assert_eq!(std::fs::read(&path).unwrap(), b"ok\nafter\n");
}

const CONFIG: &str = r#"{
  "version": 1,
  "formatters": {"f": {"format": "%(levelname)s %(name)s: %(message)s"}},
  "handlers": {
    "latin": {"class": "logging.FileHandler", "formatter": "f", "filename": "DIR/latin.log",
              "encoding": "ISO-8859-1", "errors": "backslashreplace"},
    "sixteen": {"class": "logging.handlers.RotatingFileHandler", "formatter": "f",
                "filename": "DIR/sixteen.log", "encoding": "UTF16", "maxBytes": 60,
                "backupCount": 5},
    "ascii": {"class": "logging.handlers.WatchedFileHandler", "formatter": "f",
              "filename": "DIR/ascii.log", "encoding": "us-ascii", "errors": "namereplace",
              "mode": "w"}
  },
  "root": {"level": "DEBUG", "handlers": ["latin", "sixteen", "ascii"]}
}"#;

const CONFIG_RUN: &str = r#"
import json, logging, logging.config, sys
logging.config.dictConfig(json.loads(sys.argv[1]))
for m in json.loads(sys.argv[2]):
    logging.getLogger("app").info(m)
logging.shutdown()
"#;

#[test]
fn dict_config_encoding_and_errors_write_what_python_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let py_dir = tmp.path().join("py");
    let our_dir = tmp.path().join("rs");
    std::fs::create_dir_all(&py_dir).unwrap();
    std::fs::create_dir_all(&our_dir).unwrap();
    let Some(mut py) = python::python3("dict_config_encoding") else {
        return;
    };
    let py_config = CONFIG.replace("DIR", py_dir.to_str().unwrap());
    let status = py
        .args([
            "-c",
            CONFIG_RUN,
            &py_config,
            &serde_json::to_string(MESSAGES).unwrap(),
        ])
        .status()
        .expect("python3");
    assert!(status.success());
    let m = mplog::Manager::new();
    mplog::config::DictConfig::from_json(&CONFIG.replace("DIR", our_dir.to_str().unwrap()))
        .unwrap()
        .apply_to(&m)
        .unwrap();
    for msg in MESSAGES {
        m.get_logger("app").log(Level::INFO, *msg);
    }
    m.shutdown();
    assert!(files(&our_dir).len() > 3, "sixteen.log rolled over");
    assert_eq!(files(&py_dir), files(&our_dir));
}

#[test]
fn strict_errors_say_what_python_says() {
    let cases = [
        ("latin-1", "ab€€c"),
        ("latin-1", "x😀"),
        ("ascii", "é"),
        ("ascii", "naïve café"),
        ("cp1252", "aĀĀ€"),
        ("cp1252", "\u{81}"),
        ("iso8859-5", "Жé"),
        ("koi8-r", "abc€"),
    ];
    let Some(mut py) = python::python3("strict_errors_say_what_python_says") else {
        return;
    };
    let script = r#"
import json, sys
out = []
for codec, text in json.loads(sys.argv[1]):
    try:
        text.encode(codec)
        out.append("ok")
    except UnicodeEncodeError as e:
        out.append(str(e))
print(json.dumps(out))
"#;
    let out = py
        .args(["-c", script, &serde_json::to_string(&cases).unwrap()])
        .output()
        .expect("python3");
    let want: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    for ((codec, text), want) in cases.iter().zip(want) {
        let got = match Encoding::new(codec)
            .unwrap()
            .encode(text, false, &mut Vec::new())
        {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, want, "{codec} {text:?}");
    }
}

const INI: &str = r#"[loggers]
keys=root

[handlers]
keys=latin,timed

[formatters]
keys=f

[logger_root]
level=DEBUG
handlers=latin,timed

[handler_latin]
class=FileHandler
formatter=f
args=('DIR/latin.log', 'w', 'latin1', False, 'xmlcharrefreplace')

[handler_timed]
class=handlers.TimedRotatingFileHandler
formatter=f
args=('DIR/timed.log', 'D', 1, 3, 'utf-8-sig')

[formatter_f]
format=%(levelname)s|%(message)s
"#;

const INI_RUN: &str = r#"
import io, json, logging, logging.config, sys
logging.config.fileConfig(io.StringIO(sys.argv[1]))
for m in json.loads(sys.argv[2]):
    logging.getLogger("app").info(m)
logging.shutdown()
"#;

#[test]
fn file_config_positional_encoding_and_errors_as_python() {
    let tmp = tempfile::tempdir().unwrap();
    let py_dir = tmp.path().join("py");
    let our_dir = tmp.path().join("rs");
    std::fs::create_dir_all(&py_dir).unwrap();
    std::fs::create_dir_all(&our_dir).unwrap();
    let Some(mut py) = python::python3("file_config_encoding") else {
        return;
    };
    let ini = INI.replace("DIR", py_dir.to_str().unwrap());
    let status = py
        .args([
            "-c",
            INI_RUN,
            &ini,
            &serde_json::to_string(MESSAGES).unwrap(),
        ])
        .status()
        .expect("python3");
    assert!(status.success());
    let m = mplog::Manager::new();
    mplog::config::DictConfig::from_ini(&INI.replace("DIR", our_dir.to_str().unwrap()))
        .unwrap()
        .apply_to(&m)
        .unwrap();
    for msg in MESSAGES {
        m.get_logger("app").log(Level::INFO, *msg);
    }
    m.shutdown();
    assert_eq!(files(&py_dir), files(&our_dir));
}
