//! Reading typed values out of the parsed tree, each error naming the key and what was found.
//!
//! Keys are matched in Python's camelCase or in snake_case (`maxBytes` or `max_bytes`): an
//! entry's keys are turned to snake_case once, and both spellings of one key together are an
//! error.

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigWarning, ErrorKind};
use crate::level::Level;
/// Visits every string of `tree` with its key path (`handlers.h.args[0]`), letting `visit`
/// rewrite it in place. Parsed trees are depth-bounded ([`MAX_DEPTH`](super::load::MAX_DEPTH)), so the
/// recursion is too.
pub(crate) fn each_string<E>(
    tree: &mut Value,
    path: &mut String,
    visit: &mut dyn FnMut(&mut Value, &str) -> Result<(), E>,
) -> Result<(), E> {
    match tree {
        Value::String(_) => visit(tree, path)?,
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                each_string(item, path, visit)?;
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                each_string(item, path, visit)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

/// `maxBytes` -> `max_bytes`; snake_case stays as it is.
pub(crate) fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// How a value reads in an error: strings quoted, numbers and booleans as written.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a table".into(),
    }
}

fn type_error(expected: &'static str, v: &Value) -> ErrorKind {
    ErrorKind::Type {
        expected,
        got: describe(v),
    }
}

/// One table of the configuration (a formatter, a handler, ...) being read.
pub(crate) struct Entry<'a> {
    /// Dotted path of the table: `handlers.file`.
    pub(crate) path: String,
    /// `(snake_case key, key as written, value)`.
    pub(crate) items: Vec<(String, &'a str, &'a Value)>,
}

impl<'a> Entry<'a> {
    /// Reads `value` at `path` as a table.
    pub(crate) fn new(path: String, value: &'a Value) -> Result<Entry<'a>, ConfigError> {
        let map = table(value).map_err(|k| ConfigError::new(path.clone(), k))?;
        Entry::from_map(path, map)
    }

    pub(crate) fn from_map(path: String, map: &'a Map<String, Value>) -> Result<Self, ConfigError> {
        let mut items: Vec<(String, &'a str, &'a Value)> = Vec::with_capacity(map.len());
        for (key, value) in map {
            let canon = snake(key);
            if let Some((_, first, _)) = items.iter().find(|(c, _, _)| *c == canon) {
                return Err(ConfigError::new(
                    path,
                    ErrorKind::Invalid(format!("both '{first}' and '{key}' given")),
                ));
            }
            items.push((canon, key, value));
        }
        Ok(Entry { path, items })
    }

    /// Removes and returns the value of `key` (snake_case) with the key as written.
    pub(crate) fn take(&mut self, key: &str) -> Option<(&'a str, &'a Value)> {
        let i = self.items.iter().position(|(c, _, _)| c == key)?;
        let (_, written, value) = self.items.remove(i);
        Some((written, value))
    }

    /// An error about `key` (as written) of this entry.
    pub(crate) fn error(&self, key: &str, kind: ErrorKind) -> ConfigError {
        ConfigError::new(self.path.clone(), kind).at_key(key)
    }

    /// Takes `key` and converts it; a `null` value counts as absent.
    pub(crate) fn get<T>(
        &mut self,
        key: &str,
        convert: impl FnOnce(&'a Value) -> Result<T, ErrorKind>,
    ) -> Result<Option<T>, ConfigError> {
        match self.take(key) {
            None | Some((_, Value::Null)) => Ok(None),
            Some((written, value)) => convert(value).map(Some).map_err(|k| self.error(written, k)),
        }
    }

    /// Every key left over becomes a warning: CPython does not read it here.
    pub(crate) fn ignore_rest(&mut self, warnings: &mut Vec<ConfigWarning>, why: &str) {
        for (_, written, _) in self.items.drain(..) {
            warnings.push(ConfigWarning::ignored(&self.path, written, why));
        }
    }

    /// Fails on the first key left over: one this place does not take.
    pub(crate) fn finish(&self, accepted: &[&str]) -> Result<(), ConfigError> {
        match self.items.first() {
            None => Ok(()),
            Some((_, written, _)) => Err(ConfigError::new(
                self.path.clone(),
                ErrorKind::UnknownKey {
                    key: (*written).to_owned(),
                    hint: if accepted.is_empty() {
                        String::new()
                    } else {
                        format!(" (expected one of: {})", accepted.join(", "))
                    },
                },
            )),
        }
    }
}

/// Python's `valid_ident`: the keys dictConfig passes to a constructor as keyword arguments
/// (`^[a-z_][a-z0-9_]*$`, any case); it raises for any other key.
pub(crate) fn is_identifier(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn table(v: &Value) -> Result<&Map<String, Value>, ErrorKind> {
    v.as_object().ok_or_else(|| type_error("a table", v))
}

pub(crate) fn string(v: &Value) -> Result<String, ErrorKind> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| type_error("a string", v))
}

pub(crate) fn boolean(v: &Value) -> Result<bool, ErrorKind> {
    match v {
        Value::Bool(b) => Ok(*b),
        // Python takes any truthy value; 0 and 1 are common in older files.
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        // YAML 1.1 (PyYAML, what Python users' files are written for) reads yes/no/on/off as
        // booleans, YAML 1.2 as strings; and Python takes the string "true" as true (any
        // non-empty string is). "false" and "no" are taken at their word, not Python's.
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(type_error("a boolean", v)),
        },
        _ => Err(type_error("a boolean", v)),
    }
}

pub(crate) fn integer(v: &Value) -> Result<u64, ErrorKind> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| type_error("a non-negative integer", v)),
        _ => Err(type_error("an integer", v)),
    }
}

/// A level: a name in any case (`info`, `WARN`), or a number.
pub(crate) fn level(v: &Value) -> Result<Level, ErrorKind> {
    match v {
        Value::String(s) => s
            .parse::<Level>()
            .map_err(|_| ErrorKind::UnknownLevel(s.clone())),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Level::new)
            .ok_or_else(|| ErrorKind::UnknownLevel(n.to_string())),
        _ => Err(type_error("a level name or number", v)),
    }
}

/// A list of names (`handlers: [console, file]`).
pub(crate) fn names(v: &Value) -> Result<Vec<String>, ErrorKind> {
    let Value::Array(items) = v else {
        return Err(type_error("a list of names", v));
    };
    items
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| type_error("a list of names", v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_and_snake_keys_meet() {
        assert_eq!(snake("maxBytes"), "max_bytes");
        assert_eq!(snake("flushOnClose"), "flush_on_close");
        assert_eq!(
            snake("disable_existing_loggers"),
            "disable_existing_loggers"
        );
        let v = json!({"maxBytes": 1, "max_bytes": 2});
        let e = Entry::new("handlers.f".into(), &v).err().unwrap();
        assert!(e.to_string().contains("both"), "{e}");
    }

    #[test]
    fn conversions_name_what_they_found() {
        let got = |r: Result<u64, ErrorKind>| r.unwrap_err().to_string();
        assert_eq!(
            got(integer(&json!("10MB"))),
            "expected an integer, got \"10MB\""
        );
        assert_eq!(
            got(integer(&json!(-1))),
            "expected a non-negative integer, got -1"
        );
        assert_eq!(level(&json!("debug")).unwrap(), Level::DEBUG);
        assert_eq!(level(&json!(15)).unwrap(), Level::new(15));
        assert_eq!(
            level(&json!("NTOSET")).unwrap_err().to_string(),
            "unknown level 'NTOSET'"
        );
        assert!(boolean(&json!(1)).unwrap());
        assert!(boolean(&json!("yes")).unwrap());
        assert!(!boolean(&json!("Off")).unwrap());
        assert!(boolean(&json!("maybe")).is_err());
        assert!(names(&json!(["a", 1])).is_err());
    }

    #[test]
    fn leftover_keys_are_named() {
        let v = json!({"class": "x", "colour": "red"});
        let mut e = Entry::new("handlers.h".into(), &v).unwrap();
        e.take("class");
        let err = e.finish(&["class"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "handlers.h: unknown key 'colour' (expected one of: class)"
        );
    }
}
