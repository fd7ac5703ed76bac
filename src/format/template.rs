//! Format strings compiled once into a [`Template`]: literal text and fields, each field with its
//! rendering spec already parsed, so formatting a record never parses anything.
//!
//! The three styles follow CPython's `PercentStyle`, `StrFormatStyle` and `StringTemplateStyle`
//! (`Lib/logging/__init__.py`), including their validation: a format must name at least one
//! field (unless validation is off), and every error names the style, the byte offset and why.

use super::access::{self, Accessor};
use super::nested::NestedSpec;
use super::spec::{BraceSpec, PercentSpec};
use super::{FormatError, Style};

/// A record attribute a template refers to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Name,
    Msg,
    Args,
    LevelName,
    LevelNo,
    Pathname,
    Filename,
    Module,
    ModulePath,
    FuncName,
    Lineno,
    Created,
    Msecs,
    RelativeCreated,
    Thread,
    ThreadName,
    Process,
    ProcessName,
    TaskName,
    ExcInfo,
    ExcText,
    StackInfo,
    Message,
    Asctime,
    /// An `extra` field of the record, or a formatter default.
    Other(Box<str>),
    /// A field with index or attribute access (`{name[0]}`, `{lineno.real}`).
    Access(Box<(Field, Vec<Accessor>)>),
}

impl Field {
    /// `asctime`, or access into it (`{asctime[0]}`).
    pub(crate) fn is_asctime(&self) -> bool {
        match self {
            Field::Asctime => true,
            Field::Access(access) => access.0 == Field::Asctime,
            _ => false,
        }
    }

    pub(crate) fn from_name(name: &str) -> Field {
        match name {
            "name" => Field::Name,
            "msg" => Field::Msg,
            "args" => Field::Args,
            "levelname" => Field::LevelName,
            "levelno" => Field::LevelNo,
            "pathname" => Field::Pathname,
            "filename" => Field::Filename,
            "module" => Field::Module,
            "module_path" => Field::ModulePath,
            "funcName" => Field::FuncName,
            "lineno" => Field::Lineno,
            "created" => Field::Created,
            "msecs" => Field::Msecs,
            "relativeCreated" => Field::RelativeCreated,
            "thread" => Field::Thread,
            "threadName" => Field::ThreadName,
            "process" => Field::Process,
            "processName" => Field::ProcessName,
            "taskName" => Field::TaskName,
            "exc_info" => Field::ExcInfo,
            "exc_text" => Field::ExcText,
            "stack_info" => Field::StackInfo,
            "message" => Field::Message,
            "asctime" => Field::Asctime,
            other => Field::Other(other.into()),
        }
    }
}

/// How one field is rendered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Render {
    /// `str()` of the value with no spec: the common case, appended as is.
    Plain,
    Percent(PercentSpec),
    Brace(BraceSpec),
    /// A `{}` spec with nested fields (`{message:>{w}}`), resolved per record.
    Nested(Box<NestedSpec>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Literal(String),
    Field(Field, Render),
}

/// A compiled format string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pub(crate) pieces: Vec<Piece>,
}

impl Template {
    pub(crate) fn compile(
        source: &str,
        style: Style,
        validate: bool,
    ) -> Result<Template, FormatError> {
        let invalid = |offset: usize, reason: &str| FormatError::Invalid {
            format: source.to_owned(),
            style: style.symbol(),
            offset,
            reason: reason.to_owned(),
        };
        let pieces = match style {
            Style::Percent => parse_percent(source, &invalid)?,
            Style::Brace => parse_brace(source, validate, &invalid)?,
            Style::Dollar => parse_dollar(source, &invalid)?,
        };
        let template = Template { pieces };
        if validate
            && !template
                .pieces
                .iter()
                .any(|p| matches!(p, Piece::Field(..)))
        {
            return Err(FormatError::NoField {
                format: source.to_owned(),
                style: style.symbol(),
            });
        }
        Ok(template)
    }

    pub(crate) fn uses_time(&self) -> bool {
        self.pieces.iter().any(|p| match p {
            Piece::Field(f, _) if f.is_asctime() => true,
            Piece::Field(_, Render::Nested(spec)) => spec.fields().any(Field::is_asctime),
            _ => false,
        })
    }
}

fn push_literal(pieces: &mut Vec<Piece>, text: &str) {
    if text.is_empty() {
        return;
    }
    match pieces.last_mut() {
        Some(Piece::Literal(s)) => s.push_str(text),
        _ => pieces.push(Piece::Literal(text.to_owned())),
    }
}

fn parse_percent(
    src: &str,
    invalid: &dyn Fn(usize, &str) -> FormatError,
) -> Result<Vec<Piece>, FormatError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut at = 0;
    while let Some(i) = rest.find('%') {
        push_literal(&mut pieces, &rest[..i]);
        let start = at + i;
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            push_literal(&mut pieces, "%");
            at = start + 2;
            rest = tail;
            continue;
        }
        let Some(key_and_spec) = after.strip_prefix('(') else {
            return Err(if after.is_empty() {
                invalid(start, "incomplete format")
            } else {
                invalid(start, "a field needs a name, as in %(message)s")
            });
        };
        // Python's `%` operator matches parentheses inside the key (`%(a(b))s` names `a(b)`).
        let mut depth = 1usize;
        let mut close = None;
        for (j, c) in key_and_spec.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close.ok_or_else(|| invalid(start, "incomplete format key"))?;
        let name = &key_and_spec[..close];
        let spec_text = &key_and_spec[close + 1..];
        let spec_at = start + 2 + close + 1;
        if spec_text.is_empty() {
            return Err(invalid(
                start,
                "incomplete format: the field needs a conversion, as in %(message)s",
            ));
        }
        let (spec, used) =
            PercentSpec::parse(spec_text).map_err(|e| invalid(spec_at, &e.to_string()))?;
        if spec.conversion() == '%' {
            push_literal(&mut pieces, "%");
        } else {
            let render = if &spec_text[..used] == "s" {
                Render::Plain
            } else {
                Render::Percent(spec)
            };
            pieces.push(Piece::Field(Field::from_name(name), render));
        }
        at = spec_at + used;
        rest = &spec_text[used..];
    }
    push_literal(&mut pieces, rest);
    Ok(pieces)
}

fn parse_brace(
    src: &str,
    validate: bool,
    invalid: &dyn Fn(usize, &str) -> FormatError,
) -> Result<Vec<Piece>, FormatError> {
    let mut pieces = Vec::new();
    let bytes = src.as_bytes();
    let mut lit_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                push_literal(&mut pieces, &src[lit_start..i + 1]);
                i += 2;
                lit_start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                push_literal(&mut pieces, &src[lit_start..i + 1]);
                i += 2;
                lit_start = i;
            }
            b'}' => return Err(invalid(i, "single '}' encountered in format string")),
            b'{' => {
                push_literal(&mut pieces, &src[lit_start..i]);
                let body_start = i + 1;
                let close = field_end(src, body_start).map_err(|(at, why)| invalid(at, why))?;
                let body = &src[body_start..close];
                let (head, spec) = body.split_once(':').unwrap_or((body, ""));
                let (name, conversion) = match head.split_once('!') {
                    None => (head, None),
                    Some((name, conv)) => {
                        let mut chars = conv.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c @ ('r' | 's' | 'a')), None) => (name, Some(c)),
                            _ => {
                                return Err(invalid(
                                    body_start + name.len(),
                                    "invalid conversion: expected '!r', '!s' or '!a'",
                                ))
                            }
                        }
                    }
                };
                let field = field_of(name).map_err(|why| invalid(body_start, why))?;
                let spec_at = body_start + head.len() + 1;
                let render = if conversion.is_none() && spec.is_empty() {
                    Render::Plain
                } else if spec.contains('{') {
                    Render::Nested(Box::new(
                        NestedSpec::parse(conversion, spec, validate, field_of)
                            .map_err(|(at, why)| invalid(spec_at + at, &why))?,
                    ))
                } else {
                    Render::Brace(
                        BraceSpec::parse(conversion, spec)
                            .map_err(|e| invalid(spec_at, &e.to_string()))?,
                    )
                };
                pieces.push(Piece::Field(field, render));
                i = close + 1;
                lit_start = i;
            }
            _ => i += 1,
        }
    }
    push_literal(&mut pieces, &src[lit_start..]);
    Ok(pieces)
}

/// Where the field opened just before `body_start` closes: the first `}` outside a nested
/// field of its spec. A spec may nest fields one level deep (`{message:>{w}}`), as Python's
/// `str.format` without hitting its recursion limit; the name part may not hold `{`.
fn field_end(src: &str, body_start: usize) -> Result<usize, (usize, &'static str)> {
    let mut in_spec = false;
    let mut nested_at = None;
    for (j, c) in src[body_start..].char_indices() {
        let at = body_start + j;
        match (c, nested_at) {
            (':', None) => in_spec = true,
            ('{', None) if !in_spec => return Err((at, "unexpected '{' in field name")),
            ('{', None) => nested_at = Some(at),
            ('{', Some(_)) => {
                return Err((at, "replacement fields nest one level deep at most"));
            }
            ('}', Some(_)) => nested_at = None,
            ('}', None) => return Ok(at),
            _ => {}
        }
    }
    match nested_at {
        Some(at) => Err((at, "unmatched '{' in format spec")),
        None => Err((body_start - 1, "expected '}' before end of string")),
    }
}

/// A `{}` field's name, with its index and attribute access, as CPython validates it.
fn field_of(name: &str) -> Result<Field, &'static str> {
    let (base, accessors) = access::parse(name)?;
    Ok(if accessors.is_empty() {
        Field::from_name(base)
    } else {
        Field::Access(Box::new((Field::from_name(base), accessors)))
    })
}

fn parse_dollar(
    src: &str,
    invalid: &dyn Fn(usize, &str) -> FormatError,
) -> Result<Vec<Piece>, FormatError> {
    // string.Template's idpattern: (?a:[_a-z][_a-z0-9]*), case-insensitive.
    fn ident_len(s: &str) -> usize {
        let b = s.as_bytes();
        if !b
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            return 0;
        }
        b.iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count()
    }
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut at = 0;
    while let Some(i) = rest.find('$') {
        push_literal(&mut pieces, &rest[..i]);
        let start = at + i;
        let after = &rest[i + 1..];
        let consumed = if after.starts_with('$') {
            push_literal(&mut pieces, "$");
            1
        } else if let Some(inner) = after.strip_prefix('{') {
            let n = ident_len(inner);
            if n == 0 || inner.as_bytes().get(n) != Some(&b'}') {
                return Err(invalid(
                    start,
                    "invalid placeholder: expected ${identifier}",
                ));
            }
            pieces.push(Piece::Field(Field::from_name(&inner[..n]), Render::Plain));
            n + 2
        } else {
            let n = ident_len(after);
            if n == 0 {
                return Err(invalid(
                    start,
                    "invalid placeholder: a bare '$' (write '$$' for a dollar sign)",
                ));
            }
            pieces.push(Piece::Field(Field::from_name(&after[..n]), Render::Plain));
            n
        };
        at = start + 1 + consumed;
        rest = &after[consumed..];
    }
    push_literal(&mut pieces, rest);
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(src: &str, style: Style) -> Vec<Field> {
        Template::compile(src, style, true)
            .unwrap()
            .pieces
            .into_iter()
            .filter_map(|p| match p {
                Piece::Field(f, _) => Some(f),
                Piece::Literal(_) => None,
            })
            .collect()
    }

    #[test]
    fn each_style_finds_its_fields() {
        let want = vec![Field::LevelName, Field::Name, Field::Message];
        assert_eq!(
            fields("%(levelname)-8s:%(name)s:%(message)s", Style::Percent),
            want
        );
        assert_eq!(
            fields("{levelname:<8}:{name}:{message}", Style::Brace),
            want
        );
        assert_eq!(fields("$levelname:${name}:$message", Style::Dollar), want);
    }

    #[test]
    fn escapes_are_literals() {
        let t = Template::compile("100%% {{x}} $$ %(message)s", Style::Percent, true).unwrap();
        assert_eq!(t.pieces[0], Piece::Literal("100% {{x}} $$ ".into()));
        let t = Template::compile("{{x}} {message}", Style::Brace, true).unwrap();
        assert_eq!(t.pieces[0], Piece::Literal("{x} ".into()));
        let t = Template::compile("$$ $message", Style::Dollar, true).unwrap();
        assert_eq!(t.pieces[0], Piece::Literal("$ ".into()));
    }

    #[test]
    fn errors_name_style_and_offset() {
        let err = |s, style| Template::compile(s, style, true).unwrap_err().to_string();
        assert!(err("x %(message)", Style::Percent).contains("at byte 2"));
        assert!(err("ab %(x)y", Style::Percent).contains("'%' style"));
        assert!(err("x %s", Style::Percent).contains("needs a name"));
        assert!(err("x %", Style::Percent).contains("incomplete format"));
        assert!(err("{message", Style::Brace).contains("expected '}'"));
        assert!(err("{message!x}", Style::Brace).contains("invalid conversion"));
        assert!(err("a } b {message}", Style::Brace).contains("single '}'"));
        assert!(err("{}", Style::Brace).contains("needs a name"));
        assert!(err("$ {x}", Style::Dollar).contains("bare '$'"));
        assert!(err("${x", Style::Dollar).contains("${identifier}"));
        assert!(err("no fields", Style::Percent).contains("at least one field"));
        assert!(Template::compile("no fields", Style::Percent, false).is_ok());
    }

    #[test]
    fn plain_fields_take_the_fast_path() {
        let t = Template::compile("%(name)s %(levelno)d", Style::Percent, true).unwrap();
        assert!(matches!(
            t.pieces[0],
            Piece::Field(Field::Name, Render::Plain)
        ));
        assert!(matches!(
            t.pieces[2],
            Piece::Field(Field::LevelNo, Render::Percent(_))
        ));
    }

    #[test]
    fn asctime_use_is_detected() {
        assert!(
            Template::compile("%(asctime)s %(message)s", Style::Percent, true)
                .unwrap()
                .uses_time()
        );
        assert!(!Template::compile("%(message)s", Style::Percent, true)
            .unwrap()
            .uses_time());
    }
}
