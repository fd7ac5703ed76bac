//! A peer spoken to by whole requests (SMTPHandler's mail sessions, HTTPHandler's requests):
//! a [`Transport`] around one call per message, so that these handlers share the output
//! thread, the bounded buffer and the backoff of the others.
//!
//! Such a peer has no connection of its own to open (the client library makes one per call),
//! so a call that fails for want of the peer marks the transport down: the output thread's
//! next `open` fails with the same error, which starts Python's backoff; the one after it
//! lets the next call try again. A call the peer refuses for good (a permanent SMTP reply, an
//! HTTP error status) drops that message only, counted and reported.

use std::io;
use std::time::{Duration, Instant};

use super::transport::{SendError, Transport};

/// One call to the peer per message.
pub(crate) trait Request: Send + 'static {
    /// Delivers `message`; [`SendError::Connection`] when the peer could not be reached or
    /// did not answer (the message is kept and retried), [`SendError::Message`] when it
    /// refused this message.
    fn call(&mut self, message: &[u8]) -> Result<(), SendError>;
}

/// [`Request`] as a [`Transport`].
pub(crate) struct RequestTransport<R: Request> {
    request: R,
    open: bool,
    /// Why the last call could not reach the peer (the next `open` says it).
    down: Option<io::Error>,
}

impl<R: Request> RequestTransport<R> {
    pub(crate) fn new(request: R) -> RequestTransport<R> {
        RequestTransport {
            request,
            open: false,
            down: None,
        }
    }
}

impl<R: Request> Transport for RequestTransport<R> {
    fn open(&mut self, _timeout: Duration) -> io::Result<()> {
        if let Some(e) = self.down.take() {
            return Err(e);
        }
        self.open = true;
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.open
    }

    fn close(&mut self) {
        self.open = false;
    }

    fn send(&mut self, message: &[u8], _deadline: &dyn Fn() -> Instant) -> Result<(), SendError> {
        let result = self.request.call(message);
        if let Err(SendError::Connection(e)) = &result {
            self.down = Some(io::Error::new(e.kind(), e.to_string()));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refusing(u32);

    impl Request for Refusing {
        fn call(&mut self, _: &[u8]) -> Result<(), SendError> {
            self.0 += 1;
            Err(SendError::Connection(
                io::ErrorKind::ConnectionRefused.into(),
            ))
        }
    }

    #[test]
    fn a_call_that_cannot_reach_the_peer_fails_the_next_open_once() {
        let mut t = RequestTransport::new(Refusing(0));
        let now = Instant::now;
        assert!(t.open(Duration::ZERO).is_ok());
        assert!(matches!(t.send(b"m", &now), Err(SendError::Connection(_))));
        t.close();
        let e = t.open(Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(t.open(Duration::ZERO).is_ok());
        assert_eq!(t.request.0, 1);
    }
}
