//! [`SysLogHandler`]: records to a syslog relay (rsyslog, syslog-ng, journald's socket), as
//! Python's `logging.handlers.SysLogHandler` sends them, or as RFC 5424 messages, over UDP,
//! TCP, TLS (RFC 5425) or a Unix socket.
//!
//! **What a relay sees.** By default exactly Python's bytes: `<PRI>` + `ident` + the formatted
//! record + a NUL, so a relay fed by Python programs files mplog's records the same way. The
//! PRI comes from the facility and the record's *level name* through Python's
//! `priority_map` (`mapPriority`): a custom level maps to `warning` unless given an entry
//! ([`SysLogHandlerBuilder::priority`]). [`SysLogHandlerBuilder::rfc5424`] switches to RFC 5424
//! (timestamp with microseconds and offset, hostname, app-name, procid, msgid, the record's
//! `extra` fields as structured data).
//!
//! **Framing.** A datagram is one message. On a stream, Python writes messages back to back,
//! ended by their NUL; relays need to be told to split on it. [`Framing::OctetCounting`]
//! (RFC 6587, the default on TLS as RFC 5425 requires) carries any message intact, newlines
//! included; [`Framing::LineFeed`] is the legacy trailer.
//!
//! **When the relay is slow or away.** The caller never touches the network: it formats and
//! encodes its record into the handler's bounded buffer and returns; the handler's own output
//! thread connects (at the first record: a relay that starts later is not an error), sends,
//! and reconnects with Python's backoff, exactly as the other network handlers do (see
//! [`net`](super::net), whose [`NetOptions`] set the buffer bound, the backoff and the overflow
//! policy: [`SysLogHandlerBuilder::options`]). While the relay restarts, records wait in the
//! buffer ([`DEFAULT_MAX_PENDING`](super::net::DEFAULT_MAX_PENDING) bytes by default) and are
//! sent in order once it is back; beyond the bound the oldest are dropped, counted
//! ([`SysLogHandler::stats`]) and reported through the error policy. A stream the relay closed
//! is noticed before the next write (a write into a closed connection "succeeds" into the
//! kernel's buffer and is lost) and reopened.
//!
//! Syslog has no acknowledgements: bytes the kernel accepted just before a relay died can
//! still be lost in transit, a limit of the protocol (RELP exists for that).
//!
//! ```no_run
//! use mplog::handler::syslog::{Facility, Framing, SockType, SysLogHandler, SyslogAddress};
//! use mplog::handler::Handler;
//! let relay = SysLogHandler::builder(SyslogAddress::inet("logs.example.com", 514))
//!     .socktype(SockType::Stream)
//!     .framing(Framing::OctetCounting)
//!     .facility(Facility::LOCAL0)
//!     .ident("billing: ")
//!     .build()
//!     .unwrap();
//! relay.handle(&mplog::Record::new("app", mplog::Level::ERROR, "payment failed"));
//! ```

mod priority;
mod transport;
mod wire;

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use self::priority::{encode_priority, Facility, PriorityError, PriorityMap, Severity};
use self::transport::TlsTarget;
pub use self::transport::{
    SockType, SyslogAddress, UnknownSockType, SYSLOG_TCP_PORT, SYSLOG_TLS_PORT, SYSLOG_UDP_PORT,
};
use self::wire::{Encoder, Layout};
pub use self::wire::{Framing, InvalidSdId, Rfc5424, UnknownFraming};
use super::net::output::NetOutput;
use super::net::{NetOptions, NetStats};
#[cfg(feature = "tls")]
use super::tls::{TlsError, TlsOptions};
use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// How long the output thread's connect or write may wait by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// The formatted record and the encoder's scratch, reused by each calling thread.
    static TEXT: RefCell<(String, Vec<u8>)> = const { RefCell::new((String::new(), Vec::new())) };
}

/// Why a [`SysLogHandler`] could not be built.
///
/// ```
/// use mplog::handler::syslog::{Framing, SysLogHandler, SyslogAddress};
/// let err = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", 514))
///     .framing(Framing::OctetCounting) // UDP: one message a datagram, nothing to frame
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("framing"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SyslogError {
    /// The options contradict each other.
    #[error("SysLogHandler: {0}")]
    Options(String),
    /// TLS could not be set up.
    #[cfg(feature = "tls")]
    #[error("SysLogHandler: {0}")]
    Tls(#[from] TlsError),
    /// A bad SD-ID.
    #[error("SysLogHandler: {0}")]
    SdId(#[from] InvalidSdId),
}

/// Builds a [`SysLogHandler`]; every option has Python's default.
///
/// ```
/// use mplog::handler::syslog::{Facility, SysLogHandler, SyslogAddress};
/// let h = SysLogHandler::builder(SyslogAddress::unix("/dev/log"))
///     .facility(Facility::DAEMON)
///     .build()
///     .unwrap();
/// # drop(h);
/// ```
#[derive(Debug, Clone)]
pub struct SysLogHandlerBuilder {
    address: SyslogAddress,
    socktype: Option<SockType>,
    encoder: Encoder,
    append_nul: Option<bool>,
    rfc5424: Option<Rfc5424>,
    framing: Option<Framing>,
    #[cfg(feature = "tls")]
    tls: Option<TlsOptions>,
    options: NetOptions,
}

impl SysLogHandlerBuilder {
    /// Python's `socktype`: `Stream` for TCP (or a Unix stream socket). Unset: UDP, or for a
    /// Unix path a datagram socket, then a stream one.
    ///
    /// ```
    /// use mplog::handler::syslog::{SockType, SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", 514)).socktype(SockType::Stream);
    /// # drop(b);
    /// ```
    pub fn socktype(mut self, socktype: SockType) -> Self {
        self.socktype = Some(socktype);
        self
    }

    /// Python's `facility` (default `user`).
    ///
    /// ```
    /// use mplog::handler::syslog::{Facility, SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::default()).facility("local4".parse::<Facility>().unwrap());
    /// # drop(b);
    /// ```
    pub fn facility(mut self, facility: Facility) -> Self {
        self.encoder.facility = facility;
        self
    }

    /// Python's `ident`: text put before every message (e.g. `"myapp: "`, which relays read
    /// as the tag). With RFC 5424 it is the default APP-NAME.
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::default()).ident("api: ");
    /// # drop(b);
    /// ```
    pub fn ident(mut self, ident: impl Into<String>) -> Self {
        self.encoder.ident = ident.into();
        self
    }

    /// Python's `append_nul`: a NUL after each unframed message (default on; off with RFC
    /// 5424, and never inside an octet-counted or LF frame, which ends the message itself).
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::default()).append_nul(false);
    /// # drop(b);
    /// ```
    pub fn append_nul(mut self, append_nul: bool) -> Self {
        self.append_nul = Some(append_nul);
        self
    }

    /// Maps a level name to a severity (Python's `priority_map`), e.g. a custom `NOTICE`.
    ///
    /// ```
    /// use mplog::handler::syslog::{Severity, SysLogHandler, SyslogAddress};
    /// mplog::add_level_name(mplog::Level::new(25), "NOTICE");
    /// let b = SysLogHandler::builder(SyslogAddress::default()).priority("NOTICE", Severity::Notice);
    /// # drop(b);
    /// ```
    pub fn priority(mut self, level_name: impl Into<String>, severity: Severity) -> Self {
        self.encoder.priorities.insert(level_name, severity);
        self
    }

    /// Sends RFC 5424 messages with these header fields.
    ///
    /// ```
    /// use mplog::handler::syslog::{Rfc5424, SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::default())
    ///     .rfc5424(Rfc5424::default().app_name("api").sd_id("mplog@32473"));
    /// # drop(b);
    /// ```
    pub fn rfc5424(mut self, fields: Rfc5424) -> Self {
        self.rfc5424 = Some(fields);
        self
    }

    /// How messages are delimited on a stream (default: none, as Python; octet counting on
    /// TLS).
    ///
    /// ```
    /// use mplog::handler::syslog::{Framing, SockType, SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", 514))
    ///     .socktype(SockType::Stream)
    ///     .framing(Framing::OctetCounting);
    /// # drop(b);
    /// ```
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = Some(framing);
        self
    }

    /// Sends over TLS (RFC 5425) with these CA and client certificate files (TCP implied).
    ///
    /// ```no_run
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress, SYSLOG_TLS_PORT};
    /// use mplog::handler::TlsOptions;
    /// let h = SysLogHandler::builder(SyslogAddress::inet("logs.example.com", SYSLOG_TLS_PORT))
    ///     .tls(TlsOptions::default().ca_file("/etc/mplog/ca.pem"))
    ///     .build()
    ///     .unwrap();
    /// # drop(h);
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The most the output thread's connect or write may wait (default [`DEFAULT_TIMEOUT`]);
    /// the caller never waits on the network.
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::default()).timeout(std::time::Duration::from_secs(1));
    /// # drop(b);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// The buffer bound, backoff, overflow policy and drain timeouts shared by the network
    /// handlers (see [`net`](crate::handler::net)); replaces the timeout too (the default
    /// here is [`DEFAULT_TIMEOUT`], set it after).
    ///
    /// ```
    /// use mplog::handler::net::{NetOptions, Overflow};
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress, DEFAULT_TIMEOUT};
    /// let b = SysLogHandler::builder(SyslogAddress::default()).options(NetOptions {
    ///     max_pending: 16 * 1024 * 1024,
    ///     overflow: Overflow::Drop,
    ///     timeout: DEFAULT_TIMEOUT,
    ///     ..NetOptions::default()
    /// });
    /// # drop(b);
    /// ```
    pub fn options(mut self, options: NetOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the options, reads the TLS files, and builds the handler (it connects at the
    /// first record).
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let h = SysLogHandler::builder(SyslogAddress::default()).build().unwrap();
    /// # drop(h);
    /// ```
    pub fn build(self) -> Result<SysLogHandler, SyslogError> {
        let tls = self.tls_target()?;
        let SysLogHandlerBuilder {
            address,
            socktype,
            mut encoder,
            append_nul,
            rfc5424,
            framing,
            options,
            ..
        } = self;
        if options.timeout.is_zero() {
            return Err(SyslogError::Options("timeout must be above zero".into()));
        }
        // An unset socktype on a Unix path may end up a stream (Python's fallback): only an
        // explicit stream or TLS may be framed.
        let stream = tls.is_some() || socktype == Some(SockType::Stream);
        encoder.framing = match framing {
            Some(f) if f != Framing::None && !stream => {
                return Err(SyslogError::Options(format!(
                    "framing {f:?} needs a stream (socktype SOCK_STREAM, or TLS); \
                     datagrams carry one message each"
                )))
            }
            Some(f) => f,
            None if tls.is_some() => Framing::OctetCounting,
            None => Framing::None,
        };
        if let Some(fields) = rfc5424 {
            encoder.set_rfc5424(fields)?;
        }
        encoder.append_nul = append_nul.unwrap_or(encoder.layout == Layout::Python);
        let (transport, peer) = transport::transport(&address, socktype, tls);
        let base = Arc::new(HandlerBase::new());
        let output = NetOutput::start(transport, peer, options, base.clone())
            .map_err(|e| SyslogError::Options(format!("starting the output thread: {e}")))?;
        Ok(SysLogHandler {
            base,
            encoder,
            address,
            output,
            flush_timeout: options.flush_timeout,
        })
    }
}

impl SysLogHandlerBuilder {
    /// The TLS configuration, read from the files, when TLS was asked for.
    #[cfg(feature = "tls")]
    fn tls_target(&self) -> Result<Option<TlsTarget>, SyslogError> {
        let Some(options) = &self.tls else {
            return Ok(None);
        };
        let SyslogAddress::Inet { host, .. } = &self.address else {
            return Err(SyslogError::Options(
                "TLS needs a (host, port) address, not a Unix socket".into(),
            ));
        };
        if self.socktype == Some(SockType::Datagram) {
            return Err(SyslogError::Options(
                "TLS runs over TCP: socktype must be SOCK_STREAM or unset".into(),
            ));
        }
        let name = options.server_name.clone().unwrap_or_else(|| host.clone());
        let name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|e| SyslogError::Options(format!("TLS server name {name:?}: {e}")))?;
        Ok(Some(TlsTarget {
            config: options.client_config()?,
            name,
        }))
    }

    #[cfg(not(feature = "tls"))]
    fn tls_target(&self) -> Result<Option<TlsTarget>, SyslogError> {
        Ok(None)
    }
}

/// Sends each record to a syslog relay (Python's `SysLogHandler`) from its own output thread;
/// see the module docs.
///
/// ```no_run
/// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
/// use mplog::handler::Handler;
/// let h = SysLogHandler::new(SyslogAddress::unix("/dev/log")).unwrap();
/// h.handle(&mplog::Record::new("cron", mplog::Level::WARNING, "backup is late"));
/// h.flush().unwrap(); // waits (within the flush timeout) until it is sent
/// ```
pub struct SysLogHandler {
    base: Arc<HandlerBase>,
    encoder: Encoder,
    address: SyslogAddress,
    output: NetOutput,
    flush_timeout: Duration,
}

impl std::fmt::Debug for SysLogHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SysLogHandler")
            .field("base", &self.base)
            .field("address", &self.address)
            .field("facility", &self.encoder.facility)
            .field("framing", &self.encoder.framing)
            .finish_non_exhaustive()
    }
}

impl SysLogHandler {
    /// A handler with Python's defaults for everything but the address.
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let h = SysLogHandler::new(SyslogAddress::inet("127.0.0.1", 514)).unwrap();
    /// # drop(h);
    /// ```
    pub fn new(address: SyslogAddress) -> Result<SysLogHandler, SyslogError> {
        SysLogHandler::builder(address).build()
    }

    /// A builder (Python's defaults: facility `user`, UDP, no ident, NUL appended).
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let h = SysLogHandler::builder(SyslogAddress::default()).ident("app: ").build().unwrap();
    /// # drop(h);
    /// ```
    pub fn builder(address: SyslogAddress) -> SysLogHandlerBuilder {
        SysLogHandlerBuilder {
            address,
            socktype: None,
            encoder: Encoder::new(),
            append_nul: None,
            rfc5424: None,
            framing: None,
            #[cfg(feature = "tls")]
            tls: None,
            options: NetOptions {
                timeout: DEFAULT_TIMEOUT,
                ..NetOptions::default()
            },
        }
    }

    /// The address records go to.
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let h = SysLogHandler::new(SyslogAddress::unix("/dev/log")).unwrap();
    /// assert_eq!(h.address(), &SyslogAddress::unix("/dev/log"));
    /// ```
    pub fn address(&self) -> &SyslogAddress {
        &self.address
    }

    /// Records sent, dropped (counted and reported), and waiting in the buffer.
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// use mplog::handler::Handler;
    /// let h = SysLogHandler::new(SyslogAddress::unix("/nonexistent/log")).unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "kept while the relay is away"));
    /// assert_eq!(h.stats().sent, 0);
    /// ```
    pub fn stats(&self) -> NetStats {
        self.output.stats()
    }

    /// The framed bytes this handler would send for `record` (for tests and tools that
    /// compare with another sender).
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let h = SysLogHandler::builder(SyslogAddress::default()).ident("app: ").build().unwrap();
    /// let bytes = h.encode(&mplog::Record::new("x", mplog::Level::ERROR, "disk full")).unwrap();
    /// assert_eq!(bytes, b"<11>app: disk full\0");
    /// ```
    pub fn encode(&self, record: &Record) -> Result<Vec<u8>, HandlerError> {
        let (mut text, mut scratch, mut out) = (String::new(), Vec::new(), Vec::new());
        self.base.format(record, &mut text)?;
        self.encoder.encode(record, &text, &mut scratch, &mut out);
        Ok(out)
    }
}

impl Handler for SysLogHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    /// Formats and encodes the record into the buffer; the output thread sends it.
    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        TEXT.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (text, scratch) = &mut *guard;
            text.clear();
            self.base.format(record, text)?;
            self.output
                .send(|out| self.encoder.encode(record, text, scratch, out))
        })
    }

    fn flush(&self) -> io::Result<()> {
        self.output.flush(self.flush_timeout)
    }

    /// Sends what is buffered within the drain timeout (the rest is counted and reported),
    /// then closes the connection (TLS: with `close_notify`).
    fn close(&self) {
        self.output.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn unix_datagram_gets_pythons_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let h = SysLogHandler::builder(SyslogAddress::unix(&path))
            .ident("app: ")
            .build()
            .unwrap();
        assert!(h.handle(&Record::new("a", Level::WARNING, "low disk")));
        h.flush().unwrap();
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<12>app: low disk\0");
        assert_eq!(h.base().error_count(), 0);
        assert_eq!(h.stats().sent, 1);
    }

    #[test]
    fn a_missing_socket_keeps_the_record_reports_and_sends_once_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let h = SysLogHandler::builder(SyslogAddress::unix(&path))
            .options(NetOptions {
                retry_start: Duration::from_millis(10),
                retry_max: Duration::from_millis(50),
                flush_timeout: Duration::from_millis(100),
                ..NetOptions::default()
            })
            .build()
            .unwrap();
        h.handle(&Record::new("a", Level::ERROR, "m"));
        assert!(h.flush().is_err());
        assert_eq!(h.stats().pending, 1);
        assert!(h.base().reports()[0].contains("records are kept"));
        // Python's fallback: no datagram socket there, a stream one is taken.
        let server = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let (mut conn, _) = server.accept().unwrap();
        let mut buf = [0u8; 6];
        std::io::Read::read_exact(&mut conn, &mut buf).unwrap();
        assert_eq!(&buf, b"<11>m\0");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_needs_an_inet_stream() {
        let err = SysLogHandler::builder(SyslogAddress::unix("/dev/log"))
            .tls(TlsOptions::default())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("Unix socket"), "{err}");
    }
}
