//! The network handler classes in a configuration, with Python's names and arguments:
//!
//! | class | Python's arguments | mplog's options |
//! |---|---|---|
//! | `logging.handlers.SocketHandler` | `host`, `port` (`null`: `host` is a Unix socket path) | `timeout`, `close_on_error` |
//! | `logging.handlers.DatagramHandler` | `host`, `port` (`null`: a Unix datagram path) | `timeout`, `close_on_error` |
//! | `logging.handlers.SysLogHandler` | `address` (`[host, port]` or a path), `facility` (name or number), `socktype` (`SOCK_STREAM`/`SOCK_DGRAM`, 1/2), `timeout` (3.13) | `ident`, `append_nul`, `framing` (`none`, `octet-counting`, `lf`), `priority_map`, `rfc5424`, `hostname`, `app_name`, `procid`, `msgid`, `sd_id`, `utc`, `tls_ca_file`, `tls_cert_file`, `tls_key_file`, `tls_server_name` |
//! | `logging.handlers.SMTPHandler` | `mailhost` (host or `[host, port]`), `fromaddr`, `toaddrs` (one or a list), `subject`, `credentials` (`[user, password]`), `secure` (`[]`, `[keyfile, certfile]`), `timeout` | `tls_ca_file`, `tls_server_name` |
//! | `logging.handlers.HTTPHandler` | `host`, `url`, `method` (`GET`/`POST`), `secure`, `credentials` | `timeout`, `tls_ca_file`, `tls_cert_file`, `tls_key_file`, `tls_server_name` |
//!
//! Every one also takes the options of the shared output thread ([`NetOptions`]):
//! `max_pending` (bytes), `retry_start`, `retry_factor`, `retry_max`, `flush_timeout`,
//! `drain_timeout` (seconds). Keys may be camelCase (`appName`) or snake_case.
//!
//! Leniencies and differences, each documented: `socktype` also takes `tcp`/`udp` and
//! `ext://socket.SOCK_STREAM`; `facility` also takes `LOG_LOCAL0` and
//! `ext://logging.handlers.SysLogHandler.LOG_LOCAL0`; a port may be a string of digits. HTTPHandler's
//! `context` (an `ssl.SSLContext` object) cannot be written in a configuration file: only
//! `null` is accepted, and the `tls_*` options say what to trust. SMTPHandler's `secure` with a
//! key file but no certificate file is refused here (Python fails at the first mail).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::classes::Kind;
use super::error::{ConfigError, ErrorKind};
use super::value::{self, describe, Entry};
mod syslog;
mod web;

use self::syslog::facility;
use crate::handler::net::{Address, NetOptions};
use crate::handler::syslog::SysLogHandlerBuilder;
#[cfg(feature = "http")]
use crate::handler::HTTPHandlerBuilder;
#[cfg(feature = "smtp")]
use crate::handler::SMTPHandlerBuilder;
#[cfg(feature = "tls")]
use crate::handler::TlsOptions;
use crate::handler::{DatagramHandler, Handler, SocketHandler};

/// The output thread's options, taken by all five classes.
const NET_ARGS: &[&str] = &[
    "max_pending",
    "retry_start",
    "retry_factor",
    "retry_max",
    "flush_timeout",
    "drain_timeout",
];

const SOCKET_ARGS: &[&str] = &["host", "port", "timeout", "close_on_error"];
const SYSLOG_ARGS: &[&str] = &[
    "address",
    "facility",
    "socktype",
    "timeout",
    "ident",
    "append_nul",
    "framing",
    "priority_map",
    "rfc5424",
    "hostname",
    "app_name",
    "procid",
    "msgid",
    "sd_id",
    "utc",
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_server_name",
];
const SMTP_ARGS: &[&str] = &[
    "mailhost",
    "fromaddr",
    "toaddrs",
    "subject",
    "credentials",
    "secure",
    "timeout",
    "tls_ca_file",
    "tls_server_name",
];
const HTTP_ARGS: &[&str] = &[
    "host",
    "url",
    "method",
    "secure",
    "credentials",
    "context",
    "timeout",
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_server_name",
];

/// Whether `kind` is one of the network classes.
pub(crate) fn is_network(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Socket | Kind::Datagram | Kind::SysLog | Kind::Smtp | Kind::Http
    )
}

/// The arguments a network class takes (snake_case).
pub(crate) fn args(kind: Kind) -> Vec<&'static str> {
    let own = match kind {
        Kind::Socket | Kind::Datagram => SOCKET_ARGS,
        Kind::SysLog => SYSLOG_ARGS,
        Kind::Smtp => SMTP_ARGS,
        Kind::Http => HTTP_ARGS,
        _ => &[],
    };
    own.iter().chain(NET_ARGS).copied().collect()
}

/// Python's constructor parameters, in order (fileConfig's positional `args`).
pub(crate) fn positional(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Socket | Kind::Datagram => &["host", "port"],
        // `timeout` is Python 3.13's fourth parameter.
        Kind::SysLog => &["address", "facility", "socktype", "timeout"],
        Kind::Smtp => &[
            "mailhost",
            "fromaddr",
            "toaddrs",
            "subject",
            "credentials",
            "secure",
            "timeout",
        ],
        Kind::Http => &["host", "url", "method", "secure", "credentials", "context"],
        _ => &[],
    }
}

/// A network handler's arguments, checked, ready to build.
#[derive(Debug, Clone)]
pub(crate) enum Spec {
    Socket(Address, NetOptions),
    Datagram(Address, NetOptions),
    SysLog(Box<SysLogHandlerBuilder>),
    #[cfg(feature = "smtp")]
    Smtp(Box<SMTPHandlerBuilder>),
    #[cfg(feature = "http")]
    Http(Box<HTTPHandlerBuilder>),
}

/// Builds the handler of `spec`.
pub(crate) fn create(spec: Option<&Spec>) -> Result<Arc<dyn Handler>, ErrorKind> {
    let build = |e: &dyn std::fmt::Display| ErrorKind::Build(e.to_string());
    Ok(match spec {
        Some(Spec::Socket(address, options)) => {
            Arc::new(SocketHandler::new(address.clone(), *options).map_err(|e| build(&e))?)
        }
        Some(Spec::Datagram(address, options)) => {
            Arc::new(DatagramHandler::new(address.clone(), *options).map_err(|e| build(&e))?)
        }
        Some(Spec::SysLog(b)) => Arc::new((**b).clone().build().map_err(|e| build(&e))?),
        #[cfg(feature = "smtp")]
        Some(Spec::Smtp(b)) => Arc::new((**b).clone().build().map_err(|e| build(&e))?),
        #[cfg(feature = "http")]
        Some(Spec::Http(b)) => Arc::new((**b).clone().build().map_err(|e| build(&e))?),
        None => return Err(ErrorKind::Build("network handler without arguments".into())),
    })
}

fn invalid(why: impl Into<String>) -> ErrorKind {
    ErrorKind::Invalid(why.into())
}

fn required<T>(entry: &mut Entry<'_>, key: &'static str, v: Option<T>) -> Result<T, ConfigError> {
    v.ok_or_else(|| ConfigError::new(entry.path.clone(), ErrorKind::Missing(key)))
}

/// Seconds (Python's float timeouts), finite and at most a day.
fn seconds(v: &Value) -> Result<Duration, ErrorKind> {
    match v.as_f64() {
        Some(s) if (0.0..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(invalid(format!(
            "expected seconds (0 to 86400), got {}",
            describe(v)
        ))),
    }
}

/// A port: an integer, or a string of digits.
fn port(v: &Value) -> Result<u16, ErrorKind> {
    let n = match v {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => v.as_u64(),
    };
    n.and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| invalid(format!("expected a port (0 to 65535), got {}", describe(v))))
}

/// `[host, port]` (a list, Python's tuple).
fn host_port(v: &Value) -> Result<(String, u16), ErrorKind> {
    match v.as_array().map(Vec::as_slice) {
        Some([host, p]) => Ok((value::string(host)?, port(p)?)),
        _ => Err(invalid(format!(
            "expected [host, port], got {}",
            describe(v)
        ))),
    }
}

/// `[user, password]`.
fn pair(v: &Value) -> Result<(String, String), ErrorKind> {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => Ok((value::string(a)?, value::string(b)?)),
        _ => Err(invalid(format!(
            "expected [user, password], got {}",
            describe(v)
        ))),
    }
}

fn path(v: &Value) -> Result<PathBuf, ErrorKind> {
    value::string(v).map(PathBuf::from)
}

/// The output thread's options; `timeout` is the class's default one.
fn net_options(entry: &mut Entry<'_>, timeout: Duration) -> Result<NetOptions, ConfigError> {
    let mut o = NetOptions {
        timeout,
        ..NetOptions::default()
    };
    if let Some(n) = entry.get("max_pending", value::integer)? {
        o.max_pending = usize::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| entry.error("max_pending", invalid("must be above zero")))?;
    }
    for (key, field) in [
        ("retry_start", &mut o.retry_start),
        ("retry_max", &mut o.retry_max),
        ("flush_timeout", &mut o.flush_timeout),
        ("drain_timeout", &mut o.drain_timeout),
    ] {
        if let Some(d) = entry.get(key, seconds)? {
            *field = d;
        }
    }
    if let Some(f) = entry.get("retry_factor", |v| match v.as_f64() {
        Some(f) if (1.0..=1000.0).contains(&f) => Ok(f),
        _ => Err(invalid(format!(
            "expected a factor of 1 to 1000, got {}",
            describe(v)
        ))),
    })? {
        o.retry_factor = f;
    }
    Ok(o)
}

/// Reads the arguments of a network class from its entry (every key it takes is consumed).
pub(crate) fn read(kind: Kind, entry: &mut Entry<'_>) -> Result<Spec, ConfigError> {
    match kind {
        Kind::Socket | Kind::Datagram => socket(kind, entry),
        Kind::SysLog => syslog::syslog(entry),
        #[cfg(feature = "smtp")]
        Kind::Smtp => web::smtp(entry),
        #[cfg(feature = "http")]
        Kind::Http => web::http(entry),
        _ => Err(ConfigError::new(
            entry.path.clone(),
            ErrorKind::Unavailable(format!("{kind:?}Handler (a cargo feature of mplog is off)")),
        )),
    }
}

fn socket(kind: Kind, entry: &mut Entry<'_>) -> Result<Spec, ConfigError> {
    let host = entry.get("host", value::string)?;
    let host = required(entry, "host", host)?;
    let port = entry.get("port", port)?;
    let timeout = entry.get("timeout", seconds)?;
    let mut options = net_options(
        entry,
        timeout.unwrap_or(crate::handler::net::DEFAULT_TIMEOUT),
    )?;
    if let Some(b) = entry.get("close_on_error", value::boolean)? {
        options.close_on_error = b;
    }
    let address = Address::from_python(&host, port);
    Ok(match kind {
        Kind::Socket => Spec::Socket(address, options),
        _ => Spec::Datagram(address, options),
    })
}

#[cfg(feature = "tls")]
type Tls = TlsOptions;
/// Without the `tls` feature no TLS option can be given.
#[cfg(not(feature = "tls"))]
enum Tls {}

/// The `tls_*` options, if any is given (`client`: whether the class takes a client
/// certificate).
fn tls_options(entry: &mut Entry<'_>, client: bool) -> Result<Option<Tls>, ConfigError> {
    let ca_file = entry.get("tls_ca_file", path)?;
    let (cert_file, key_file) = if client {
        (
            entry.get("tls_cert_file", path)?,
            entry.get("tls_key_file", path)?,
        )
    } else {
        (None, None)
    };
    let server_name = entry.get("tls_server_name", value::string)?;
    if ca_file.is_none() && cert_file.is_none() && key_file.is_none() && server_name.is_none() {
        return Ok(None);
    }
    if cert_file.is_some() != key_file.is_some() {
        return Err(entry.error(
            "tls_cert_file",
            invalid("tls_cert_file and tls_key_file go together"),
        ));
    }
    #[cfg(feature = "tls")]
    return Ok(Some(TlsOptions {
        ca_file,
        cert_file,
        key_file,
        server_name,
    }));
    #[cfg(not(feature = "tls"))]
    Err(ConfigError::new(
        entry.path.clone(),
        ErrorKind::Unavailable("TLS (the tls feature of mplog is off)".into()),
    ))
}

/// The `ext://` names of the network classes' constants a dictConfig may use:
/// `socket.SOCK_STREAM`, `socket.SOCK_DGRAM`, and `logging.handlers.…` as in
/// [`python_name`].
pub(crate) fn python_ext(name: &str) -> Option<Value> {
    match name {
        "socket.SOCK_STREAM" => Some(json!(1)),
        "socket.SOCK_DGRAM" => Some(json!(2)),
        _ if name.starts_with("logging.handlers.") => python_name(name),
        _ => None,
    }
}

/// The names fileConfig's `args` may use from the `logging` namespace it evaluates them in
/// (`handlers.SYSLOG_UDP_PORT`, `handlers.SysLogHandler.LOG_LOCAL0`,
/// `handlers.socket.SOCK_STREAM`...), as their values.
pub(crate) fn python_name(word: &str) -> Option<Value> {
    let name = word
        .strip_prefix("logging.handlers.")
        .or_else(|| word.strip_prefix("handlers."))?;
    let n: u64 = match name {
        "SYSLOG_UDP_PORT" | "SYSLOG_TCP_PORT" => 514,
        "DEFAULT_TCP_LOGGING_PORT" => 9020,
        "DEFAULT_UDP_LOGGING_PORT" => 9021,
        "DEFAULT_HTTP_LOGGING_PORT" => 9022,
        "DEFAULT_SOAP_LOGGING_PORT" => 9023,
        "socket.SOCK_STREAM" => 1,
        "socket.SOCK_DGRAM" => 2,
        _ => {
            let constant = name.strip_prefix("SysLogHandler.LOG_")?;
            const SEVERITIES: [&str; 8] = [
                "EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
            ];
            match SEVERITIES.iter().position(|s| *s == constant) {
                Some(i) => i as u64,
                None => u64::from(facility(&json!(format!("LOG_{constant}"))).ok()?.as_u8()),
            }
        }
    };
    Some(json!(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pythons_names_have_pythons_values() {
        let v = |w: &str| python_name(w).unwrap();
        assert_eq!(v("handlers.SYSLOG_UDP_PORT"), json!(514));
        assert_eq!(v("handlers.DEFAULT_TCP_LOGGING_PORT"), json!(9020));
        assert_eq!(v("handlers.SysLogHandler.LOG_USER"), json!(1));
        assert_eq!(v("logging.handlers.SysLogHandler.LOG_LOCAL7"), json!(23));
        assert_eq!(v("handlers.SysLogHandler.LOG_SOLCRON"), json!(15));
        assert_eq!(v("handlers.SysLogHandler.LOG_WARNING"), json!(4));
        assert_eq!(v("handlers.socket.SOCK_DGRAM"), json!(2));
        assert_eq!(python_name("handlers.SysLogHandler.LOG_NOPE"), None);
        assert_eq!(python_name("os.system"), None);
    }

    fn read_json(kind: Kind, v: Value) -> Result<Spec, ConfigError> {
        let mut entry = Entry::new("handlers.h".into(), &v).unwrap();
        read(kind, &mut entry)
    }

    #[test]
    fn arguments_are_read_as_python_takes_them() {
        let Spec::Socket(a, o) =
            read_json(Kind::Socket, json!({"host": "/run/x.sock", "port": null})).unwrap()
        else {
            panic!()
        };
        assert_eq!(a, Address::Unix("/run/x.sock".into()));
        assert_eq!(o.timeout, crate::handler::net::DEFAULT_TIMEOUT);
        let Spec::Datagram(a, _) =
            read_json(Kind::Datagram, json!({"host": "h", "port": "9021"})).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.to_string(), "h:9021");
        assert!(read_json(Kind::SysLog, json!({"address": ["h", 514], "facility": "LOG_LOCAL0", "socktype": 1, "framing": "octet-counting", "appName": "api"})).is_ok());
        let e = read_json(Kind::SysLog, json!({"facility": "nope"})).unwrap_err();
        assert!(e.to_string().contains("facility"), "{e}");
        let e = read_json(Kind::SysLog, json!({"address": ["h"]})).unwrap_err();
        assert!(e.to_string().contains("[host, port]"), "{e}");
        let e = read_json(Kind::SysLog, json!({"socktype": 3})).unwrap_err();
        assert!(e.to_string().contains("socktype"), "{e}");
        assert!(read_json(Kind::SysLog, json!({"rfc5424": false, "msgid": "x"})).is_err());
        assert!(read_json(Kind::Socket, json!({"port": 1})).is_err());
        assert!(read_json(Kind::Socket, json!({"host": "h", "port": 70000})).is_err());
        assert!(read_json(Kind::Socket, json!({"host": "h", "port": 1, "timeout": -1})).is_err());
    }

    #[cfg(all(feature = "smtp", feature = "http"))]
    #[test]
    fn mail_and_web_arguments() {
        let ok = json!({"mailhost": ["localhost", 2525], "fromaddr": "a@x.org",
            "toaddrs": "b@y.org", "subject": "s", "credentials": ["u", "p"], "secure": []});
        assert!(read_json(Kind::Smtp, ok).is_ok());
        let e = read_json(
            Kind::Smtp,
            json!({"mailhost": "h", "fromaddr": "a@x.org", "toaddrs": ["b@y.org"],
                "subject": "s", "secure": ["key.pem"]}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("certfile"), "{e}");
        assert!(read_json(Kind::Smtp, json!({"mailhost": "h"})).is_err());
        assert!(read_json(
            Kind::Http,
            json!({"host": "h", "url": "/log", "method": "PUT"})
        )
        .is_err());
        let e = read_json(
            Kind::Http,
            json!({"host": "h", "url": "/", "context": "ctx"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("SSLContext"), "{e}");
        assert!(read_json(
            Kind::Http,
            json!({"host": "h", "url": "/", "tls_ca_file": "ca"})
        )
        .is_err());
    }
}
