//! A Python log record's attribute dict, decoded, into an mplog [`Record`].

use std::borrow::Cow;
use std::sync::Arc;

use super::{PickleError, PyValue};
use crate::level::Level;
use crate::record::{is_reserved_field, now_ns, PythonAttrs, Record, Value};

/// Whether `key` is a `LogRecord` attribute (or `message`, `asctime`, which a formatter may
/// have cached on the sender's record), not an extra field: mplog's reserved names less its
/// own (`module_path`, `level`), which are extra fields when Python sends them.
fn is_standard(key: &str) -> bool {
    is_reserved_field(key) && !matches!(key, "module_path" | "level")
}

/// Builds a [`Record`] from the attribute dict Python's `SocketHandler` pickles, as the
/// cookbook's receiver does with `logging.makeLogRecord`: each attribute as sent, every other
/// key an extra field, in the dict's order (a key given twice keeps its first place and its
/// last value, as in a Python dict).
///
/// - `msg` is the message (Python merged the arguments before sending; `args` is ignored);
///   `message` and `asctime` are ignored (the listener's formatter computes them again);
/// - `levelno` must be a non-negative integer; the rest takes `makeLogRecord`'s defaults
///   when missing (the time of arrival for `created`), and Python's `str()` of the value
///   when it has another type (`None` prints `None`, as in Python);
/// - `created`, `msecs`, `relativeCreated`, `filename` and `module` are kept exactly
///   ([`PythonAttrs`]); `created_ns` is set so that its second is `int(created)` and its
///   millisecond is `msecs`, which is how Python's `formatTime` reads them.
///
/// ```
/// use mplog::compat::pickle::{record_from_dict, PyValue};
/// let s = |t: &str| PyValue::Str(t.into());
/// let record = record_from_dict(vec![
///     (s("name"), s("py.worker")),
///     (s("msg"), s("job 7 done")),
///     (s("levelno"), PyValue::Int(20)),
///     (s("levelname"), s("INFO")),
///     (s("process"), PyValue::Int(4242)),
///     (s("created"), PyValue::Float(1700000000.5)),
///     (s("msecs"), PyValue::Float(500.0)),
///     (s("job"), PyValue::Int(7)),
/// ]).unwrap();
/// assert_eq!((&*record.name, &*record.message, record.process), ("py.worker", "job 7 done", 4242));
/// assert_eq!(record.created_ns, 1_700_000_000_500_000_000);
/// assert_eq!(record.get_extra("job"), Some(&mplog::record::Value::Int(7)));
/// ```
pub fn record_from_dict(pairs: Vec<(PyValue, PyValue)>) -> Result<Record, PickleError> {
    record_from_pairs(pairs.into_iter().map(|(key, value)| match key {
        PyValue::Str(key) => Ok((Cow::Owned(key), Item::Value(value))),
        other => Err(PickleError::NotARecord(format!(
            "a key of the record dict is a {}, not a str",
            other.type_name()
        ))),
    }))
}

/// A value of the record dict: decoded, or a `str` still lying in the pickle (copied once,
/// straight into its place in the record).
pub(super) enum Item<'i> {
    Value(PyValue),
    Text(&'i str),
}

/// The attributes [`record_from_pairs`] reads, as they come (a key given again replaces).
#[derive(Default)]
struct Attrs<'i> {
    name: Option<Item<'i>>,
    msg: Option<Item<'i>>,
    levelno: Option<Item<'i>>,
    levelname: Option<Item<'i>>,
    pathname: Option<Item<'i>>,
    filename: Option<Item<'i>>,
    module: Option<Item<'i>>,
    lineno: Option<Item<'i>>,
    func_name: Option<Item<'i>>,
    created: Option<Item<'i>>,
    msecs: Option<Item<'i>>,
    relative_created: Option<Item<'i>>,
    thread: Option<Item<'i>>,
    thread_name: Option<Item<'i>>,
    process: Option<Item<'i>>,
    process_name: Option<Item<'i>>,
    task_name: Option<Item<'i>>,
    exc_text: Option<Item<'i>>,
    stack_info: Option<Item<'i>>,
}

impl<'i> Attrs<'i> {
    /// The slot of a `LogRecord` attribute this module reads.
    fn slot(&mut self, key: &str) -> Option<&mut Option<Item<'i>>> {
        Some(match key {
            "name" => &mut self.name,
            "msg" => &mut self.msg,
            "levelno" => &mut self.levelno,
            "levelname" => &mut self.levelname,
            "pathname" => &mut self.pathname,
            "filename" => &mut self.filename,
            "module" => &mut self.module,
            "lineno" => &mut self.lineno,
            "funcName" => &mut self.func_name,
            "created" => &mut self.created,
            "msecs" => &mut self.msecs,
            "relativeCreated" => &mut self.relative_created,
            "thread" => &mut self.thread,
            "threadName" => &mut self.thread_name,
            "process" => &mut self.process,
            "processName" => &mut self.process_name,
            "taskName" => &mut self.task_name,
            "exc_text" => &mut self.exc_text,
            "stack_info" => &mut self.stack_info,
            _ => return None,
        })
    }
}

/// [`record_from_dict`] over the dict's items as they are decoded, in one pass: each key is
/// looked at once, each value moved, never copied.
pub(super) fn record_from_pairs<'k, 'i>(
    pairs: impl Iterator<Item = Result<(Cow<'k, str>, Item<'i>), PickleError>>,
) -> Result<Record, PickleError> {
    let mut a = Attrs::default();
    let mut extra: Vec<(Cow<'static, str>, Value)> = Vec::new();
    for pair in pairs {
        let (key, value) = pair?;
        if let Some(slot) = a.slot(&key) {
            *slot = Some(value);
        } else if !is_standard(&key) {
            let value = extra_value(value);
            // Python dict semantics: a key given again keeps its place, takes the new value.
            match extra.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => extra.push((Cow::Owned(key.into_owned()), value)),
            }
        }
    }

    let level = match a.levelno {
        Some(Item::Value(PyValue::Int(n))) => u32::try_from(n).ok(),
        _ => None,
    }
    .map(Level::new)
    .ok_or_else(|| {
        PickleError::NotARecord("'levelno' is missing or not an integer in 0..2**32".into())
    })?;
    let created = a
        .created
        .and_then(|v| number(&v))
        .unwrap_or_else(|| now_ns() as f64 / 1e9);
    let msecs = a.msecs.and_then(|v| number(&v));
    let relative_created = a.relative_created.and_then(|v| number(&v)).unwrap_or(0.0);
    let pathname = a.pathname.map_or_else(String::new, text);
    let filename = a
        .filename
        .map_or_else(|| basename(&pathname).to_owned(), text);
    let module = a.module.map_or_else(|| stem(&filename).to_owned(), text);

    let mut record = Record::new("", level, Cow::Borrowed(""));
    record.name = a.name.map_or_else(|| Arc::from("root"), shared);
    record.level_name = match a.levelname {
        // The level's own name (the usual case) is not copied.
        Some(Item::Text(t)) if level.name() == t => level.name(),
        Some(v) => Cow::Owned(text(v)),
        None => level.name(),
    };
    record.message = Cow::Owned(a.msg.map_or_else(String::new, text));
    record.pathname = Cow::Owned(pathname);
    record.lineno = a.lineno.and_then(|v| integer(&v)).unwrap_or(0);
    record.module_path = Cow::Borrowed("");
    record.func_name = Cow::Owned(a.func_name.map_or_else(String::new, text));
    record.created_ns = created_ns(created, msecs);
    record.relative_created_ns = finite_ns(relative_created * 1e6);
    record.thread = a.thread.and_then(|v| integer(&v)).unwrap_or(0);
    record.thread_name = a.thread_name.map_or_else(|| Arc::from(""), shared);
    record.process = a.process.and_then(|v| integer(&v)).unwrap_or(0);
    record.process_name = a.process_name.map_or_else(|| Arc::from(""), shared);
    record.task_name = optional(a.task_name).map(Arc::from);
    record.exc_text = optional(a.exc_text);
    record.stack_info = optional(a.stack_info);
    record.python = Some(Box::new(PythonAttrs {
        created,
        msecs: msecs
            .unwrap_or_else(|| (record.created_ns.rem_euclid(1_000_000_000) / 1_000_000) as f64),
        relative_created,
        filename,
        module,
    }));
    record.extra = extra;
    Ok(record)
}

/// An extra field's value: scalars as themselves, anything else as Python's `str()` of it.
fn extra_value(v: Item<'_>) -> Value {
    let v = match v {
        Item::Text(t) => return Value::Str(t.to_owned()),
        Item::Value(v) => v,
    };
    match v {
        PyValue::None => Value::None,
        PyValue::Bool(b) => Value::Bool(b),
        PyValue::Int(i) => Value::Int(i),
        PyValue::Float(f) => Value::Float(f),
        PyValue::Str(s) => Value::Str(s),
        other => Value::Str(text(Item::Value(other))),
    }
}

/// Python's `str(value)` as shared text, copied once.
fn shared(v: Item<'_>) -> Arc<str> {
    match v {
        Item::Text(t) => Arc::from(t),
        v => Arc::from(text(v)),
    }
}

/// Python's `str(value)`; a `str` is moved, not copied.
fn text(v: Item<'_>) -> String {
    let v = match v {
        Item::Text(t) => return t.to_owned(),
        Item::Value(v) => v,
    };
    match v {
        PyValue::Str(s) => s,
        other => {
            let mut out = String::new();
            other.write_str(&mut out);
            out
        }
    }
}

/// `None` for Python's `None`, else `str(value)`.
fn optional(v: Option<Item<'_>>) -> Option<String> {
    match v {
        None | Some(Item::Value(PyValue::None)) => None,
        Some(v) => Some(text(v)),
    }
}

fn number(v: &Item<'_>) -> Option<f64> {
    let Item::Value(v) = v else { return None };
    match v {
        PyValue::Float(f) => Some(*f),
        PyValue::Int(i) => Some(*i as f64),
        PyValue::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn integer<T: TryFrom<i64>>(v: &Item<'_>) -> Option<T> {
    let Item::Value(v) = v else { return None };
    match v {
        PyValue::Int(i) => T::try_from(*i).ok(),
        PyValue::Bool(b) => T::try_from(i64::from(*b)).ok(),
        _ => None,
    }
}

/// Nanoseconds from a float, saturating (NaN becomes 0).
fn finite_ns(ns: f64) -> i64 {
    if ns.is_nan() {
        0
    } else {
        ns.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64
    }
}

/// The creation time in nanoseconds that Python's `formatTime` would print for these
/// `created` and `msecs`: the second of `int(created)` (floored, as `time.localtime` does),
/// the millisecond of `msecs`, the rest of `created`'s fraction below that.
fn created_ns(created: f64, msecs: Option<f64>) -> i64 {
    if !created.is_finite() {
        return 0;
    }
    let second = created.floor();
    let frac_ns = ((created - second) * 1e9).round().clamp(0.0, 999_999_999.0) as i64;
    let ms = match msecs {
        Some(m) if (0.0..1000.0).contains(&m) => m.floor() as i64,
        _ => frac_ns / 1_000_000,
    };
    let below_ms = (frac_ns - ms * 1_000_000).clamp(0, 999_999);
    let base = finite_ns(second * 1e9);
    base.saturating_add(ms * 1_000_000 + below_ms)
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `os.path.splitext(name)[0]`: a leading dot does not start an extension.
fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if name[..i].bytes().any(|b| b != b'.') => &name[..i],
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> PyValue {
        PyValue::Str(t.into())
    }

    #[test]
    fn created_ns_prints_as_python_format_time() {
        // 3.13 sets msecs to 0 when created rounded up to the next second.
        assert_eq!(
            created_ns(1_677_903_921.0, Some(0.0)),
            1_677_903_921_000_000_000
        );
        // A time just below a millisecond boundary keeps Python's millisecond.
        let ns = created_ns(1_700_000_000.123_999_9, Some(123.0));
        assert_eq!(ns / 1_000_000 % 1000, 123);
        assert_eq!(ns / 1_000_000_000, 1_700_000_000);
        // 3.11's msecs, computed from the float.
        let created: f64 = 1_700_000_000.987_654_3;
        let ms = ((created - created.trunc()) * 1000.0).trunc();
        assert_eq!(created_ns(created, Some(ms)) / 1_000_000 % 1000, 987);
        assert_eq!(created_ns(f64::NAN, None), 0);
    }

    #[test]
    fn stems_follow_splitext() {
        assert_eq!(stem("a.py"), "a");
        assert_eq!(stem("a.tar.gz"), "a.tar");
        assert_eq!(stem(".bashrc"), ".bashrc");
        assert_eq!(stem("noext"), "noext");
    }

    #[test]
    fn missing_fields_take_make_log_record_defaults() {
        let r = record_from_dict(vec![(s("levelno"), PyValue::Int(30))]).unwrap();
        assert_eq!(
            (&*r.name, &*r.message, &*r.level_name),
            ("root", "", "WARNING")
        );
        assert!(r.created_ns > 0);
        assert!(r.python.is_some());
    }

    #[test]
    fn repeated_keys_keep_first_place_and_last_value() {
        let r = record_from_dict(vec![
            (s("levelno"), PyValue::Int(20)),
            (s("a"), PyValue::Int(1)),
            (s("b"), PyValue::Int(2)),
            (s("a"), PyValue::Int(3)),
        ])
        .unwrap();
        let keys: Vec<_> = r
            .extra
            .iter()
            .map(|(k, v)| (k.as_ref(), v.clone()))
            .collect();
        assert_eq!(keys, [("a", Value::Int(3)), ("b", Value::Int(2))]);
    }

    #[test]
    fn records_need_a_level_and_string_keys() {
        assert!(matches!(
            record_from_dict(vec![(s("msg"), s("x"))]),
            Err(PickleError::NotARecord(_))
        ));
        assert!(matches!(
            record_from_dict(vec![(PyValue::Int(1), s("x"))]),
            Err(PickleError::NotARecord(_))
        ));
    }

    #[test]
    fn containers_become_their_python_text() {
        let r = record_from_dict(vec![
            (s("levelno"), PyValue::Int(20)),
            (s("ids"), PyValue::List(vec![PyValue::Int(1), s("x")])),
            (s("threadName"), PyValue::None),
        ])
        .unwrap();
        assert_eq!(r.get_extra("ids"), Some(&Value::Str("[1, 'x']".into())));
        assert_eq!(&*r.thread_name, "None");
    }
}
