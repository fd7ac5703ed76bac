//! Python literals, the subset fileConfig's `args`, `kwargs` and `defaults` need: tuples and
//! lists, dicts with string keys, strings (`'...'`, `"..."`, with `\n`, `\t`, `\\` and
//! quote escapes), integers (with `_`), floats, `True`, `False`, `None`, `sys.stdout`,
//! `sys.stderr` and level names (`ERROR`, `logging.ERROR`, as level names). Python evaluates
//! these as code; here anything else is refused, naming what was found.

use serde_json::{json, Map, Number, Value};

use super::error::{ConfigError, ErrorKind};

/// Parses the Python literal `text`, the value of `key` in `section`.
pub(crate) fn literal(section: &str, key: &str, text: &str) -> Result<Value, ConfigError> {
    let fail = |why: String| {
        // A hostile value can be long: it is shown up to 60 characters.
        let shown = match text.char_indices().nth(60) {
            Some((end, _)) => format!("{:?}...", &text[..end]),
            None => format!("{text:?}"),
        };
        ConfigError::new(section, ErrorKind::Invalid(format!("{why} in {shown}"))).at_key(key)
    };
    if text.contains("%(") {
        return Err(fail("'%(...)' interpolation is not supported".into()));
    }
    let text = text.replace("%%", "%");
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.value().map_err(fail)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(fail(format!("unexpected text at offset {}", p.i)));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Open tuples, lists and dicts: bounded by [`MAX_DEPTH`](super::load::MAX_DEPTH).
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'(' | b'[' | b'{') if self.depth >= super::load::MAX_DEPTH => Err(format!(
                "nested deeper than {} levels",
                super::load::MAX_DEPTH
            )),
            Some(b'(') | Some(b'[') => self.nested(Self::sequence),
            Some(b'{') => self.nested(Self::dict),
            Some(q @ (b'\'' | b'"')) => self.string(q).map(Value::String),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => self.number(),
            Some(_) => self.name(),
            None => Err("a value is missing".into()),
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Result<Value, String>) -> Result<Value, String> {
        self.depth += 1;
        let v = read(self);
        self.depth -= 1;
        v
    }

    fn sequence(&mut self) -> Result<Value, String> {
        let close = if self.s[self.i] == b'(' { b')' } else { b']' };
        self.i += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {}
                _ => return Err(format!("expected ',' or '{}'", close as char)),
            }
        }
    }

    fn dict(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                Some(q @ (b'\'' | b'"')) => {
                    let key = self.string(q)?;
                    if self.peek() != Some(b':') {
                        return Err("expected ':' after a dict key".into());
                    }
                    self.i += 1;
                    let v = self.value()?;
                    map.insert(key, v);
                }
                _ => return Err("dict keys must be strings".into()),
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err("expected ',' or '}'".into()),
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                _ if c == quote => {
                    return String::from_utf8(out).map_err(|_| "invalid UTF-8".into())
                }
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unfinished escape")?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'\\' | b'\'' | b'"' => e,
                        _ => return Err(format!("unsupported escape '\\{}'", e as char)),
                    });
                }
                _ => out.push(c),
            }
        }
        Err("unclosed string".into())
    }

    fn word(&mut self, accept: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| accept(*c)) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    fn number(&mut self) -> Result<Value, String> {
        let w = self
            .word(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.' | b'_'))
            .replace('_', "");
        if let Ok(i) = w.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        w.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{w:?} is not a number"))
    }

    fn name(&mut self) -> Result<Value, String> {
        let w = self.word(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
        if let Some(v) = super::network::python_name(w) {
            return Ok(v);
        }
        let level = w.strip_prefix("logging.").unwrap_or(w);
        Ok(match w {
            "True" => json!(true),
            "False" => json!(false),
            "None" => Value::Null,
            "sys.stdout" => json!("ext://sys.stdout"),
            // logging.handlers' port and syslog facility constants, which fileConfig files name.
            _ if constant(w).is_some() => json!(constant(w)),
            "sys.stderr" => json!("ext://sys.stderr"),
            _ if matches!(
                level,
                "NOTSET" | "DEBUG" | "INFO" | "WARNING" | "WARN" | "ERROR" | "CRITICAL" | "FATAL"
            ) =>
            {
                json!(level)
            }
            "" => return Err("unexpected character".into()),
            _ => return Err(format!("'{w}' is not a literal mplog can read")),
        })
    }
}

/// `logging.handlers` constants as fileConfig's `args` write them (`handlers.SYSLOG_UDP_PORT`,
/// `handlers.SysLogHandler.LOG_USER`).
fn constant(name: &str) -> Option<i64> {
    let name = name.strip_prefix("logging.").unwrap_or(name);
    let name = name.strip_prefix("handlers.")?;
    Some(match name {
        "SYSLOG_UDP_PORT" | "SYSLOG_TCP_PORT" => 514,
        "DEFAULT_TCP_LOGGING_PORT" => 9020,
        "DEFAULT_UDP_LOGGING_PORT" => 9021,
        "DEFAULT_HTTP_LOGGING_PORT" => 9022,
        "DEFAULT_SOAP_LOGGING_PORT" => 9023,
        _ => {
            let facility = name.strip_prefix("SysLogHandler.LOG_")?;
            let all = [
                "KERN",
                "USER",
                "MAIL",
                "DAEMON",
                "AUTH",
                "SYSLOG",
                "LPR",
                "NEWS",
                "UUCP",
                "CRON",
                "AUTHPRIV",
                "FTP",
                "NTP",
                "SECURITY",
                "CONSOLE",
                "SOLARIS_CRON",
                "LOCAL0",
                "LOCAL1",
                "LOCAL2",
                "LOCAL3",
                "LOCAL4",
                "LOCAL5",
                "LOCAL6",
                "LOCAL7",
            ];
            // The position is the facility's number (LOCAL0 is 16).
            all.iter().position(|f| *f == facility)? as i64
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        let v = literal(
            "s",
            "args",
            r"('a.log', 'a', 1_024, -3, 2.5, True, None, sys.stdout, logging.ERROR, [1])",
        )
        .unwrap();
        assert_eq!(
            v,
            json!([
                "a.log",
                "a",
                1024,
                -3,
                2.5,
                true,
                null,
                "ext://sys.stdout",
                "ERROR",
                [1]
            ])
        );
        assert_eq!(literal("s", "args", "()").unwrap(), json!([]));
        assert_eq!(
            literal(
                "s",
                "args",
                "(('localhost', handlers.SYSLOG_UDP_PORT), handlers.SysLogHandler.LOG_USER)"
            )
            .unwrap(),
            json!([["localhost", 514], 1])
        );
        assert_eq!(
            literal("s", "args", "(sys.stderr,)").unwrap(),
            json!(["ext://sys.stderr"])
        );
        assert_eq!(
            literal("s", "kwargs", r#"{"delay": True, 'n': 2,}"#).unwrap(),
            json!({"delay": true, "n": 2})
        );
        assert!(literal("s", "kwargs", "{'delay' True}").is_err());
        let e = literal("handler_f", "args", "(open('x'),)").unwrap_err();
        assert!(e.to_string().contains("'open' is not a literal"), "{e}");
        assert!(literal("s", "args", "('%(here)s/x.log',)").is_err());
        assert_eq!(literal("s", "args", "('100%%',)").unwrap(), json!(["100%"]));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing_into_it() {
        let deep = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = literal("handler_h", "args", &deep).unwrap_err();
        assert!(
            e.to_string().contains("nested deeper than 128 levels"),
            "{e}"
        );
        let ok = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(literal("handler_h", "args", &ok).is_ok());
    }
}
