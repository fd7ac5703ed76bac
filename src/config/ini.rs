//! Python's `fileConfig` INI format, the common subset, read into the dictConfig tree so that
//! one set of checks serves both.
//!
//! ```ini
//! [loggers]
//! keys=root,app
//! [handlers]
//! keys=console,file
//! [formatters]
//! keys=plain
//! [logger_root]
//! level=WARNING
//! handlers=console
//! [logger_app]
//! level=DEBUG
//! handlers=file
//! propagate=0
//! qualname=app
//! [handler_console]
//! class=StreamHandler
//! formatter=plain
//! args=(sys.stderr,)
//! [handler_file]
//! class=handlers.RotatingFileHandler
//! args=('app.log', 'a', 1048576, 5)
//! kwargs={'delay': True}
//! [formatter_plain]
//! format=%(levelname)s %(name)s %(message)s
//! ```
//!
//! `args` and `kwargs` are Python expressions in Python; here they are literals only: a tuple
//! (or dict) of strings, integers, floats, `True`, `False`, `None`, `sys.stdout`, `sys.stderr`
//! and level names (`ERROR`, `logging.ERROR`). Positional arguments are matched to the
//! class's parameter names as in Python's constructors. Anything that would need evaluating
//! code is refused, naming the section. Keys fileConfig does not read are warnings, as they
//! have no effect. A class mplog does not know gets its positional `args` as the list `args`
//! (for a class registered with [`Registry`](super::Registry)). As in `configparser`, keys are case-insensitive,
//! indented lines continue a value, and `%%` in `args`/`kwargs` is a `%` (other `%(...)`
//! interpolation is refused).

use serde_json::{json, Map, Value};

use super::classes::{self, Kind};
use super::error::{ConfigError, ConfigWarning, ErrorKind};
use super::literal::literal;

type Sections = Vec<(String, Vec<(String, String)>)>;

fn syntax(line: usize, message: String) -> ConfigError {
    ConfigError::new(
        "",
        ErrorKind::Syntax {
            format: "INI",
            message: format!("line {line}: {message}"),
        },
    )
}

/// `configparser`'s reading of sections and keys.
fn sections(text: &str) -> Result<Sections, ConfigError> {
    let mut out: Sections = Vec::new();
    let mut last_key: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            if let (Some((_, keys)), Some(k)) = (out.last_mut(), last_key) {
                let value = &mut keys[k].1;
                value.push('\n');
                value.push_str(trimmed);
                continue;
            }
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            out.push((name.trim().to_owned(), Vec::new()));
            last_key = None;
            continue;
        }
        let Some((_, keys)) = out.last_mut() else {
            return Err(syntax(i + 1, "a key before any [section]".into()));
        };
        let at = trimmed
            .find(['=', ':'])
            .ok_or_else(|| syntax(i + 1, format!("expected key=value, got {trimmed:?}")))?;
        let key = trimmed[..at].trim().to_ascii_lowercase();
        keys.retain(|(k, _)| *k != key);
        keys.push((key, trimmed[at + 1..].trim().to_owned()));
        last_key = Some(keys.len() - 1);
    }
    Ok(out)
}

struct Ini {
    sections: Sections,
}

impl Ini {
    fn section(&self, name: &str) -> Option<&[(String, String)]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, keys)| keys.as_slice())
    }

    fn require(&self, name: &str) -> Result<&[(String, String)], ConfigError> {
        self.section(name).ok_or_else(|| {
            ConfigError::new(
                name,
                ErrorKind::Invalid(format!("missing section [{name}]")),
            )
        })
    }

    /// `[loggers] keys=a,b` as a list of names.
    fn keys(&self, list: &str) -> Vec<String> {
        self.section(list)
            .and_then(|s| get(s, "keys"))
            .map(split_names)
            .unwrap_or_default()
    }
}

fn get<'a>(keys: &'a [(String, String)], key: &str) -> Option<&'a str> {
    keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn split_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads fileConfig INI text into the dictConfig tree (`disable_existing_loggers` true, as
/// `fileConfig`'s default).
pub(crate) fn to_dict(text: &str, warnings: &mut Vec<ConfigWarning>) -> Result<Value, ConfigError> {
    let ini = Ini {
        sections: sections(text)?,
    };
    let mut formatters = Map::new();
    for name in ini.keys("formatters") {
        let section = format!("formatter_{name}");
        let keys = ini.require(&section)?;
        let mut f = Map::new();
        for (key, value) in keys {
            match key.as_str() {
                "format" | "datefmt" | "style" | "class" => {
                    f.insert(key.clone(), json!(value));
                }
                "validate" => {
                    f.insert(key.clone(), json!(boolean(&section, key, value)?));
                }
                "defaults" => {
                    f.insert(key.clone(), literal(&section, key, value)?);
                }
                _ => ignored(warnings, &section, key),
            }
        }
        formatters.insert(name, Value::Object(f));
    }
    let mut handlers = Map::new();
    for name in ini.keys("handlers") {
        let section = format!("handler_{name}");
        handlers.insert(name, handler(&section, ini.require(&section)?, warnings)?);
    }
    let mut loggers = Map::new();
    let mut root = Value::Null;
    let names = ini.keys("loggers");
    if !names.iter().any(|n| n == "root") {
        return Err(ConfigError::new(
            "loggers",
            ErrorKind::Invalid("the [loggers] keys must include root".into()),
        ));
    }
    for name in names {
        let section = format!("logger_{name}");
        let keys = ini.require(&section)?;
        let mut l = Map::new();
        for (key, value) in keys {
            match key.as_str() {
                "level" => {
                    l.insert(key.clone(), json!(value));
                }
                "handlers" => {
                    l.insert(key.clone(), json!(split_names(value)));
                }
                "propagate" => {
                    l.insert(key.clone(), json!(boolean(&section, key, value)?));
                }
                "qualname" => {}
                _ => ignored(warnings, &section, key),
            }
        }
        if name == "root" {
            root = Value::Object(l);
        } else {
            let qualname = get(keys, "qualname")
                .ok_or_else(|| ConfigError::new(section.clone(), ErrorKind::Missing("qualname")))?;
            l.entry("propagate").or_insert(json!(true));
            loggers.insert(qualname.to_owned(), Value::Object(l));
        }
    }
    Ok(json!({
        "version": 1,
        "disable_existing_loggers": true,
        "formatters": formatters,
        "handlers": handlers,
        "loggers": loggers,
        "root": root,
    }))
}

/// A key fileConfig does not read in this section: a warning, as it has no effect.
fn ignored(warnings: &mut Vec<ConfigWarning>, section: &str, key: &str) {
    warnings.push(ConfigWarning::ignored(
        section,
        key,
        "Python's fileConfig does not read it",
    ));
}

/// configparser's `getboolean` words (and `getint`'s 0/1, for `propagate`).
fn boolean(section: &str, key: &str, value: &str) -> Result<bool, ConfigError> {
    super::value::boolean(&json!(value)).map_err(|k| ConfigError::new(section, k).at_key(key))
}

/// Python's constructor parameters, in order, for positional `args`.
fn positional(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Stream => &["stream"],
        Kind::File | Kind::Watched | Kind::LockedFile => {
            &["filename", "mode", "encoding", "delay", "errors"]
        }
        Kind::Rotating | Kind::LockedRotating => &[
            "filename",
            "mode",
            "maxBytes",
            "backupCount",
            "encoding",
            "delay",
            "errors",
        ],
        Kind::Timed | Kind::LockedTimed => &[
            "filename",
            "when",
            "interval",
            "backupCount",
            "encoding",
            "delay",
            "utc",
            "atTime",
            "errors",
        ],
        Kind::Memory => &["capacity", "flushLevel", "target", "flushOnClose"],
        Kind::Null => &[],
        _ => super::network::positional(kind),
    }
}

fn handler(
    section: &str,
    keys: &[(String, String)],
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Value, ConfigError> {
    let mut h = Map::new();
    let class =
        get(keys, "class").ok_or_else(|| ConfigError::new(section, ErrorKind::Missing("class")))?;
    for (key, value) in keys {
        match key.as_str() {
            "class" | "level" | "formatter" | "target" => {
                if !value.is_empty() {
                    h.insert(key.clone(), json!(value));
                }
            }
            "args" | "kwargs" => {}
            _ => ignored(warnings, section, key),
        }
    }
    let args = match get(keys, "args") {
        Some(text) => literal(section, "args", text)?,
        None => Value::Array(Vec::new()),
    };
    let Value::Array(args) = args else {
        return Err(ConfigError::new(
            section,
            ErrorKind::Invalid("args must be a tuple, e.g. ('app.log', 'a')".into()),
        )
        .at_key("args"));
    };
    // A class mplog does not know has no parameters to match: its positional arguments go
    // to a registered factory as the list `args`; unregistered, the dict checks name it.
    if classes::resolve(class).is_err() && !args.is_empty() {
        h.insert("args".into(), Value::Array(args));
    } else if let Ok(kind) = classes::resolve(class) {
        let names = positional(kind);
        if args.len() > names.len() {
            return Err(ConfigError::new(
                section,
                ErrorKind::Invalid(format!(
                    "{class} takes at most {} positional arguments ({}), got {}",
                    names.len(),
                    names.join(", "),
                    args.len()
                )),
            )
            .at_key("args"));
        }
        for (name, value) in names.iter().zip(args) {
            h.insert((*name).to_owned(), value);
        }
    }
    if let Some(text) = get(keys, "kwargs") {
        let Value::Object(kwargs) = literal(section, "kwargs", text)? else {
            return Err(ConfigError::new(
                section,
                ErrorKind::Invalid("kwargs must be a dict, e.g. {'delay': True}".into()),
            )
            .at_key("kwargs"));
        };
        for (k, v) in kwargs {
            if h.insert(k.clone(), v).is_some() {
                return Err(ConfigError::new(
                    section,
                    ErrorKind::Invalid(format!("'{k}' given in both args and kwargs")),
                ));
            }
        }
    }
    Ok(Value::Object(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_config_becomes_a_dict() {
        let text = "[loggers]\nkeys=root,app\n[handlers]\nkeys=h\n[formatters]\nkeys=f\n\
            [logger_root]\nlevel=WARNING\nhandlers=h\n\
            [logger_app]\nlevel=DEBUG\nhandlers=\npropagate=0\nqualname=app.core\n\
            [handler_h]\nclass=handlers.RotatingFileHandler\nformatter=f\n\
            args=('x.log', 'a', 100,\n  3)\nkwargs={'delay': True}\n\
            [formatter_f]\nformat=%(name)s: %(message)s\n";
        let d = to_dict(text, &mut Vec::new()).unwrap();
        assert_eq!(d["loggers"]["app.core"]["propagate"], json!(false));
        assert_eq!(d["loggers"]["app.core"]["handlers"], json!([]));
        assert_eq!(d["handlers"]["h"]["maxBytes"], json!(100));
        assert_eq!(d["handlers"]["h"]["backupCount"], json!(3));
        assert_eq!(d["handlers"]["h"]["delay"], json!(true));
        assert_eq!(
            d["formatters"]["f"]["format"],
            json!("%(name)s: %(message)s")
        );
        assert_eq!(d["root"]["handlers"], json!(["h"]));
    }

    #[test]
    fn what_is_not_supported_is_refused_by_section() {
        let base = "[loggers]\nkeys=root\n[logger_root]\nlevel=INFO\n";
        assert!(to_dict("[loggers]\nkeys=app\n", &mut Vec::new()).is_err());
        let e = to_dict(&format!("{base}[handlers]\nkeys=h\n"), &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("missing section [handler_h]"), "{e}");
        let e = to_dict(
            &format!("{base}[handlers]\nkeys=h\n[handler_h]\nclass=StreamHandler\nargs=(1, 2)\n"),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("at most 1 positional"), "{e}");
        assert!(to_dict("keys=x\n", &mut Vec::new()).is_err());
    }
}
