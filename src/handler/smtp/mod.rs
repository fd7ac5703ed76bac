//! [`SMTPHandler`]: one mail per record (Python's `logging.handlers.SMTPHandler`), the message
//! built byte for byte as CPython's `email` package builds it (see `message.rs`), sent by
//! lettre (the SMTP dialogue, STARTTLS, AUTH) as raw bytes.
//!
//! As in Python, each record opens an SMTP session (`EHLO`, optionally `STARTTLS` and
//! `AUTH`, `MAIL`, `RCPT`, `DATA`, `QUIT`) bounded by the handler's `timeout` (default 5 s).
//! Unlike Python, the caller does not wait for it: the message is built (with its `Date`)
//! when the record is handled and put in the handler's bounded buffer, and the handler's own
//! output thread holds the sessions, as the other network handlers do (see
//! [`net`](super::net)). A server that cannot be reached (refused, timed out, a temporary
//! `4xx` reply) keeps the mail in the buffer and is retried with Python's backoff; a mail the
//! server refuses for good (`5xx`) is dropped. Every drop is counted
//! ([`SMTPHandler::stats`]) and reported through the error policy.
//!
//! One difference from Python, for safety: `secure` asks for STARTTLS whether or not
//! credentials are given (Python only honours it with credentials), and the server's
//! certificate is verified (against the system's roots, or [`TlsOptions::ca_file`]), where
//! Python's `starttls()` without a context verifies nothing.

mod message;

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{
    Certificate, CertificateStore, Identity, Tls, TlsParameters,
};
use lettre::{Address, SmtpTransport, Transport};

pub use self::message::MessageError;
use super::net::output::NetOutput;
use super::net::request::{Request, RequestTransport};
use super::net::transport::SendError;
use super::net::{NetOptions, NetStats};
use super::tls::{TlsError, TlsOptions};
use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// The SMTP port when `mailhost` names none (Python's `smtplib.SMTP_PORT`).
pub const SMTP_PORT: u16 = 25;
/// Python's default `timeout` for the SMTP session.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an [`SMTPHandler`] could not be built.
///
/// ```
/// use mplog::handler::SMTPHandler;
/// let err = SMTPHandler::builder("localhost", "me@example.com", ["not an address"], "x")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("not an address"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// A header value CPython would refuse or rewrite.
    #[error("SMTPHandler: {0}")]
    Message(#[from] MessageError),
    /// TLS could not be set up.
    #[error("SMTPHandler: {0}")]
    Tls(#[from] TlsError),
    /// lettre refused an option.
    #[error("SMTPHandler: {0}")]
    Options(String),
}

/// Builds an [`SMTPHandler`]: Python's `SMTPHandler(mailhost, fromaddr, toaddrs, subject,
/// credentials=None, secure=None, timeout=5.0)`.
///
/// ```
/// use mplog::handler::SMTPHandler;
/// let h = SMTPHandler::builder("mail.example.com", "app@example.com", ["ops@example.com"], "app error")
///     .port(587)
///     .credentials("app", "secret")
///     .secure(mplog::handler::TlsOptions::default())
///     .build()
///     .unwrap();
/// # drop(h);
/// ```
#[derive(Debug, Clone)]
pub struct SMTPHandlerBuilder {
    mailhost: String,
    port: Option<u16>,
    fromaddr: String,
    toaddrs: Vec<String>,
    subject: String,
    credentials: Option<(String, String)>,
    secure: Option<TlsOptions>,
    timeout: Duration,
    options: NetOptions,
}

impl SMTPHandlerBuilder {
    /// The port (Python's `mailhost` as `(host, port)`); default 25.
    ///
    /// ```
    /// let b = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s").port(2525);
    /// # drop(b);
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// `AUTH` with this user name and password (Python's `credentials`).
    ///
    /// ```
    /// let b = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s")
    ///     .credentials("user", "password");
    /// # drop(b);
    /// ```
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// `STARTTLS` before anything else (Python's `secure`), verifying the server with these
    /// options (and presenting their client certificate, if any).
    ///
    /// ```
    /// let b = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s")
    ///     .secure(mplog::handler::TlsOptions::default().ca_file("ca.pem"));
    /// # drop(b);
    /// ```
    pub fn secure(mut self, tls: TlsOptions) -> Self {
        self.secure = Some(tls);
        self
    }

    /// The bound on the whole SMTP session's network waits (default 5 s, Python's).
    ///
    /// ```
    /// let b = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s")
    ///     .timeout(std::time::Duration::from_secs(2));
    /// # drop(b);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The buffer bound, backoff, overflow policy and drain timeouts of the output thread
    /// (see [`net`](crate::handler::net)); the session timeout stays [`Self::timeout`].
    ///
    /// ```
    /// use mplog::handler::net::{NetOptions, Overflow};
    /// let b = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s")
    ///     .options(NetOptions { overflow: Overflow::Drop, ..NetOptions::default() });
    /// # drop(b);
    /// ```
    pub fn options(mut self, options: NetOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the addresses and subject, reads the TLS files, builds the handler.
    ///
    /// ```
    /// let h = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s").build().unwrap();
    /// # drop(h);
    /// ```
    pub fn build(self) -> Result<SMTPHandler, SmtpError> {
        let to = self.toaddrs.join(",");
        let from_env = message::envelope_addresses("From", &self.fromaddr)?;
        let to_env = message::envelope_addresses("To", &to)?;
        if self.subject.contains(['\r', '\n']) {
            return Err(MessageError::LineBreak("Subject".into()).into());
        }
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| SmtpError::Options(format!("{a:?}: {e}")))
        };
        // smtplib.send_message: the envelope sender is the first address of From.
        let from = from_env.first().map(|a| parse(a)).transpose()?;
        let recipients = to_env
            .iter()
            .map(|a| parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope =
            Envelope::new(from, recipients).map_err(|e| SmtpError::Options(e.to_string()))?;
        let port = self.port.unwrap_or(SMTP_PORT);
        let mut transport = SmtpTransport::builder_dangerous(self.mailhost.clone())
            .port(port)
            .timeout(Some(self.timeout));
        transport = match &self.secure {
            None => transport.tls(Tls::None),
            Some(options) => transport.tls(Tls::Required(tls_parameters(&self.mailhost, options)?)),
        };
        if let Some((user, password)) = &self.credentials {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let mailhost = format!("{}:{port}", self.mailhost);
        let session = Session {
            transport: transport.build(),
            envelope,
        };
        let base = Arc::new(HandlerBase::new());
        let options = NetOptions {
            timeout: self.timeout,
            ..self.options
        };
        let output = NetOutput::start(
            Box::new(RequestTransport::new(session)),
            format!("smtp {mailhost}"),
            options,
            base.clone(),
        )
        .map_err(|e| SmtpError::Options(format!("starting the output thread: {e}")))?;
        Ok(SMTPHandler {
            base,
            output,
            flush_timeout: options.flush_timeout,
            fromaddr: self.fromaddr,
            to,
            subject: self.subject,
            mailhost,
        })
    }
}

fn tls_parameters(host: &str, options: &TlsOptions) -> Result<TlsParameters, SmtpError> {
    let loaded = options.load()?;
    let name = options
        .server_name
        .clone()
        .unwrap_or_else(|| host.to_owned());
    let mut params = TlsParameters::builder(name);
    if loaded.ca_pem.is_some() {
        params = params.certificate_store(CertificateStore::None);
        // One Certificate per PEM block: lettre's from_pem reads the first only.
        for cert in &loaded.roots {
            params = params.add_root_certificate(
                Certificate::from_der(cert.to_vec())
                    .map_err(|e| SmtpError::Options(format!("CA certificate: {e}")))?,
            );
        }
    }
    if let Some(id) = &loaded.identity {
        params = params.identify_with(
            Identity::from_pem(&id.cert_pem, &id.key_pem)
                .map_err(|e| SmtpError::Options(format!("client certificate: {e}")))?,
        );
    }
    params
        .build_rustls()
        .map_err(|e| SmtpError::Options(format!("TLS: {e}")))
}

/// Mails each record (Python's `SMTPHandler`); see the module docs.
///
/// ```no_run
/// use mplog::handler::{Handler, SMTPHandler};
/// let h = SMTPHandler::builder("localhost", "app@example.com", ["ops@example.com"], "app error")
///     .build()
///     .unwrap();
/// h.base().set_level(mplog::Level::ERROR);
/// h.handle(&mplog::Record::new("app", mplog::Level::ERROR, "payment service down"));
/// ```
#[allow(clippy::upper_case_acronyms)]
pub struct SMTPHandler {
    base: Arc<HandlerBase>,
    output: NetOutput,
    flush_timeout: Duration,
    fromaddr: String,
    to: String,
    subject: String,
    mailhost: String,
}

/// One SMTP session per mail, on the output thread.
struct Session {
    transport: SmtpTransport,
    envelope: Envelope,
}

impl Request for Session {
    fn call(&mut self, message: &[u8]) -> Result<(), SendError> {
        // lettre ends DATA with CRLF "." CRLF whatever the message ends with; smtplib adds
        // the first CRLF only when missing. The message always ends with one: leave it to
        // lettre.
        let message = message.strip_suffix(b"\r\n").unwrap_or(message);
        match self.transport.send_raw(&self.envelope, message) {
            Ok(_) => Ok(()),
            // 5xx, or nothing this client can do (no AUTH mechanism offered in clear): this
            // mail will never be taken.
            Err(e) if e.is_permanent() || e.is_client() => {
                Err(SendError::Message(std::io::Error::other(e)))
            }
            // Refused, timed out, 4xx ("try again later"), TLS: the server, not the mail.
            Err(e) => Err(SendError::Connection(std::io::Error::other(e))),
        }
    }
}

impl std::fmt::Debug for SMTPHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SMTPHandler")
            .field("mailhost", &self.mailhost)
            .field("fromaddr", &self.fromaddr)
            .field("toaddrs", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl SMTPHandler {
    /// A builder: `mailhost` is the host (set the port with [`SMTPHandlerBuilder::port`]).
    ///
    /// ```
    /// let b = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org", "c@y.org"], "s");
    /// # drop(b);
    /// ```
    pub fn builder<I, S>(
        mailhost: impl Into<String>,
        fromaddr: impl Into<String>,
        toaddrs: I,
        subject: impl Into<String>,
    ) -> SMTPHandlerBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SMTPHandlerBuilder {
            mailhost: mailhost.into(),
            port: None,
            fromaddr: fromaddr.into(),
            toaddrs: toaddrs.into_iter().map(Into::into).collect(),
            subject: subject.into(),
            credentials: None,
            secure: None,
            timeout: DEFAULT_TIMEOUT,
            options: NetOptions::default(),
        }
    }

    /// Mails sent, dropped (counted and reported), and waiting in the buffer.
    ///
    /// ```
    /// let h = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "s").build().unwrap();
    /// assert_eq!(h.stats().sent, 0);
    /// ```
    pub fn stats(&self) -> NetStats {
        self.output.stats()
    }

    /// The message bytes this handler sends for `record` with this `Date` (what a test
    /// compares with CPython's).
    ///
    /// ```
    /// let h = mplog::handler::SMTPHandler::builder("localhost", "a@x.org", ["b@y.org"], "Alert").build().unwrap();
    /// let date = chrono::DateTime::parse_from_rfc3339("2023-11-14T22:13:20+01:00").unwrap();
    /// let m = h.message(&mplog::Record::new("app", mplog::Level::ERROR, "down"), date).unwrap();
    /// assert!(m.starts_with(b"From: a@x.org\r\nTo: b@y.org\r\nSubject: Alert\r\nDate: Tue, 14 Nov 2023 22:13:20 +0100\r\n"));
    /// ```
    pub fn message(
        &self,
        record: &Record,
        date: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<u8>, HandlerError> {
        let mut text = String::new();
        self.base.format(record, &mut text)?;
        let mut out = Vec::new();
        message::build(
            &self.fromaddr,
            &self.to,
            &self.subject,
            date,
            &text,
            &mut out,
        );
        Ok(out)
    }
}

impl Handler for SMTPHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    /// Builds the message (its `Date` now, as Python's) into the buffer; the output thread
    /// mails it.
    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut text = String::new();
        self.base.format(record, &mut text)?;
        // email.utils.localtime(): now, in the local zone.
        let date = chrono::Local::now().fixed_offset();
        self.output
            .send(|out| message::build(&self.fromaddr, &self.to, &self.subject, date, &text, out))
    }

    fn flush(&self) -> std::io::Result<()> {
        self.output.flush(self.flush_timeout)
    }

    /// Mails what is buffered within the drain timeout (plus one session's own timeout), the
    /// rest counted and reported.
    fn close(&self) {
        self.output.close();
    }
}
