//! `{}`-style specs with nested replacement fields, such as `{message:>{width}}`: the spec is
//! only known per record, so it is kept as literal text and field names, resolved from the
//! record (its attributes, `extra`, then the formatter's `defaults`) and parsed each time.
//!
//! Validation follows CPython's `StrFormatStyle.validate`, whose `fmt_spec` pattern admits a
//! nested field only as the width or the precision; with validation off, as with Python's
//! `validate=False`, a nested field may stand anywhere in the spec (`{message:{fill}>8}`).
//! Nested fields are names, with index and attribute access when validation is off (CPython's
//! pattern admits `{\w+}` only); their own conversions or specs are refused.

use super::spec::{write_str, BraceSpec, FieldValue, SpecError};
use super::template::Field;

/// One piece of a spec with nested fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SpecPart {
    Literal(String),
    Field(Field),
}

/// A spec holding nested fields, with the field's conversion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NestedSpec {
    conversion: Option<char>,
    parts: Vec<SpecPart>,
}

impl NestedSpec {
    /// Splits `spec` (the text after `:`, holding at least one `{`) into literal text and
    /// nested field names. `Err((offset in spec, reason))`.
    pub(crate) fn parse(
        conversion: Option<char>,
        spec: &str,
        validate: bool,
        field_of: impl Fn(&str) -> Result<Field, &'static str>,
    ) -> Result<NestedSpec, (usize, String)> {
        let mut parts = Vec::new();
        let mut rest = spec;
        let mut at = 0;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(SpecPart::Literal(rest[..open].to_owned()));
            }
            let inner = &rest[open + 1..];
            // The caller matched the braces one level deep, so a `}` follows.
            let close = inner.find('}').unwrap_or(inner.len());
            let name = &inner[..close];
            if name.contains([':', '!']) {
                return Err((
                    at + open,
                    "a nested field takes a bare name, as in {message:>{width}}".to_owned(),
                ));
            }
            let field = field_of(name).map_err(|why| (at + open + 1, why.to_owned()))?;
            parts.push(SpecPart::Field(field));
            let consumed = open + 1 + close + 1;
            at += consumed;
            rest = &rest[consumed.min(rest.len())..];
        }
        if !rest.is_empty() {
            parts.push(SpecPart::Literal(rest.to_owned()));
        }
        if validate && !python_validates(&parts) {
            return Err((
                0,
                format!(
                    "bad specifier '{spec}': a nested field may only give the width or the precision"
                ),
            ));
        }
        Ok(NestedSpec { conversion, parts })
    }

    /// The nested fields, for the formatter's `asctime` check.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &Field> {
        self.parts.iter().filter_map(|p| match p {
            SpecPart::Field(f) => Some(f),
            SpecPart::Literal(_) => None,
        })
    }

    /// The spec for one record: each nested field's `str()` (from `value`) in its place, then
    /// parsed as any spec (CPython's `str.format` does the same).
    pub(crate) fn resolve<'a, E>(
        &'a self,
        mut value: impl FnMut(&'a Field) -> Result<FieldValue<'a>, E>,
        scratch: &mut String,
    ) -> Result<Result<BraceSpec, SpecError>, E> {
        scratch.clear();
        for part in &self.parts {
            match part {
                SpecPart::Literal(text) => scratch.push_str(text),
                SpecPart::Field(field) => write_str(value(field)?, scratch),
            }
        }
        Ok(BraceSpec::parse(self.conversion, scratch))
    }
}

/// Whether CPython's `fmt_spec` pattern,
/// `^(.?[<>=^])?[+ -]?#?0?(\d+|{\w+})?[,_]?(\.(\d+|{\w+}))?[bcdefgnosx%]?$` (ignoring case),
/// matches the spec, a nested field standing for `{\w+}`.
fn python_validates(parts: &[SpecPart]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Char(char),
        Nested,
    }
    let toks: Vec<Tok> = parts
        .iter()
        .flat_map(|p| match p {
            SpecPart::Literal(s) => s.chars().map(Tok::Char).collect::<Vec<_>>(),
            // `{\w+}` admits no index or attribute access: as raw text, which never matches.
            SpecPart::Field(Field::Access(_)) => "{.}".chars().map(Tok::Char).collect(),
            SpecPart::Field(_) => vec![Tok::Nested],
        })
        .collect();
    let is = |i: usize, set: &str| matches!(toks.get(i), Some(Tok::Char(c)) if set.contains(*c));
    let digit = |i: usize| matches!(toks.get(i), Some(Tok::Char(c)) if c.is_ascii_digit());
    let mut i = 0;
    if matches!(toks.first(), Some(Tok::Char(_))) && is(1, "<>=^") {
        i = 2;
    } else if is(0, "<>=^") {
        i = 1;
    }
    for set in ["+ -", "#", "0"] {
        if is(i, set) {
            i += 1;
        }
    }
    // Width, then precision: digits or one nested field.
    let number = |i: &mut usize| {
        if toks.get(*i) == Some(&Tok::Nested) {
            *i += 1;
            return true;
        }
        let start = *i;
        while digit(*i) {
            *i += 1;
        }
        *i > start
    };
    number(&mut i);
    if is(i, ",_") {
        i += 1;
    }
    if is(i, ".") {
        i += 1;
        if !number(&mut i) {
            return false;
        }
    }
    if is(i, "bcdefgnosx%BCDEFGNOSX") {
        i += 1;
    }
    i == toks.len()
}
