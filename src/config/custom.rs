//! Python's `()` factories and `.` attributes (`DictConfigurator.configure_custom`): for the
//! standard library's classes mplog implements, the other keys are the constructor's keyword
//! arguments by their Python names, and `.` sets attributes after construction; for classes a
//! program registered ([`Registry`]), both go to its factory as [`Kwargs`].
//!
//! A keyword argument the class does not take is an error, as CPython's `TypeError`. Keys that
//! are not identifiers are errors too (CPython's `valid_ident`). A `.` attribute
//! mplog honours is applied (`terminator` of a stream handler, `maxBytes`/`backupCount` of a
//! rotating one, `capacity`/`flushLevel` of a MemoryHandler); one that the standard class
//! reads but mplog cannot set is an error; one no standard class reads has no effect in
//! CPython either, and is a warning.

use serde_json::{Map, Value};

use super::classes::{Args, Kind};
use super::error::{ConfigError, ConfigWarning, ErrorKind};
use super::registry::{self, Custom, FormatterFactory, Kwargs, Registry};
use super::schema::{defaults, FilterSpec, FormatterSpec};
use super::value::{self, Entry};
use crate::format::Style;

/// Takes the rest of `entry` as keyword arguments (keys as written); a key that is not an
/// identifier is an error, as CPython's `valid_ident` raises.
pub(crate) fn kwargs(entry: &mut Entry<'_>) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    for (_, written, v) in entry.items.drain(..) {
        if !value::is_identifier(written) {
            return Err(ConfigError::new(
                entry.path.clone(),
                ErrorKind::Invalid(format!("not a valid Python identifier: '{written}'")),
            )
            .at_key(written)
            .quiet_key());
        }
        out.insert(written.to_owned(), v.clone());
    }
    Ok(out)
}

fn attributes(entry: &mut Entry<'_>) -> Result<Map<String, Value>, ConfigError> {
    Ok(entry
        .get(".", |v| value::table(v).cloned())?
        .unwrap_or_default())
}

fn unexpected(entry: &Entry<'_>, key: &str, class: &str) -> ConfigError {
    entry.error(
        key,
        ErrorKind::UnexpectedArgument {
            key: key.to_owned(),
            class: class.to_owned(),
        },
    )
}

/// Attributes of the standard formatter: set after construction by `.`.
const FORMATTER_ATTRIBUTES: &[&str] = &[
    "default_time_format",
    "default_msec_format",
    "converter",
    "datefmt",
    "_fmt",
    "_style",
];

/// A formatter entry with `()`.
pub(crate) fn formatter_factory(
    mut entry: Entry<'_>,
    key: &str,
    factory: &Value,
    registry: &Registry,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<FormatterSpec, ConfigError> {
    let class = value::string(factory).map_err(|k| entry.error(key, k))?;
    let attributes = attributes(&mut entry)?;
    let kw = kwargs(&mut entry)?;
    if let Some(factory) = registry.find_formatter(&class) {
        return Ok(FormatterSpec {
            format: None,
            datefmt: None,
            style: Style::default(),
            validate: true,
            utc: false,
            defaults: Vec::new(),
            custom: Some(Custom {
                class,
                factory,
                kwargs: Kwargs::new(kw, attributes),
            }),
        });
    }
    if !matches!(class.as_str(), "logging.Formatter" | "Formatter") {
        return Err(entry.error(
            key,
            ErrorKind::Unsupported(registry::not_registered("formatter", &class, "formatter")),
        ));
    }
    let mut spec = FormatterSpec {
        format: None,
        datefmt: None,
        style: Style::default(),
        validate: true,
        utc: false,
        defaults: Vec::new(),
        custom: None,
    };
    let err = |k: &str, kind: ErrorKind| entry.error(k, kind);
    for (k, v) in &kw {
        match k.as_str() {
            // CPython retries `format` as `fmt` (Django's spelling).
            "fmt" | "format" => spec.format = nullable(v, value::string).map_err(|e| err(k, e))?,
            "datefmt" => spec.datefmt = nullable(v, value::string).map_err(|e| err(k, e))?,
            "style" => {
                spec.style = value::string(v)
                    .and_then(|s| s.parse::<Style>().map_err(ErrorKind::Format))
                    .map_err(|e| err(k, e))?
            }
            "validate" => spec.validate = value::boolean(v).map_err(|e| err(k, e))?,
            "defaults" => {
                spec.defaults = nullable(v, defaults)
                    .map_err(|e| err(k, e))?
                    .unwrap_or_default()
            }
            // mplog's own option.
            "utc" => spec.utc = value::boolean(v).map_err(|e| err(k, e))?,
            _ => return Err(unexpected(&entry, k, &class)),
        }
    }
    if kw.contains_key("fmt") && kw.contains_key("format") {
        return Err(entry.error(
            "format",
            ErrorKind::Invalid("both 'fmt' and 'format' given".into()),
        ));
    }
    for (name, _) in attributes {
        if FORMATTER_ATTRIBUTES.contains(&name.as_str()) {
            return Err(entry.error(
                ".",
                ErrorKind::Unsupported(format!(
                    "the formatter attribute '{name}' cannot be set in mplog; give the \
                     format and datefmt as keys instead"
                )),
            ));
        }
        warnings.push(ConfigWarning::ignored(
            &entry.path,
            &format!(".{name}"),
            "no formatter reads this attribute",
        ));
    }
    spec.build()
        .map_err(|e| ConfigError::new(entry.path.clone(), ErrorKind::Format(e)))?;
    Ok(spec)
}

fn nullable<T>(
    v: &Value,
    read: impl Fn(&Value) -> Result<T, ErrorKind>,
) -> Result<Option<T>, ErrorKind> {
    match v {
        Value::Null => Ok(None),
        v => read(v).map(Some),
    }
}

/// A registered formatter class named by `class`: CPython calls it with
/// `(fmt, datefmt, style[, validate])`.
pub(crate) fn formatter_by_class(
    class: String,
    factory: std::sync::Arc<FormatterFactory>,
    spec: &FormatterSpec,
    validate_given: bool,
) -> Custom<FormatterFactory> {
    let mut kw = Map::new();
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
    kw.insert("fmt".into(), text(&spec.format));
    kw.insert("datefmt".into(), text(&spec.datefmt));
    kw.insert(
        "style".into(),
        Value::String(spec.style.symbol().to_string()),
    );
    if validate_given {
        kw.insert("validate".into(), Value::Bool(spec.validate));
    }
    Custom {
        class,
        factory,
        kwargs: Kwargs::new(kw, Map::new()),
    }
}

/// A filter entry: `name`, or `()` naming `logging.Filter` or a registered class.
pub(crate) fn filter(
    mut entry: Entry<'_>,
    registry: &Registry,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<FilterSpec, ConfigError> {
    let Some(class) = entry.get("()", value::string)? else {
        let name = entry.get("name", value::string)?.unwrap_or_default();
        entry.ignore_rest(
            warnings,
            "Python's dictConfig does not read it for a filter",
        );
        return Ok(FilterSpec::Name(name));
    };
    let attributes = attributes(&mut entry)?;
    let kw = kwargs(&mut entry)?;
    if let Some(factory) = registry.find_filter(&class) {
        return Ok(FilterSpec::Custom(Custom {
            class,
            factory,
            kwargs: Kwargs::new(kw, attributes),
        }));
    }
    if !matches!(class.as_str(), "logging.Filter" | "Filter") {
        return Err(entry.error(
            "()",
            ErrorKind::Unsupported(registry::not_registered("filter", &class, "filter")),
        ));
    }
    let mut name = String::new();
    for (k, v) in &kw {
        match k.as_str() {
            "name" => name = value::string(v).map_err(|e| entry.error(k, e))?,
            _ => return Err(unexpected(&entry, k, &class)),
        }
    }
    for (attr, _) in attributes {
        if matches!(attr.as_str(), "name" | "nlen") {
            return Err(entry.error(
                ".",
                ErrorKind::Unsupported(format!(
                    "the filter attribute '{attr}' cannot be set in mplog; give 'name' as a key"
                )),
            ));
        }
        warnings.push(ConfigWarning::ignored(
            &entry.path,
            &format!(".{attr}"),
            "no filter reads this attribute",
        ));
    }
    Ok(FilterSpec::Name(name))
}

/// Attributes the standard handlers read, which mplog cannot set after construction.
const HANDLER_ATTRIBUTES: &[&str] = &[
    "stream",
    "baseFilename",
    "mode",
    "encoding",
    "errors",
    "delay",
    "namer",
    "rotator",
    "when",
    "interval",
    "suffix",
    "extMatch",
    "utc",
    "atTime",
    "rolloverAt",
    "target",
    "flushOnClose",
    "level",
    "formatter",
    "filters",
    "lock",
    "buffer",
    "dev",
    "ino",
];

/// A built-in handler's `.` attributes.
pub(crate) fn handler_attributes(
    kind: Kind,
    args: &mut Args,
    attributes: &Map<String, Value>,
    path: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let fail = |name: &str, kind: ErrorKind| {
        ConfigError::new(path.to_owned(), kind).at_key(&format!(".{name}"))
    };
    let sized = |name: &str, v: &Value| {
        value::integer(v)
            .and_then(|n| {
                usize::try_from(n).map_err(|_| ErrorKind::Invalid(format!("{n} is too large")))
            })
            .map_err(|k| fail(name, k))
    };
    for (name, v) in attributes {
        let rotating = matches!(
            kind,
            Kind::Rotating | Kind::LockedRotating | Kind::Timed | Kind::LockedTimed
        );
        match (name.as_str(), kind) {
            ("terminator", Kind::Stream) => {
                args.terminator = Some(value::string(v).map_err(|k| fail(name, k))?);
            }
            ("maxBytes", _) if rotating => {
                args.max_bytes = value::integer(v).map_err(|k| fail(name, k))?;
            }
            ("backupCount", _) if rotating => args.backup_count = sized(name, v)?,
            ("capacity", Kind::Memory) => args.capacity = sized(name, v)?,
            ("flushLevel", Kind::Memory) => {
                args.flush_level = value::level(v).map_err(|k| fail(name, k))?;
            }
            // configure() names the handler after its entry afterwards.
            ("name", _) => warnings.push(ConfigWarning::ignored(
                path,
                &format!(".{name}"),
                "Python's dictConfig names the handler after its entry afterwards",
            )),
            ("terminator", _) => {
                return Err(fail(
                    name,
                    ErrorKind::Unsupported(
                        "the handler attribute 'terminator' can be set on a StreamHandler only: \
                         mplog's file handlers end each record with \"\\n\""
                            .into(),
                    ),
                ))
            }
            (n, _) if HANDLER_ATTRIBUTES.contains(&n) => {
                return Err(fail(
                    name,
                    ErrorKind::Unsupported(format!(
                        "the handler attribute '{n}' cannot be set in mplog with '.'; give it \
                         as a key of the entry"
                    )),
                ))
            }
            _ => warnings.push(ConfigWarning::ignored(
                path,
                &format!(".{name}"),
                "no handler reads this attribute",
            )),
        }
    }
    Ok(())
}
