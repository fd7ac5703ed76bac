//! [`PyValue`]: a Python value decoded from a pickle (data only), and its `repr()` and `str()`
//! as Python prints them.

use std::fmt::{self, Write as _};

use crate::format::spec::{write_float_repr, write_str_repr};

/// Containers nested deeper than this print as `...` (a guard for values built by hand; decoded
/// values are already bounded by [`Limits::max_depth`](super::Limits::max_depth)).
const REPR_MAX_DEPTH: usize = 64;

/// A Python value, as the decoder builds it from a pickle's data opcodes.
///
/// Integers that do not fit an `i64` keep their decimal digits ([`PyValue::BigInt`]); dicts
/// keep their insertion order; sets keep the order they were pickled in.
///
/// ```
/// use mplog::compat::pickle::PyValue;
/// let v = PyValue::List(vec![PyValue::Int(1), PyValue::Str("a".into()), PyValue::None]);
/// assert_eq!(v.repr(), "[1, 'a', None]");
/// assert_eq!(PyValue::Tuple(vec![PyValue::Bool(true)]).repr(), "(True,)");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int` that fits an `i64`.
    Int(i64),
    /// An `int` beyond `i64`, as its decimal digits (a leading `-` when negative).
    BigInt(String),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `bytearray`.
    ByteArray(Vec<u8>),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `tuple`.
    Tuple(Vec<PyValue>),
    /// A `dict`, in insertion order.
    Dict(Vec<(PyValue, PyValue)>),
    /// A `set`.
    Set(Vec<PyValue>),
    /// A `frozenset`.
    FrozenSet(Vec<PyValue>),
}

impl PyValue {
    /// Python's `repr(value)`.
    ///
    /// ```
    /// use mplog::compat::pickle::PyValue;
    /// let d = PyValue::Dict(vec![(PyValue::Str("k".into()), PyValue::Float(1.0))]);
    /// assert_eq!(d.repr(), "{'k': 1.0}");
    /// assert_eq!(PyValue::Bytes(b"a'\x00".to_vec()).repr(), r#"b"a'\x00""#);
    /// ```
    pub fn repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    /// Appends Python's `repr(value)` to `out`.
    ///
    /// ```
    /// use mplog::compat::pickle::PyValue;
    /// let mut out = String::from("x=");
    /// PyValue::Set(vec![]).write_repr(&mut out);
    /// assert_eq!(out, "x=set()");
    /// ```
    pub fn write_repr(&self, out: &mut String) {
        write_repr(self, out, 0);
    }

    /// Appends Python's `str(value)` to `out`: the text itself for a `str`, `repr` otherwise
    /// (which is what `str()` gives for every other type decoded here).
    ///
    /// ```
    /// use mplog::compat::pickle::PyValue;
    /// let mut out = String::new();
    /// PyValue::Str("it's".into()).write_str(&mut out);
    /// out.push(' ');
    /// PyValue::List(vec![PyValue::Str("it's".into())]).write_str(&mut out);
    /// assert_eq!(out, r#"it's ["it's"]"#);
    /// ```
    pub fn write_str(&self, out: &mut String) {
        match self {
            PyValue::Str(s) => out.push_str(s),
            other => other.write_repr(out),
        }
    }

    /// The Python type name (`'int'`, `'dict'`...), for error messages.
    ///
    /// ```
    /// assert_eq!(mplog::compat::pickle::PyValue::BigInt("1".repeat(30)).type_name(), "int");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) | PyValue::BigInt(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::Bytes(_) => "bytes",
            PyValue::ByteArray(_) => "bytearray",
            PyValue::List(_) => "list",
            PyValue::Tuple(_) => "tuple",
            PyValue::Dict(_) => "dict",
            PyValue::Set(_) => "set",
            PyValue::FrozenSet(_) => "frozenset",
        }
    }
}

impl fmt::Display for PyValue {
    /// Python's `str(value)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_str(&mut out);
        f.write_str(&out)
    }
}

fn write_repr(v: &PyValue, out: &mut String, depth: usize) {
    if depth > REPR_MAX_DEPTH {
        out.push_str("...");
        return;
    }
    let items = |items: &[PyValue], out: &mut String| {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_repr(item, out, depth + 1);
        }
    };
    match v {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::BigInt(digits) => out.push_str(digits),
        PyValue::Float(f) => write_float_repr(*f, out),
        PyValue::Str(s) => write_str_repr(s, out),
        PyValue::Bytes(b) => write_bytes_repr(b, out),
        PyValue::ByteArray(b) => {
            out.push_str("bytearray(");
            write_bytes_repr(b, out);
            out.push(')');
        }
        PyValue::List(v) => {
            out.push('[');
            items(v, out);
            out.push(']');
        }
        PyValue::Tuple(v) => {
            out.push('(');
            items(v, out);
            if v.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        PyValue::Dict(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(k, out, depth + 1);
                out.push_str(": ");
                write_repr(v, out, depth + 1);
            }
            out.push('}');
        }
        PyValue::Set(v) if v.is_empty() => out.push_str("set()"),
        PyValue::Set(v) => {
            out.push('{');
            items(v, out);
            out.push('}');
        }
        PyValue::FrozenSet(v) if v.is_empty() => out.push_str("frozenset()"),
        PyValue::FrozenSet(v) => {
            out.push_str("frozenset({");
            items(v, out);
            out.push_str("})");
        }
    }
}

/// Python's `repr(bytes)`: the quote chosen as for `str`, `\\`, the quote, `\t`, `\n`, `\r`
/// escaped, and every byte outside printable ASCII as `\xNN`.
fn write_bytes_repr(b: &[u8], out: &mut String) {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(char::from(quote));
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..=0x7e => out.push(char::from(c)),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(char::from(quote));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_match_python() {
        let cases: Vec<(PyValue, &str)> = vec![
            (PyValue::Tuple(vec![]), "()"),
            (
                PyValue::Tuple(vec![PyValue::Int(1), PyValue::Int(-2)]),
                "(1, -2)",
            ),
            (PyValue::FrozenSet(vec![PyValue::Int(3)]), "frozenset({3})"),
            (PyValue::FrozenSet(vec![]), "frozenset()"),
            (PyValue::Set(vec![PyValue::Str("é".into())]), "{'é'}"),
            (PyValue::ByteArray(b"\"'".to_vec()), r#"bytearray(b'"\'')"#),
            (PyValue::Bytes(b"\t\xff".to_vec()), r"b'\t\xff'"),
            (PyValue::Float(1e16), "1e+16"),
            (
                PyValue::BigInt("-123456789012345678901234".into()),
                "-123456789012345678901234",
            ),
            (
                PyValue::Dict(vec![(PyValue::Int(1), PyValue::List(vec![]))]),
                "{1: []}",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(v.repr(), want, "{v:?}");
        }
        assert_eq!(PyValue::Str("a\nb".into()).to_string(), "a\nb");
    }

    #[test]
    fn deep_values_print_without_recursing_forever() {
        let mut v = PyValue::None;
        for _ in 0..200 {
            v = PyValue::List(vec![v]);
        }
        let text = v.repr();
        assert!(text.contains("..."));
        assert!(text.len() < 200);
    }
}
