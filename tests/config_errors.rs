//! Configuration errors: CPython's failing `ConfigDictTest` cases (config2, 2a, 2b, 3, 4, 5, 6,
//! 12, 13) and the rest of what a configuration can get wrong, each named by place and cause
//! in the text of Python's chain (`handlers.hand1: unable to configure handler 'hand1': ...`).

use mplog::config::DictConfig;

fn error(json: &str) -> String {
    DictConfig::from_json(json).unwrap_err().to_string()
}

#[test]
fn config2_errors_name_the_place_and_cause() {
    let base = |handler: &str, root_level: &str| {
        format!(
            r#"{{"version": 1,
                "formatters": {{"form1": {{"format": "%(levelname)s ++ %(message)s"}}}},
                "handlers": {{"hand1": {{"class": "logging.StreamHandler", "formatter": "form1", {handler}}}}},
                "loggers": {{"compiler.parser": {{"level": "DEBUG", "handlers": ["hand1"]}}}},
                "root": {{"level": "{root_level}"}}}}"#
        )
    };
    // config2: a misspelt stream.
    let e = error(&base(
        r#""level": "NOTSET", "stream": "ext://sys.stdbout""#,
        "WARNING",
    ));
    assert!(
        e.starts_with(
            "handlers.hand1.stream: \"ext://sys.stdbout\" cannot be resolved: mplog loads no code"
        ),
        "{e}"
    );
    // config2a: a misspelt handler level.
    assert_eq!(
        error(&base(r#""level": "NTOSET""#, "WARNING")),
        "handlers.hand1: unable to configure handler 'hand1': unknown level 'NTOSET'"
    );
    // config2b: a misspelt root level.
    assert_eq!(
        error(&base(r#""level": "NOTSET""#, "WRANING")),
        "root: unable to configure root logger: unknown level 'WRANING'"
    );
    // config3: an undefined formatter.
    let e = error(&base(r#""level": "NOTSET""#, "WARNING").replace(
        r#""formatter": "form1""#,
        r#""formatter": "misspelled_name""#,
    ));
    assert_eq!(
        e,
        "handlers.hand1: unable to configure handler 'hand1': formatter: \
         undefined formatter 'misspelled_name'"
    );
    // config6: an argument the class does not take.
    assert_eq!(
        error(&base(
            r#""level": "NOTSET", "9": "invalid parameter name""#,
            "WARNING"
        )),
        "handlers.hand1: unable to configure handler 'hand1': 9: \
         unexpected argument '9' for handler class 'logging.StreamHandler'"
    );
}

#[test]
fn config4_and_5_unregistered_classes_are_refused_saying_how_to_provide_them() {
    let how = |class: &str, method: &str| {
        format!(
            "class '{class}' is not available: mplog loads no Python code. A Rust program \
             provides it with mplog::config::Registry::new().{method}(\"{class}\", ...) and \
             loads the file with DictConfig::from_path_with (or QueueListener::from_config_with)"
        )
    };
    let e = error(
        r#"{"version": 1, "formatters": {"form1": {"()": "test.ExceptionFormatter", "format": "%(message)s"}}}"#,
    );
    assert_eq!(
        e,
        format!(
            "formatters.form1: unable to configure formatter 'form1': (): formatter {}",
            how("test.ExceptionFormatter", "formatter")
        )
    );
    let e =
        error(r#"{"version": 1, "handlers": {"hand1": {"class": "test_logging.CustomHandler"}}}"#);
    assert_eq!(
        e,
        format!(
            "handlers.hand1: unable to configure handler 'hand1': handler {}",
            how("test_logging.CustomHandler", "handler")
        )
    );
    let e = error(r#"{"version": 1, "handlers": {"hand1": {"()": "x.y"}}}"#);
    assert!(e.ends_with(&how("x.y", "handler")), "{e}");
    let e = error(
        r#"{"version": 1, "formatters": {"f": {"class": "test.ExceptionFormatter", "validate": false}}}"#,
    );
    assert!(
        e.ends_with(&how("test.ExceptionFormatter", "formatter")),
        "{e}"
    );
    let e = error(r#"{"version": 1, "filters": {"f": {"()": "myapp.Filter"}}}"#);
    assert!(e.ends_with(&how("myapp.Filter", "filter")), "{e}");
}

#[test]
fn config12_13_version_missing_or_unsupported() {
    assert_eq!(
        error(r#"{"formatters": {}}"#),
        "dictionary doesn't specify a version"
    );
    assert_eq!(
        error(r#"{"version": 2}"#),
        "version: unsupported version: 2"
    );
    assert_eq!(
        error(r#"{"version": "1"}"#),
        "version: unsupported version: \"1\""
    );
}

#[test]
fn memory_handler_targets_undefined_or_in_a_cycle() {
    let e = error(
        r#"{"version": 1, "handlers": {"m": {"class": "MemoryHandler", "capacity": 1, "target": "x"}}}"#,
    );
    assert_eq!(
        e,
        "handlers.m: unable to configure handler 'm': target: undefined handler 'x'"
    );
    let e = error(
        r#"{"version": 1, "handlers": {
            "a": {"class": "MemoryHandler", "capacity": 1, "target": "b"},
            "b": {"class": "MemoryHandler", "capacity": 1, "target": "c"},
            "c": {"class": "MemoryHandler", "capacity": 1, "target": "a"}}}"#,
    );
    assert_eq!(
        e,
        "handlers.a: unable to configure handler 'a': MemoryHandler target cycle: a -> b -> c -> a"
    );
    let e = error(
        r#"{"version": 1, "handlers": {"m": {"class": "MemoryHandler", "capacity": 1, "target": "m"}}}"#,
    );
    assert!(e.ends_with("cycle: m -> m"), "{e}");
}

#[test]
fn other_errors_bad_types_unknown_keys_and_missing_handlers() {
    let rotating = |extra: &str| {
        error(&format!(
            r#"{{"version": 1, "handlers": {{"file": {{"class": "logging.handlers.RotatingFileHandler",
                "filename": "a.log" {extra}}}}}}}"#
        ))
    };
    assert_eq!(
        rotating(r#", "maxBytes": "10MB""#),
        "handlers.file: unable to configure handler 'file': maxBytes: expected an integer, got \"10MB\""
    );
    assert_eq!(
        rotating(r#", "backupCount": 1.5"#),
        "handlers.file: unable to configure handler 'file': backupCount: expected a non-negative integer, got 1.5"
    );
    assert_eq!(
        error(r#"{"version": 1, "handlers": {"s": {"class": "logging.handlers.NTEventLogHandler", "appname": "x"}}}"#),
        "handlers.s: unable to configure handler 's': handler class 'logging.handlers.NTEventLogHandler' is not available in mplog"
    );
    assert!(error(r#"{"version": 1, "handlers": {"s": {"class": "logging.handlers.SocketHandler", "host": "h", "port": 70000}}}"#)
        .contains("expected a port"));
    assert_eq!(
        error(r#"{"version": 1, "handlers": {"f": {"class": "logging.FileHandler"}}}"#),
        "handlers.f: unable to configure handler 'f': missing required key 'filename'"
    );
    assert_eq!(
        error(r#"{"version": 1, "root": {"handlers": ["console"]}}"#),
        "root: unable to configure root logger: handlers: undefined handler 'console'"
    );
    assert!(error(r#"{"version": 1, "handlers": []}"#).contains("expected a table, got a list"));
    assert!(
        error(r#"{"version": 1, "loggers": {"a": {"level": true}}}"#)
            .contains("expected a level name or number, got true")
    );
}

#[test]
fn keys_python_ignores_are_warnings_and_a_handler_s_unknown_keys_are_errors() {
    let cfg = DictConfig::from_json(
        r#"{"version": 1, "extra": 1,
            "formatters": {"f": {"fmt": "%(message)s"}},
            "filters": {"x": {"name": "a", "colour": 1}},
            "loggers": {"a": {"levle": "INFO", "qualname": "a"}}}"#,
    )
    .unwrap();
    let w: Vec<String> = cfg.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        [
            "key 'extra' is ignored (not part of Python's dictConfig schema)".to_string(),
            "formatters.f: key 'fmt' is ignored (Python's dictConfig does not read it for a formatter)".into(),
            "filters.x: key 'colour' is ignored (Python's dictConfig does not read it for a filter)".into(),
            "loggers.a: key 'levle' is ignored (Python's dictConfig does not read it for a logger)".into(),
            "loggers.a: key 'qualname' is ignored (Python's dictConfig does not read it for a logger)".into(),
        ]
    );
    // A handler's other keys are its constructor's keyword arguments: CPython's TypeError,
    // and a key that is no identifier is CPython's ValueError.
    assert_eq!(
        error(
            r#"{"version": 1, "handlers": {"h": {"class": "logging.StreamHandler", "colour": 1}}}"#
        ),
        "handlers.h: unable to configure handler 'h': colour: \
         unexpected argument 'colour' for handler class 'logging.StreamHandler'"
    );
    assert_eq!(
        error(r#"{"version": 1, "handlers": {"h": {"()": "logging.StreamHandler", "a-b": 1}}}"#),
        "handlers.h: unable to configure handler 'h': a-b: \
         unexpected argument 'a-b' for handler class 'logging.StreamHandler'"
    );
}

/// `mplog check` and `mplog listen` read files the same way: an `ext://` value that cannot
/// be a file name is refused by `check` as by `listen`, and `ext://os.devnull` passes both.
#[test]
fn check_and_listen_accept_the_same_ext_values() {
    let mplog = env!("CARGO_BIN_EXE_mplog");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, filename: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "version: 1\nhandlers: {{f: {{class: logging.FileHandler, filename: '{filename}'}}}}\n\
                 root: {{handlers: [f]}}\n"
            ),
        )
        .unwrap();
        path
    };
    let stream = write("stream.yaml", "ext://sys.stdout");
    let out = std::process::Command::new(mplog)
        .arg("check")
        .arg(&stream)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("\"ext://sys.stdout\" is a stream, not a file name"),
        "{said}"
    );
    let listen = std::process::Command::new(mplog)
        .args(["listen", "--config"])
        .arg(&stream)
        .arg("--endpoint")
        .arg(dir.path().join("l.sock"))
        .output()
        .unwrap();
    assert!(!listen.status.success());
    assert!(
        String::from_utf8_lossy(&listen.stderr).contains("is a stream, not a file name"),
        "{listen:?}"
    );
    let devnull = write("devnull.yaml", "ext://os.devnull");
    let cfg = DictConfig::from_path(&devnull).unwrap();
    cfg.build().unwrap().shutdown();
    let unknown = write("unknown.yaml", "ext://tempfile.gettempdir");
    let e = DictConfig::from_path(&unknown).unwrap_err().to_string();
    assert!(
        e.contains("handlers.f.filename: \"ext://tempfile.gettempdir\" cannot be resolved"),
        "{e}"
    );
}

/// `mplog listen` names the keys Python ignores on its stderr, as `mplog check` names them.
#[test]
fn listen_names_the_ignored_keys_as_check_does() {
    use std::io::BufRead as _;
    let mplog = env!("CARGO_BIN_EXE_mplog");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.yaml");
    std::fs::write(
        &path,
        "version: 1\nloggers: {app: {level: INFO, qualname: app}}\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(mplog)
        .args(["listen", "--config"])
        .arg(&path)
        .arg("--endpoint")
        .arg(dir.path().join("l.sock"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wanted = "loggers.app: key 'qualname' is ignored";
    let mut seen = Vec::new();
    let found = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(line) if line.contains(wanted) => break true,
            // The warnings come before the listener says it is up.
            Ok(line) if line.contains("listening on") => break false,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(found, "no warning on stderr: {seen:?}");
}
