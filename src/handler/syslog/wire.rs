//! The bytes of one syslog message: Python's (`<PRI>` + ident + message + NUL), or RFC 5424
//! (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`), then the frame around it on a
//! stream: none (Python's), RFC 6587 octet counting (`LEN SP MSG`), or the legacy LF trailer.
//!
//! Nothing here does I/O; [`Encoder::encode`] appends to a buffer the caller reuses, so a
//! record costs no allocation once the buffers have grown.

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{DateTime, Local, SecondsFormat};

use super::priority::{encode_priority, Facility, PriorityMap};
use crate::record::{Record, Value};

/// How a stream transport delimits messages (RFC 6587).
///
/// ```
/// use mplog::handler::syslog::Framing;
/// assert_eq!("octet-counting".parse::<Framing>().unwrap(), Framing::OctetCounting);
/// assert_eq!("lf".parse::<Framing>().unwrap(), Framing::LineFeed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// No frame: the message as Python sends it (its NUL, when `append_nul` is on, is what
    /// old relays split on). The default on UDP and Unix sockets, and on TCP for Python's
    /// bytes.
    #[default]
    None,
    /// RFC 6587 section 3.4.1: the message's length in bytes, a space, the message. Required
    /// by RFC 5425 (TLS), and the only framing that carries any message intact.
    OctetCounting,
    /// RFC 6587 section 3.4.2, non-transparent framing with an LF trailer. A line feed inside
    /// the message would end the frame early, so it is written as `#012` (what rsyslog itself
    /// prints for a control character), and no record can forge a second one.
    LineFeed,
}

/// A framing name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown syslog framing '{0}' (none, octet-counting, lf)")]
pub struct UnknownFraming(pub String);

impl std::str::FromStr for Framing {
    type Err = UnknownFraming;
    fn from_str(s: &str) -> Result<Framing, UnknownFraming> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Framing::None),
            "octet-counting" | "octet_counting" | "octet" => Ok(Framing::OctetCounting),
            "lf" | "line-feed" | "linefeed" | "non-transparent" => Ok(Framing::LineFeed),
            _ => Err(UnknownFraming(s.to_owned())),
        }
    }
}

/// The RFC 5424 header fields (section 6): each `None` takes the default named.
///
/// ```
/// use mplog::handler::syslog::Rfc5424;
/// let fields = Rfc5424::default().app_name("billing").msgid("audit").sd_id("mplog@32473");
/// assert_eq!(fields.hostname, None); // this machine's name
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rfc5424 {
    /// HOSTNAME; `None`: this machine's host name.
    pub hostname: Option<String>,
    /// APP-NAME; `None`: the handler's `ident` (less a trailing `:` and spaces), else the
    /// record's `processName`.
    pub app_name: Option<String>,
    /// PROCID; `None`: the record's `process` (the pid of the process that logged it).
    pub procid: Option<String>,
    /// MSGID; `None`: `-`.
    pub msgid: Option<String>,
    /// The SD-ID under which the record's `extra` fields become STRUCTURED-DATA parameters
    /// (e.g. `mplog@32473`); `None`: no structured data (`-`).
    pub sd_id: Option<String>,
    /// Timestamps in UTC (`Z`) instead of the local offset.
    pub utc: bool,
}

impl Rfc5424 {
    /// Sets HOSTNAME.
    ///
    /// ```
    /// let f = mplog::handler::syslog::Rfc5424::default().hostname("web-1");
    /// assert_eq!(f.hostname.as_deref(), Some("web-1"));
    /// ```
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// Sets APP-NAME.
    ///
    /// ```
    /// let f = mplog::handler::syslog::Rfc5424::default().app_name("api");
    /// assert_eq!(f.app_name.as_deref(), Some("api"));
    /// ```
    pub fn app_name(mut self, app_name: impl Into<String>) -> Self {
        self.app_name = Some(app_name.into());
        self
    }

    /// Sets PROCID (instead of each record's pid).
    ///
    /// ```
    /// let f = mplog::handler::syslog::Rfc5424::default().procid("main");
    /// assert_eq!(f.procid.as_deref(), Some("main"));
    /// ```
    pub fn procid(mut self, procid: impl Into<String>) -> Self {
        self.procid = Some(procid.into());
        self
    }

    /// Sets MSGID.
    ///
    /// ```
    /// let f = mplog::handler::syslog::Rfc5424::default().msgid("audit");
    /// assert_eq!(f.msgid.as_deref(), Some("audit"));
    /// ```
    pub fn msgid(mut self, msgid: impl Into<String>) -> Self {
        self.msgid = Some(msgid.into());
        self
    }

    /// Sends the record's `extra` fields as structured data under this SD-ID.
    ///
    /// ```
    /// let f = mplog::handler::syslog::Rfc5424::default().sd_id("mplog@32473");
    /// assert_eq!(f.sd_id.as_deref(), Some("mplog@32473"));
    /// ```
    pub fn sd_id(mut self, sd_id: impl Into<String>) -> Self {
        self.sd_id = Some(sd_id.into());
        self
    }

    /// Stamps times in UTC.
    ///
    /// ```
    /// assert!(mplog::handler::syslog::Rfc5424::default().utc(true).utc);
    /// ```
    pub fn utc(mut self, utc: bool) -> Self {
        self.utc = utc;
        self
    }
}

/// The most bytes RFC 5424 allows in each header field (section 6).
const HOSTNAME_MAX: usize = 255;
const APP_NAME_MAX: usize = 48;
const PROCID_MAX: usize = 128;
const MSGID_MAX: usize = 32;
const SD_NAME_MAX: usize = 32;

/// An SD-ID that RFC 5424 does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 5424 SD-ID '{0}': 1 to 32 printable ASCII characters, none of '= ]\"', and a private one needs '@' and an enterprise number (e.g. mplog@32473)")]
pub struct InvalidSdId(pub String);

/// Checks an SD-ID: an SD-NAME, and a private one (anything but the IANA-registered names)
/// must be `name@number`.
pub(crate) fn check_sd_id(id: &str) -> Result<(), InvalidSdId> {
    const REGISTERED: [&str; 3] = ["timeQuality", "origin", "meta"];
    let valid_name =
        |s: &str| !s.is_empty() && s.len() <= SD_NAME_MAX && s.bytes().all(is_sd_name_byte);
    let ok = valid_name(id)
        && (REGISTERED.contains(&id)
            || id.split_once('@').is_some_and(|(name, number)| {
                !name.is_empty()
                    && !number.is_empty()
                    && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            }));
    if ok {
        Ok(())
    } else {
        Err(InvalidSdId(id.to_owned()))
    }
}

fn is_sd_name_byte(b: u8) -> bool {
    (33..=126).contains(&b) && !matches!(b, b'=' | b' ' | b']' | b'"')
}

/// The message layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Layout {
    /// Python's: `<PRI>` + ident + message (+ NUL).
    #[default]
    Python,
    /// RFC 5424, its fields resolved where they do not depend on the record.
    Rfc5424 {
        fields: Box<Rfc5424>,
        /// HOSTNAME, sanitised.
        hostname: String,
        /// APP-NAME when it does not depend on the record, sanitised.
        app_name: Option<String>,
    },
}

/// Turns a record (and its formatted text) into the bytes of one framed syslog message.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    pub(crate) facility: Facility,
    pub(crate) priorities: PriorityMap,
    pub(crate) ident: String,
    pub(crate) append_nul: bool,
    pub(crate) layout: Layout,
    pub(crate) framing: Framing,
}

impl Encoder {
    /// An encoder with Python's defaults: facility `user`, Python's layout, NUL, no framing.
    pub(crate) fn new() -> Encoder {
        Encoder {
            facility: Facility::USER,
            priorities: PriorityMap::default(),
            ident: String::new(),
            append_nul: true,
            layout: Layout::Python,
            framing: Framing::None,
        }
    }

    /// Switches to RFC 5424 with these fields, resolving the record-independent ones.
    pub(crate) fn set_rfc5424(&mut self, fields: Rfc5424) -> Result<(), InvalidSdId> {
        if let Some(id) = &fields.sd_id {
            check_sd_id(id)?;
        }
        let hostname = match &fields.hostname {
            Some(h) => h.clone(),
            None => local_hostname(),
        };
        let mut host = String::new();
        push_header_field(&hostname, HOSTNAME_MAX, &mut host);
        let app_name = fields.app_name.clone().or_else(|| {
            let ident = self.ident.trim_end_matches([':', ' ']);
            (!ident.is_empty()).then(|| ident.to_owned())
        });
        let app_name = app_name.map(|a| {
            let mut s = String::new();
            push_header_field(&a, APP_NAME_MAX, &mut s);
            s
        });
        self.layout = Layout::Rfc5424 {
            fields: Box::new(fields),
            hostname: host,
            app_name,
        };
        Ok(())
    }

    /// Appends the framed message for `record` to `out`; `text` is the record formatted by
    /// the handler's formatter, `scratch` a buffer for the unframed message.
    pub(crate) fn encode(
        &self,
        record: &Record,
        text: &str,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        let pri = encode_priority(
            self.facility,
            self.priorities.map_priority(&record.level_name),
        );
        let msg = if self.framing == Framing::None {
            &mut *out
        } else {
            scratch.clear();
            &mut *scratch
        };
        // Writing to a Vec cannot fail.
        let _ = write!(msg, "<{pri}>");
        match &self.layout {
            Layout::Python => {
                msg.extend_from_slice(self.ident.as_bytes());
                msg.extend_from_slice(text.as_bytes());
            }
            Layout::Rfc5424 {
                fields,
                hostname,
                app_name,
            } => {
                let mut header = String::with_capacity(96);
                header.push_str("1 ");
                push_timestamp(record.created_ns, fields.utc, &mut header);
                header.push(' ');
                header.push_str(hostname);
                header.push(' ');
                match app_name {
                    Some(a) => header.push_str(a),
                    None => push_header_field(&record.process_name, APP_NAME_MAX, &mut header),
                }
                header.push(' ');
                match &fields.procid {
                    Some(p) => push_header_field(p, PROCID_MAX, &mut header),
                    None => {
                        let _ = write!(header, "{}", record.process);
                    }
                }
                header.push(' ');
                push_header_field(
                    fields.msgid.as_deref().unwrap_or(""),
                    MSGID_MAX,
                    &mut header,
                );
                header.push(' ');
                match &fields.sd_id {
                    Some(id) if !record.extra.is_empty() => {
                        push_structured_data(id, &record.extra, &mut header)
                    }
                    _ => header.push('-'),
                }
                msg.extend_from_slice(header.as_bytes());
                if !text.is_empty() {
                    msg.push(b' ');
                    msg.extend_from_slice(text.as_bytes());
                }
            }
        }
        match self.framing {
            Framing::None => {
                if self.append_nul {
                    out.push(0);
                }
            }
            Framing::OctetCounting => {
                let _ = write!(out, "{} ", scratch.len());
                out.extend_from_slice(scratch);
            }
            Framing::LineFeed => {
                for part in scratch.split_inclusive(|b| *b == b'\n') {
                    match part.split_last() {
                        Some((b'\n', head)) => {
                            out.extend_from_slice(head);
                            out.extend_from_slice(b"#012");
                        }
                        _ => out.extend_from_slice(part),
                    }
                }
                out.push(b'\n');
            }
        }
    }
}

/// This machine's host name (`-`, the RFC's nil value, when it cannot be read).
fn local_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

/// A header field as RFC 5424 allows it: printable US-ASCII (33..=126) only, each other
/// character written as `_`, at most `max` bytes, `-` when empty.
fn push_header_field(value: &str, max: usize, out: &mut String) {
    if value.is_empty() {
        out.push('-');
        return;
    }
    for c in value.chars().take(max) {
        out.push(if ('!'..='~').contains(&c) { c } else { '_' });
    }
}

/// `2023-11-14T22:13:20.123456+01:00` (RFC 5424 section 6.2.3, with microseconds).
fn push_timestamp(created_ns: i64, utc: bool, out: &mut String) {
    let at = DateTime::from_timestamp_nanos(created_ns);
    let _ = if utc {
        write!(out, "{}", at.to_rfc3339_opts(SecondsFormat::Micros, true))
    } else {
        write!(
            out,
            "{}",
            at.with_timezone(&Local)
                .to_rfc3339_opts(SecondsFormat::Micros, false)
        )
    };
}

/// `[id name="value" ...]` from the record's extra fields: names reduced to what an SD-NAME
/// allows (`_` for the rest, at most 32 bytes), values with `"`, `\` and `]` escaped
/// (section 6.3.3); values print as Python's `str()` would.
fn push_structured_data(
    id: &str,
    extra: &[(std::borrow::Cow<'static, str>, Value)],
    out: &mut String,
) {
    out.push('[');
    out.push_str(id);
    for (name, value) in extra {
        out.push(' ');
        let mut n = 0;
        for c in name.chars().take(SD_NAME_MAX) {
            n += 1;
            out.push(if c.is_ascii() && is_sd_name_byte(c as u8) {
                c
            } else {
                '_'
            });
        }
        if n == 0 {
            out.push('_');
        }
        out.push_str("=\"");
        let mut text = String::new();
        let value = match value {
            Value::Str(s) => s.as_str(),
            other => {
                crate::format::spec::write_str(crate::format::borrow_value(other), &mut text);
                text.as_str()
            }
        };
        for c in value.chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn record(level: Level, msg: &'static str) -> Record {
        let mut r = Record::new("app", level, msg);
        r.created_ns = 1_700_000_000_123_456_789;
        r.process = 4242;
        r.process_name = "worker-1".into();
        r
    }

    fn encode(e: &Encoder, r: &Record) -> Vec<u8> {
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        e.encode(r, &r.message, &mut scratch, &mut out);
        out
    }

    #[test]
    fn python_layout_is_byte_for_byte_pythons() {
        // python3: h = SysLogHandler(); h.ident = "app: "; the bytes emit() sends for
        // logging.makeLogRecord(dict(levelname=..., msg="héllo"))
        let mut e = Encoder::new();
        e.ident = "app: ".into();
        assert_eq!(
            encode(&e, &record(Level::ERROR, "héllo")),
            b"<11>app: h\xc3\xa9llo\0"
        );
        assert_eq!(encode(&e, &record(Level::new(25), "x")), b"<12>app: x\0");
        e.append_nul = false;
        e.facility = Facility::LOCAL0;
        assert_eq!(encode(&e, &record(Level::DEBUG, "d")), b"<135>app: d");
    }

    #[test]
    fn framings() {
        let mut e = Encoder::new();
        e.framing = Framing::OctetCounting;
        assert_eq!(encode(&e, &record(Level::INFO, "a\nb")), b"7 <14>a\nb");
        e.framing = Framing::LineFeed;
        assert_eq!(
            encode(&e, &record(Level::INFO, "a\nb\n")),
            b"<14>a#012b#012\n"
        );
    }

    #[test]
    fn rfc5424_fields_timestamp_and_structured_data() {
        let mut e = Encoder::new();
        e.append_nul = false;
        e.set_rfc5424(
            Rfc5424::default()
                .hostname("web 1")
                .msgid("m")
                .sd_id("mplog@32473")
                .utc(true),
        )
        .unwrap();
        let r = record(Level::WARNING, "disk")
            .with_extra("path", "/var/\"x\"]\\")
            .unwrap()
            .with_extra("free pct", 2.5)
            .unwrap();
        assert_eq!(
            String::from_utf8(encode(&e, &r)).unwrap(),
            "<12>1 2023-11-14T22:13:20.123456Z web_1 worker-1 4242 m \
             [mplog@32473 path=\"/var/\\\"x\\\"\\]\\\\\" free_pct=\"2.5\"] disk"
        );
        // No extra fields: the nil value; an ident becomes APP-NAME.
        e.ident = "billing: ".into();
        e.set_rfc5424(Rfc5424::default().hostname("h").utc(true))
            .unwrap();
        assert_eq!(
            encode(&e, &record(Level::INFO, "")),
            b"<14>1 2023-11-14T22:13:20.123456Z h billing 4242 - -"
        );
    }

    #[test]
    fn sd_ids_are_checked() {
        assert!(check_sd_id("mplog@32473").is_ok());
        assert!(check_sd_id("origin").is_ok());
        for bad in ["", "mplog", "a b@1", "x@", "@1", "n@1=", &"a".repeat(40)] {
            assert!(check_sd_id(bad).is_err(), "{bad}");
        }
    }
}
