//! `logging.handlers.SMTPHandler`'s and `HTTPHandler`'s arguments.

use serde_json::Value;

use super::{host_port, invalid, net_options, pair, path, required, seconds, tls_options, Spec};
use crate::config::error::ConfigError;
use crate::config::value::{self, describe, Entry};
#[cfg(feature = "smtp")]
use crate::handler::SMTPHandler;
#[cfg(feature = "smtp")]
use crate::handler::TlsOptions;
#[cfg(feature = "http")]
use crate::handler::{http::Method, HTTPHandler};

#[cfg(feature = "smtp")]
pub(super) fn smtp(entry: &mut Entry<'_>) -> Result<Spec, ConfigError> {
    let mailhost = entry.get("mailhost", |v| match v {
        Value::String(h) => Ok((h.clone(), None)),
        _ => host_port(v).map(|(h, p)| (h, Some(p))),
    })?;
    let (host, port) = required(entry, "mailhost", mailhost)?;
    let fromaddr = entry.get("fromaddr", value::string)?;
    let fromaddr = required(entry, "fromaddr", fromaddr)?;
    let toaddrs = entry.get("toaddrs", |v| match v {
        Value::String(a) => Ok(vec![a.clone()]),
        _ => value::names(v),
    })?;
    let toaddrs = required(entry, "toaddrs", toaddrs)?;
    let subject = entry.get("subject", value::string)?;
    let subject = required(entry, "subject", subject)?;
    let mut b = SMTPHandler::builder(host, fromaddr, toaddrs, subject);
    if let Some(port) = port {
        b = b.port(port);
    }
    if let Some((user, password)) = entry.get("credentials", pair)? {
        b = b.credentials(user, password);
    }
    let timeout = entry.get("timeout", seconds)?;
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    // Python's `secure`: a tuple for `starttls(*secure)`: (), (keyfile,) or (keyfile, certfile).
    let secure = entry.get("secure", |v| match v.as_array().map(Vec::as_slice) {
        Some([]) => Ok(TlsOptions::default()),
        Some([key, cert]) => Ok(TlsOptions::default().client_cert(path(cert)?, path(key)?)),
        Some([_]) => Err(invalid(
            "secure (keyfile,) without a certfile: Python's starttls refuses it too",
        )),
        _ => Err(invalid(format!(
            "expected [], [keyfile, certfile], got {}",
            describe(v)
        ))),
    })?;
    let tls = tls_options(entry, false)?;
    match (secure, tls) {
        (Some(mut s), Some(t)) => {
            s.ca_file = t.ca_file;
            s.server_name = t.server_name;
            b = b.secure(s);
        }
        (Some(s), None) => b = b.secure(s),
        (None, Some(_)) => {
            return Err(entry.error("tls_ca_file", invalid("the tls_* options need secure")))
        }
        (None, None) => {}
    }
    let options = net_options(
        entry,
        timeout.unwrap_or(crate::handler::smtp::DEFAULT_TIMEOUT),
    )?;
    Ok(Spec::Smtp(Box::new(b.options(options))))
}

#[cfg(feature = "http")]
pub(super) fn http(entry: &mut Entry<'_>) -> Result<Spec, ConfigError> {
    let host = entry.get("host", value::string)?;
    let host = required(entry, "host", host)?;
    let url = entry.get("url", value::string)?;
    let url = required(entry, "url", url)?;
    let mut b = HTTPHandler::builder(host, url);
    if let Some(m) = entry.get("method", |v| {
        value::string(v)?
            .parse::<Method>()
            .map_err(|e| invalid(e.to_string()))
    })? {
        b = b.method(m);
    }
    if let Some((user, password)) = entry.get("credentials", pair)? {
        b = b.credentials(user, password);
    }
    if entry.get("context", |v| Ok(v.clone()))?.is_some() {
        return Err(entry.error(
            "context",
            invalid(
                "an ssl.SSLContext cannot be written in a configuration: \
                 use secure with tls_ca_file, tls_cert_file, tls_key_file",
            ),
        ));
    }
    let timeout = entry.get("timeout", seconds)?;
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    let secure = entry.get("secure", value::boolean)?.unwrap_or(false);
    match (secure, tls_options(entry, true)?) {
        (true, tls) => b = b.secure(tls.unwrap_or_default()),
        (false, Some(_)) => {
            return Err(entry.error("tls_ca_file", invalid("the tls_* options need secure")))
        }
        (false, None) => {}
    }
    let options = net_options(
        entry,
        timeout.unwrap_or(crate::handler::http::DEFAULT_TIMEOUT),
    )?;
    Ok(Spec::Http(Box::new(b.options(options))))
}
