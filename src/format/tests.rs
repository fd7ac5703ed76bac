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
fn nested_fields_in_brace_specs_are_resolved_per_record() {
    // Expected strings from CPython 3.11 (`validate=False` for the fill case).
    let render = |format: &str, validate: bool, defaults: &[(&str, i64)], extra: Option<i64>| {
        let mut b = Formatter::builder(format)
            .style(Style::Brace)
            .validate(validate);
        for (k, v) in defaults {
            b = b.default(k, *v);
        }
        let f = b.build().unwrap();
        let mut r = record().with_extra("fill", "*").unwrap();
        if let Some(w) = extra {
            r = r.with_extra("w", w).unwrap();
        }
        let mut out = String::new();
        f.format(&r, &mut out).map(|()| out)
    };
    let ok = |format, defaults, extra| render(format, true, defaults, extra).unwrap();
    assert_eq!(ok("{message:>{w}}", &[("w", 12)], None), "    served 7");
    // The record's field wins over the default, and the spec changes with the record.
    assert_eq!(ok("{message:>{w}}", &[("w", 12)], Some(10)), "  served 7");
    assert_eq!(
        ok("[{levelno:0{n}d}] {message:.{n}}", &[], None),
        "[00020] serve"
    );
    assert_eq!(ok("{name:^{w}.{n}}|", &[("w", 9)], None), "  app.d  |");
    assert_eq!(ok("{message!r:>{w}}", &[("w", 12)], None), "  'served 7'");
    assert_eq!(
        render("{message:{fill}>12}", false, &[], None).unwrap(),
        "****served 7"
    );

    let err = render("{message:>{width}}", true, &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Formatting field not found in record: 'width'"
    );
    // A resolved spec that does not parse is the record's value error, naming the field.
    let err = render("{message:>{user}}", true, &[], None).unwrap_err();
    assert!(
        matches!(&err, RenderError::Value { field, .. } if field == "message"),
        "{err}"
    );
}

#[test]
fn nested_fields_are_validated_as_python_does() {
    let build = |format: &str, validate: bool| {
        Formatter::builder(format)
            .style(Style::Brace)
            .validate(validate)
            .build()
    };
    for ok in [
        "{message:>{w}}",
        "{message:{w}.{p}f}",
        "{message:*<+#0{w},.{p}%}",
    ] {
        assert!(build(ok, true).is_ok(), "{ok}");
    }
    // Python's validation admits a nested field only as width or precision.
    let err = build("{message:{fill}>12}", true).unwrap_err().to_string();
    assert!(err.contains("bad specifier '{fill}>12'"), "{err}");
    assert!(build("{message:{fill}>12}", false).is_ok());
    let err = |format: &str| build(format, false).unwrap_err().to_string();
    assert!(err("{message:>{w:d}}").contains("bare name"));
    assert!(err("{message:>{w!r}}").contains("bare name"));
    assert!(err("{message:>{}}").contains("needs a name"));
    assert!(err("{message:>{w}").contains("expected '}'"));
    assert!(err("{message:>{w").contains("unmatched '{'"));
    assert!(err("{message:>{w{x}}}").contains("one level deep"));
    assert!(err("{mess{w}age}").contains("unexpected '{' in field name"));
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
    // glibc copies an unknown directive as written, so CPython accepts any datefmt.
    assert!(Formatter::builder("%(message)s")
        .datefmt("%Q")
        .build()
        .is_ok());
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
