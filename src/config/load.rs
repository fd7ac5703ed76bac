//! Reading configuration files: the format by extension, then `${VAR}` expansion of string
//! values.
//!
//! TOML, JSON and YAML are parsed into one value tree (JSON's data model); INI goes through
//! [`ini`](super::ini) into the same tree. Expansion runs on the parsed tree, on string values
//! only, so a variable's value is never re-parsed as syntax (a `"` or `:` in it is just text).
//! Then Python's `ext://` and `cfg://` values are resolved ([`convert`](super::convert)).

use std::path::Path;

use serde_json::Value;

use super::error::{ConfigError, ConfigWarning, ErrorKind};

/// A configuration file's format.
///
/// ```
/// use mplog::config::FileFormat;
/// assert_eq!(FileFormat::from_path("prod.yml".as_ref()).unwrap(), FileFormat::Yaml);
/// assert!(FileFormat::from_path("app.xml".as_ref()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `.toml`
    Toml,
    /// `.json`
    Json,
    /// `.yaml`, `.yml`
    Yaml,
    /// `.ini`, `.conf`, `.cfg`: Python's `fileConfig` format.
    Ini,
}

impl FileFormat {
    /// The format named by `path`'s extension (any case).
    ///
    /// ```
    /// use mplog::config::FileFormat;
    /// assert_eq!(FileFormat::from_path("listener.TOML".as_ref()).unwrap(), FileFormat::Toml); // any case
    /// assert_eq!(FileFormat::from_path("logging.conf".as_ref()).unwrap(), FileFormat::Ini);
    /// let err = FileFormat::from_path("noext".as_ref()).unwrap_err();
    /// println!("{err}");
    /// ```
    pub fn from_path(path: &Path) -> Result<FileFormat, ConfigError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Ok(FileFormat::Toml),
            "json" => Ok(FileFormat::Json),
            "yaml" | "yml" => Ok(FileFormat::Yaml),
            "ini" | "conf" | "cfg" => Ok(FileFormat::Ini),
            _ => Err(ConfigError::new("", ErrorKind::UnknownExtension(ext)).in_file(path)),
        }
    }

    /// Parses `text` into the value tree (INI already in the dictConfig shape).
    #[cfg(test)]
    pub(crate) fn parse(self, text: &str) -> Result<Value, ConfigError> {
        self.parse_warned(text, &mut Vec::new())
    }

    /// [`parse`](Self::parse), with the keys fileConfig ignores added to `warnings`.
    pub(crate) fn parse_warned(
        self,
        text: &str,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Value, ConfigError> {
        let syntax = |format: &'static str, message: String| {
            ConfigError::new("", ErrorKind::Syntax { format, message })
        };
        match self {
            FileFormat::Toml => {
                // toml parses nested arrays and inline tables recursively: refuse deep
                // nesting before it sees them.
                check_nesting(text, "TOML")?;
                toml::from_str(text).map_err(|e| syntax("TOML", e.to_string()))
            }
            FileFormat::Json => {
                serde_json::from_str(text).map_err(|e| syntax("JSON", e.to_string()))
            }
            // PyYAML's safe_load (YAML 1.1), bounded: see `yaml`.
            FileFormat::Yaml => super::yaml::parse(text),
            FileFormat::Ini => super::ini::to_dict(text, warnings),
        }
    }
}

/// How deeply values may nest, in every format (serde_json's own limit for JSON). Python's
/// logging configurations nest 4 or 5 levels; the bound keeps every reader off deep
/// recursion and quadratic work.
pub(crate) const MAX_DEPTH: usize = 128;

/// How many values (scalars, lists and tables, YAML aliases counted at their full size) a
/// YAML configuration may hold: a config of 100,000 loggers is well within it, an alias
/// "bomb" is not.
pub(crate) const MAX_NODES: usize = 4_000_000;

/// The largest configuration file read (32 MiB, room for 300,000 loggers in JSON): beyond
/// it, a clear error before reading it all. Parsing takes memory in proportion to the text, so
/// this bounds what a hostile file can make a listener allocate.
///
/// ```
/// assert_eq!(mplog::config::MAX_FILE_BYTES, 32 << 20);
/// ```
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// Refuses text whose brackets (`[`, `{`, `(`) nest deeper than [`MAX_DEPTH`], before a
/// recursive parser sees it. Brackets in strings count too: a value with 128 unbalanced
/// brackets in a row is no logging configuration.
pub(crate) fn check_nesting(text: &str, format: &'static str) -> Result<(), ConfigError> {
    let mut depth = 0usize;
    let mut line = 1usize;
    for b in text.bytes() {
        match b {
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ConfigError::new(
                        "",
                        ErrorKind::Syntax {
                            format,
                            message: format!("line {line}: nested deeper than {MAX_DEPTH} levels"),
                        },
                    ));
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    Ok(())
}

/// Reads and parses `path` (at most [`MAX_FILE_BYTES`]), then expands `${VAR}` from the
/// environment.
pub(crate) fn read(path: &Path, warnings: &mut Vec<ConfigWarning>) -> Result<Value, ConfigError> {
    use std::io::Read as _;
    let format = FileFormat::from_path(path)?;
    let io = |e: std::io::Error| ConfigError::new("", ErrorKind::Io(e)).in_file(path);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // One byte more than the bound tells a file that is too large, whatever its metadata says
    // (a FIFO or /dev/zero has no size).
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::new(
            "",
            ErrorKind::Invalid(format!(
                "the file is larger than {} MiB: not a logging configuration",
                MAX_FILE_BYTES >> 20
            )),
        )
        .in_file(path));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e})"),
        ))
    })?;
    parse_expanded(&text, format, warnings).map_err(|e| e.in_file(path))
}

/// Parses `text` as `format` and expands the environment in its strings.
pub(crate) fn parse_expanded(
    text: &str,
    format: FileFormat,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Value, ConfigError> {
    let mut value = format.parse_warned(text, warnings)?;
    expand_tree(&mut value, &mut String::new(), &|name| {
        std::env::var(name).ok()
    })?;
    super::convert::convert_tree(&mut value)?;
    Ok(value)
}

/// Whether the string at `path` is a formatter's format: `$`-style formats use `${name}` for
/// record fields, so they are never expanded.
fn is_format_string(path: &str) -> bool {
    path.starts_with("formatters.") && (path.ends_with(".format") || path.ends_with(".fmt"))
}

fn expand_tree(
    value: &mut Value,
    path: &mut String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    super::value::each_string(value, path, &mut |value, path| {
        if let Value::String(s) = value {
            if s.contains('$') && !is_format_string(path) {
                *s = expand(s, env).map_err(|kind| ConfigError::new(path.to_owned(), kind))?;
            }
        }
        Ok(())
    })
}

/// Expands `${VAR}` and `${VAR:-default}` (the default when VAR is unset or empty, as in the
/// shell); `$${` is a literal `${`; any other `$` stays as it is.
pub(crate) fn expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, ErrorKind> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(body) = tail.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                return Err(ErrorKind::Invalid(format!(
                    "unclosed '${{' in {s:?} (write $${{ for a literal)"
                )));
            };
            let (name, default) = match body[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&body[..end], None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ErrorKind::Invalid(format!(
                    "invalid variable name {name:?} in {s:?}"
                )));
            }
            match (
                env(name).filter(|v| !v.is_empty() || default.is_none()),
                default,
            ) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(ErrorKind::Env(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "LOG_DIR" => Some("/var/log/app".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_defaults_and_literals() {
        assert_eq!(
            expand("${LOG_DIR}/a.log", &env).unwrap(),
            "/var/log/app/a.log"
        );
        assert_eq!(expand("${NOPE:-/tmp}/a.log", &env).unwrap(), "/tmp/a.log");
        assert_eq!(expand("${EMPTY:-x}", &env).unwrap(), "x");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        assert_eq!(
            expand("cost $5, $${LOG_DIR}", &env).unwrap(),
            "cost $5, ${LOG_DIR}"
        );
        assert!(matches!(expand("${NOPE}", &env), Err(ErrorKind::Env(v)) if v == "NOPE"));
        assert!(expand("${LOG_DIR", &env).is_err());
        assert!(expand("${a b}", &env).is_err());
    }

    #[test]
    fn expansion_is_on_values_not_text_and_skips_format_strings() {
        let mut v: Value = serde_json::json!({
            "handlers": {"f": {"filename": "${LOG_DIR}/x.log", "n": 3}},
            "formatters": {"d": {"format": "${message}", "datefmt": "${NOPE:-%H}"}},
        });
        expand_tree(&mut v, &mut String::new(), &env).unwrap();
        assert_eq!(v["handlers"]["f"]["filename"], "/var/log/app/x.log");
        assert_eq!(v["formatters"]["d"]["format"], "${message}");
        assert_eq!(v["formatters"]["d"]["datefmt"], "%H");
    }

    #[test]
    fn an_unset_variable_names_its_place() {
        let mut v: Value = serde_json::json!({"handlers": {"f": {"filename": "${NOPE}"}}});
        let e = expand_tree(&mut v, &mut String::new(), &env).unwrap_err();
        assert_eq!(e.path(), "handlers.f.filename");
    }

    #[test]
    fn yaml_merge_keys_apply() {
        let v = FileFormat::Yaml
            .parse("base: &b {class: FileHandler, delay: true}\nh: {<<: *b, filename: a.log}\n")
            .unwrap();
        assert_eq!(v["h"]["class"], "FileHandler");
        assert_eq!(v["h"]["filename"], "a.log");
    }

    #[test]
    fn formats_by_extension() {
        for (name, f) in [
            ("a.TOML", FileFormat::Toml),
            ("a.json", FileFormat::Json),
            ("a.yaml", FileFormat::Yaml),
            ("logging.conf", FileFormat::Ini),
        ] {
            assert_eq!(FileFormat::from_path(Path::new(name)).unwrap(), f);
        }
        assert!(FileFormat::Json.parse("{").is_err());
    }
}
