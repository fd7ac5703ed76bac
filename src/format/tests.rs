//! Formatter cases whose expected strings come from CPython 3.11's `logging.Formatter` with
//! `converter = time.gmtime` on an equivalent `LogRecord`.

use std::sync::Arc;

use super::*;
use crate::level::Level;

fn record() -> Record {
    let mut r = Record::new("app.db", Level::INFO, "served 7")
        .with_extra("user", "bob")
        .unwrap()
        .with_extra("n", 5)
        .unwrap();
    r.pathname = "/src/db/pool.py".into();
    r.lineno = 42;
    r.func_name = "serve".into();
    r.created_ns = 1_700_000_000_123_456_789;
    r.relative_created_ns = 42_987_000;
    r.process = 4242;
    r.process_name = Arc::from("worker-1");
    r.thread = 77;
    r.thread_name = Arc::from("main");
    r
}

fn fmt(style: Style, format: &str) -> String {
    let f = Formatter::builder(format)
        .style(style)
        .utc(true)
        .build()
        .unwrap();
    let mut out = String::new();
    f.format(&record(), &mut out).unwrap();
    out
}

#[test]
fn percent_style_matches_python() {
    let cases = [
        (
            "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s",
            "2023-11-14 22:13:20,123 worker-1   app.db INFO     served 7",
        ),
        (
            "%(relativeCreated)5d|%(relativeCreated)f|%(created)f|%(process)#x|%(levelno)03d|%(msecs)03d",
            "   42|42.987000|1700000000.123457|0x1092|020|123",
        ),
        (
            "%(name)r %(lineno)+d %(filename)s %(module)s %(funcName)s %(pathname)s",
            "'app.db' +42 pool.py pool serve /src/db/pool.py",
        ),
        ("%(levelname).3s|%(levelname)8s|%(user)s|%(n)05.1f", "INF|    INFO|bob|005.0"),
    ];
    for (format, want) in cases {
        assert_eq!(fmt(Style::Percent, format), want, "{format}");
    }
}

#[test]
fn brace_style_matches_python() {
    assert_eq!(
        fmt(
            Style::Brace,
            "{asctime} {levelname:<8} {name!r:>10} {message}"
        ),
        "2023-11-14 22:13:20,123 INFO       'app.db' served 7"
    );
    assert_eq!(
        fmt(
            Style::Brace,
            "{relativeCreated:08.2f} {process:#x} {levelno:^6} {user}"
        ),
        "00042.99 0x1092   20   bob"
    );
}

#[test]
fn dollar_style_matches_python() {
    assert_eq!(
        fmt(Style::Dollar, "$asctime ${levelname}: $message $$ $user"),
        "2023-11-14 22:13:20,123 INFO: served 7 $ bob"
    );
}

#[test]
fn missing_field_is_an_error_unless_defaulted() {
    let f = Formatter::new("%(ip)s %(message)s").unwrap();
    let mut out = String::new();
    let err = f.format(&record(), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Formatting field not found in record: 'ip'"
    );

    let f = Formatter::builder("{ip} {user}")
        .style(Style::Brace)
        .default("ip", "127.0.0.1")
        .default("user", "nobody")
        .build()
        .unwrap();
    let mut out = String::new();
    f.format(&record(), &mut out).unwrap();
    // The record's own extra wins over the default, as in Python.
    assert_eq!(out, "127.0.0.1 bob");
}

#[test]
fn value_errors_name_the_field() {
    let f = Formatter::new("%(name)d").unwrap();
    let mut out = String::new();
    let err = f.format(&record(), &mut out).unwrap_err().to_string();
    assert!(err.starts_with("field 'name': "), "{err}");
}

#[test]
fn exception_then_stack_text_follow_on_new_lines() {
    let mut r = record();
    r.exc_text = Some("Error: boom".into());
    r.stack_info = Some("Stack (most recent call last):\n  here".into());
    let f = Formatter::new("%(levelname)s %(message)s").unwrap();
    let mut out = String::new();
    f.format(&r, &mut out).unwrap();
    assert_eq!(
        out,
        "INFO served 7\nError: boom\nStack (most recent call last):\n  here"
    );

    // No doubled newline when the line already ends with one.
    let f = Formatter::new("%(message)s\n").unwrap();
    let mut out = String::new();
    r.stack_info = None;
    f.format(&r, &mut out).unwrap();
    assert_eq!(out, "served 7\nError: boom");
}

#[test]
fn empty_exception_and_stack_text_add_nothing() {
    // CPython 3.11: exc_text='' and stack_info='' give 'served 7'; stack alone 'served 7\nS'.
    let mut r = record();
    r.exc_text = Some(String::new());
    r.stack_info = Some(String::new());
    let f = Formatter::new("%(message)s").unwrap();
    let mut out = String::new();
    f.format(&r, &mut out).unwrap();
    assert_eq!(out, "served 7");

    r.stack_info = Some("S".into());
    let mut out = String::new();
    f.format(&r, &mut out).unwrap();
    assert_eq!(out, "served 7\nS");
}

#[test]
fn default_formatter_is_message_only() {
    let mut out = String::new();
    Formatter::default().format(&record(), &mut out).unwrap();
    assert_eq!(out, "served 7");
}

#[test]
fn validation_errors_say_what_and_where() {
    let err = Formatter::new("%(asctime)s %(message)")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'%' style") && err.contains("at byte 12"),
        "{err}"
    );
    let err = Formatter::builder("{message!z}")
        .style(Style::Brace)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("'{' style"), "{err}");
    let err = Formatter::builder("plain")
        .style(Style::Dollar)
        .build()
        .unwrap_err();
    assert!(matches!(err, FormatError::NoField { style: '$', .. }));
    assert!(Formatter::builder("plain").validate(false).build().is_ok());
    let err = Formatter::builder("%(message)s")
        .datefmt("%Q")
        .build()
        .unwrap_err();
    assert!(matches!(err, FormatError::InvalidDatefmt { .. }));
}

#[test]
fn datefmt_replaces_the_default_and_drops_msecs() {
    let f = Formatter::builder("[%(asctime)s] %(message)s")
        .datefmt("%Y/%m/%d %H:%M")
        .utc(true)
        .build()
        .unwrap();
    let mut out = String::new();
    f.format(&record(), &mut out).unwrap();
    assert_eq!(out, "[2023/11/14 22:13] served 7");
}

#[test]
fn msg_and_message_are_the_rendered_message() {
    assert_eq!(
        fmt(Style::Percent, "%(msg)s|%(message)s"),
        "served 7|served 7"
    );
    assert_eq!(
        fmt(Style::Percent, "%(taskName)s %(exc_text)s"),
        "None None"
    );
}
