//! The logging cookbook's listener configuration (`examples/configs/cookbook.json`, the dict of
//! "a more elaborate multiprocessing example") routes as in Python: console at INFO, the `foo`
//! logger's records also in `mplog-foo.log`, `mplog-errors.log` only at ERROR and above, and
//! `mplog.log` everything. The records go through a listener thread configured by the file, as
//! in the cookbook; a child process does the logging so its stderr (the console) can be read.
//! Where python3 is installed, Python's own output for the same dict and records is compared too.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use mplog::queue::{Endpoint, QueueListener};
use mplog::Level;

const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/configs/cookbook.json"
);
const ROLE: &str = "MPLOG_TEST_COOKBOOK_ROLE";

/// What is logged: (logger, level, message).
const RECORDS: &[(&str, Level, &str)] = &[
    ("", Level::DEBUG, "root debug"),
    ("", Level::INFO, "root info"),
    ("foo", Level::DEBUG, "foo debug"),
    ("foo.bar", Level::INFO, "foo.bar info"),
    ("foo", Level::ERROR, "foo error"),
    ("foobar", Level::WARNING, "foobar warning"),
    ("a.b", Level::ERROR, "a.b error"),
    ("a", Level::CRITICAL, "a critical"),
];

/// The routing Python gives (checked against python3 below when it is there):
/// (file, messages in order).
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "console",
        &[
            "root info",
            "foo.bar info",
            "foo error",
            "foobar warning",
            "a.b error",
            "a critical",
        ],
    ),
    (
        "mplog.log",
        &[
            "root debug",
            "root info",
            "foo debug",
            "foo.bar info",
            "foo error",
            "foobar warning",
            "a.b error",
            "a critical",
        ],
    ),
    ("mplog-foo.log", &["foo debug", "foo.bar info", "foo error"]),
    (
        "mplog-errors.log",
        &["foo error", "a.b error", "a critical"],
    ),
];

/// The child: a worker hierarchy (root at DEBUG with the listener's in-process handler) and
/// the listener thread configured by the cookbook's dict.
#[test]
fn child() {
    if std::env::var(ROLE).is_err() {
        return;
    }
    mplog::record::set_process_name("MainProcess");
    let listener = QueueListener::from_config(CONFIG)
        .expect("cookbook.json")
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .expect("listener");
    let workers = mplog::Manager::new();
    workers.root().set_level(Level::DEBUG);
    workers
        .root()
        .add_handler(Arc::new(listener.local_handler()));
    for (name, level, msg) in RECORDS {
        workers.get_logger(name).log(*level, *msg);
    }
    listener.stop();
    if let Some(m) = listener.manager() {
        m.shutdown();
    }
}

/// Each file's lines as (name, level, processName, message), asctime dropped; the console's
/// lines are the message alone.
fn parse(dir: &Path, console: &str) -> Vec<(String, Vec<String>)> {
    let mut out = vec![(
        "console".to_owned(),
        console.lines().map(str::to_owned).collect(),
    )];
    for (file, _) in &EXPECTED[1..] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        let lines = text
            .lines()
            .map(|l| {
                // `2024-01-01 00:00:00,123 ` is 24 bytes.
                let rest = l.get(24..).unwrap_or_else(|| panic!("short line {l:?}"));
                rest.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect();
        out.push(((*file).to_owned(), lines));
    }
    out
}

fn expected_messages(parsed: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    parsed
        .iter()
        .map(|(file, lines)| {
            let msgs = lines
                .iter()
                .map(|l| {
                    let msg = RECORDS
                        .iter()
                        .map(|r| r.2)
                        .find(|m| l.ends_with(m))
                        .unwrap_or_else(|| panic!("unknown line {l:?} in {file}"));
                    msg.to_owned()
                })
                .collect();
            (file.clone(), msgs)
        })
        .collect()
}

#[test]
fn cookbook_dict_routes_as_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(ROLE, "child")
        .env("MPLOG_LOG_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let console = String::from_utf8_lossy(&out.stderr);
    let ours = parse(dir.path(), &console);
    let want: Vec<(String, Vec<String>)> = EXPECTED
        .iter()
        .map(|(f, m)| (f.to_string(), m.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(expected_messages(&ours), want);
    // The detailed format: `name-15 levelname-8 processName-10 message`.
    let foo_error = &ours[3].1[0];
    assert_eq!(foo_error, "foo ERROR MainProcess foo error");

    // Python's own run of the same dict and records, where python3 is installed.
    let py_dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = RECORDS
        .iter()
        .map(|(n, l, m)| format!("({n:?}, {}, {m:?})", l.as_u32()))
        .collect();
    let script = format!(
        "import json, logging, logging.config, sys\n\
         text = open({CONFIG:?}).read().replace('${{MPLOG_LOG_DIR:-.}}', sys.argv[1])\n\
         logging.config.dictConfig(json.loads(text))\n\
         for name, level, msg in [{}]:\n    logging.getLogger(name).log(level, msg)\n\
         logging.shutdown()\n",
        records.join(", ")
    );
    let py = match Command::new("python3")
        .arg("-c")
        .arg(&script)
        .arg(py_dir.path())
        .output()
    {
        Ok(py) => py,
        Err(e) => {
            eprintln!("python3 not run ({e}): compared with the recorded routing only");
            return;
        }
    };
    assert!(py.status.success(), "{py:?}");
    let theirs = parse(py_dir.path(), &String::from_utf8_lossy(&py.stderr));
    assert_eq!(ours, theirs, "mplog and Python differ");
}
