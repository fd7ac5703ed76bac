//! dictConfig: CPython's `test_logging.ConfigDictTest` cases ported (config0 .. config15,
//! out_of_order), with the `ext://sys.stdout` handler of the originals replaced by a file
//! handler so the test reads what was written. Plus all-or-nothing, formatter defaults, the
//! three file formats reading the same, and every handler class; the error cases are in
//! `config_errors.rs`.

use std::path::{Path, PathBuf};

use mplog::config::DictConfig;
use mplog::{Level, Manager};

struct Case {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        Case { _dir: dir, out }
    }

    /// CPython's `hand1`: `%(levelname)s ++ %(message)s` at NOTSET, into `out.log`.
    fn hand1(&self, level: &str, extra: &str) -> String {
        format!(
            r#""hand1": {{"class": "logging.FileHandler", "formatter": "form1", "level": "{level}",
                         "filename": {:?} {extra}}}"#,
            self.out.display().to_string()
        )
    }

    /// A config with CPython's `form1` formatter and `hand1` handler.
    fn config(&self, rest: &str) -> DictConfig {
        self.config_with("NOTSET", "", rest)
    }

    fn config_with(&self, level: &str, extra: &str, rest: &str) -> DictConfig {
        let text = format!(
            r#"{{"version": 1,
                "formatters": {{"form1": {{"format": "%(levelname)s ++ %(message)s"}}}},
                "handlers": {{{}}},
                {rest}}}"#,
            self.hand1(level, extra)
        );
        DictConfig::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// The lines written so far, as `(level, message)`.
    fn lines(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let (level, msg) = l.split_once(" ++ ").expect("a form1 line");
                (level.to_owned(), msg.to_owned())
            })
            .collect()
    }
}

fn expect(lines: Vec<(String, String)>, want: &[(&str, &str)]) {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(lines, want);
}

fn error(json: &str) -> String {
    DictConfig::from_json(json).unwrap_err().to_string()
}

const CONFIG1_LOGGERS: &str = r#""loggers": {"compiler.parser": {"level": "DEBUG", "handlers": ["hand1"]}},
                                 "root": {"level": "WARNING"}"#;

#[test]
fn config0_root_at_warning() {
    let c = Case::new();
    let m = c
        .config(r#""root": {"level": "WARNING", "handlers": ["hand1"]}"#)
        .build()
        .unwrap();
    m.root().log(Level::INFO, "1");
    m.root().log(Level::ERROR, "2");
    expect(c.lines(), &[("ERROR", "2")]);
}

#[test]
fn config1_a_sub_logger() {
    let c = Case::new();
    let m = c.config(CONFIG1_LOGGERS).build().unwrap();
    let log = m.get_logger("compiler.parser");
    log.log(Level::INFO, "1");
    log.log(Level::ERROR, "2");
    expect(c.lines(), &[("INFO", "1"), ("ERROR", "2")]);
}

#[test]
fn config7_disables_loggers_left_out() {
    let c = Case::new();
    let m = Manager::new();
    c.config(CONFIG1_LOGGERS).apply_to(&m).unwrap();
    let parser = m.get_logger("compiler.parser");
    parser.log(Level::INFO, "1");
    parser.log(Level::ERROR, "2");
    c.config(
        r#""loggers": {"compiler.lexer": {"level": "DEBUG", "handlers": ["hand1"]}},
           "root": {"level": "WARNING"}"#,
    )
    .apply_to(&m)
    .unwrap();
    assert!(parser.disabled());
    parser.log(Level::ERROR, "lost");
    let lexer = m.get_logger("compiler.lexer");
    lexer.log(Level::INFO, "3");
    lexer.log(Level::ERROR, "4");
    expect(
        c.lines(),
        &[("INFO", "1"), ("ERROR", "2"), ("INFO", "3"), ("ERROR", "4")],
    );
}

#[test]
fn config8_keeps_loggers_when_told_and_children_of_configured_ones() {
    for disable in [false, true] {
        let c = Case::new();
        let m = Manager::new();
        let first = if disable {
            // config1a: the handler on the root.
            r#""loggers": {"compiler.parser": {"level": "DEBUG"}},
               "root": {"level": "WARNING", "handlers": ["hand1"]}"#
        } else {
            CONFIG1_LOGGERS
        };
        c.config(first).apply_to(&m).unwrap();
        let parser = m.get_logger("compiler.parser");
        let hyphenated = m.get_logger("compiler-hyphenated");
        parser.log(Level::INFO, "1");
        parser.log(Level::ERROR, "2");
        hyphenated.log(Level::CRITICAL, "3");
        // config8 / config8a.
        c.config(&format!(
            r#""disable_existing_loggers": {disable},
               "loggers": {{"compiler": {{"level": "DEBUG", "handlers": ["hand1"]}}, "compiler.lexer": {{}}}},
               "root": {{"level": "WARNING"}}"#
        ))
        .apply_to(&m)
        .unwrap();
        assert!(!parser.disabled(), "a child of a configured logger stays");
        assert_eq!(parser.level(), Level::NOTSET, "and is reset");
        assert_eq!(hyphenated.disabled(), disable);
        parser.log(Level::INFO, "4");
        parser.log(Level::ERROR, "5");
        let lexer = m.get_logger("compiler.lexer");
        lexer.log(Level::INFO, "6");
        lexer.log(Level::ERROR, "7");
        hyphenated.log(Level::CRITICAL, "8");
        // With config1 the hyphenated logger's records go to the root, which has no handler
        // (the last resort prints them on stderr); after config8a it is disabled.
        let mut want = vec![("INFO", "1"), ("ERROR", "2")];
        if disable {
            want.push(("CRITICAL", "3"));
        }
        want.extend([("INFO", "4"), ("ERROR", "5"), ("INFO", "6"), ("ERROR", "7")]);
        expect(c.lines(), &want);
    }
}

#[test]
fn config9_incremental_changes_handler_and_logger_levels() {
    let c = Case::new();
    let m = Manager::new();
    c.config_with(
        "WARNING",
        "",
        r#""loggers": {"compiler.parser": {"level": "WARNING", "handlers": ["hand1"]}},
           "root": {"level": "NOTSET"}"#,
    )
    .apply_to(&m)
    .unwrap();
    let log = m.get_logger("compiler.parser");
    log.log(Level::INFO, "1");
    let incremental = |handler_level: &str| {
        DictConfig::from_json(&format!(
            r#"{{"version": 1, "incremental": true,
                "handlers": {{"hand1": {{"level": "{handler_level}"}}}},
                "loggers": {{"compiler.parser": {{"level": "INFO"}}}}}}"#
        ))
        .unwrap()
    };
    incremental("WARNING").apply_to(&m).unwrap();
    log.log(Level::INFO, "2");
    incremental("INFO").apply_to(&m).unwrap();
    log.log(Level::INFO, "3");
    expect(c.lines(), &[("INFO", "3")]);
    // A handler the running configuration does not have: refused, nothing changed.
    let e = DictConfig::from_json(
        r#"{"version": 1, "incremental": true, "handlers": {"nope": {"level": "DEBUG"}},
            "loggers": {"compiler.parser": {"level": "CRITICAL"}}}"#,
    )
    .unwrap()
    .apply_to(&m)
    .unwrap_err();
    assert!(e.to_string().contains("undefined handler 'nope'"), "{e}");
    assert_eq!(log.level(), Level::INFO);
}

#[test]
fn config10_filters_on_handlers_and_loggers() {
    let c = Case::new();
    let m = c
        .config_with(
            "NOTSET",
            r#", "filters": ["filt1"]"#,
            r#""filters": {"filt1": {"name": "compiler.parser"}},
               "loggers": {"compiler.parser": {"level": "DEBUG", "filters": ["filt1"]}},
               "root": {"level": "WARNING", "handlers": ["hand1"]}"#,
        )
        .build()
        .unwrap();
    m.get_logger("compiler.parser").log(Level::WARNING, "1");
    m.get_logger("compiler").log(Level::WARNING, "2");
    m.get_logger("compiler.lexer").log(Level::WARNING, "3");
    m.get_logger("compiler.parser.codegen")
        .log(Level::ERROR, "4");
    expect(c.lines(), &[("WARNING", "1"), ("ERROR", "4")]);
    assert_eq!(
        error(r#"{"version": 1, "loggers": {"a": {"filters": ["nope"]}}}"#),
        "loggers.a: unable to configure logger 'a': filters: undefined filter 'nope'"
    );
}

/// config14 on a FileHandler: `foo` is an attribute no handler reads (a warning, as it has no
/// effect in CPython either); mplog's file handlers have no `terminator`, so setting it is a
/// clear error. The StreamHandler form of config14 runs in `config_cpython.rs`.
#[test]
fn config14_attributes_on_a_file_handler() {
    let c = Case::new();
    let text = format!(
        r#"{{"version": 1, "handlers": {{{}}}, "formatters": {{"form1": {{}}}}}}"#,
        c.hand1("NOTSET", r#", ".": {"foo": "bar"}"#)
    );
    let cfg = DictConfig::from_json(&text).unwrap();
    assert_eq!(cfg.warnings()[0].path(), "handlers.hand1..foo");
    let text = format!(
        r#"{{"version": 1, "handlers": {{{}}}, "formatters": {{"form1": {{}}}}}}"#,
        c.hand1("NOTSET", r#", ".": {"foo": "bar", "terminator": "!\n"}"#)
    );
    let e = DictConfig::from_json(&text).unwrap_err().to_string();
    assert!(
        e.contains(
            ".terminator: the handler attribute 'terminator' can be set on a StreamHandler only"
        ),
        "{e}"
    );
}

#[test]
fn config15_applying_a_file_config_twice_closes_the_first_handler() {
    let c = Case::new();
    let text = format!(
        r#"{{"version": 1, "handlers": {{"file": {{"class": "logging.FileHandler", "filename": {:?}}}}},
            "root": {{"handlers": ["file"]}}}}"#,
        c.out.display().to_string()
    );
    let cfg = DictConfig::from_json(&text).unwrap();
    let m = Manager::new();
    cfg.apply_to(&m).unwrap();
    let first = m.root().handlers();
    cfg.apply_to(&m).unwrap();
    assert_eq!(m.root().handlers().len(), 1);
    assert!(!std::sync::Arc::ptr_eq(&first[0], &m.root().handlers()[0]));
    m.root().log(Level::WARNING, "once");
    assert_eq!(std::fs::read_to_string(&c.out).unwrap(), "once\n");
}

#[test]
fn out_of_order_memory_target_and_dollar_style() {
    let c = Case::new();
    let text = |format: &str| {
        format!(
            r#"{{"version": 1,
                "formatters": {{"mySimpleFormatter": {{"format": "{format}", "style": "$"}}}},
                "handlers": {{
                    "fileGlobal": {{"class": "logging.FileHandler", "filename": {:?},
                                    "level": "DEBUG", "formatter": "mySimpleFormatter"}},
                    "bufferGlobal": {{"class": "logging.handlers.MemoryHandler", "capacity": 5,
                                      "formatter": "mySimpleFormatter", "target": "fileGlobal",
                                      "level": "DEBUG"}}}},
                "loggers": {{"mymodule": {{"level": "DEBUG", "handlers": ["bufferGlobal"],
                                           "propagate": "true"}}}}}}"#,
            c.out.display().to_string()
        )
    };
    let e = DictConfig::from_json(&text("%(asctime)s (%(name)s) %(levelname)s: %(message)s"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("formatters.mySimpleFormatter: unable to configure formatter 'mySimpleFormatter': invalid format"),
        "{e}"
    );
    let m = DictConfig::from_json(&text("(${name}) ${levelname}: ${message}"))
        .unwrap()
        .build()
        .unwrap();
    let log = m.get_logger("mymodule");
    for i in 0..4 {
        log.log(Level::DEBUG, format!("m{i}"));
    }
    assert_eq!(std::fs::read_to_string(&c.out).unwrap(), "");
    log.log(Level::DEBUG, "m4");
    let written = std::fs::read_to_string(&c.out).unwrap();
    assert_eq!(written.lines().count(), 5, "{written}");
    assert!(written.starts_with("(mymodule) DEBUG: m0\n"), "{written}");
}

#[test]
fn nothing_is_half_applied() {
    let c = Case::new();
    let m = Manager::new();
    c.config(CONFIG1_LOGGERS).apply_to(&m).unwrap();
    let parser = m.get_logger("compiler.parser");
    let before = parser.handlers();
    // The second handler's directory does not exist: the file cannot be opened.
    let missing = c.out.parent().unwrap().join("missing/x.log");
    let bad = format!(
        r#"{{"version": 1, "handlers": {{
            "a": {{"class": "logging.FileHandler", "filename": {:?}}},
            "b": {{"class": "logging.FileHandler", "filename": {:?}}}}},
            "loggers": {{"other": {{"handlers": ["a", "b"]}}}},
            "root": {{"level": "CRITICAL"}}}}"#,
        c.out.parent().unwrap().join("a.log").display().to_string(),
        missing.display().to_string()
    );
    let e = DictConfig::from_json(&bad)
        .unwrap()
        .apply_to(&m)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("handlers.b: unable to configure handler 'b': opening"),
        "{e}"
    );
    assert!(!parser.disabled());
    assert_eq!(m.root().level(), Level::WARNING);
    assert_eq!(parser.handlers().len(), before.len());
    parser.log(Level::INFO, "still");
    expect(c.lines(), &[("INFO", "still")]);
}

#[test]
fn formatter_defaults_style_and_datefmt() {
    let c = Case::new();
    let text = format!(
        r#"{{"version": 1,
            "formatters": {{
                "d": {{"format": "%(levelname)s ++ %(message)s %(custom)s %(n)d",
                       "defaults": {{"custom": "default", "n": 7}}}},
                "b": {{"format": "{{asctime}} {{message}}", "style": "{{", "datefmt": "%Y", "utc": true}}}},
            "handlers": {{
                "h": {{"class": "FileHandler", "filename": {:?}, "formatter": "d"}},
                "t": {{"class": "NullHandler", "formatter": "b"}}}},
            "root": {{"level": "INFO", "handlers": ["h", "t"]}}}}"#,
        c.out.display().to_string()
    );
    let m = DictConfig::from_json(&text).unwrap().build().unwrap();
    m.root().log(Level::INFO, "x");
    expect(c.lines(), &[("INFO", "x default 7")]);
    let e =
        error(r#"{"version": 1, "formatters": {"b": {"format": "%(message)s", "style": "?"}}}"#);
    assert!(e.contains("style must be one of"), "{e}");
    let e = error(r#"{"version": 1, "formatters": {"b": {"format": "no fields"}}}"#);
    assert!(e.contains("needs at least one field"), "{e}");
    // An empty datefmt (fileConfig's `datefmt=`) is none: the default asctime.
    let f = DictConfig::from_json(
        r#"{"version": 1, "formatters": {"e": {"format": "%(asctime)s", "datefmt": ""}},
            "handlers": {"h": {"class": "NullHandler", "formatter": "e"}}, "root": {"handlers": ["h"]}}"#,
    )
    .unwrap()
    .build()
    .unwrap();
    let mut record = mplog::Record::new("a", Level::INFO, "m");
    record.created_ns = 1_700_000_000_123_000_000;
    let mut line = String::new();
    let h = &f.root().handlers()[0];
    h.base().format(&record, &mut line).unwrap();
    assert_eq!(line.len(), "2023-11-14 22:13:20,123".len(), "{line}");
    assert!(line.ends_with(",123"), "{line}");
    // validate: false accepts a format with no field, as in Python.
    assert!(DictConfig::from_json(
        r#"{"version": 1, "formatters": {"b": {"format": "no fields", "validate": false}}}"#
    )
    .is_ok());
}

#[test]
fn toml_yaml_and_json_read_the_same_with_either_key_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("r.log");
    let log = log.display();
    let json = format!(
        r#"{{"version": 1, "handlers": {{"r": {{"class": "RotatingFileHandler", "filename": "{log}",
            "maxBytes": 10, "backupCount": 2}}}}, "root": {{"handlers": ["r"]}}}}"#
    );
    let yaml = format!(
        "version: 1\nhandlers:\n  r:\n    class: logging.handlers.RotatingFileHandler\n    \
         filename: {log}\n    max_bytes: 10\n    backup_count: 2\nroot:\n  handlers: [r]\n"
    );
    let toml = format!(
        "version = 1\n[handlers.r]\nclass = \"RotatingFileHandler\"\nfilename = \"{log}\"\n\
         maxBytes = 10\nbackupCount = 2\n[root]\nhandlers = [\"r\"]\n"
    );
    for cfg in [
        DictConfig::from_json(&json),
        DictConfig::from_yaml(&yaml),
        DictConfig::from_toml(&toml),
    ] {
        let m = cfg.unwrap().build().unwrap();
        for i in 0..3 {
            m.root().log(Level::ERROR, format!("line {i}"));
        }
        m.shutdown();
    }
    let rolled = |n: &str| Path::new(&format!("{log}{n}")).exists();
    assert!(rolled(".1") && rolled(".2") && !rolled(".3"));
}

#[test]
fn environment_variables_expand_in_values() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("MPLOG_TEST_DICT_CONFIG_DIR", dir.path());
    let cfg = DictConfig::from_yaml(
        "version: 1\n\
         formatters: {f: {format: '${levelname} ${message}', style: $}}\n\
         handlers:\n  h: {class: FileHandler, filename: '${MPLOG_TEST_DICT_CONFIG_DIR}/${MPLOG_TEST_NOPE:-app}.log', formatter: f}\n\
         root: {level: '${MPLOG_TEST_NOPE:-info}', handlers: [h]}\n",
    )
    .unwrap();
    let m = cfg.build().unwrap();
    m.root().log(Level::INFO, "expanded");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app.log")).unwrap(),
        "INFO expanded\n"
    );
    let e = DictConfig::from_yaml("version: 1\nroot: {level: '${MPLOG_TEST_NOPE}'}\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "root.level: environment variable 'MPLOG_TEST_NOPE' is not set (write ${MPLOG_TEST_NOPE:-default} for a default)"
    );
}

#[test]
fn every_handler_class_builds_from_its_python_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let text = format!(
        r#"{{"version": 1, "handlers": {{
            "s": {{"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
            "f": {{"class": "logging.FileHandler", "filename": "{}", "mode": "w", "encoding": "utf-8", "delay": true}},
            "w": {{"class": "logging.handlers.WatchedFileHandler", "filename": "{}"}},
            "r": {{"class": "logging.handlers.RotatingFileHandler", "filename": "{}", "maxBytes": 100, "backupCount": 1, "gzip": true}},
            "t": {{"class": "logging.handlers.TimedRotatingFileHandler", "filename": "{}", "when": "W0", "interval": 2, "utc": true, "atTime": "03:00:00"}},
            "l": {{"class": "mplog.LockedFileHandler", "filename": "{}"}},
            "lr": {{"class": "LockedRotatingFileHandler", "filename": "{}", "maxBytes": 100, "lockPath": "{}"}},
            "lt": {{"class": "concurrent_log_handler.ConcurrentTimedRotatingFileHandler", "filename": "{}", "when": "midnight"}},
            "m": {{"class": "logging.handlers.MemoryHandler", "capacity": 10, "flushLevel": "WARNING", "target": "f", "flushOnClose": false}},
            "n": {{"class": "logging.NullHandler"}}}},
            "root": {{"handlers": ["s", "f", "w", "r", "t", "l", "lr", "lt", "m", "n"]}}}}"#,
        p("f.log"),
        p("w.log"),
        p("r.log"),
        p("t.log"),
        p("l.log"),
        p("lr.log"),
        p("lr.lock"),
        p("lt.log")
    );
    let m = DictConfig::from_json(&text).unwrap().build().unwrap();
    let names: Vec<String> = m
        .root()
        .handlers()
        .iter()
        .filter_map(|h| h.base().name())
        .collect();
    assert_eq!(names, ["s", "f", "w", "r", "t", "l", "lr", "lt", "m", "n"]);
    assert!(!dir.path().join("f.log").exists(), "delayed");
    assert!(dir.path().join("lr.lock").exists());
    m.shutdown();
}
