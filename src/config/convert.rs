//! Python's `ext://` and `cfg://` values, resolved in the whole tree before it is read, as
//! CPython's `BaseConfigurator.convert` resolves them when a value is used:
//!
//! - `ext://sys.stdout` and `ext://sys.stderr` stay as they are: they name the streams a
//!   `StreamHandler` takes (anywhere else, e.g. as a `filename`, they are refused there).
//!   `ext://os.devnull` is the path `/dev/null`, and `ext://logging.DEBUG` (any level name) is
//!   the level's number. Any other `ext://` would import code: refused, naming the value.
//! - `cfg://handlers.email[toaddrs]`, `cfg://a.b[0]` are the value at that place in the same
//!   configuration, read with CPython's grammar (a word, then `.word` or `[word]` / `[digits]`
//!   steps). The value found is converted in turn (a chain of at most [`MAX_HOPS`]
//!   references); copies are counted against [`MAX_NODES`](super::load::MAX_NODES).
//! - Any other `scheme://` string (a URL) is left alone, as in CPython.

use serde_json::Value;

use super::error::{ConfigError, ErrorKind};
use super::load::MAX_NODES;

/// How many `cfg://` references may lead to one another before a value is found.
pub(crate) const MAX_HOPS: usize = 32;

/// The streams `ext://` names.
pub(crate) const STDOUT: &str = "ext://sys.stdout";
/// See [`STDOUT`].
pub(crate) const STDERR: &str = "ext://sys.stderr";

fn invalid(path: &str, message: String) -> ConfigError {
    ConfigError::new(path.to_owned(), ErrorKind::Invalid(message))
}

/// Resolves every `ext://` and `cfg://` string of `tree` in place.
pub(crate) fn convert_tree(tree: &mut Value) -> Result<(), ConfigError> {
    if !has_references(tree) {
        return Ok(());
    }
    let original = tree.clone();
    let mut budget = MAX_NODES;
    super::value::each_string(tree, &mut String::new(), &mut |value, path| {
        if let Value::String(s) = value {
            if s.starts_with("cfg://") || s.starts_with("ext://") {
                *value = resolve(s, &original, path, &mut budget, 0)?;
            }
        }
        Ok(())
    })
}

/// The value `s` stands for, itself converted.
fn resolve(
    s: &str,
    root: &Value,
    path: &str,
    budget: &mut usize,
    hops: usize,
) -> Result<Value, ConfigError> {
    if let Some(name) = s.strip_prefix("ext://") {
        return ext(name).map_err(|m| invalid(path, m));
    }
    let Some(reference) = s.strip_prefix("cfg://") else {
        return Ok(Value::String(s.to_owned()));
    };
    if hops >= MAX_HOPS {
        return Err(invalid(
            path,
            format!("{s:?}: more than {MAX_HOPS} cfg:// references lead to one another"),
        ));
    }
    let found = lookup(reference, root).map_err(|m| invalid(path, format!("{s:?}: {m}")))?;
    let size = count(found);
    if size > *budget {
        return Err(invalid(
            path,
            format!("{s:?}: cfg:// copies make more than {MAX_NODES} values"),
        ));
    }
    *budget -= size;
    let mut copy = found.clone();
    match &mut copy {
        Value::String(inner) if inner.starts_with("cfg://") || inner.starts_with("ext://") => {
            let inner = inner.clone();
            resolve(&inner, root, path, budget, hops + 1)
        }
        Value::Array(_) | Value::Object(_) => {
            convert_nested(&mut copy, root, path, budget, hops + 1)?;
            Ok(copy)
        }
        _ => Ok(copy),
    }
}

/// Converts the strings inside a copied list or table (CPython converts them when read).
fn convert_nested(
    value: &mut Value,
    root: &Value,
    path: &str,
    budget: &mut usize,
    hops: usize,
) -> Result<(), ConfigError> {
    let mut stack: Vec<&mut Value> = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.starts_with("cfg://") || s.starts_with("ext://") => {
                let s = s.clone();
                *v = resolve(&s, root, path, budget, hops)?;
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => stack.extend(map.values_mut()),
            _ => {}
        }
    }
    Ok(())
}

/// Whether any string of `tree` is an `ext://` or `cfg://` value (most files have none: no
/// copy of the tree is made for them).
fn has_references(tree: &Value) -> bool {
    let mut stack = vec![tree];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.starts_with("cfg://") || s.starts_with("ext://") => return true,
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    false
}

fn count(v: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    n
}

/// `ext://NAME`: the few objects a logging configuration can name without loading code.
fn ext(name: &str) -> Result<Value, String> {
    match name.trim() {
        "sys.stdout" => Ok(Value::String(STDOUT.into())),
        "sys.stderr" => Ok(Value::String(STDERR.into())),
        "os.devnull" => Ok(Value::String("/dev/null".into())),
        other if super::network::python_ext(other).is_some() => {
            Ok(super::network::python_ext(other).unwrap_or_default())
        }
        other => {
            let level = other
                .strip_prefix("logging.")
                .and_then(|l| l.parse::<crate::Level>().ok())
                .filter(|_| other[8..].chars().all(|c| c.is_ascii_uppercase()));
            match level {
                Some(l) => Ok(Value::Number(l.as_u32().into())),
                None => Err(format!(
                    "\"ext://{other}\" cannot be resolved: mplog loads no code, and resolves \
                     ext://sys.stdout, ext://sys.stderr, ext://os.devnull and \
                     ext://logging.LEVEL only"
                )),
            }
        }
    }
}

/// A `\w+` word at the start of `s` (after spaces), and the rest after trailing spaces.
fn word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], s[end..].trim_start()))
}

/// CPython's `cfg_convert`: `word` then `.word` / `[word]` steps.
fn lookup<'a>(reference: &str, root: &'a Value) -> Result<&'a Value, String> {
    let (first, mut rest) = word(reference).ok_or("no key to start from")?;
    let mut current = step(root, first)?;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let (key, tail) = word(after).ok_or_else(|| format!("cannot read {rest:?}"))?;
            current = step(current, key)?;
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('[') {
            let (key, tail) = word(after).ok_or_else(|| format!("cannot read {rest:?}"))?;
            let tail = tail
                .strip_prefix(']')
                .ok_or_else(|| format!("cannot read {rest:?}"))?;
            current = match (current, key.parse::<usize>()) {
                (Value::Array(items), Ok(i)) => items
                    .get(i)
                    .ok_or_else(|| format!("index {i} is out of range"))?,
                _ => step(current, key)?,
            };
            rest = tail.trim_start();
        } else {
            return Err(format!("cannot read {rest:?}"));
        }
    }
    Ok(current)
}

fn step<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.as_object()
        .and_then(|m| m.get(key))
        .ok_or_else(|| format!("no key '{key}' there"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn converted(v: Value) -> Result<Value, String> {
        let mut v = v;
        convert_tree(&mut v).map(|()| v).map_err(|e| e.to_string())
    }

    #[test]
    fn cfg_references_read_as_cpython() {
        let v = converted(json!({
            "handlers": {"email": {"toaddrs": ["a@x", "b@x"], "subject": "s"}},
            "true_formatters": {"f": {"format": "%(message)s"}},
            "formatters": "cfg://true_formatters",
            "a": "cfg://handlers.email[toaddrs][1]",
            "b": "cfg://handlers.email[ subject ]",
            "c": "cfg://a",
            "url": "http://example.com/",
        }))
        .unwrap();
        assert_eq!(v["formatters"], json!({"f": {"format": "%(message)s"}}));
        assert_eq!(v["a"], "b@x");
        assert_eq!(v["b"], "s");
        assert_eq!(v["c"], "b@x");
        assert_eq!(v["url"], "http://example.com/");
        let e = converted(json!({"a": "cfg://nope.x"})).unwrap_err();
        assert_eq!(e, "a: \"cfg://nope.x\": no key 'nope' there");
        let e = converted(json!({"a": "cfg://b", "b": "cfg://a"})).unwrap_err();
        assert!(e.contains("more than 32"), "{e}");
    }

    #[test]
    fn ext_names_streams_devnull_and_levels_only() {
        let v = converted(
            json!({"s": "ext://sys.stdout", "f": "ext://os.devnull", "l": "ext://logging.DEBUG"}),
        )
        .unwrap();
        assert_eq!(v, json!({"s": STDOUT, "f": "/dev/null", "l": 10}));
        let e = converted(json!({"h": {"x": "ext://os.system"}})).unwrap_err();
        assert!(
            e.starts_with("h.x: \"ext://os.system\" cannot be resolved"),
            "{e}"
        );
    }
}
