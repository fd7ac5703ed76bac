//! Real-world logging configurations (`tests/data/corpus/`, sources in its README) as a new
//! user would try them: each is checked by `mplog check`; each whose classes mplog has runs the
//! same records through an mplog listener (in-process endpoint, the listener's own dispatch)
//! and through python3's `dictConfig`/`fileConfig` with the cookbook's listener loop
//! (`logging.getLogger(record.name).handle(record)`), each in its own empty directory: every
//! file written and the console output must be identical. The others must be refused only for
//! a class of the project's own code, saying how to register it.

use std::path::{Path, PathBuf};
use std::process::Command;

use mplog::config::DictConfig;
use mplog::handler::Handler;
use mplog::queue::{Endpoint, QueueListener};
use mplog::{Level, Record};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");
const MPLOG: &str = env!("CARGO_BIN_EXE_mplog");
const ROLE: &str = "MPLOG_TEST_CORPUS_FILE";
const BEGIN: &str = "@@corpus-begin@@\n";
const END: &str = "@@corpus-end@@\n";

/// The files refused, and the class each is refused for (the project's own code).
const REFUSED: &[(&str, &str)] = &[
    (
        "airflow_default_logging_config.json",
        "airflow.utils.log.timezone_aware.TimezoneAware",
    ),
    ("django_default_logging.json", "django.utils.log."),
    ("mlflow_logging_config.json", "mlflow.utils.logging_utils."),
    (
        "python_cookbook_django_example.json",
        "project.logging.SpecialFilter",
    ),
    ("uvicorn_logging_config.json", "uvicorn.logging."),
    ("kedro_default_logging.yml", "kedro.logging.RichHandler"),
    ("prefect_logging.yml", "prefect.logging."),
];

/// Every record's fixed attributes, the same on both sides.
const CREATED_NS: i64 = 1_700_000_000_123_000_000;
const PATHNAME: &str = "/srv/app/views.py";
const LINENO: u32 = 42;
const FUNC: &str = "handle_request";
const THREAD: u64 = 140_000_000_000_001;
const PROCESS: u32 = 4242;

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    files.sort();
    files
}

/// (logger, level, message): the usual loggers and every level, plus each configured
/// logger and a child of it.
fn records(config: &DictConfig) -> Vec<(String, u32, String)> {
    let mut names: Vec<String> = ["root", "app", "app.db"].map(String::from).to_vec();
    for (name, _) in config.levels() {
        if !name.is_empty() {
            names.push(name.clone());
            names.push(format!("{name}.child"));
        }
    }
    names.dedup();
    let mut out = Vec::new();
    for name in &names {
        for level in [10, 20, 30, 40, 50] {
            out.push((name.clone(), level, format!("{name} at {level}")));
        }
    }
    out
}

fn record(name: &str, level: u32, msg: &str) -> Record {
    let mut r = Record::new(name, Level::new(level), msg.to_owned());
    r.created_ns = CREATED_NS;
    r.relative_created_ns = 12_500_000;
    r.pathname = PATHNAME.into();
    r.lineno = LINENO;
    r.func_name = FUNC.into();
    r.thread = THREAD;
    r.thread_name = "MainThread".into();
    r.process = PROCESS;
    r.process_name = "MainProcess".into();
    r.task_name = None;
    // The fields projects' formats name (Sanic's access log, Synapse's request, Prefect's runs).
    r.with_extra("request", "GET /health")
        .and_then(|r| r.with_extra("host", "127.0.0.1"))
        .and_then(|r| r.with_extra("status", 200i64))
        .and_then(|r| r.with_extra("byte", 512i64))
        .and_then(|r| r.with_extra("flow_run_name", "nightly"))
        .and_then(|r| r.with_extra("task_run_name", "extract"))
        .expect("extras")
}

/// The child: the file's configuration on a listener, the records sent through it.
#[test]
fn child() {
    let Ok(file) = std::env::var(ROLE) else {
        return;
    };
    use std::io::Write as _;
    let config = DictConfig::from_path(Path::new(&file)).expect("config");
    let records = records(&config);
    print!("{BEGIN}");
    eprint!("{BEGIN}");
    std::io::stdout().flush().unwrap();
    let listener = QueueListener::from_config(config)
        .expect("build")
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .expect("listener");
    let queue = listener.local_handler();
    for (name, level, msg) in &records {
        queue.handle(&record(name, *level, msg));
    }
    listener.stop();
    if let Some(m) = listener.manager() {
        m.shutdown();
    }
    print!("{END}");
    eprint!("{END}");
    std::io::stdout().flush().unwrap();
}

/// What lies between the markers the child printed.
fn between(text: &str) -> String {
    let start = text.find(BEGIN).map(|i| i + BEGIN.len()).unwrap_or(0);
    let end = text[start..].find(END).map_or(text.len(), |i| start + i);
    text[start..end].to_owned()
}

/// Every file under `dir` (relative path, contents), sorted.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((
            name,
            String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
        ));
    }
    out.sort();
    out
}

const PYTHON: &str = r#"
import json, logging, logging.config, sys
path, records = sys.argv[1], json.loads(sys.argv[2])
if path.endswith((".ini", ".conf", ".cfg")):
    logging.config.fileConfig(path)
elif path.endswith(".json"):
    logging.config.dictConfig(json.load(open(path)))
else:
    import yaml
    logging.config.dictConfig(yaml.safe_load(open(path)))
for name, level, msg in records:
    r = logging.LogRecord(name, level, "/srv/app/views.py", 42, msg, None, None, "handle_request")
    r.created = 1700000000.123
    r.msecs = 123.0
    r.relativeCreated = 12.5
    r.thread = 140000000000001
    r.threadName = "MainThread"
    r.process = 4242
    r.processName = "MainProcess"
    r.request, r.host, r.status, r.byte = "GET /health", "127.0.0.1", 200, 512
    r.flow_run_name, r.task_run_name = "nightly", "extract"
    logging.getLogger(name).handle(r)
logging.shutdown()
"#;

struct Run {
    stdout: String,
    stderr: String,
    files: Vec<(String, String)>,
}

fn run_mplog(file: &Path) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(ROLE, file)
        .env("TZ", "UTC")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {out:?}", file.display());
    Run {
        stdout: between(&String::from_utf8_lossy(&out.stdout)),
        stderr: between(&String::from_utf8_lossy(&out.stderr)),
        files: files(dir.path()),
    }
}

fn run_python(file: &Path, records: &[(String, u32, String)]) -> Option<Run> {
    let dir = tempfile::tempdir().unwrap();
    let json = serde_json::to_string(records).unwrap();
    let out = match Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .arg(file)
        .arg(json)
        .env("TZ", "UTC")
        .current_dir(dir.path())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "python3 is needed under CI: {e}"
            );
            eprintln!("skipped: python3 not run ({e})");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "python3 on {}: {out:?}",
        file.display()
    );
    Some(Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        files: files(dir.path()),
    })
}

#[test]
fn the_corpus_is_large_enough_and_documented() {
    let files = corpus();
    assert!(files.len() >= 15, "{} configurations", files.len());
    let readme = std::fs::read_to_string(format!("{CORPUS}/README.md")).unwrap();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is not in the README"
        );
    }
}

#[test]
fn every_config_is_checked_and_the_runnable_ones_write_what_python_writes() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    let mut compared = 0;
    for file in corpus() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let check = Command::new(MPLOG)
            .arg("check")
            .arg(&file)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&check.stdout).into_owned();
        let refused = REFUSED.iter().find(|(n, _)| *n == name);
        match (check.status.success(), refused) {
            (false, Some((_, class))) => {
                assert!(said.contains(class), "{name}: {said}");
                if REFUSED.iter().any(|(n, _)| *n == name) {
                    assert!(
                        said.contains("mplog::config::Registry::new()"),
                        "{name}: {said}"
                    );
                }
                continue;
            }
            (false, None) => panic!("{name} is refused: {said}"),
            (true, Some(_)) if REFUSED.iter().any(|(n, _)| *n == name) => {
                panic!("{name} was expected to be refused: {said}")
            }
            (true, _) => {}
        }
        let config = DictConfig::from_path(&file).unwrap();
        let ours = run_mplog(&file);
        let Some(theirs) = run_python(&file, &records(&config)) else {
            continue;
        };
        assert_eq!(ours.stdout, theirs.stdout, "{name}: stdout");
        assert_eq!(ours.stderr, theirs.stderr, "{name}: stderr");
        assert_eq!(ours.files, theirs.files, "{name}: files");
        assert!(
            !theirs.stdout.is_empty() || !theirs.stderr.is_empty() || !theirs.files.is_empty(),
            "{name}: nothing was written"
        );
        compared += 1;
    }
    assert!(
        compared >= 8,
        "only {compared} configurations compared with Python"
    );
}
