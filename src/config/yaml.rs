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
use super::yaml11::{boolean, float, int, resolve};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
