//! The fields of `tracing` events and spans, turned into what a record carries: the message,
//! typed `extra` values, the exception text, and the text of a span (`name{x=1 y="a"}`), as
//! `tracing-subscriber`'s own `fmt` writes it.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt::{self, Write as _};

use tracing_core::field::{Field, Visit};

use crate::record::{is_reserved_field, render_error, Value};

/// The field that holds the message of an event (`info!("text")` records it so).
const MESSAGE: &str = "message";

/// The `extra` key under which an event's span chain is kept.
pub(super) const SPAN_FIELD: &str = "span";

/// A field's name as written in the source: `r#type` is `type`.
fn name(field: &Field) -> &'static str {
    let n = field.name();
    n.strip_prefix("r#").unwrap_or(n)
}

/// An event's fields: the message, the others as typed `extra` values.
#[derive(Default)]
pub(super) struct EventFields {
    pub(super) message: Option<Cow<'static, str>>,
    pub(super) extra: Vec<(Cow<'static, str>, Value)>,
    /// The first error field, rendered with its chain of causes (`exc_text`).
    pub(super) exc_text: Option<String>,
    /// Skip `log.*` fields (an event made by `tracing-log` from a `log` record: they are its
    /// target and location, already taken from the normalised metadata).
    pub(super) skip_log_fields: bool,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: Value) {
        let key = name(field);
        if self.skip_log_fields && key.starts_with("log.") {
            return;
        }
        // `tracing` cannot refuse a field as Python's makeRecord does; one that would
        // overwrite a standard attribute (or the span chain) is kept under a trailing
        // underscore, as the `log` bridge does.
        let key = if is_reserved_field(key) || key == SPAN_FIELD {
            Cow::Owned(format!("{key}_"))
        } else {
            Cow::Borrowed(key)
        };
        self.extra.push((key, value));
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::Float(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i128(field, i128::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        // Integers past i64 keep their exact digits as text rather than saturate.
        let value = i64::try_from(value).map_or_else(|_| Value::Str(value.to_string()), Value::Int);
        self.push(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let value = i64::try_from(value).map_or_else(|_| Value::Str(value.to_string()), Value::Int);
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == MESSAGE && self.message.is_none() {
            self.message = Some(crate::macros::__private::message(format_args!("{value}")));
        } else {
            self.push(field, Value::Str(value.to_owned()));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        if self.exc_text.is_none() {
            self.exc_text = Some(render_error(value));
        }
        self.push(field, Value::Str(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == MESSAGE && self.message.is_none() {
            // `format_args!` recorded with Debug prints as Display; rendered into the
            // thread's reused message buffer, as mplog's own macros do.
            self.message = Some(crate::macros::__private::message(format_args!("{value:?}")));
        } else {
            self.push(field, Value::Str(format!("{value:?}")));
        }
    }
}

/// Fields rendered as `tracing-subscriber`'s `fmt` does: `x=1 name="ann"`, the message bare.
pub(super) struct Rendered<'a>(pub(super) &'a mut String);

impl Visit for Rendered<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == MESSAGE {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = if field.name() == MESSAGE {
            write!(self.0, "{value:?}")
        } else {
            write!(self.0, "{}={value:?}", name(field))
        };
    }
}

/// What a span keeps in its extensions: its fields rendered once, at creation and at each
/// `record`, so events inside it only copy text.
pub(super) struct SpanFields(pub(super) String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_identifiers_lose_their_prefix() {
        let fields = tracing_core::field::FieldSet::new(&["r#type", "x"], callsite());
        let f = fields.field("r#type").unwrap();
        assert_eq!(name(&f), "type");
    }

    #[test]
    fn big_integers_keep_their_digits() {
        let fields = tracing_core::field::FieldSet::new(&["n"], callsite());
        let f = fields.field("n").unwrap();
        let mut v = EventFields::default();
        v.record_u64(&f, u64::MAX);
        v.record_u64(&f, 7);
        v.record_i128(&f, -5);
        assert_eq!(v.extra[0].1, Value::Str(u64::MAX.to_string()));
        assert_eq!(v.extra[1].1, Value::Int(7));
        assert_eq!(v.extra[2].1, Value::Int(-5));
    }

    fn callsite() -> tracing_core::callsite::Identifier {
        struct Cs;
        impl tracing_core::Callsite for Cs {
            fn set_interest(&self, _: tracing_core::subscriber::Interest) {}
            fn metadata(&self) -> &tracing_core::Metadata<'_> {
                unreachable!("not asked in these tests")
            }
        }
        static CS: Cs = Cs;
        tracing_core::identify_callsite!(&CS)
    }
}
