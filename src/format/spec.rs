//! The rendering specs of format fields, exact to CPython: printf-style conversions for the `%`
//! style (`%(levelname)-8s`, `%(process)#x`, `%(created)f`; `Objects/unicodeobject.c`'s
//! `PyUnicode_Format`) and the format-spec mini-language for the `{}` style (`{levelno:^6}`,
//! `{relativeCreated:08.2f}`, `{name!r:>10}`; `Python/formatter_unicode.c`).
//!
//! A spec is parsed once, when the formatter is built; rendering a value never parses. Values
//! come as [`FieldValue`]s, the few types a record field can hold, and render as Python would
//! render the equivalent `str`, `int`, `float`, `bool` or `None`, including Python's errors
//! (`%d format: a real number is required, not str`) when a value does not fit its spec.
//!
//! ```
//! use mplog::format::spec::{BraceSpec, FieldValue, PercentSpec};
//! let (spec, used) = PercentSpec::parse("-8s rest").unwrap();
//! assert_eq!(used, 3);
//! let mut out = String::new();
//! spec.render(FieldValue::Str("INFO"), &mut out).unwrap();
//! assert_eq!(out, "INFO    ");
//!
//! let spec = BraceSpec::parse(None, "08.2f").unwrap();
//! out.clear();
//! spec.render(FieldValue::Float(42.987), &mut out).unwrap();
//! assert_eq!(out, "00042.99");
//! ```

use std::fmt::Write as _;

/// A value to render: what a record field or an `extra` value can be, borrowed.
///
/// ```
/// use mplog::format::spec::FieldValue;
/// let v = FieldValue::Int(20);
/// assert_eq!(v.type_name(), "int");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// Text (Python `str`).
    Str(&'a str),
    /// An integer (Python `int`).
    Int(i64),
    /// A float (Python `float`).
    Float(f64),
    /// A boolean (Python `bool`, an `int` subclass).
    Bool(bool),
    /// No value (Python `None`).
    None,
}

impl FieldValue<'_> {
    /// The Python type name of the value, as Python's error messages print it.
    ///
    /// ```
    /// use mplog::format::spec::FieldValue;
    /// assert_eq!(FieldValue::Str("x").type_name(), "str");
    /// assert_eq!(FieldValue::None.type_name(), "NoneType"); // as in "not NoneType"
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::Str(_) => "str",
            FieldValue::Int(_) => "int",
            FieldValue::Float(_) => "float",
            FieldValue::Bool(_) => "bool",
            FieldValue::None => "NoneType",
        }
    }
}

/// A spec that cannot be parsed; the message says why (the formatter adds where).
///
/// ```
/// use mplog::format::spec::PercentSpec;
/// let err = PercentSpec::parse("y").unwrap_err();
/// assert_eq!(err.to_string(), "unsupported format character 'y' (0x79)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(String);

/// A value that does not fit its spec, with Python's message.
///
/// ```
/// use mplog::format::spec::{FieldValue, PercentSpec};
/// let (spec, _) = PercentSpec::parse("d").unwrap();
/// let err = spec.render(FieldValue::Str("x"), &mut String::new()).unwrap_err();
/// assert_eq!(err.to_string(), "%d format: a real number is required, not str");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub(crate) String);

/// A spec known only per record (nested fields, `{message:>{w}}`) that does not parse is,
/// as in Python, an error of that record's value.
impl From<SpecError> for ValueError {
    fn from(e: SpecError) -> ValueError {
        ValueError(e.0)
    }
}

/// What goes before a non-negative number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// Nothing (`-` only for negatives).
    Minus,
    /// `+`.
    Plus,
    /// A space.
    Space,
}

impl Sign {
    fn for_value(self, negative: bool) -> &'static str {
        match (negative, self) {
            (true, _) => "-",
            (false, Sign::Minus) => "",
            (false, Sign::Plus) => "+",
            (false, Sign::Space) => " ",
        }
    }
}

/// Where padding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
    /// Between the sign (and base prefix) and the digits.
    AfterSign,
}

/// A printf-style conversion spec, the part after `%(name)`: `[flags][width][.precision]
/// [length]conversion`, with flags `#0- +`, length modifiers `h`/`l`/`L` accepted and ignored,
/// and conversions `d i o u x X e E f F g G c r s a %`, as Python's `%` operator.
///
/// ```
/// use mplog::format::spec::{FieldValue, PercentSpec};
/// let (spec, _) = PercentSpec::parse("#x").unwrap();
/// let mut out = String::new();
/// spec.render(FieldValue::Int(4242), &mut out).unwrap();
/// assert_eq!(out, "0x1092");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PercentSpec {
    left: bool,
    zero: bool,
    alt: bool,
    sign: Sign,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

impl PercentSpec {
    /// Parses a spec at the start of `s`; returns it and how many bytes it used.
    ///
    /// ```
    /// use mplog::format::spec::PercentSpec;
    /// let (spec, used) = PercentSpec::parse("08.3f, then text").unwrap();
    /// assert_eq!((spec.conversion(), used), ('f', 5));
    /// assert!(PercentSpec::parse("-8").is_err()); // no conversion character
    /// ```
    pub fn parse(s: &str) -> Result<(PercentSpec, usize), SpecError> {
        let mut spec = PercentSpec {
            left: false,
            zero: false,
            alt: false,
            sign: Sign::Minus,
            width: 0,
            precision: None,
            conversion: 's',
        };
        let bytes = s.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'-' => spec.left = true,
                b'0' => spec.zero = true,
                b'#' => spec.alt = true,
                b'+' => spec.sign = Sign::Plus,
                b' ' if spec.sign != Sign::Plus => spec.sign = Sign::Space,
                b' ' => {}
                _ => break,
            }
            i += 1;
        }
        let star = || {
            SpecError(
                "'*' takes the width or precision from an argument, which a record field \
                 does not have; write a number"
                    .to_owned(),
            )
        };
        if bytes.get(i) == Some(&b'*') {
            return Err(star());
        }
        (spec.width, i) = parse_number(s, i)?;
        if bytes.get(i) == Some(&b'.') {
            if bytes.get(i + 1) == Some(&b'*') {
                return Err(star());
            }
            let (precision, j) = parse_number(s, i + 1)?;
            spec.precision = Some(precision);
            i = j;
        }
        while matches!(bytes.get(i), Some(b'h' | b'l' | b'L')) {
            i += 1;
        }
        let Some(c) = s[i..].chars().next() else {
            return Err(SpecError("incomplete format".to_owned()));
        };
        if !"diouxXeEfFgGcrsa%".contains(c) {
            return Err(SpecError(format!(
                "unsupported format character '{c}' ({:#x})",
                u32::from(c)
            )));
        }
        spec.conversion = c;
        Ok((spec, i + c.len_utf8()))
    }

    /// The conversion character (`s`, `d`, `%` ...).
    ///
    /// ```
    /// let (spec, _) = mplog::format::spec::PercentSpec::parse("-10d").unwrap();
    /// assert_eq!(spec.conversion(), 'd');
    /// ```
    pub fn conversion(&self) -> char {
        self.conversion
    }

    /// Appends `v` rendered by this spec to `out`.
    ///
    /// ```
    /// use mplog::format::spec::{FieldValue, PercentSpec};
    /// let (spec, _) = PercentSpec::parse("d").unwrap();
    /// let mut out = String::new();
    /// spec.render(FieldValue::Bool(true), &mut out).unwrap();
    /// assert_eq!(out, "1"); // a bool is an int, as in Python
    /// let err = spec.render(FieldValue::Str("x"), &mut out).unwrap_err();
    /// assert_eq!(err.to_string(), "%d format: a real number is required, not str");
    /// ```
    pub fn render(&self, v: FieldValue<'_>, out: &mut String) -> Result<(), ValueError> {
        let c = self.conversion;
        if let ('s', FieldValue::Str(text)) = (c, v) {
            // The common case (`%(name)s`, `%(levelname)-8s`): no copy of the text.
            self.pad_text(truncate_chars(text, self.precision), out);
            return Ok(());
        }
        let mut buf = String::new();
        match c {
            's' | 'r' | 'a' => {
                match c {
                    's' => write_str(v, &mut buf),
                    'r' => write_repr(v, false, &mut buf),
                    _ => write_repr(v, true, &mut buf),
                }
                let text = truncate_chars(&buf, self.precision);
                self.pad_text(text, out);
                return Ok(());
            }
            'c' => {
                let ch = match v {
                    FieldValue::Int(i) => int_to_char(i)?,
                    FieldValue::Bool(b) => char::from(u8::from(b)),
                    FieldValue::Str(s) if s.chars().count() == 1 => {
                        s.chars().next().unwrap_or_default()
                    }
                    _ => return Err(ValueError("%c requires int or char".to_owned())),
                };
                buf.push(ch);
                self.pad_text(&buf, out);
                return Ok(());
            }
            '%' => {
                out.push('%');
                return Ok(());
            }
            _ => {}
        }
        let (negative, prefix) = match c {
            'd' | 'i' | 'u' => {
                let negative = match v {
                    FieldValue::Int(i) => {
                        push_int_digits(i.unsigned_abs(), 10, false, &mut buf);
                        i < 0
                    }
                    FieldValue::Bool(b) => {
                        buf.push(if b { '1' } else { '0' });
                        false
                    }
                    FieldValue::Float(f) if f.is_finite() => {
                        let t = f.trunc();
                        let _ = write!(buf, "{:.0}", t.abs());
                        t < 0.0
                    }
                    FieldValue::Float(f) => {
                        let what = if f.is_nan() { "NaN" } else { "infinity" };
                        return Err(ValueError(format!(
                            "cannot convert float {what} to integer"
                        )));
                    }
                    other => {
                        return Err(ValueError(format!(
                            "%{c} format: a real number is required, not {}",
                            other.type_name()
                        )))
                    }
                };
                (negative, "")
            }
            'o' | 'x' | 'X' => {
                let i = match v {
                    FieldValue::Int(i) => i,
                    FieldValue::Bool(b) => i64::from(b),
                    other => {
                        return Err(ValueError(format!(
                            "%{c} format: an integer is required, not {}",
                            other.type_name()
                        )))
                    }
                };
                let (radix, prefix) = match c {
                    'o' => (8, "0o"),
                    'x' => (16, "0x"),
                    _ => (16, "0X"),
                };
                push_int_digits(i.unsigned_abs(), radix, c == 'X', &mut buf);
                (i < 0, if self.alt { prefix } else { "" })
            }
            _ => {
                let f = match v {
                    FieldValue::Float(f) => f,
                    #[allow(clippy::cast_precision_loss)]
                    FieldValue::Int(i) => i as f64,
                    FieldValue::Bool(b) => f64::from(u8::from(b)),
                    other => {
                        return Err(ValueError(format!(
                            "must be real number, not {}",
                            other.type_name()
                        )))
                    }
                };
                let kind = c.to_ascii_lowercase();
                push_float(
                    f.abs(),
                    kind,
                    self.precision.unwrap_or(6),
                    self.alt,
                    &mut buf,
                );
                if c.is_ascii_uppercase() {
                    buf.make_ascii_uppercase();
                }
                (f.is_sign_negative() && !f.is_nan(), "")
            }
        };
        // Integer precision is a minimum digit count.
        if matches!(c, 'd' | 'i' | 'u' | 'o' | 'x' | 'X') {
            if let Some(p) = self.precision {
                let have = buf.len();
                if p > have {
                    buf.insert_str(0, &"0".repeat(p - have));
                }
            }
        }
        let (fill, align) = if self.left {
            (' ', Align::Left)
        } else if self.zero {
            ('0', Align::AfterSign)
        } else {
            (' ', Align::Right)
        };
        pad(
            out,
            fill,
            align,
            self.width,
            self.sign.for_value(negative),
            prefix,
            &buf,
        );
        Ok(())
    }

    fn pad_text(&self, text: &str, out: &mut String) {
        let align = if self.left { Align::Left } else { Align::Right };
        pad(out, ' ', align, self.width, "", "", text);
    }
}

/// A format spec of the `{}` style: an optional conversion (`!r`, `!s`, `!a`) and the
/// mini-language `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
///
/// ```
/// use mplog::format::spec::{BraceSpec, FieldValue};
/// let spec = BraceSpec::parse(Some('r'), ">10").unwrap();
/// let mut out = String::new();
/// spec.render(FieldValue::Str("app.db"), &mut out).unwrap();
/// assert_eq!(out, "  'app.db'");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BraceSpec {
    conversion: Option<char>,
    fill: Option<char>,
    align: Option<Align>,
    sign: Option<Sign>,
    no_neg_zero: bool,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
}

impl BraceSpec {
    /// Parses a conversion (`r`, `s`, `a`) and a spec (the text after `:`).
    ///
    /// ```
    /// use mplog::format::spec::BraceSpec;
    /// assert!(BraceSpec::parse(Some('r'), ">10").is_ok());
    /// assert!(BraceSpec::parse(None, ".2q").is_err()); // no such type
    /// ```
    pub fn parse(conversion: Option<char>, s: &str) -> Result<BraceSpec, SpecError> {
        if let Some(c) = conversion {
            if !matches!(c, 'r' | 's' | 'a') {
                return Err(SpecError(format!(
                    "unknown conversion '!{c}': expected '!r', '!s' or '!a'"
                )));
            }
        }
        let invalid = || SpecError(format!("invalid format specifier '{s}'"));
        let align_of = |c: char| match c {
            '<' => Some(Align::Left),
            '>' => Some(Align::Right),
            '^' => Some(Align::Center),
            '=' => Some(Align::AfterSign),
            _ => None,
        };
        let mut spec = BraceSpec {
            conversion,
            fill: None,
            align: None,
            sign: None,
            no_neg_zero: false,
            alt: false,
            zero: false,
            width: 0,
            grouping: None,
            precision: None,
            ty: None,
        };
        let mut chars = s.char_indices().peekable();
        let first = s.chars().next();
        let second = s.chars().nth(1);
        let mut i = 0;
        if let (Some(f), Some(a)) = (first, second.and_then(align_of)) {
            spec.fill = Some(f);
            spec.align = Some(a);
            i = f.len_utf8() + 1;
        } else if let Some(a) = first.and_then(align_of) {
            spec.align = Some(a);
            i = 1;
        }
        while chars.peek().is_some_and(|&(j, _)| j < i) {
            chars.next();
        }
        let bytes = s.as_bytes();
        match bytes.get(i) {
            Some(b'+') => spec.sign = Some(Sign::Plus),
            Some(b'-') => spec.sign = Some(Sign::Minus),
            Some(b' ') => spec.sign = Some(Sign::Space),
            _ => {}
        }
        if spec.sign.is_some() {
            i += 1;
        }
        if bytes.get(i) == Some(&b'z') {
            spec.no_neg_zero = true;
            i += 1;
        }
        if bytes.get(i) == Some(&b'#') {
            spec.alt = true;
            i += 1;
        }
        if bytes.get(i) == Some(&b'0') {
            spec.zero = true;
            i += 1;
        }
        (spec.width, i) = parse_number(s, i)?;
        if let Some(&g @ (b',' | b'_')) = bytes.get(i) {
            spec.grouping = Some(char::from(g));
            i += 1;
        }
        if bytes.get(i) == Some(&b'.') {
            let (p, j) = parse_number(s, i + 1)?;
            if j == i + 1 {
                return Err(SpecError("format specifier missing precision".to_owned()));
            }
            spec.precision = Some(p);
            i = j;
        }
        let rest = &s[i..];
        let mut tail = rest.chars();
        match (tail.next(), tail.next()) {
            (None, _) => {}
            (Some(t), None) if "bcdeEfFgGnosxX%".contains(t) => spec.ty = Some(t),
            (Some(t), None) if t.is_alphabetic() => {
                return Err(SpecError(format!("unknown format code '{t}'")))
            }
            _ => return Err(invalid()),
        }
        Ok(spec)
    }

    /// Appends `v` rendered by this spec to `out`.
    ///
    /// ```
    /// use mplog::format::spec::{BraceSpec, FieldValue};
    /// let spec = BraceSpec::parse(None, "^7").unwrap();
    /// let mut out = String::new();
    /// spec.render(FieldValue::Str("INFO"), &mut out).unwrap();
    /// assert_eq!(out, " INFO  ");
    /// ```
    pub fn render(&self, v: FieldValue<'_>, out: &mut String) -> Result<(), ValueError> {
        let mut text = String::new();
        let v = match self.conversion {
            Some('r') => {
                write_repr(v, false, &mut text);
                FieldValue::Str(&text)
            }
            Some('a') => {
                write_repr(v, true, &mut text);
                FieldValue::Str(&text)
            }
            Some(_) => {
                write_str(v, &mut text);
                FieldValue::Str(&text)
            }
            None => v,
        };
        match v {
            FieldValue::Str(s) => self.render_str(s, out),
            FieldValue::None if self.is_empty() => {
                out.push_str("None");
                Ok(())
            }
            FieldValue::None => Err(ValueError(
                "unsupported format string passed to NoneType.__format__".to_owned(),
            )),
            FieldValue::Bool(b) if self.is_empty() => {
                out.push_str(if b { "True" } else { "False" });
                Ok(())
            }
            FieldValue::Bool(b) => self.render_int(i64::from(b), out),
            FieldValue::Int(i) => self.render_int(i, out),
            FieldValue::Float(f) => self.render_float(f, "float", out),
        }
    }

    fn is_empty(&self) -> bool {
        self.fill.is_none()
            && self.align.is_none()
            && self.sign.is_none()
            && !self.no_neg_zero
            && !self.alt
            && !self.zero
            && self.width == 0
            && self.grouping.is_none()
            && self.precision.is_none()
            && self.ty.is_none()
    }

    fn fill_and_align(&self, default: Align) -> (char, Align) {
        let fill = self.fill.unwrap_or(if self.zero && self.fill.is_none() {
            '0'
        } else {
            ' '
        });
        let align = self
            .align
            .unwrap_or(if self.zero && default != Align::Left {
                Align::AfterSign
            } else {
                default
            });
        (fill, align)
    }

    fn render_str(&self, s: &str, out: &mut String) -> Result<(), ValueError> {
        if let Some(t) = self.ty.filter(|&t| t != 's') {
            return Err(unknown_code(t, "str"));
        }
        if self.sign.is_some() {
            return Err(ValueError(
                "Sign not allowed in string format specifier".to_owned(),
            ));
        }
        if self.alt {
            return Err(ValueError(
                "Alternate form (#) not allowed in string format specifier".to_owned(),
            ));
        }
        if self.align == Some(Align::AfterSign) {
            return Err(ValueError(
                "'=' alignment not allowed in string format specifier".to_owned(),
            ));
        }
        if let Some(g) = self.grouping {
            return Err(ValueError(format!("Cannot specify '{g}' with 's'.")));
        }
        let (fill, align) = self.fill_and_align(Align::Left);
        pad(
            out,
            fill,
            align,
            self.width,
            "",
            "",
            truncate_chars(s, self.precision),
        );
        Ok(())
    }

    fn render_int(&self, i: i64, out: &mut String) -> Result<(), ValueError> {
        let ty = self.ty.unwrap_or('d');
        let (radix, upper, prefix, group_every) = match ty {
            'd' | 'n' => (10, false, "", 3),
            'b' => (2, false, "0b", 4),
            'o' => (8, false, "0o", 4),
            'x' => (16, false, "0x", 4),
            'X' => (16, true, "0X", 4),
            'c' => (0, false, "", 0),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%' => {
                #[allow(clippy::cast_precision_loss)]
                return self.render_float(i as f64, "int", out);
            }
            other => return Err(unknown_code(other, "int")),
        };
        if self.precision.is_some() {
            return Err(ValueError(
                "Precision not allowed in integer format specifier".to_owned(),
            ));
        }
        if let Some(g) = self.grouping {
            if ty == 'c' || ty == 'n' || (g == ',' && ty != 'd') {
                return Err(ValueError(format!("Cannot specify '{g}' with '{ty}'.")));
            }
        }
        let mut digits = String::new();
        if ty == 'c' {
            if self.sign.is_some() {
                return Err(ValueError(
                    "Sign not allowed with integer format specifier 'c'".to_owned(),
                ));
            }
            if self.alt {
                return Err(ValueError(
                    "Alternate form (#) not allowed with integer format specifier 'c'".to_owned(),
                ));
            }
            digits.push(int_to_char(i)?);
            let (fill, align) = self.fill_and_align(Align::Right);
            pad(out, fill, align, self.width, "", "", &digits);
            return Ok(());
        }
        push_int_digits(i.unsigned_abs(), radix, upper, &mut digits);
        let sign = self.sign.unwrap_or(Sign::Minus).for_value(i < 0);
        let prefix = if self.alt { prefix } else { "" };
        self.finish_number(sign, prefix, &digits, "", group_every, out);
        Ok(())
    }

    fn render_float(&self, f: f64, type_name: &str, out: &mut String) -> Result<(), ValueError> {
        let ty = self.ty.unwrap_or('\0');
        if !matches!(ty, '\0' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%') {
            return Err(unknown_code(ty, type_name));
        }
        if let Some(g) = self.grouping {
            if ty == 'n' {
                return Err(ValueError(format!("Cannot specify '{g}' with 'n'.")));
            }
        }
        let value = if ty == '%' { f * 100.0 } else { f };
        let mut body = String::new();
        match (ty, self.precision) {
            ('\0', None) => push_float_repr_parts(value.abs(), &mut body),
            ('\0', Some(p)) => push_general(value.abs(), p.max(1), self.alt, true, &mut body),
            ('n', p) => push_float(value.abs(), 'g', p.unwrap_or(6), self.alt, &mut body),
            ('%', p) => {
                push_float(value.abs(), 'f', p.unwrap_or(6), self.alt, &mut body);
                body.push('%');
            }
            (t, p) => {
                push_float(
                    value.abs(),
                    t.to_ascii_lowercase(),
                    p.unwrap_or(6),
                    self.alt,
                    &mut body,
                );
                if t.is_ascii_uppercase() {
                    body.make_ascii_uppercase();
                }
            }
        }
        let mut negative = value.is_sign_negative() && !value.is_nan();
        if negative && self.no_neg_zero && body.bytes().all(|b| !b.is_ascii_digit() || b == b'0') {
            negative = false;
        }
        let sign = self.sign.unwrap_or(Sign::Minus).for_value(negative);
        // Split off the integer digits so grouping applies to them only.
        let int_len = body
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(body.len());
        let (int_part, rest) = body.split_at(int_len);
        if int_part.is_empty() {
            // inf / nan: no grouping, no zero-padding of digits beyond the plain fill.
            let (fill, align) = self.fill_and_align(Align::Right);
            pad(out, fill, align, self.width, sign, "", rest);
            return Ok(());
        }
        self.finish_number(sign, "", int_part, rest, 3, out);
        Ok(())
    }

    /// Pads and groups a number: `sign`, base `prefix`, integer `digits`, then `rest`
    /// (fraction, exponent, `%`).
    fn finish_number(
        &self,
        sign: &str,
        prefix: &str,
        digits: &str,
        rest: &str,
        group_every: usize,
        out: &mut String,
    ) {
        let (fill, align) = self.fill_and_align(Align::Right);
        let Some(sep) = self.grouping else {
            let mut body = String::with_capacity(digits.len() + rest.len());
            body.push_str(digits);
            body.push_str(rest);
            pad(out, fill, align, self.width, sign, prefix, &body);
            return;
        };
        let fixed = sign.len() + prefix.len() + rest.chars().count();
        let mut digits = digits.to_owned();
        let mut grouped = group(&digits, sep, group_every);
        if fill == '0' && align == Align::AfterSign {
            // Zero padding is grouped too (`format(1234, '010,')` is `00,001,234`).
            while fixed + grouped.len() < self.width {
                digits.insert(0, '0');
                grouped = group(&digits, sep, group_every);
            }
        }
        grouped.push_str(rest);
        pad(out, fill, align, self.width, sign, prefix, &grouped);
    }
}

fn unknown_code(code: char, type_name: &str) -> ValueError {
    ValueError(format!(
        "Unknown format code '{code}' for object of type '{type_name}'"
    ))
}

/// Reads decimal digits from byte `i`; returns the number (0 if none) and the next index.
fn parse_number(s: &str, mut i: usize) -> Result<(usize, usize), SpecError> {
    let mut n: usize = 0;
    while let Some(d) = s.as_bytes().get(i).filter(|b| b.is_ascii_digit()) {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
            .filter(|&n| n <= 1 << 20)
            .ok_or_else(|| SpecError("width or precision too big".to_owned()))?;
        i += 1;
    }
    Ok((n, i))
}

fn int_to_char(i: i64) -> Result<char, ValueError> {
    u32::try_from(i)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| ValueError("%c arg not in range(0x110000)".to_owned()))
}

/// Appends `fill` `k` times (spaces, the usual fill, a slice at a time).
fn fill_with(out: &mut String, fill: char, mut k: usize) {
    const SPACES: &str = "                                ";
    if fill != ' ' {
        out.extend(std::iter::repeat_n(fill, k));
        return;
    }
    while k > 0 {
        let n = k.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        k -= n;
    }
}

fn truncate_chars(s: &str, precision: Option<usize>) -> &str {
    match precision.and_then(|p| s.char_indices().nth(p)) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

fn push_int_digits(mut n: u64, radix: u64, upper: bool, out: &mut String) {
    let mut buf = [0u8; 64];
    let mut at = buf.len();
    loop {
        at -= 1;
        let d = (n % radix) as u8;
        buf[at] = match d {
            0..=9 => b'0' + d,
            _ if upper => b'A' + d - 10,
            _ => b'a' + d - 10,
        };
        n /= radix;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[at..].iter().map(|&b| char::from(b)));
}

/// Inserts `sep` every `every` digits from the right.
fn group(digits: &str, sep: char, every: usize) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / every);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Appends `sign`, `prefix` and `body` padded with `fill` to `width` characters.
fn pad(
    out: &mut String,
    fill: char,
    align: Align,
    width: usize,
    sign: &str,
    prefix: &str,
    body: &str,
) {
    if width == 0 {
        out.push_str(sign);
        out.push_str(prefix);
        out.push_str(body);
        return;
    }
    let chars = if body.is_ascii() {
        body.len()
    } else {
        body.chars().count()
    };
    let n = width.saturating_sub(sign.len() + prefix.len() + chars);
    let fills = |out: &mut String, k: usize| fill_with(out, fill, k);
    match align {
        Align::Left => {
            out.push_str(sign);
            out.push_str(prefix);
            out.push_str(body);
            fills(out, n);
        }
        Align::Right => {
            fills(out, n);
            out.push_str(sign);
            out.push_str(prefix);
            out.push_str(body);
        }
        Align::Center => {
            fills(out, n / 2);
            out.push_str(sign);
            out.push_str(prefix);
            out.push_str(body);
            fills(out, n - n / 2);
        }
        Align::AfterSign => {
            out.push_str(sign);
            out.push_str(prefix);
            fills(out, n);
            out.push_str(body);
        }
    }
}

/// `str(v)` as Python prints it.
pub(crate) fn write_str(v: FieldValue<'_>, out: &mut String) {
    match v {
        FieldValue::Str(s) => out.push_str(s),
        FieldValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FieldValue::Float(f) => write_float_repr(f, out),
        FieldValue::Bool(b) => out.push_str(if b { "True" } else { "False" }),
        FieldValue::None => out.push_str("None"),
    }
}

/// `repr(v)` (or `ascii(v)`) as Python prints it.
fn write_repr(v: FieldValue<'_>, ascii: bool, out: &mut String) {
    match v {
        FieldValue::Str(s) if ascii => write_str_ascii(s, out),
        FieldValue::Str(s) => write_str_repr(s, out),
        other => write_str(other, out),
    }
}

/// Appends Python's `repr()` of a string: single quotes unless the text holds a single quote
/// and no double quote; backslash escapes for the quote, `\\`, `\n`, `\r`, `\t` and
/// non-printable characters (`\xNN`, `\uNNNN`, `\UNNNNNNNN`).
///
/// Printability follows Python's `str.isprintable` for control, separator and the common
/// format characters; other unassigned code points print as themselves.
///
/// ```
/// let mut out = String::new();
/// mplog::format::spec::write_str_repr("it's\n", &mut out);
/// assert_eq!(out, r#""it's\n""#);
/// ```
pub fn write_str_repr(s: &str, out: &mut String) {
    write_quoted(s, false, out);
}

fn write_str_ascii(s: &str, out: &mut String) {
    write_quoted(s, true, out);
}

fn write_quoted(s: &str, ascii: bool, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (ascii && !c.is_ascii()) || !is_printable(c) => {
                let n = u32::from(c);
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x1_0000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
            | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}'))
}

/// Appends Python's `repr()` of a float: the shortest text that reads back the same value,
/// in fixed notation for exponents -4..16 (`0.0001`, `42.0`) and scientific otherwise
/// (`1e-05`, `1e+16`); `inf`, `-inf`, `nan`.
///
/// ```
/// let mut out = String::new();
/// mplog::format::spec::write_float_repr(1e16, &mut out);
/// out.push(' ');
/// mplog::format::spec::write_float_repr(42.0, &mut out);
/// assert_eq!(out, "1e+16 42.0");
/// ```
pub fn write_float_repr(f: f64, out: &mut String) {
    if f.is_sign_negative() && !f.is_nan() {
        out.push('-');
    }
    push_float_repr_parts(f.abs(), out);
}

/// `repr` of a non-negative float (`nan` too).
fn push_float_repr_parts(x: f64, out: &mut String) {
    if !x.is_finite() {
        out.push_str(if x.is_nan() { "nan" } else { "inf" });
        return;
    }
    let mut sci = String::new();
    let _ = write!(sci, "{x:e}");
    let (mut digits, mut exp) = split_sci(&sci);
    // Rust's shortest digits break an exact tie upwards; Python's (David Gay's) take the
    // correctly rounded ones, half to even: 100.116729736328125 is `...12`, not `...13`.
    let mut rounded = String::new();
    let _ = write!(rounded, "{x:.*e}", digits.len().saturating_sub(1));
    if rounded != sci && rounded.parse::<f64>() == Ok(x) {
        (digits, exp) = split_sci(&rounded);
    }
    if (-4..16).contains(&exp) {
        let start = out.len();
        push_fixed(&digits, exp, false, out);
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    } else {
        push_sci(&digits, exp, false, out);
    }
}

/// Splits Rust's `{:e}` output (`1.2345e-5`) into the digits (`12345`) and the exponent.
fn split_sci(sci: &str) -> (String, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Writes `d.ddd` x 10^`exp` in fixed notation from its significant digits.
fn push_fixed(digits: &str, exp: i32, keep_point: bool, out: &mut String) {
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else if exp + 1 >= n {
        out.push_str(digits);
        for _ in 0..(exp + 1 - n) {
            out.push('0');
        }
        if keep_point {
            out.push('.');
        }
    } else {
        let point = usize::try_from(exp + 1).unwrap_or(0);
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

/// Writes `d.ddde+XX` from significant digits.
fn push_sci(digits: &str, exp: i32, keep_point: bool, out: &mut String) {
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    } else if keep_point {
        out.push('.');
    }
    let _ = write!(
        out,
        "e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    );
}

/// Appends a non-negative float in printf's `e`, `f` or `g` form with `precision`.
fn push_float(x: f64, kind: char, precision: usize, alt: bool, out: &mut String) {
    if !x.is_finite() {
        out.push_str(if x.is_nan() { "nan" } else { "inf" });
        return;
    }
    match kind {
        'e' => {
            let mut sci = String::new();
            let _ = write!(sci, "{x:.precision$e}");
            let (digits, exp) = split_sci(&sci);
            push_sci(&digits, exp, alt, out);
        }
        'f' => {
            let _ = write!(out, "{x:.precision$}");
            if alt && precision == 0 {
                out.push('.');
            }
        }
        _ => push_general(x, precision.max(1), alt, false, out),
    }
}

/// printf's `g` with `p` significant digits; with `repr_like`, the format-spec's type-less
/// float with a precision (scientific one digit sooner, and `.0` on integral fixed values).
fn push_general(x: f64, p: usize, alt: bool, repr_like: bool, out: &mut String) {
    if !x.is_finite() {
        out.push_str(if x.is_nan() { "nan" } else { "inf" });
        return;
    }
    let mut sci = String::new();
    let _ = write!(sci, "{x:.prec$e}", prec = p - 1);
    let (mut digits, exp) = split_sci(&sci);
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    let limit = if repr_like { p_i - 1 } else { p_i };
    if !alt {
        let kept = digits.trim_end_matches('0').len().max(1);
        digits.truncate(kept);
    }
    let start = out.len();
    if exp < -4 || exp >= limit {
        push_sci(&digits, exp, alt, out);
    } else {
        push_fixed(&digits, exp, alt, out);
        if repr_like {
            let tail = out[start..].to_owned();
            if !tail.contains('.') {
                out.push_str(".0");
            } else if tail.ends_with('.') {
                out.push('0');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Expected strings from CPython 3.11 (`'%<spec>' % v` and `format(v, '<spec>')`).

    use super::*;

    fn pct(spec: &str, v: FieldValue<'_>) -> String {
        let (s, used) = PercentSpec::parse(spec).unwrap();
        assert_eq!(used, spec.len(), "{spec}");
        let mut out = String::new();
        s.render(v, &mut out).unwrap();
        out
    }

    fn brace(spec: &str, v: FieldValue<'_>) -> String {
        let mut out = String::new();
        BraceSpec::parse(None, spec)
            .unwrap()
            .render(v, &mut out)
            .unwrap();
        out
    }

    use FieldValue::{Bool, Float, Int, Str};

    #[test]
    fn percent_matches_python() {
        let inf = f64::INFINITY;
        let cases: &[(&str, FieldValue<'_>, &str)] = &[
            ("08.3d", Int(5), "00000005"),
            ("-8.3d", Int(-5), "-005    "),
            ("05s", Str("ab"), "   ab"),
            ("+.3x", Int(255), "+0ff"),
            ("#.3x", Int(5), "0x005"),
            ("05f", Float(inf), "00inf"),
            ("-05f", Float(-inf), "-inf "),
            ("#o", Int(8), "0o10"),
            ("#.0e", Float(1.0), "1.e+00"),
            ("g", Float(1e-5), "1e-05"),
            ("g", Float(123_456_789.0), "1.23457e+08"),
            ("#g", Float(1.0), "1.00000"),
            (".0f", Float(2.5), "2"),
            ("c", Int(65), "A"),
            ("c", Str("x"), "x"),
            ("r", Str("a'b\"c\n\u{e9}"), "'a\\'b\"c\\n\u{e9}'"),
            ("a", Str("\u{e9}\u{1f600}"), "'\\xe9\\U0001f600'"),
            ("s", Float(1e16), "1e+16"),
            ("s", Float(1e-5), "1e-05"),
            ("s", Float(-0.0), "-0.0"),
            ("d", Bool(true), "1"),
            ("s", Bool(true), "True"),
            ("e", Float(0.0), "0.000000e+00"),
            (".3g", Float(100.0), "100"),
            (" d", Int(5), " 5"),
            ("+ d", Int(5), "+5"),
            ("d", Float(-7.9), "-7"),
            ("5.1s", Str("abc"), "    a"),
            ("o", Int(-8), "-10"),
            ("X", Int(255), "FF"),
            ("E", Float(12345.678), "1.234568E+04"),
            ("ld", Int(3), "3"),
            ("s", FieldValue::None, "None"),
        ];
        for (spec, v, want) in cases {
            assert_eq!(pct(spec, *v), *want, "%{spec} of {v:?}");
        }
    }

    #[test]
    fn percent_errors_match_python() {
        let err = |spec: &str, v| {
            let (s, _) = PercentSpec::parse(spec).unwrap();
            s.render(v, &mut String::new()).unwrap_err().to_string()
        };
        assert_eq!(
            err("d", Str("x")),
            "%d format: a real number is required, not str"
        );
        assert_eq!(
            err("x", Float(1.5)),
            "%x format: an integer is required, not float"
        );
        assert_eq!(err("f", Str("x")), "must be real number, not str");
        assert_eq!(err("c", Str("ab")), "%c requires int or char");
        assert_eq!(
            err("d", FieldValue::None),
            "%d format: a real number is required, not NoneType"
        );
        assert_eq!(err("c", Int(-1)), "%c arg not in range(0x110000)");
        assert_eq!(
            PercentSpec::parse("y").unwrap_err().to_string(),
            "unsupported format character 'y' (0x79)"
        );
        assert!(PercentSpec::parse("").is_err());
        assert!(PercentSpec::parse("*d").is_err());
    }

    #[test]
    fn brace_matches_python() {
        let cases: &[(&str, FieldValue<'_>, &str)] = &[
            (">5", Bool(true), "    1"),
            ("05", Str("ab"), "ab000"),
            ("<05", Int(5), "50000"),
            ("010,", Int(1234), "00,001,234"),
            ("_", Int(1_234_567), "1_234_567"),
            ("_x", Int(255), "ff"),
            ("#_x", Int(0xfffff), "0xf_ffff"),
            (",.2f", Float(1234.5), "1,234.50"),
            (".3", Float(100.0), "1e+02"),
            (".3", Float(1.0), "1.0"),
            (".2", Float(1234.5), "1.2e+03"),
            ("", Float(1.5), "1.5"),
            ("", Float(1e16), "1e+16"),
            (".2f", Int(5), "5.00"),
            ("%", Int(5), "500.000000%"),
            (".1%", Float(0.25), "25.0%"),
            ("=+8", Int(-5), "-      5"),
            ("*^9", Int(-5), "***-5****"),
            ("c", Int(65), "A"),
            ("n", Int(5), "5"),
            ("n", Float(1.5), "1.5"),
            ("z.1f", Float(-0.0), "0.0"),
            ("08", Float(f64::NAN), "00000nan"),
            ("+", Float(f64::INFINITY), "+inf"),
            (".3", Float(1e-7), "1e-07"),
            ("e", Float(12345.678), "1.234568e+04"),
            ("G", Float(12345.678), "12345.7"),
            (".2", Str("abc"), "ab"),
            ("x^7.2s", Str("abc"), "xxabxxx"),
            ("#b", Int(5), "0b101"),
            ("#o", Int(5), "0o5"),
            ("#X", Int(-255), "-0XFF"),
            ("#", Float(3.0), "3.0"),
            ("", Float(1e22), "1e+22"),
            ("", Float(0.0001), "0.0001"),
            ("08,", Int(1234), "0,001,234"),
            ("09,", Int(1234), "0,001,234"),
            ("g", Float(12.0), "12"),
            ("#g", Float(12.0), "12.0000"),
            ("012,.1f", Float(-1234.5), "-0,001,234.5"),
            ("^6", Int(20), "  20  "),
            ("08.2f", Float(42.987), "00042.99"),
        ];
        for (spec, v, want) in cases {
            assert_eq!(brace(spec, *v), *want, "format({v:?}, {spec:?})");
        }
    }

    #[test]
    fn brace_errors_match_python() {
        let err = |spec: &str, v| {
            BraceSpec::parse(None, spec)
                .unwrap()
                .render(v, &mut String::new())
                .unwrap_err()
                .to_string()
        };
        let cases: &[(&str, FieldValue<'_>, &str)] = &[
            ("+", Str("a"), "Sign not allowed in string format specifier"),
            (
                "#",
                Str("a"),
                "Alternate form (#) not allowed in string format specifier",
            ),
            (
                "=",
                Str("a"),
                "'=' alignment not allowed in string format specifier",
            ),
            (
                ".2",
                Int(5),
                "Precision not allowed in integer format specifier",
            ),
            (
                "d",
                Str("a"),
                "Unknown format code 'd' for object of type 'str'",
            ),
            (
                "d",
                Float(1.5),
                "Unknown format code 'd' for object of type 'float'",
            ),
            (
                "s",
                Int(5),
                "Unknown format code 's' for object of type 'int'",
            ),
            (
                ">5",
                FieldValue::None,
                "unsupported format string passed to NoneType.__format__",
            ),
            (
                "+c",
                Int(5),
                "Sign not allowed with integer format specifier 'c'",
            ),
            (",", Str("a"), "Cannot specify ',' with 's'."),
            (",b", Int(5), "Cannot specify ',' with 'b'."),
            ("_n", Int(5), "Cannot specify '_' with 'n'."),
        ];
        for (spec, v, want) in cases {
            assert_eq!(err(spec, *v), *want, "format({v:?}, {spec:?})");
        }
        assert!(BraceSpec::parse(None, "5q").is_err());
        assert!(BraceSpec::parse(None, ">>>").is_err());
        assert!(BraceSpec::parse(None, ".").is_err());
    }

    #[test]
    fn conversions_apply_before_the_spec() {
        let mut out = String::new();
        BraceSpec::parse(Some('r'), ">10")
            .unwrap()
            .render(Str("app.db"), &mut out)
            .unwrap();
        assert_eq!(out, "  'app.db'");
        out.clear();
        BraceSpec::parse(Some('s'), "")
            .unwrap()
            .render(Int(7), &mut out)
            .unwrap();
        assert_eq!(out, "7");
    }

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e16, "1e+16"),
            (1234.5e20, "1.2345e+23"),
            (123_456_789_012_345.0, "123456789012345.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-2.5, "-2.5"),
            (5e-324, "5e-324"),
            // An exact tie at 17 digits: half to even, as Python.
            (100.116_729_736_328_12, "100.11672973632812"),
        ];
        for (f, want) in cases {
            let mut out = String::new();
            write_float_repr(f, &mut out);
            assert_eq!(out, want, "repr({f:e})");
        }
    }
}
