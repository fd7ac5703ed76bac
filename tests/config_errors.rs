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
        e.starts_with("handlers.hand1: unable to configure handler 'hand1': stream: stream \"ext://sys.stdbout\" is not supported"),
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
fn config4_and_5_code_loading_and_custom_classes_are_refused() {
    let e = error(
        r#"{"version": 1, "formatters": {"form1": {"()": "test.ExceptionFormatter", "format": "%(message)s"}}}"#,
    );
    assert_eq!(
        e,
        "formatters.form1: unable to configure formatter 'form1': (): \
         factories ('()') are not supported: mplog loads no code"
    );
    let e =
        error(r#"{"version": 1, "handlers": {"hand1": {"class": "test_logging.CustomHandler"}}}"#);
    assert_eq!(
        e,
        "handlers.hand1: unable to configure handler 'hand1': unknown handler class 'test_logging.CustomHandler'"
    );
    let e = error(r#"{"version": 1, "handlers": {"hand1": {"()": "x.y"}}}"#);
    assert!(e.contains("factories ('()') are not supported"), "{e}");
    let e = error(
        r#"{"version": 1, "formatters": {"f": {"class": "test.ExceptionFormatter", "validate": false}}}"#,
    );
    assert!(
        e.contains("formatter class 'test.ExceptionFormatter' is not available in mplog"),
        "{e}"
    );
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
    assert_eq!(
        error(r#"{"version": 1, "loggers": {"a": {"levle": "INFO"}}}"#),
        "loggers.a: unable to configure logger 'a': unknown key 'levle' \
         (expected one of: level, propagate, filters, handlers)"
    );
    assert!(error(r#"{"version": 1, "handlers": []}"#).contains("expected a table, got a list"));
    assert!(error(r#"{"version": 1, "extra": 1}"#).contains("unknown key 'extra'"));
    assert!(
        error(r#"{"version": 1, "loggers": {"a": {"level": true}}}"#)
            .contains("expected a level name or number, got true")
    );
}

#[test]
fn config11_cfg_references_are_refused_clearly() {
    let e = error(
        r#"{"version": 1, "true_formatters": {"form1": {"format": "%(message)s"}},
            "formatters": "cfg://true_formatters"}"#,
    );
    assert_eq!(
        e,
        "formatters: \"cfg://true_formatters\": cfg:// references are not supported; \
         write the value in place"
    );
}
