//! YAML as Python projects' files are read: PyYAML's `safe_load` (YAML 1.1), into the value
//! tree, in bounded time and memory.
//!
//! The parser (yaml-rust2) gives events with each scalar's style, tag and anchor; this module
//! builds the tree itself, without recursion:
//! - **Plain scalars resolve as PyYAML's `SafeLoader`**: `~`/`null`/empty are null;
//!   `yes/no/on/off/true/false` (three casings) are booleans; integers take `_`, `0b`, `0x`,
//!   a leading `0` for octal (`017` is 15) and sexagesimal `1:30` (90); floats need a dot
//!   (`1.0e+3`, `.5`, `.inf`, `.nan`); anything else (`0o17`, `1e3`) is a string, as in PyYAML.
//!   Quoted and block scalars are strings. The core tags `!!str`, `!!int`, `!!float`,
//!   `!!bool`, `!!null`, `!!map`, `!!seq` apply; any other tag (`!!python/object`) is refused,
//!   as `safe_load` refuses it.
//! - **Anchors, aliases and merge keys** (`<<: *base`, `<<: [*a, *b]`): the mapping's own keys
//!   win over merged ones, and an earlier merged mapping over a later one, as in PyYAML.
//! - **Bounds**: nesting deeper than [`MAX_DEPTH`](super::load::MAX_DEPTH) and more than
//!   [`MAX_NODES`](super::load::MAX_NODES) nodes (aliases counted at their full size, so an
//!   alias "bomb" stops early) are refused as soon as they are seen, before the rest of the
//!   file is parsed.
//!
//! Differences kept: a timestamp (`2001-12-14`) stays a string (PyYAML makes a `date`), `=`
//! is a string (PyYAML refuses it), and a mapping key is its text (`1: x` has the key `"1"`).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::error::{ConfigError, ErrorKind};
use super::load::{MAX_DEPTH, MAX_NODES};

fn error(message: String) -> ConfigError {
    ConfigError::new(
        "",
        ErrorKind::Syntax {
            format: "YAML",
            message,
        },
    )
}

/// A mapping key: text, or PyYAML's merge key `<<`.
enum Key {
    Text(String),
    Merge,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        nodes: usize,
    },
    Map {
        own: Vec<(String, Value)>,
        merges: Vec<Map<String, Value>>,
        key: Option<Key>,
        anchor: usize,
        nodes: usize,
    },
}

/// Parses one YAML document as `yaml.safe_load` does.
pub(crate) fn parse(text: &str) -> Result<Value, ConfigError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut nodes = 0usize;
    let mut root: Option<Value> = None;
    let mut documents = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| error(e.to_string()))?;
        let at = || format!("line {} column {}", mark.line(), mark.col() + 1);
        // A finished node: its value, anchor and size in nodes.
        let is_map = matches!(event, Event::MappingStart(..));
        let done: (Value, usize, usize) = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => continue,
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(error(format!(
                        "expected a single document, found a second one at {}",
                        at()
                    )));
                }
                continue;
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), is_map)
                    .map_err(|m| error(format!("{m} at {}", at())))?;
                if stack.len() >= MAX_DEPTH {
                    return Err(error(format!(
                        "nested deeper than {MAX_DEPTH} levels at {}",
                        at()
                    )));
                }
                stack.push(if is_map {
                    Frame::Map {
                        own: Vec::new(),
                        merges: Vec::new(),
                        key: None,
                        anchor,
                        nodes: 1,
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        nodes: 1,
                    }
                });
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(too_many(at()));
                }
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    nodes,
                }) => (Value::Array(items), anchor, nodes),
                _ => return Err(error(format!("unexpected end of a sequence at {}", at()))),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    own,
                    merges,
                    anchor,
                    nodes,
                    ..
                }) => {
                    let mut map = Map::new();
                    // PyYAML: merged keys first (an earlier merge wins), then the mapping's own.
                    for merged in merges.into_iter().rev() {
                        map.extend(merged);
                    }
                    map.extend(own);
                    (Value::Object(map), anchor, nodes)
                }
                _ => return Err(error(format!("unexpected end of a mapping at {}", at()))),
            },
            Event::Alias(id) => {
                let (value, size) = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| error(format!("unknown alias at {}", at())))?;
                nodes += size;
                if nodes > MAX_NODES {
                    return Err(too_many(at()));
                }
                (value, 0, size)
            }
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(too_many(at()));
                }
                // A plain `<<` in key position is the merge key.
                if style == TScalarStyle::Plain && tag.is_none() && text == "<<" {
                    if let Some(Frame::Map {
                        key: key @ None, ..
                    }) = stack.last_mut()
                    {
                        *key = Some(Key::Merge);
                        continue;
                    }
                }
                let value = scalar(text, style, tag.as_ref())
                    .map_err(|m| error(format!("{m} at {}", at())))?;
                (value, anchor, 1)
            }
        };
        let (value, anchor, size) = done;
        if anchor != 0 {
            anchors.insert(anchor, (value.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq { items, nodes, .. }) => {
                items.push(value);
                *nodes += size;
            }
            Some(Frame::Map {
                own,
                merges,
                key,
                nodes,
                ..
            }) => {
                *nodes += size;
                match key.take() {
                    None => {
                        *key = Some(Key::Text(
                            key_text(value).map_err(|m| error(format!("{m} at {}", at())))?,
                        ))
                    }
                    Some(Key::Text(k)) => own.push((k, value)),
                    Some(Key::Merge) => match value {
                        Value::Object(m) => merges.push(m),
                        Value::Array(list) => {
                            for item in list {
                                match item {
                                    Value::Object(m) => merges.push(m),
                                    _ => return Err(merge_error(at())),
                                }
                            }
                        }
                        _ => return Err(merge_error(at())),
                    },
                }
            }
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

fn too_many(at: String) -> ConfigError {
    error(format!(
        "more than {MAX_NODES} values (aliases counted at their size) at {at}"
    ))
}

fn merge_error(at: String) -> ConfigError {
    error(format!(
        "a merge key '<<' takes a mapping or a list of mappings, at {at}"
    ))
}

/// A mapping key's text: a scalar as written (PyYAML would make `1:` an int key).
fn key_text(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Null => Ok("None".into()),
        Value::Bool(b) => Ok(if b { "True" } else { "False" }.into()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("a mapping key must be a scalar".into()),
    }
}

/// The core schema tag `tag`'s suffix (`!!str` -> `str`), or the tag as written.
fn core(tag: &Tag) -> Result<&str, String> {
    match tag.handle.as_str() {
        "!!" | "tag:yaml.org,2002:" => Ok(tag.suffix.as_str()),
        _ => Err(format!(
            "the tag '{}{}' is not allowed (yaml.safe_load refuses it)",
            tag.handle, tag.suffix
        )),
    }
}

fn check_collection_tag(tag: Option<&Tag>, is_map: bool) -> Result<(), String> {
    let Some(tag) = tag else { return Ok(()) };
    match (core(tag)?, is_map) {
        ("map" | "omap", true) | ("seq", false) => Ok(()),
        (other, _) => Err(format!("the tag '!!{other}' does not fit here")),
    }
}

fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        // `!` alone: the non-specific tag, a string.
        if tag.handle == "!" && tag.suffix.is_empty() {
            return Ok(Value::String(text));
        }
        return match core(tag)? {
            "str" => Ok(Value::String(text)),
            "null" => Ok(Value::Null),
            "bool" => boolean(&text)
                .map(Value::Bool)
                .ok_or_else(|| bad("bool", &text)),
            "int" => int(&text).ok_or_else(|| bad("int", &text)),
            "float" => float(&text)
                .or_else(|| {
                    int(&text)
                        .and_then(|v| v.as_f64())
                        .and_then(Number::from_f64)
                        .map(Value::Number)
                })
                .ok_or_else(|| bad("float", &text)),
            other => Err(format!(
                "the tag '!!{other}' is not allowed here (yaml.safe_load refuses it)"
            )),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text));
    }
    Ok(resolve(text))
}

fn bad(what: &str, text: &str) -> String {
    format!("{text:?} is not a valid !!{what}")
}

/// PyYAML's implicit resolvers for a plain scalar.
pub(crate) fn resolve(text: String) -> Value {
    if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = boolean(&text) {
        return Value::Bool(b);
    }
    if let Some(v) = int(&text) {
        return v;
    }
    if let Some(v) = float(&text) {
        return v;
    }
    Value::String(text)
}

fn boolean(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

fn all(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

/// Sexagesimal parts after the first: each `[0-5]?[0-9]`.
fn base60_parts<'a>(parts: impl Iterator<Item = &'a str>) -> Option<Vec<u64>> {
    parts
        .map(|p| {
            (matches!(p.len(), 1 | 2)
                && all(p, |c| c.is_ascii_digit())
                && (p.len() == 1 || p.as_bytes()[0] <= b'5'))
                .then(|| p.parse::<u64>().ok())
                .flatten()
        })
        .collect()
}

/// YAML 1.1 integers as PyYAML reads them.
fn int(s: &str) -> Option<Value> {
    let (negative, body) = sign(s);
    let digits = |b: &str, radix: u32, ok: fn(u8) -> bool| -> Option<i128> {
        if !all(b, |c| ok(c) || c == b'_') {
            return None;
        }
        let clean: String = b.chars().filter(|c| *c != '_').collect();
        if clean.is_empty() {
            return None;
        }
        i128::from_str_radix(&clean, radix).ok()
    };
    let magnitude = if let Some(b) = body.strip_prefix("0b") {
        digits(b, 2, |c| matches!(c, b'0' | b'1'))?
    } else if let Some(b) = body.strip_prefix("0x") {
        digits(b, 16, |c| c.is_ascii_hexdigit())?
    } else if body.contains(':') {
        let mut parts = body.split(':');
        let first = parts.next()?;
        if !all(first, |c| c.is_ascii_digit() || c == b'_') || first.starts_with('0') {
            return None;
        }
        let head = digits(first, 10, |c| c.is_ascii_digit())?;
        base60_parts(parts)?.into_iter().try_fold(head, |acc, p| {
            acc.checked_mul(60)?.checked_add(i128::from(p))
        })?
    } else if body == "0" {
        0
    } else if let Some(b) = body.strip_prefix('0') {
        digits(b, 8, |c| (b'0'..=b'7').contains(&c))?
    } else if body.starts_with(|c: char| c.is_ascii_digit()) {
        digits(body, 10, |c| c.is_ascii_digit())?
    } else {
        return None;
    };
    let n = if negative { -magnitude } else { magnitude };
    if let Ok(i) = i64::try_from(n) {
        Some(Value::Number(i.into()))
    } else {
        // Beyond 64 bits: a float, as no configuration value needs such an integer exactly.
        Number::from_f64(n as f64).map(Value::Number)
    }
}

/// YAML 1.1 floats as PyYAML reads them (a dot is required; `1e3` is a string).
fn float(s: &str) -> Option<Value> {
    let (negative, body) = sign(s);
    let digits = |p: &str| all(p, |c| c.is_ascii_digit() || c == b'_');
    let value: f64 = match body {
        ".inf" | ".Inf" | ".INF" => f64::INFINITY,
        ".nan" | ".NaN" | ".NAN" if s == body => f64::NAN,
        _ => {
            let (mantissa, exponent) = match body.find(['e', 'E']) {
                Some(at) => (&body[..at], Some(&body[at + 1..])),
                None => (body, None),
            };
            if let Some(e) = exponent {
                if !e.starts_with(['+', '-']) || !all(&e[1..], |c| c.is_ascii_digit()) {
                    return None;
                }
            }
            let (int_part, frac) = mantissa.split_once('.')?;
            if !frac.is_empty() && !digits(frac) {
                return None;
            }
            if int_part.contains(':') {
                // `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*`
                let mut parts = int_part.split(':');
                let first = parts.next()?;
                if exponent.is_some() || !digits(first) || first.starts_with('_') {
                    return None;
                }
                let head: f64 = first.replace('_', "").parse().ok()?;
                let whole = base60_parts(parts)?
                    .into_iter()
                    .fold(head, |acc, p| acc * 60.0 + p as f64);
                let frac: f64 = format!("0.{}", frac.replace('_', "")).parse().ok()?;
                whole + frac
            } else {
                // `[-+]?[0-9][0-9_]*\.[0-9_]*...` or `\.[0-9][0-9_]*...` (no sign)
                let ok = if int_part.is_empty() {
                    s == body && frac.starts_with(|c: char| c.is_ascii_digit())
                } else {
                    digits(int_part) && !int_part.starts_with('_')
                };
                if !ok {
                    return None;
                }
                body.replace('_', "").parse().ok()?
            }
        }
    };
    let value = if negative { -value } else { value };
    // JSON numbers have no infinity or NaN: such a value stays as its text (no option takes it).
    Number::from_f64(value)
        .map(Value::Number)
        .or_else(|| Some(Value::String(s.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_resolve_as_pyyaml() {
        let cases = [
            ("1_000", json!(1000)),
            ("10_485_760", json!(10_485_760)),
            ("0x1f", json!(31)),
            ("017", json!(15)),
            ("0b101", json!(5)),
            ("1:30", json!(90)),
            ("+12", json!(12)),
            ("-3", json!(-3)),
            ("0o17", json!("0o17")),
            ("1e3", json!("1e3")),
            ("1.0e+3", json!(1000.0)),
            (".5", json!(0.5)),
            ("2.5", json!(2.5)),
            ("yes", json!(true)),
            ("On", json!(true)),
            ("OFF", json!(false)),
            ("no", json!(false)),
            ("~", Value::Null),
            ("", Value::Null),
            ("09", json!("09")),
            ("yEs", json!("yEs")),
            ("logging.StreamHandler", json!("logging.StreamHandler")),
        ];
        for (text, want) in cases {
            assert_eq!(resolve(text.to_owned()), want, "{text:?}");
        }
    }

    /// The same scalars through PyYAML's `safe_load`, where python3 has it.
    #[test]
    fn plain_scalars_match_pyyaml() {
        let scalars = [
            "1_000",
            "10_485_760",
            "0x1f",
            "0x_1F",
            "017",
            "0b1_01",
            "1:30",
            "-1:30",
            "+12",
            "0",
            "-0",
            "0o17",
            "1e3",
            "1.0e+3",
            "1.5E-2",
            ".5",
            "-.5",
            "+.inf",
            "-.inf",
            "2.5",
            "1_0.5",
            "1:30.5",
            "yes",
            "Yes",
            "YES",
            "yEs",
            "On",
            "off",
            "n",
            "y",
            "~",
            "null",
            "Null",
            "NULL",
            "09",
            "08.5",
            "0.",
            "_1",
            "1_",
            "12:70",
            "3:25:45",
            "true",
            "False",
            "logging.StreamHandler",
            "ext://sys.stdout",
            "%(message)s",
        ];
        let doc: String = scalars
            .iter()
            .enumerate()
            .map(|(i, s)| format!("k{i}: {s}\n"))
            .collect();
        let script = "import json, sys, yaml, math\n\
            d = yaml.safe_load(sys.stdin.read())\n\
            f = lambda v: v if not (isinstance(v, float) and (math.isinf(v) or math.isnan(v))) else None\n\
            print(json.dumps({k: f(v) for k, v in d.items()}))\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().expect("stdin").write_all(doc.as_bytes())?;
                c.wait_with_output()
            });
        let out = match out {
            Ok(out) if out.status.success() => out,
            other => {
                assert!(
                    std::env::var("CI").is_err(),
                    "python3 with PyYAML is needed: {other:?}"
                );
                eprintln!("skipped: python3 with PyYAML not run: {other:?}");
                return;
            }
        };
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours = parse(&doc).unwrap();
        for (i, s) in scalars.iter().enumerate() {
            let key = format!("k{i}");
            let (a, b) = (&ours[&key], &theirs[&key]);
            // Infinities have no JSON form: mplog keeps the text, Python's side gave null.
            if b.is_null() && a.is_string() && s.contains("inf") {
                continue;
            }
            let same = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y && a.is_i64() == b.is_i64(),
                _ => a == b,
            };
            assert!(same, "{s:?}: mplog {a}, PyYAML {b}");
        }
    }

    #[test]
    fn quoted_and_tagged_scalars() {
        let v = parse("a: 'yes'\nb: \"1_000\"\nc: !!str 12\nd: !!int '12'\ne: |\n  on\n").unwrap();
        assert_eq!(
            v,
            json!({"a": "yes", "b": "1_000", "c": "12", "d": 12, "e": "on\n"})
        );
        let e = parse("a: !!python/object:os.system x\n").unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{e}");
    }

    #[test]
    fn merges_own_keys_win_then_earlier_merges() {
        let v = parse(
            "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 3\nd: {<<: *b, w: 4}\n",
        )
        .unwrap();
        assert_eq!(v["c"], json!({"x": 3, "y": 1, "z": 2}));
        assert_eq!(v["d"], json!({"y": 2, "z": 2, "w": 4}));
    }

    #[test]
    fn depth_and_alias_bombs_are_refused_early() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // The parser's own limit (255 flow levels) or ours, whichever the scanner meets first.
        let e = parse(&deep).unwrap_err().to_string();
        assert!(
            e.contains("nested deeper than") || e.contains("recursion limit"),
            "{e}"
        );
        let e = parse(&format!("{}{}", "[".repeat(200), "]".repeat(200))).unwrap_err();
        assert!(e.to_string().contains("nested deeper than 128"), "{e}");
        let deep_block: String = (0..5_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(parse(&deep_block).is_err());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
