//! Formatters: turn a [`Record`] into the text a handler writes.
//!
//! [`Formatter`] is Python's `logging.Formatter`: a format string in one of three styles
//! (`%(levelname)-8s`, `{levelname:<8}`, `$levelname`), an optional strftime `datefmt`, local
//! time or UTC, and `defaults` for fields a record may lack. The format string is compiled once,
//! at construction, into a template; errors there say what is wrong and at which byte. Formatting
//! a record appends to a caller's buffer and parses nothing.
//!
//! As in Python, the formatted line is followed by the record's exception text and then its stack
//! text, each on a new line. Anything implementing [`Format`] can stand in for a `Formatter`.
//!
//! What does not live here: the per-value spec engine (`spec`), the date cache (`date`), the
//! template parser (`template`) and specs with nested fields (`nested`) are private rooms of
//! this module.

mod access;
mod date;
mod nested;
pub mod spec;
mod strftime;
mod template;
mod zone;

use std::str::FromStr;

use self::date::DateFormat;
pub use self::date::DEFAULT_TIME_FORMAT;
use self::spec::{write_str, FieldValue, ValueError};
use self::template::{Field, Piece, Render, Template};
pub use self::zone::Zone;
use crate::record::{Record, Value};

/// The default format: the message alone (Python's `Formatter()` default).
pub const DEFAULT_FORMAT: &str = "%(message)s";

/// `basicConfig`'s default format.
pub const BASIC_FORMAT: &str = "%(levelname)s:%(name)s:%(message)s";

/// A format string's style.
///
/// ```
/// use mplog::format::Style;
/// assert_eq!("{".parse::<Style>().unwrap(), Style::Brace);
/// assert!("?".parse::<Style>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// printf style, `%(name)s` (Python's default).
    #[default]
    Percent,
    /// `str.format` style, `{name}`.
    Brace,
    /// `string.Template` style, `$name` or `${name}`.
    Dollar,
}

impl Style {
    /// A formatter's format when none is given (Python's `default_format` of the style
    /// classes): `%(message)s`, `{message}` or `${message}`.
    ///
    /// ```
    /// assert_eq!(mplog::format::Style::Brace.default_format(), "{message}");
    /// ```
    pub fn default_format(self) -> &'static str {
        match self {
            Style::Percent => DEFAULT_FORMAT,
            Style::Brace => "{message}",
            Style::Dollar => "${message}",
        }
    }

    /// `basicConfig`'s format when none is given (Python's `_STYLES[style][1]`).
    ///
    /// ```
    /// use mplog::format::Style;
    /// assert_eq!(Style::Percent.basic_format(), mplog::format::BASIC_FORMAT);
    /// assert_eq!(Style::Dollar.basic_format(), "${levelname}:${name}:${message}");
    /// ```
    pub fn basic_format(self) -> &'static str {
        match self {
            Style::Percent => BASIC_FORMAT,
            Style::Brace => "{levelname}:{name}:{message}",
            Style::Dollar => "${levelname}:${name}:${message}",
        }
    }

    /// The character Python uses to name the style.
    ///
    /// ```
    /// use mplog::format::Style;
    /// assert_eq!(Style::Percent.symbol(), '%');
    /// assert_eq!(Style::Dollar.symbol(), '$');
    /// ```
    pub fn symbol(self) -> char {
        match self {
            Style::Percent => '%',
            Style::Brace => '{',
            Style::Dollar => '$',
        }
    }
}

impl FromStr for Style {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "%" => Ok(Style::Percent),
            "{" => Ok(Style::Brace),
            "$" => Ok(Style::Dollar),
            other => Err(FormatError::UnknownStyle(other.to_owned())),
        }
    }
}

/// An error building a formatter.
///
/// ```
/// use mplog::format::FormatError;
/// let err = mplog::Formatter::new("plain text").unwrap_err();
/// assert!(matches!(err, FormatError::NoField { .. }));
/// assert!(err.to_string().contains("needs at least one field"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The format string does not parse.
    #[error("invalid format {format:?} for '{style}' style at byte {offset}: {reason}")]
    Invalid {
        /// The format string.
        format: String,
        /// The style's symbol.
        style: char,
        /// Where the problem starts.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// Validation is on and the format names no field.
    #[error("invalid format {format:?} for '{style}' style: it needs at least one field")]
    NoField {
        /// The format string.
        format: String,
        /// The style's symbol.
        style: char,
    },
    /// The style is none of `%`, `{`, `$`.
    #[error("style must be one of '%', '{{' or '$', not {0:?}")]
    UnknownStyle(String),
}

/// An error formatting one record (the handler's error policy reports it).
///
/// ```
/// use mplog::format::{Format, RenderError};
/// let f = mplog::Formatter::new("%(user)s %(message)s").unwrap();
/// let mut out = String::new();
/// let err = f.format(&mplog::Record::new("a", mplog::Level::INFO, "m"), &mut out).unwrap_err();
/// assert_eq!(err, RenderError::MissingField("user".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A field is neither on the record nor among the formatter's defaults.
    #[error("Formatting field not found in record: '{0}'")]
    MissingField(String),
    /// A field's value does not fit its spec (`%d` of a string).
    #[error("field '{field}': {source}")]
    Value {
        /// The field.
        field: String,
        /// What did not fit.
        source: ValueError,
    },
}

/// Something that renders records to text; [`Formatter`] is the standard one.
///
/// ```
/// use mplog::format::{Format, RenderError};
/// use mplog::Record;
/// struct Upper;
/// impl Format for Upper {
///     fn format(&self, r: &Record, out: &mut String) -> Result<(), RenderError> {
///         out.push_str(&r.message.to_uppercase());
///         Ok(())
///     }
/// }
/// let mut s = String::new();
/// Upper.format(&Record::new("a", mplog::Level::INFO, "hi"), &mut s).unwrap();
/// assert_eq!(s, "HI");
/// ```
pub trait Format: Send + Sync {
    /// Appends the text of `record` to `out` (no terminator).
    ///
    /// ```
    /// use mplog::format::Format;
    /// let f = mplog::Formatter::new("%(levelname)s:%(message)s").unwrap();
    /// let mut out = String::from("[1] "); // appended to
    /// f.format(&mplog::Record::new("a", mplog::Level::ERROR, "boom"), &mut out).unwrap();
    /// assert_eq!(out, "[1] ERROR:boom");
    /// ```
    fn format(&self, record: &Record, out: &mut String) -> Result<(), RenderError>;
}

impl<F: Fn(&Record, &mut String) -> Result<(), RenderError> + Send + Sync> Format for F {
    fn format(&self, record: &Record, out: &mut String) -> Result<(), RenderError> {
        self(record, out)
    }
}

/// Python's `logging.Formatter`.
///
/// ```
/// use mplog::{Formatter, Level, Record};
/// use mplog::format::Format;
/// let f = Formatter::new("%(levelname)-8s %(name)s: %(message)s").unwrap();
/// let mut out = String::new();
/// f.format(&Record::new("app.db", Level::INFO, "ready"), &mut out).unwrap();
/// assert_eq!(out, "INFO     app.db: ready");
/// ```
#[derive(Debug)]
pub struct Formatter {
    template: Template,
    uses_time: bool,
    date: DateFormat,
    defaults: Vec<(String, Value)>,
}

impl Formatter {
    /// A `%`-style formatter, validated.
    ///
    /// ```
    /// use mplog::format::Format;
    /// let f = mplog::Formatter::new("%(name)s|%(levelno)d|%(message)s").unwrap();
    /// let mut out = String::new();
    /// f.format(&mplog::Record::new("db", mplog::Level::ERROR, "gone"), &mut out).unwrap();
    /// assert_eq!(out, "db|40|gone");
    /// assert!(mplog::Formatter::new("%(message)").is_err()); // no conversion: refused
    /// ```
    pub fn new(format: &str) -> Result<Formatter, FormatError> {
        Formatter::builder(format).build()
    }

    /// A builder for the other options (style, datefmt, UTC, defaults, validation).
    ///
    /// ```
    /// use mplog::format::Style;
    /// let f = mplog::Formatter::builder("{asctime} {message}")
    ///     .style(Style::Brace)
    ///     .datefmt("%H:%M:%S")
    ///     .utc(true)
    ///     .build()
    ///     .unwrap();
    /// # let _ = f;
    /// ```
    pub fn builder(format: &str) -> FormatterBuilder {
        FormatterBuilder {
            format: format.to_owned(),
            style: Style::Percent,
            datefmt: None,
            utc: false,
            zone: None,
            validate: true,
            defaults: Vec::new(),
        }
    }

    /// The record's `asctime` as this formatter renders it (Python's `formatTime`).
    ///
    /// ```
    /// let f = mplog::Formatter::builder("%(asctime)s").utc(true).build().unwrap();
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 1_700_000_000_123_000_000;
    /// assert_eq!(f.format_time(&r), "2023-11-14 22:13:20,123");
    /// ```
    pub fn format_time(&self, record: &Record) -> String {
        self.date.with_asctime(record.created_ns, str::to_owned)
    }

    fn render(&self, record: &Record, asctime: &str, out: &mut String) -> Result<(), RenderError> {
        for piece in &self.template.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field(field, render) => {
                    let value = self.value(field, record, asctime)?;
                    let result = match render {
                        Render::Plain => {
                            write_str(value, out);
                            Ok(())
                        }
                        Render::Percent(spec) => spec.render(value, out),
                        Render::Brace(spec) => spec.render(value, out),
                        Render::Nested(nested) => {
                            let mut spec_text = String::new();
                            nested
                                .resolve(|f| self.value(f, record, asctime), &mut spec_text)?
                                .map_err(ValueError::from)
                                .and_then(|spec| spec.render(value, out))
                        }
                    };
                    result.map_err(|source| RenderError::Value {
                        field: field_name(field).to_owned(),
                        source,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn value<'a>(
        &'a self,
        field: &'a Field,
        r: &'a Record,
        asctime: &'a str,
    ) -> Result<FieldValue<'a>, RenderError> {
        let opt = |s: Option<&'a str>| s.map_or(FieldValue::None, FieldValue::Str);
        Ok(match field {
            Field::Name => FieldValue::Str(&r.name),
            Field::Msg | Field::Message => FieldValue::Str(&r.message),
            Field::Args => FieldValue::Str("()"),
            Field::LevelName => FieldValue::Str(&r.level_name),
            Field::LevelNo => FieldValue::Int(i64::from(r.level.as_u32())),
            Field::Pathname => FieldValue::Str(&r.pathname),
            Field::Filename => FieldValue::Str(r.filename()),
            Field::Module => FieldValue::Str(r.module()),
            Field::ModulePath => FieldValue::Str(&r.module_path),
            Field::FuncName => FieldValue::Str(&r.func_name),
            Field::Lineno => FieldValue::Int(i64::from(r.lineno)),
            Field::Created => FieldValue::Float(r.created()),
            Field::Msecs => FieldValue::Float(r.msecs()),
            Field::RelativeCreated => FieldValue::Float(r.relative_created()),
            Field::Thread => FieldValue::Int(i64::try_from(r.thread).unwrap_or(i64::MAX)),
            Field::ThreadName => FieldValue::Str(&r.thread_name),
            Field::Process => FieldValue::Int(i64::from(r.process)),
            Field::ProcessName => FieldValue::Str(&r.process_name),
            Field::TaskName => opt(r.task_name.as_deref()),
            Field::ExcInfo => FieldValue::None,
            Field::ExcText => opt(r.exc_text.as_deref()),
            Field::StackInfo => opt(r.stack_info.as_deref()),
            Field::Asctime => FieldValue::Str(asctime),
            Field::Access(access) => {
                let (base, accessors) = &**access;
                let value = self.value(base, r, asctime)?;
                access::apply(value, accessors).map_err(|source| RenderError::Value {
                    field: field_name(base).to_owned(),
                    source,
                })?
            }
            Field::Other(name) => {
                let found = r.get_extra(name).or_else(|| {
                    self.defaults
                        .iter()
                        .find(|(k, _)| **k == **name)
                        .map(|(_, v)| v)
                });
                match found {
                    Some(v) => borrow_value(v),
                    None => return Err(RenderError::MissingField(name.to_string())),
                }
            }
        })
    }
}

impl Default for Formatter {
    /// `%(message)s`, as Python's `Formatter()`.
    fn default() -> Self {
        Formatter {
            template: Template {
                pieces: vec![Piece::Field(Field::Message, Render::Plain)],
            },
            uses_time: false,
            date: DateFormat::new(None, false, Zone::system()),
            defaults: Vec::new(),
        }
    }
}

impl Format for Formatter {
    fn format(&self, record: &Record, out: &mut String) -> Result<(), RenderError> {
        let start = out.len();
        if self.uses_time {
            self.date.with_asctime(record.created_ns, |asctime| {
                self.render(record, asctime, out)
            })?;
        } else {
            self.render(record, "", out)?;
        }
        append_trailers(record, start, out);
        Ok(())
    }
}

/// Appends exception text, then stack text, each after a newline unless the text so far (from
/// `start`) already ends with one (CPython's `Formatter.format`). Empty text is skipped, as
/// CPython tests each for truthiness (`if record.exc_text:`).
pub(crate) fn append_trailers(record: &Record, start: usize, out: &mut String) {
    let texts = [&record.exc_text, &record.stack_info].into_iter().flatten();
    for text in texts.filter(|t| !t.is_empty()) {
        if !out[start..].ends_with('\n') {
            out.push('\n');
        }
        out.push_str(text);
    }
}

pub(crate) fn borrow_value(v: &Value) -> FieldValue<'_> {
    match v {
        Value::Str(s) => FieldValue::Str(s),
        Value::Int(i) => FieldValue::Int(*i),
        Value::Float(f) => FieldValue::Float(*f),
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::None => FieldValue::None,
    }
}

fn field_name(field: &Field) -> &str {
    match field {
        Field::Name => "name",
        Field::Msg => "msg",
        Field::Args => "args",
        Field::LevelName => "levelname",
        Field::LevelNo => "levelno",
        Field::Pathname => "pathname",
        Field::Filename => "filename",
        Field::Module => "module",
        Field::ModulePath => "module_path",
        Field::FuncName => "funcName",
        Field::Lineno => "lineno",
        Field::Created => "created",
        Field::Msecs => "msecs",
        Field::RelativeCreated => "relativeCreated",
        Field::Thread => "thread",
        Field::ThreadName => "threadName",
        Field::Process => "process",
        Field::ProcessName => "processName",
        Field::TaskName => "taskName",
        Field::ExcInfo => "exc_info",
        Field::ExcText => "exc_text",
        Field::StackInfo => "stack_info",
        Field::Message => "message",
        Field::Asctime => "asctime",
        Field::Other(name) => name,
        Field::Access(access) => field_name(&access.0),
    }
}

/// Builds a [`Formatter`]; see [`Formatter::builder`].
///
/// ```
/// use mplog::format::Style;
/// let builder = mplog::Formatter::builder("{levelname:<8} {message}").style(Style::Brace);
/// let f = builder.build().unwrap();
/// # let _ = f;
/// ```
#[derive(Debug, Clone)]
pub struct FormatterBuilder {
    format: String,
    style: Style,
    datefmt: Option<String>,
    utc: bool,
    zone: Option<Zone>,
    validate: bool,
    defaults: Vec<(String, Value)>,
}

impl FormatterBuilder {
    /// The format string's style (default `%`).
    ///
    /// ```
    /// use mplog::format::{Format, Style};
    /// let f = mplog::Formatter::builder("$levelname ${name}: $message").style(Style::Dollar).build().unwrap();
    /// let mut out = String::new();
    /// f.format(&mplog::Record::new("db", mplog::Level::INFO, "up"), &mut out).unwrap();
    /// assert_eq!(out, "INFO db: up");
    /// ```
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// A strftime format for `asctime` (then no milliseconds are added, as in Python), rendered
    /// as glibc's `strftime` renders it for CPython's `time.strftime`: every glibc directive,
    /// flag, width and modifier; `%Z` is the zone's abbreviation; directives glibc does not know,
    /// `%f` among them, are copied as written.
    ///
    /// ```
    /// let f = mplog::Formatter::builder("%(asctime)s").datefmt("%Y-%m-%dT%H:%M:%S").utc(true).build().unwrap();
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 1_700_000_000_123_000_000;
    /// assert_eq!(f.format_time(&r), "2023-11-14T22:13:20"); // no ",123"
    /// ```
    pub fn datefmt(mut self, datefmt: &str) -> Self {
        self.datefmt = Some(datefmt.to_owned());
        self
    }

    /// Render times in UTC rather than local time (Python's `converter = time.gmtime`).
    ///
    /// ```
    /// let f = mplog::Formatter::builder("%(asctime)s").utc(true).build().unwrap();
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 0;
    /// assert_eq!(f.format_time(&r), "1970-01-01 00:00:00,000");
    /// ```
    pub fn utc(mut self, utc: bool) -> Self {
        self.utc = utc;
        self
    }

    /// The local zone for `asctime` (default [`Zone::system`]: `TZ`, else `/etc/localtime`).
    /// With [`utc`](Self::utc), only `%s` reads it, as `mktime` does in CPython.
    ///
    /// ```
    /// use mplog::format::Zone;
    /// let f = mplog::Formatter::builder("%(asctime)s")
    ///     .datefmt("%Y-%m-%d %H:%M:%S %Z")
    ///     .time_zone(Zone::from_tz("America/New_York"))
    ///     .build()
    ///     .unwrap();
    /// let mut r = mplog::Record::new("a", mplog::Level::INFO, "m");
    /// r.created_ns = 1_700_000_000_000_000_000;
    /// assert_eq!(f.format_time(&r), "2023-11-14 17:13:20 EST");
    /// ```
    pub fn time_zone(mut self, zone: Zone) -> Self {
        self.zone = Some(zone);
        self
    }

    /// Whether a format must name at least one field (default true, as Python's `validate`).
    ///
    /// ```
    /// assert!(mplog::Formatter::new("no fields").is_err());
    /// assert!(mplog::Formatter::builder("no fields").validate(false).build().is_ok());
    /// ```
    pub fn validate(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }

    /// A value for a field that a record may lack (Python's `defaults`).
    ///
    /// ```
    /// use mplog::format::Format;
    /// let f = mplog::Formatter::builder("%(ip)s %(message)s").default("ip", "-").build().unwrap();
    /// let mut out = String::new();
    /// f.format(&mplog::Record::new("a", mplog::Level::INFO, "m"), &mut out).unwrap();
    /// assert_eq!(out, "- m");
    /// ```
    pub fn default(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.defaults.push((field.to_owned(), value.into()));
        self
    }

    /// Compiles the format; errors say what is wrong and where.
    ///
    /// ```
    /// use mplog::format::Style;
    /// let err = mplog::Formatter::builder("{message").style(Style::Brace).build().unwrap_err();
    /// println!("{err}"); // says what is wrong and where
    /// assert!(mplog::Formatter::builder("{message}").style(Style::Brace).build().is_ok());
    /// ```
    pub fn build(self) -> Result<Formatter, FormatError> {
        let template = Template::compile(&self.format, self.style, self.validate)?;
        Ok(Formatter {
            uses_time: template.uses_time(),
            template,
            date: DateFormat::new(
                self.datefmt.as_deref(),
                self.utc,
                self.zone.unwrap_or_else(Zone::system),
            ),
            defaults: self.defaults,
        })
    }
}

#[cfg(test)]
mod tests;
