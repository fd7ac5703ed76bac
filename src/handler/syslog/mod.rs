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
//! **When the relay is away.** Connections open at the first record, not at construction (a
//! relay that starts after the listener is not an error). A stream whose relay closed it is
//! noticed before the next write (a write into a closed connection "succeeds" into the
//! kernel's buffer and is lost) and reopened. A record that cannot be sent after one
//! reconnection goes to the handler's error policy (reported, counted), as Python's
//! `handleError` does; nothing blocks longer than the handler's `timeout`.
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

use std::io;
use std::time::Duration;

use parking_lot::Mutex;

pub use self::priority::{encode_priority, Facility, PriorityError, PriorityMap, Severity};
use self::transport::{Conn, Connector, TlsTarget};
pub use self::transport::{
    SockType, SyslogAddress, UnknownSockType, SYSLOG_TCP_PORT, SYSLOG_TLS_PORT, SYSLOG_UDP_PORT,
};
use self::wire::{Encoder, Layout};
pub use self::wire::{Framing, InvalidSdId, Rfc5424, UnknownFraming};
#[cfg(feature = "tls")]
use super::tls::{TlsError, TlsOptions};
use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// How long a connect or a write may block by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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
    timeout: Duration,
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

    /// The most a connect or a write may block (default [`DEFAULT_TIMEOUT`]).
    ///
    /// ```
    /// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
    /// let b = SysLogHandler::builder(SyslogAddress::default()).timeout(std::time::Duration::from_secs(1));
    /// # drop(b);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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
            timeout,
            ..
        } = self;
        if timeout.is_zero() {
            return Err(SyslogError::Options("timeout must be above zero".into()));
        }
        let connector = Connector {
            address,
            socktype: if tls.is_some() {
                Some(SockType::Stream)
            } else {
                socktype
            },
            tls,
            timeout,
        };
        // An unset socktype on a Unix path may end up a stream (Python's fallback): only an
        // explicit stream or TLS may be framed.
        let stream = connector.is_stream();
        encoder.framing = match framing {
            Some(f) if f != Framing::None && !stream => {
                return Err(SyslogError::Options(format!(
                    "framing {f:?} needs a stream (socktype SOCK_STREAM, or TLS); \
                     datagrams carry one message each"
                )))
            }
            Some(f) => f,
            None if connector.tls.is_some() => Framing::OctetCounting,
            None => Framing::None,
        };
        if let Some(fields) = rfc5424 {
            encoder.set_rfc5424(fields)?;
        }
        encoder.append_nul = append_nul.unwrap_or(encoder.layout == Layout::Python);
        Ok(SysLogHandler {
            base: HandlerBase::new(),
            encoder,
            connector,
            state: Mutex::new(State::default()),
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

#[derive(Default)]
struct State {
    conn: Option<Conn>,
    text: String,
    scratch: Vec<u8>,
    out: Vec<u8>,
}

/// Sends each record to a syslog relay (Python's `SysLogHandler`); see the module docs.
///
/// ```no_run
/// use mplog::handler::syslog::{SysLogHandler, SyslogAddress};
/// use mplog::handler::Handler;
/// let h = SysLogHandler::new(SyslogAddress::unix("/dev/log")).unwrap();
/// h.handle(&mplog::Record::new("cron", mplog::Level::WARNING, "backup is late"));
/// ```
pub struct SysLogHandler {
    base: HandlerBase,
    encoder: Encoder,
    connector: Connector,
    state: Mutex<State>,
}

impl std::fmt::Debug for SysLogHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SysLogHandler")
            .field("base", &self.base)
            .field("connector", &self.connector)
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
            timeout: DEFAULT_TIMEOUT,
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
        &self.connector.address
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

    /// Sends `state.out`, connecting first if needed; after a failure, once more on a fresh
    /// connection (Python does so for Unix sockets; a stream broken mid-write needs it too).
    fn send(&self, state: &mut State) -> io::Result<()> {
        if let Some(conn) = &mut state.conn {
            match conn.check_open() {
                Ok(true) => {}
                Ok(false) => state.conn = None,
                Err(e) => {
                    // The relay ended the connection with an error: say so with this record
                    // (the ones written just before may not have been kept) and start anew
                    // at the next.
                    state.conn = None;
                    return Err(e);
                }
            }
        }
        let mut retried = false;
        loop {
            let mut conn = match state.conn.take() {
                Some(c) => c,
                None => self.connector.connect()?,
            };
            match conn.send(&state.out) {
                Ok(()) => {
                    state.conn = Some(conn);
                    return Ok(());
                }
                Err(e) if retried => return Err(e),
                Err(_) => retried = true,
            }
        }
    }
}

impl Handler for SysLogHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        state.text.clear();
        self.base.format(record, &mut state.text)?;
        state.out.clear();
        self.encoder
            .encode(record, &state.text, &mut state.scratch, &mut state.out);
        self.send(state).map_err(|e| {
            HandlerError::io(
                format!("sending to syslog at {}", self.connector.address),
                e,
            )
        })
    }

    fn close(&self) {
        let conn = self.state.lock().conn.take();
        #[cfg(feature = "tls")]
        if let Some(Conn::Tls(mut s)) = conn {
            // A polite end (close_notify); the relay may already be gone, which is no error
            // of any record's: every one was written before.
            s.conn.send_close_notify();
            // Every record was written before this; a relay already gone only misses the
            // goodbye.
            drop(s.conn.complete_io(&mut s.sock));
        }
        #[cfg(not(feature = "tls"))]
        drop(conn);
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
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<12>app: low disk\0");
        assert_eq!(h.base().error_count(), 0);
    }

    #[test]
    fn a_missing_socket_is_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let h = SysLogHandler::new(SyslogAddress::unix(dir.path().join("none"))).unwrap();
        h.handle(&Record::new("a", Level::ERROR, "m"));
        assert_eq!(h.base().error_count(), 1);
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
