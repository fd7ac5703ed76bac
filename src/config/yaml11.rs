//! YAML 1.1's plain scalars as PyYAML's `SafeLoader` resolves them (its implicit resolvers):
//! null, booleans (`yes/no/on/off/true/false` in three casings), integers (`_`, `0b`, `0x`, a
//! leading `0` for octal, sexagesimal `1:30`) and floats (a dot required: `1e3` is a string).
//! Checked against PyYAML itself where python3 has it.

use serde_json::{Number, Value};

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

pub(crate) fn boolean(s: &str) -> Option<bool> {
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
pub(crate) fn int(s: &str) -> Option<Value> {
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
pub(crate) fn float(s: &str) -> Option<Value> {
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
            .stderr(std::process::Stdio::piped())
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
        let ours = super::super::yaml::parse(&doc).unwrap();
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
}
