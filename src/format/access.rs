//! Index and attribute access in `{}` fields (`{name[0]}`, `{lineno.real}`), as `str.format`
//! does it on the values a record holds, validated as CPython's `StrFormatStyle.field_spec`
//! (`^(\d+|\w+)(\.\w+|\[[^]]+\])*$`).
//!
//! A record's values are `str`, `int`, `float`, `bool` or `None`: an index picks a character
//! of a string (`[0]`, digits, as `str.format` reads them), the attributes are the numeric ones
//! (`real`, `imag`, `numerator`, `denominator`). Anything else fails when a record is formatted,
//! with Python's `TypeError`/`AttributeError`/`IndexError` text, as in CPython.

use super::spec::{FieldValue, ValueError};

/// One `[key]` or `.name` after a field's name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Accessor {
    Index(usize),
    Key(Box<str>),
    Attr(Box<str>),
}

/// Splits `name[0].x` into `name` and its accessors; errors as CPython's validation.
pub(crate) fn parse(field: &str) -> Result<(&str, Vec<Accessor>), &'static str> {
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let end = field.find(['.', '[']).unwrap_or(field.len());
    let (base, mut rest) = field.split_at(end);
    if !word(base) {
        return Err(if base.is_empty() {
            "a field needs a name, as in {message}"
        } else {
            "invalid field name/expression"
        });
    }
    let mut accessors = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let n = after.find(['.', '[']).unwrap_or(after.len());
            if !word(&after[..n]) {
                return Err("invalid field name/expression");
            }
            accessors.push(Accessor::Attr(after[..n].into()));
            rest = &after[n..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or("invalid field name/expression")?;
            let key = &after[..close];
            if key.is_empty() {
                return Err("invalid field name/expression");
            }
            accessors.push(match key.parse::<usize>() {
                Ok(i) if key.bytes().all(|b| b.is_ascii_digit()) => Accessor::Index(i),
                _ => Accessor::Key(key.into()),
            });
            rest = &after[close + 1..];
        } else {
            return Err("invalid field name/expression");
        }
    }
    Ok((base, accessors))
}

/// Applies `accessors` to `value` as Python's `str.format` would.
pub(crate) fn apply<'a>(
    mut value: FieldValue<'a>,
    accessors: &[Accessor],
) -> Result<FieldValue<'a>, ValueError> {
    for a in accessors {
        value = match (a, value) {
            (Accessor::Index(i), FieldValue::Str(s)) => match s.char_indices().nth(*i) {
                Some((at, c)) => FieldValue::Str(&s[at..at + c.len_utf8()]),
                None => return Err(ValueError("string index out of range".into())),
            },
            (Accessor::Key(_), FieldValue::Str(_)) => {
                return Err(ValueError("string indices must be integers".into()))
            }
            (Accessor::Index(_) | Accessor::Key(_), v) => {
                return Err(ValueError(format!(
                    "'{}' object is not subscriptable",
                    v.type_name()
                )))
            }
            (Accessor::Attr(name), v) => match (&**name, v) {
                ("real" | "numerator", FieldValue::Int(i)) => FieldValue::Int(i),
                ("real" | "numerator", FieldValue::Bool(b)) => FieldValue::Int(i64::from(b)),
                ("imag", FieldValue::Int(_) | FieldValue::Bool(_)) => FieldValue::Int(0),
                ("denominator", FieldValue::Int(_) | FieldValue::Bool(_)) => FieldValue::Int(1),
                ("real", FieldValue::Float(f)) => FieldValue::Float(f),
                ("imag", FieldValue::Float(_)) => FieldValue::Float(0.0),
                (name, v) => {
                    return Err(ValueError(format!(
                        "'{}' object has no attribute '{name}'",
                        v.type_name()
                    )))
                }
            },
        };
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_cpython_validates() {
        assert_eq!(parse("name").unwrap(), ("name", vec![]));
        assert_eq!(
            parse("name[0].real[key]").unwrap(),
            (
                "name",
                vec![
                    Accessor::Index(0),
                    Accessor::Attr("real".into()),
                    Accessor::Key("key".into())
                ]
            )
        );
        for bad in ["a.", "a[]", "a[0", "a.b-c", "a b", "[0]", ".x", "a]"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn access_as_python() {
        // python3: '{0[1]}'.format('héllo') == 'é'; '{0.real}'.format(True) == '1'
        let v = apply(FieldValue::Str("héllo"), &[Accessor::Index(1)]).unwrap();
        assert_eq!(v, FieldValue::Str("é"));
        let v = apply(FieldValue::Bool(true), &[Accessor::Attr("real".into())]).unwrap();
        assert_eq!(v, FieldValue::Int(1));
        let e = apply(FieldValue::Int(3), &[Accessor::Index(0)]).unwrap_err();
        assert_eq!(e.to_string(), "'int' object is not subscriptable");
        let e = apply(FieldValue::Str("ab"), &[Accessor::Index(5)]).unwrap_err();
        assert_eq!(e.to_string(), "string index out of range");
        let e = apply(FieldValue::Str("ab"), &[Accessor::Attr("x".into())]).unwrap_err();
        assert_eq!(e.to_string(), "'str' object has no attribute 'x'");
    }
}
