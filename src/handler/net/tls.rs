//! TLS over TCP (SysLogHandler's RFC 5425): a [`Transport`] whose connection is a rustls
//! client session, opened through the handshake, written within the output thread's deadline.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::transport::{connect_tcp, slice, timed_out, try_again, SendError, Transport};

/// How long a new TLS 1.3 connection waits for the peer's verdict on the client (see
/// [`TlsTransport::open`]); a peer that says nothing costs this once per connection.
const TLS13_VERDICT_WAIT: Duration = Duration::from_millis(250);

/// The TLS configuration and the name to verify the peer's certificate against.
#[derive(Clone)]
pub(crate) struct TlsTarget {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS verifying {:?}", self.name)
    }
}

type Session = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS connection to `host:port`.
pub(crate) struct TlsTransport {
    host: String,
    port: u16,
    target: TlsTarget,
    conn: Option<Box<Session>>,
}

impl TlsTransport {
    pub(crate) fn new(host: String, port: u16, target: TlsTarget) -> TlsTransport {
        TlsTransport {
            host,
            port,
            target,
            conn: None,
        }
    }
}

impl Transport for TlsTransport {
    /// Connects and runs the handshake, so a refused certificate is an error of the open,
    /// naming the cause.
    fn open(&mut self, timeout: Duration) -> io::Result<()> {
        let timeout = timeout.max(Duration::from_millis(1));
        let mut tcp = connect_tcp(&self.host, self.port, timeout)?;
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        let mut conn =
            rustls::ClientConnection::new(self.target.config.clone(), self.target.name.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        let tls13 = conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let mut stream = Box::new(rustls::StreamOwned::new(conn, tcp));
        // In TLS 1.3 the client's handshake ends before the server has judged the client's
        // certificate: a refusal comes as an alert afterwards, and whatever was written
        // meanwhile would be lost without a word. So wait, briefly, for the server's first
        // word (its session tickets, or the alert) before calling the connection open.
        if tls13 {
            stream.sock.set_read_timeout(Some(TLS13_VERDICT_WAIT))?;
            let read = stream.conn.read_tls(&mut stream.sock);
            stream.sock.set_read_timeout(Some(timeout))?;
            match read {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the peer closed the TLS connection after the handshake",
                    ))
                }
                Ok(_) => {
                    stream.conn.process_new_packets().map_err(|e| {
                        io::Error::new(io::ErrorKind::ConnectionRefused, format!("TLS: {e}"))
                    })?;
                }
                Err(e) if try_again(&e) => {}
                Err(e) => return Err(e),
            }
        }
        self.conn = Some(stream);
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.conn.is_some()
    }

    /// The peer closed when its socket is at end of file, sent `close_notify`, or sent an
    /// alert; what else it sent (session tickets) is read and kept by rustls, without
    /// blocking.
    fn peer_closed(&mut self) -> bool {
        let Some(s) = &mut self.conn else {
            return false;
        };
        let read = s
            .sock
            .set_nonblocking(true)
            .and_then(|()| s.conn.read_tls(&mut s.sock));
        if s.sock.set_nonblocking(false).is_err() {
            return true;
        }
        match read {
            Ok(0) => true,
            Ok(_) => match s.conn.process_new_packets() {
                Ok(state) => state.peer_has_closed(),
                Err(_) => true,
            },
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        }
    }

    /// Says goodbye (`close_notify`) within a short wait, then closes.
    fn close(&mut self) {
        if let Some(mut s) = self.conn.take() {
            s.conn.send_close_notify();
            if s.sock.set_write_timeout(Some(TLS13_VERDICT_WAIT)).is_ok() {
                // Every record was written before this; a peer already gone only misses the
                // goodbye, which is no record's loss.
                while s.conn.wants_write() && s.conn.write_tls(&mut s.sock).is_ok_and(|n| n > 0) {}
            }
        }
    }

    /// Hands the whole message to rustls, then writes the TLS records by slices until the
    /// deadline; a message not written whole closes the connection (and is sent again on
    /// the next one).
    fn send(&mut self, message: &[u8], deadline: &dyn Fn() -> Instant) -> Result<(), SendError> {
        let Some(s) = &mut self.conn else {
            return Err(SendError::Connection(io::ErrorKind::NotConnected.into()));
        };
        let mut done = 0;
        loop {
            while s.conn.wants_write() {
                let timeout = slice(deadline).ok_or_else(|| SendError::Connection(timed_out()))?;
                s.sock
                    .set_write_timeout(Some(timeout))
                    .map_err(SendError::Connection)?;
                match s.conn.write_tls(&mut s.sock) {
                    Ok(0) => return Err(SendError::Connection(io::ErrorKind::WriteZero.into())),
                    Ok(_) => {}
                    Err(e) if try_again(&e) => {}
                    Err(e) => return Err(SendError::Connection(e)),
                }
            }
            if done == message.len() {
                return Ok(());
            }
            // rustls takes plaintext up to its buffer limit, then wants the records written.
            let n = s
                .conn
                .writer()
                .write(&message[done..])
                .map_err(SendError::Connection)?;
            if n == 0 && !s.conn.wants_write() {
                return Err(SendError::Connection(io::ErrorKind::WriteZero.into()));
            }
            done += n;
        }
    }
}
