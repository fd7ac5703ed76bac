//! `logging.handlers.SysLogHandler`'s arguments, and mplog's options for it.

use serde_json::Value;

use super::{host_port, invalid, net_options, seconds, tls_options, Spec};
use crate::config::error::{ConfigError, ErrorKind};
use crate::config::value::{self, describe, Entry};
use crate::handler::syslog::{
    Facility, Framing, Rfc5424, Severity, SockType, SysLogHandler, SyslogAddress,
};

/// `facility`: a number, Python's name (`local0`), or a constant's name (`LOG_LOCAL0`,
/// `ext://logging.handlers.SysLogHandler.LOG_LOCAL0`).
pub(super) fn facility(v: &Value) -> Result<Facility, ErrorKind> {
    let bad = |e: &dyn std::fmt::Display| invalid(e.to_string());
    match v {
        Value::Number(_) => {
            let n = value::integer(v)?;
            Facility::new(u32::try_from(n).unwrap_or(u32::MAX)).map_err(|e| bad(&e))
        }
        Value::String(s) => {
            let name = s.strip_prefix("ext://").unwrap_or(s);
            let name = name.rsplit('.').next().unwrap_or(name);
            let name = match name.strip_prefix("LOG_") {
                Some("SOLCRON") => "solaris-cron".to_owned(),
                Some(rest) => rest.to_ascii_lowercase(),
                None => name.to_owned(),
            };
            name.parse::<Facility>().map_err(|e| bad(&e))
        }
        _ => Err(invalid(format!(
            "expected a facility name or number, got {}",
            describe(v)
        ))),
    }
}

fn socktype(v: &Value) -> Result<SockType, ErrorKind> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(invalid(format!(
                "expected a socket type, got {}",
                describe(v)
            )))
        }
    };
    text.parse::<SockType>().map_err(|e| invalid(e.to_string()))
}

pub(super) fn syslog(entry: &mut Entry<'_>) -> Result<Spec, ConfigError> {
    let address = entry
        .get("address", |v| match v {
            Value::String(p) => Ok(SyslogAddress::unix(p)),
            _ => host_port(v).map(|(h, p)| SyslogAddress::inet(h, p)),
        })?
        .unwrap_or_default();
    let timeout = entry.get("timeout", seconds)?;
    let options = net_options(
        entry,
        timeout.unwrap_or(crate::handler::syslog::DEFAULT_TIMEOUT),
    )?;
    let mut b = SysLogHandler::builder(address).options(options);
    if let Some(f) = entry.get("facility", facility)? {
        b = b.facility(f);
    }
    if let Some(s) = entry.get("socktype", socktype)? {
        b = b.socktype(s);
    }
    if let Some(ident) = entry.get("ident", value::string)? {
        b = b.ident(ident);
    }
    if let Some(nul) = entry.get("append_nul", value::boolean)? {
        b = b.append_nul(nul);
    }
    if let Some(f) = entry.get("framing", |v| {
        value::string(v)?
            .parse::<Framing>()
            .map_err(|e| invalid(e.to_string()))
    })? {
        b = b.framing(f);
    }
    if let Some(map) = entry.get("priority_map", value::table)? {
        for (level, severity) in map {
            let text = match severity {
                Value::Number(n) => n.to_string(),
                other => value::string(other).map_err(|k| entry.error("priority_map", k))?,
            };
            let severity = text
                .parse::<Severity>()
                .map_err(|e| entry.error("priority_map", invalid(e.to_string())))?;
            b = b.priority(level.clone(), severity);
        }
    }
    let rfc5424 = entry.get("rfc5424", value::boolean)?;
    let fields = Rfc5424 {
        hostname: entry.get("hostname", value::string)?,
        app_name: entry.get("app_name", value::string)?,
        procid: entry.get("procid", value::string)?,
        msgid: entry.get("msgid", value::string)?,
        sd_id: entry.get("sd_id", value::string)?,
        utc: entry.get("utc", value::boolean)?.unwrap_or(false),
    };
    // The RFC 5424 fields ask for RFC 5424 unless it is turned off explicitly.
    match rfc5424 {
        Some(true) => b = b.rfc5424(fields),
        Some(false) if fields != Rfc5424::default() => {
            return Err(entry.error(
                "rfc5424",
                invalid("RFC 5424 fields (hostname, app_name, ...) given with rfc5424 false"),
            ))
        }
        None if fields != Rfc5424::default() => b = b.rfc5424(fields),
        _ => {}
    }
    if let Some(tls) = tls_options(entry, true)? {
        #[cfg(feature = "tls")]
        {
            b = b.tls(tls);
        }
        #[cfg(not(feature = "tls"))]
        match tls {}
    }
    Ok(Spec::SysLog(Box::new(b)))
}
