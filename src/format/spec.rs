#![allow(missing_docs, dead_code)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec error")]
pub struct SpecError;
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value error")]
pub struct ValueError;
#[derive(Debug, Clone, PartialEq)]
pub struct PercentSpec(char);
impl PercentSpec {
    pub fn parse(s: &str) -> Result<(PercentSpec, usize), SpecError> {
        let i = s
            .find(|c: char| c.is_ascii_alphabetic() || c == '%')
            .ok_or(SpecError)?;
        Ok((PercentSpec(s[i..].chars().next().unwrap()), i + 1))
    }
    pub fn conversion(&self) -> char {
        self.0
    }
    pub fn render(&self, _v: FieldValue<'_>, out: &mut String) -> Result<(), ValueError> {
        out.push('?');
        Ok(())
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct BraceSpec;
impl BraceSpec {
    pub fn parse(_c: Option<char>, _s: &str) -> Result<BraceSpec, SpecError> {
        Ok(BraceSpec)
    }
    pub fn render(&self, _v: FieldValue<'_>, out: &mut String) -> Result<(), ValueError> {
        out.push('?');
        Ok(())
    }
}
pub fn write_str_repr(s: &str, out: &mut String) {
    out.push_str(s)
}
pub fn write_float_repr(f: f64, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{f}");
}
