//! CPython's `test_logging.ConfigDictTest` cases for the schema as CPython reads it, run on
//! both sides: each case is a sequence of dictConfigs applied to one hierarchy, each followed
//! by records logged through named loggers; mplog (`DictConfig::apply_to` on one `Manager`)
//! and python3 (`logging.config.dictConfig`) must write the same files. `{dir}` in a config
//! is the case's directory. Cases: config7/8/8a (loggers left out are disabled, children of
//! named ones are kept), config9 (incremental levels, `NOTSET` as a string), gh-90195,
//! keys CPython ignores (`qualname`, a formatter's `fmt`, top-level keys), `()` factories of
//! the standard classes with keyword arguments by their Python names, `.` attributes,
//! `cfg://` references (test_baseconfig, config11), `ext://os.devnull`, and config14's
//! `terminator` on a stream handler.

use std::path::Path;
use std::process::Command;

use mplog::config::DictConfig;
use mplog::{Level, Manager};

/// One step: a dictConfig (JSON, `{dir}` for the directory), then (logger, level, message).
type Records = &'static [(&'static str, u32, &'static str)];
type Step = (&'static str, Records);

const PYTHON: &str = r#"
import json, logging, logging.config, sys
steps = json.loads(sys.argv[1])
for config, records in steps:
    logging.config.dictConfig(json.loads(config))
    for name, level, msg in records:
        logging.getLogger(name).log(level, msg)
logging.shutdown()
"#;

fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap_or_default())
        })
        .collect();
    out.sort();
    out
}

/// Runs `steps` in mplog and in python3; returns mplog's files after checking they are
/// python3's (where python3 is).
fn compare(case: &str, steps: &[Step]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let at = |c: &str| c.replace("{dir}", &dir.path().display().to_string());
    let m = Manager::new();
    for (config, records) in steps {
        let cfg = DictConfig::from_json(&at(config)).unwrap_or_else(|e| panic!("{case}: {e}"));
        cfg.apply_to(&m).unwrap_or_else(|e| panic!("{case}: {e}"));
        for (name, level, msg) in *records {
            m.get_logger(name).log(Level::new(*level), msg.to_string());
        }
    }
    m.shutdown();
    let ours = files(dir.path());

    let py_dir = tempfile::tempdir().unwrap();
    let py_at = |c: &str| c.replace("{dir}", &py_dir.path().display().to_string());
    let steps_json: Vec<(String, Records)> = steps.iter().map(|(c, r)| (py_at(c), *r)).collect();
    let out = Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .arg(serde_json::to_string(&steps_json).unwrap())
        .output();
    match out {
        Ok(out) => {
            assert!(out.status.success(), "{case}: python3: {out:?}");
            assert_eq!(
                ours,
                files(py_dir.path()),
                "{case}: mplog and python3 differ"
            );
        }
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "python3 is needed under CI: {e}"
            );
            eprintln!("skipped the python3 side of {case}: {e}");
        }
    }
    ours
}

fn lines(files: &[(String, String)], name: &str) -> Vec<String> {
    files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// CPython's form1/hand1, into `{dir}/out.log`.
const HAND1: &str = r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#;

#[test]
fn config7_8_8a_and_90195_disable_the_loggers_left_out_as_cpython() {
    const C1: &str = concat!(
        r#"{"version": 1, "#,
        r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#,
        r#", "loggers": {"compiler.parser": {"level": "DEBUG", "handlers": ["hand1"]}}, "root": {"level": "WARNING"}}"#
    );
    const C7: &str = concat!(
        r#"{"version": 1, "#,
        r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#,
        r#", "loggers": {"compiler.lexer": {"level": "DEBUG", "handlers": ["hand1"]}}, "root": {"level": "WARNING"}}"#
    );
    // config8: `compiler` named, so `compiler.parser` (below it) is kept and reset.
    const C8: &str = concat!(
        r#"{"version": 1, "disable_existing_loggers": false, "#,
        r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#,
        r#", "loggers": {"compiler": {"level": "DEBUG", "handlers": ["hand1"]}, "compiler.lexer": {}}, "root": {"level": "WARNING"}}"#
    );
    // config8a: disable_existing_loggers true, yet `compiler` named keeps its children.
    const C8A: &str = concat!(
        r#"{"version": 1, "disable_existing_loggers": true, "#,
        r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#,
        r#", "loggers": {"compiler": {"level": "DEBUG", "handlers": ["hand1"]}, "compiler.lexer": {}}, "root": {"level": "WARNING"}}"#
    );
    let logs: &[(&str, u32, &str)] = &[
        ("compiler.parser", 20, "parser info"),
        ("compiler.parser", 40, "parser error"),
        ("compiler.lexer", 20, "lexer info"),
        ("compiler.lexer", 40, "lexer error"),
        ("other", 40, "other error"),
    ];
    let files = compare("config7", &[(C1, logs), (C7, logs)]);
    let out = lines(&files, "out.log");
    assert!(out.contains(&"ERROR ++ compiler.lexer ++ lexer error".to_string()));
    assert_eq!(
        out.iter().filter(|l| l.contains("parser")).count(),
        2,
        "{out:?}"
    );
    compare("config8", &[(C1, logs), (C8, logs)]);
    compare("config8a", &[(C1, logs), (C8A, logs)]);
    // gh-90195: a config that names nothing disables `a`; naming it again enables it, and
    // leaves `a.b`, disabled with it, disabled: CPython resets the loggers below a named one
    // (level, handlers, propagate) but does not enable them.
    const A: &str = concat!(
        r#"{"version": 1, "disable_existing_loggers": false, "#,
        r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#,
        r#", "loggers": {"a": {"level": "DEBUG", "handlers": ["hand1"]}}}"#
    );
    const A_DEFAULT: &str = concat!(
        r#"{"version": 1, "#,
        r#""formatters": {"form1": {"format": "%(levelname)s ++ %(name)s ++ %(message)s"}},
    "handlers": {"hand1": {"class": "logging.FileHandler", "formatter": "form1", "filename": "{dir}/out.log"}}"#,
        r#", "loggers": {"a": {"level": "DEBUG", "handlers": ["hand1"]}}}"#
    );
    let a: &[(&str, u32, &str)] = &[("a", 20, "a info"), ("a.b", 20, "a.b info")];
    let files = compare(
        "gh-90195",
        &[(A, a), (r#"{"version": 1}"#, a), (A_DEFAULT, a)],
    );
    assert_eq!(
        lines(&files, "out.log"),
        [
            "INFO ++ a ++ a info",
            "INFO ++ a.b ++ a.b info",
            "INFO ++ a ++ a info"
        ]
    );
}

#[test]
fn config9_incremental_levels_and_notset_strings() {
    let base = format!(
        r#"{{"version": 1, {HAND1}, "loggers": {{"compiler.parser": {{"level": "WARNING", "handlers": ["hand1"]}}}}, "root": {{"level": "NOTSET"}}}}"#
    );
    let base: &'static str = Box::leak(base.into_boxed_str());
    const INC_WARN: &str = r#"{"version": 1, "incremental": true, "handlers": {"hand1": {"level": "WARNING"}}, "loggers": {"compiler.parser": {"level": "INFO"}}}"#;
    const INC_NOTSET: &str = r#"{"version": 1, "incremental": true, "handlers": {"hand1": {"level": "NOTSET"}}, "loggers": {"compiler.parser": {"level": "NOTSET"}}}"#;
    const INC_ZERO: &str =
        r#"{"version": 1, "incremental": true, "handlers": {"hand1": {"level": 0}}}"#;
    let logs: &[(&str, u32, &str)] = &[
        ("compiler.parser", 10, "debug"),
        ("compiler.parser", 20, "info"),
        ("compiler.parser", 30, "warning"),
    ];
    let files = compare(
        "config9",
        &[
            (base, logs),
            (INC_WARN, logs),
            (INC_ZERO, logs),
            (INC_NOTSET, logs),
        ],
    );
    // After "NOTSET" the handler takes everything and the logger defers to the root (NOTSET).
    let out = lines(&files, "out.log");
    assert_eq!(
        out.last().map(String::as_str),
        Some("WARNING ++ compiler.parser ++ warning")
    );
    assert!(
        out.contains(&"DEBUG ++ compiler.parser ++ debug".to_string()),
        "{out:?}"
    );
}

#[test]
fn keys_cpython_ignores_change_nothing() {
    // gunicorn's `qualname`, a formatter's `fmt` (CPython then uses the default format),
    // top-level keys of a project's own, a filter's unknown key.
    const C: &str = r#"{"version": 1, "my_project": {"anchors": 1},
        "formatters": {"f": {"fmt": "%(name)s: %(message)s"}, "g": {"format": "%(name)s| %(message)s", "colour": "red"}},
        "filters": {"only_app": {"name": "app", "note": "x"}},
        "handlers": {
            "a": {"class": "logging.FileHandler", "formatter": "f", "filename": "{dir}/a.log"},
            "b": {"class": "logging.FileHandler", "formatter": "g", "filename": "{dir}/b.log", "filters": ["only_app"]}},
        "loggers": {"app.db": {"level": "INFO", "handlers": ["a", "b"], "qualname": "app.db", "channel": 1}}}"#;
    let logs: &[(&str, u32, &str)] = &[("app.db", 20, "connected"), ("app.db", 10, "hidden")];
    let files = compare("ignored keys", &[(C, logs)]);
    assert_eq!(lines(&files, "a.log"), ["connected"]);
    assert_eq!(lines(&files, "b.log"), ["app.db| connected"]);
    let cfg = DictConfig::from_json(C).unwrap();
    let paths: Vec<String> = cfg.warnings().iter().map(|w| w.path()).collect();
    assert_eq!(
        paths,
        [
            "my_project",
            "formatters.f.fmt",
            "formatters.g.colour",
            "filters.only_app.note",
            "loggers.app.db.channel",
            "loggers.app.db.qualname"
        ]
    );
}

#[test]
fn factories_of_the_standard_classes_take_python_keyword_arguments() {
    // config4a's `()` formatters with `format` (CPython retries it as `fmt`), `fmt` itself,
    // `logging.Filter` by `()`, handlers by `()`, `.` attributes no class reads.
    const C: &str = r#"{"version": 1,
        "formatters": {
            "a": {"()": "logging.Formatter", "format": "A %(levelname)s:%(name)s:%(message)s"},
            "b": {"()": "logging.Formatter", "fmt": "B {levelname} {message}", "style": "{", "validate": true},
            "c": {"()": "logging.Formatter", "fmt": "C %(message)s", ".": {"custom_property": "value"}}},
        "filters": {"app": {"()": "logging.Filter", "name": "app"}},
        "handlers": {
            "a": {"()": "logging.FileHandler", "formatter": "a", "filename": "{dir}/a.log", "mode": "w"},
            "b": {"()": "logging.handlers.RotatingFileHandler", "formatter": "b", "filename": "{dir}/b.log",
                  "maxBytes": 1000000, "backupCount": 2, "filters": ["app"]},
            "c": {"class": "logging.FileHandler", "formatter": "c", "filename": "{dir}/c.log", ".": {"foo": "bar"}}},
        "root": {"level": "DEBUG", "handlers": ["a", "b", "c"]}}"#;
    let logs: &[(&str, u32, &str)] = &[("app.web", 20, "get"), ("lib", 40, "boom")];
    let files = compare("factories", &[(C, logs)]);
    assert_eq!(
        lines(&files, "a.log"),
        ["A INFO:app.web:get", "A ERROR:lib:boom"]
    );
    assert_eq!(lines(&files, "b.log"), ["B INFO get"]);
    assert_eq!(lines(&files, "c.log"), ["C get", "C boom"]);
}

#[test]
fn cfg_and_ext_references_resolve_as_base_configurator_convert() {
    // test_baseconfig's values, used where they take effect; config11's `cfg://` section.
    const C: &str = r#"{"version": 1,
        "alist": ["DEBUG", "INFO", "ERROR"],
        "adict": {"d": "WARNING", "f": 40},
        "nest1": ["g", ["INFO", "i"], "j"],
        "paths": {"main": "{dir}/main.log"},
        "true_formatters": {"form1": {"format": "%(levelname)s ++ %(message)s"}},
        "formatters": "cfg://true_formatters",
        "handlers": {
            "main": {"class": "logging.FileHandler", "formatter": "form1", "filename": "cfg://paths.main",
                     "level": "cfg://alist[1]"},
            "null": {"class": "logging.FileHandler", "filename": "ext://os.devnull"}},
        "loggers": {
            "a": {"level": "cfg://adict.d", "handlers": ["main", "null"]},
            "b": {"level": "cfg://adict[f]", "handlers": ["main"]},
            "c": {"level": "cfg://nest1[1][0]", "handlers": ["main"]}}}"#;
    let logs: &[(&str, u32, &str)] = &[
        ("a", 20, "a info"),
        ("a", 30, "a warning"),
        ("b", 30, "b warning"),
        ("b", 40, "b error"),
        ("c", 10, "c debug"),
        ("c", 20, "c info"),
    ];
    let files = compare("cfg://", &[(C, logs)]);
    assert_eq!(
        lines(&files, "main.log"),
        ["WARNING ++ a warning", "ERROR ++ b error", "INFO ++ c info"]
    );
    // test_baseconfig's failures: each a clear error naming the reference.
    for (reference, says) in [
        ("cfg://nosuch", "no key 'nosuch' there"),
        ("cfg://!", "no key to start from"),
        ("cfg://adict[2]", "no key '2' there"),
        ("ext://os.system", "cannot be resolved: mplog loads no code"),
    ] {
        let text = format!(
            r#"{{"version": 1, "adict": {{"d": 1}}, "loggers": {{"a": {{"level": "{reference}"}}}}}}"#
        );
        let e = DictConfig::from_json(&text).unwrap_err().to_string();
        assert!(
            e.starts_with("loggers.a.level: ") && e.contains(says),
            "{e}"
        );
    }
}

/// config14's StreamHandler with `.terminator`, to stdout: run in a child so its stdout can be
/// read, beside python3.
#[test]
fn config14_terminator_on_a_stream_handler() {
    const C: &str = r#"{"version": 1,
        "formatters": {"form1": {"format": "%(levelname)s ++ %(message)s"}},
        "handlers": {"hand1": {"class": "logging.StreamHandler", "formatter": "form1", "level": "NOTSET",
                               "stream": "ext://sys.stdout", ".": {"foo": "bar", "terminator": "!\n"}}},
        "root": {"level": "WARNING", "handlers": ["hand1"]}}"#;
    if std::env::var("MPLOG_TEST_CONFIG14").is_ok() {
        use std::io::Write as _;
        println!("@@begin@@");
        std::io::stdout().flush().unwrap();
        let m = DictConfig::from_json(C).unwrap().build().unwrap();
        m.root().log(Level::WARNING, "Exclamation");
        m.shutdown();
        println!("@@end@@");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "config14_terminator_on_a_stream_handler",
            "--nocapture",
        ])
        .env("MPLOG_TEST_CONFIG14", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let ours = text
        .split_once("@@begin@@\n")
        .and_then(|(_, t)| t.split_once("@@end@@\n"))
        .map(|(t, _)| t.to_owned())
        .unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!(ours, "WARNING ++ Exclamation!\n");
    let script = format!(
        "import json, logging, logging.config\nlogging.config.dictConfig(json.loads({C:?}))\n\
         logging.warning('Exclamation')\n"
    );
    match Command::new("python3").arg("-c").arg(script).output() {
        Ok(py) => {
            assert!(py.status.success(), "{py:?}");
            assert_eq!(ours, String::from_utf8_lossy(&py.stdout));
        }
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "python3 is needed under CI: {e}"
            );
            eprintln!("skipped the python3 side: {e}");
        }
    }
}
