//! Python's `HTTPHandler.mapLogRecord` (the record's `__dict__`) and
//! `urllib.parse.urlencode` of it: the body of a POST, the query of a GET.
//!
//! The attributes come in the order CPython 3.13's `LogRecord.__init__` sets them, then the
//! `extra` fields; each value is Python's `str()` of it, quoted by `quote_plus`. An mplog
//! record's message is already merged, so `msg` is the message and `args` is `()`, as for
//! `logger.info("literal")` in Python; `exc_info` is `None` (the text is in `exc_text`).

use std::fmt::Write as _;

use crate::format::spec::{write_str, FieldValue};
use crate::record::Record;

/// Appends `urlencode(mapLogRecord(record))` to `out`.
pub(crate) fn urlencode_record(record: &Record, out: &mut String) {
    fn opt(s: Option<&str>) -> FieldValue<'_> {
        s.map_or(FieldValue::None, FieldValue::Str)
    }
    let thread = i64::try_from(record.thread).unwrap_or(i64::MAX);
    let fields: [(&str, FieldValue<'_>); 21] = [
        ("name", FieldValue::Str(&record.name)),
        ("msg", FieldValue::Str(&record.message)),
        ("args", FieldValue::Str("()")),
        ("levelname", FieldValue::Str(&record.level_name)),
        ("levelno", FieldValue::Int(i64::from(record.level.as_u32()))),
        ("pathname", FieldValue::Str(&record.pathname)),
        ("filename", FieldValue::Str(record.filename())),
        ("module", FieldValue::Str(record.module())),
        ("exc_info", FieldValue::None),
        ("exc_text", opt(record.exc_text.as_deref())),
        ("stack_info", opt(record.stack_info.as_deref())),
        ("lineno", FieldValue::Int(i64::from(record.lineno))),
        ("funcName", FieldValue::Str(&record.func_name)),
        ("created", FieldValue::Float(record.created())),
        ("msecs", FieldValue::Float(record.msecs())),
        (
            "relativeCreated",
            FieldValue::Float(record.relative_created()),
        ),
        ("thread", FieldValue::Int(thread)),
        ("threadName", FieldValue::Str(&record.thread_name)),
        ("processName", FieldValue::Str(&record.process_name)),
        ("process", FieldValue::Int(i64::from(record.process))),
        ("taskName", opt(record.task_name.as_deref())),
    ];
    let mut value = String::new();
    let mut first = true;
    let mut pair = |key: &str, v: FieldValue<'_>, out: &mut String| {
        if !first {
            out.push('&');
        }
        first = false;
        quote_plus(key, out);
        out.push('=');
        value.clear();
        write_str(v, &mut value);
        quote_plus(&value, out);
    };
    for (key, v) in fields {
        pair(key, v, out);
    }
    for (key, v) in &record.extra {
        pair(key, crate::format::borrow_value(v), out);
    }
}

/// `urllib.parse.quote_plus`: letters, digits and `_.-~` as they are, space as `+`, every
/// other byte of the UTF-8 text as `%XX`.
pub(crate) fn quote_plus(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) => out.push(char::from(b)),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    #[test]
    fn quote_plus_is_pythons() {
        // python3: urllib.parse.quote_plus("a b&c=d/é~_.-+%")
        let mut out = String::new();
        quote_plus("a b&c=d/é~_.-+%", &mut out);
        assert_eq!(out, "a+b%26c%3Dd%2F%C3%A9~_.-%2B%25");
    }

    #[test]
    fn the_record_dict_in_cpythons_order_with_extras_last() {
        let mut r = Record::new("app.db", Level::ERROR, "pool exhausted")
            .with_extra("user", "ann")
            .unwrap();
        r.created_ns = 1_700_000_000_250_000_000;
        r.relative_created_ns = 1_500_000;
        let mut out = String::new();
        urlencode_record(&r, &mut out);
        let keys: Vec<&str> = out
            .split('&')
            .map(|kv| kv.split('=').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "name",
                "msg",
                "args",
                "levelname",
                "levelno",
                "pathname",
                "filename",
                "module",
                "exc_info",
                "exc_text",
                "stack_info",
                "lineno",
                "funcName",
                "created",
                "msecs",
                "relativeCreated",
                "thread",
                "threadName",
                "processName",
                "process",
                "taskName",
                "user"
            ]
        );
        assert!(out
            .starts_with("name=app.db&msg=pool+exhausted&args=%28%29&levelname=ERROR&levelno=40&"));
        assert!(out.contains("&exc_info=None&exc_text=None&stack_info=None&lineno=0&funcName=&created=1700000000.2499998&msecs=250.0&relativeCreated=1.5&"), "{out}");
        assert!(out.ends_with("&taskName=None&user=ann"));
    }
}
