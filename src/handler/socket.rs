//! [`SocketHandler`]: records to a TCP or Unix stream socket in Python's wire format (a 4-byte
//! big-endian length, then the pickle of the record's attribute dict), so Python's own
//! receivers take them (the logging cookbook's `LogRecordStreamHandler`, anything that calls
//! `pickle.loads`); and [`PickleHandler`], what it shares with
//! [`DatagramHandler`](super::DatagramHandler).

use std::io;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::net::output::NetOutput;
use super::net::transport::{StreamTransport, Transport};
use super::net::{Address, NetOptions, NetStats};
use super::{Handler, HandlerBase, HandlerError};
use crate::compat::pickle::encode_record;
use crate::record::Record;

/// How a [`PickleHandler`] reaches its peer: [`Stream`] or [`Datagram`](super::Datagram).
/// Sealed: the two are the ones Python has.
pub trait Delivery: sealed::Transports + Send + Sync + 'static {}

pub(super) mod sealed {
    use super::{Address, Transport};

    /// What a [`Delivery`](super::Delivery) provides, inside the crate. Outside, this module
    /// cannot be named, so its crate-private types stay private.
    #[allow(private_interfaces)]
    pub trait Transports {
        /// The transport to `address`.
        fn transport(address: &Address) -> Box<dyn Transport>;
        /// How reports name the peer's kind (`tcp`, `udp`, `unix`...).
        fn scheme(address: &Address) -> &'static str;
    }
}

/// A stream connection: TCP, or a Unix stream socket ([`SocketHandler`]).
///
/// ```
/// let h: mplog::handler::PickleHandler<mplog::handler::Stream> = mplog::handler::SocketHandler::tcp("localhost", 9020).unwrap();
/// # drop(h);
/// ```
#[derive(Debug)]
pub enum Stream {}

impl Delivery for Stream {}

#[allow(private_interfaces)]
impl sealed::Transports for Stream {
    fn transport(address: &Address) -> Box<dyn Transport> {
        Box::new(StreamTransport::new(address.clone()))
    }

    fn scheme(address: &Address) -> &'static str {
        match address {
            Address::Tcp { .. } => "tcp",
            Address::Unix(_) => "unix",
        }
    }
}

/// Sends records as Python's `logging.handlers.SocketHandler` does, over TCP (`host`, `port`)
/// or a Unix stream socket (a path), with Python's reconnect backoff, and without making the
/// caller wait on the network: see [`net`](super::net) for the buffer, the overflow policy and
/// what is counted.
///
/// ```no_run
/// use std::sync::Arc;
/// use mplog::handler::SocketHandler;
/// // A Python receiver from the logging cookbook listens on the default port.
/// let socket = SocketHandler::tcp("localhost", 9020).unwrap();
/// mplog::root().add_handler(Arc::new(socket));
/// mplog::warning!(mplog::root(), "sent to Python");
/// mplog::shutdown(); // sends what is buffered (within the drain timeout)
/// ```
pub type SocketHandler = PickleHandler<Stream>;

/// A handler that sends each record as Python's pickle of its attribute dict, through a
/// bounded buffer and an output thread of its own: [`SocketHandler`] (streams) and
/// [`DatagramHandler`](super::DatagramHandler) (datagrams).
///
/// ```
/// use mplog::handler::net::{Address, NetOptions};
/// use mplog::handler::SocketHandler;
/// let options = NetOptions { max_pending: 64 * 1024, ..NetOptions::default() };
/// let h = SocketHandler::new(Address::from_python("localhost", Some(9020)), options).unwrap();
/// assert_eq!(h.address().to_string(), "localhost:9020");
/// ```
pub struct PickleHandler<D: Delivery> {
    base: Arc<HandlerBase>,
    address: Address,
    output: NetOutput,
    flush_timeout: Duration,
    delivery: PhantomData<D>,
}

impl<D: Delivery> PickleHandler<D> {
    /// A handler sending to `address` with `options`; nothing connects before the first
    /// record.
    ///
    /// ```
    /// use mplog::handler::net::{Address, NetOptions, Overflow};
    /// let options = NetOptions { overflow: Overflow::Drop, ..NetOptions::default() };
    /// let h = mplog::handler::DatagramHandler::new(Address::from_python("localhost", Some(9021)), options).unwrap();
    /// assert_eq!(h.address().to_string(), "localhost:9021");
    /// ```
    pub fn new(address: Address, options: NetOptions) -> Result<PickleHandler<D>, HandlerError> {
        let base = Arc::new(HandlerBase::new());
        let peer = format!("{} {address}", D::scheme(&address));
        let output = NetOutput::start(D::transport(&address), peer, options, base.clone())
            .map_err(|e| HandlerError::io("starting the network output thread", e))?;
        Ok(PickleHandler {
            base,
            address,
            output,
            flush_timeout: options.flush_timeout,
            delivery: PhantomData,
        })
    }

    /// Where it sends.
    ///
    /// ```
    /// let h = mplog::handler::SocketHandler::tcp("localhost", 9020).unwrap();
    /// assert_eq!(h.address(), &mplog::handler::net::Address::from_python("localhost", Some(9020)));
    /// ```
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Records sent, dropped, and waiting.
    ///
    /// ```
    /// use mplog::handler::Handler;
    /// let h = mplog::handler::SocketHandler::unix("/nonexistent/log.sock").unwrap();
    /// h.handle(&mplog::Record::new("a", mplog::Level::INFO, "kept while the peer is away"));
    /// assert_eq!(h.stats().sent, 0);
    /// ```
    pub fn stats(&self) -> NetStats {
        self.output.stats()
    }
}

impl PickleHandler<Stream> {
    /// To `host:port` over TCP, with the default options (Python's `SocketHandler(host, port)`).
    ///
    /// ```
    /// let h = mplog::handler::SocketHandler::tcp("127.0.0.1", 9020).unwrap();
    /// assert_eq!(h.stats().sent, 0); // nothing connects before the first record
    /// ```
    pub fn tcp(host: &str, port: u16) -> Result<SocketHandler, HandlerError> {
        SocketHandler::new(
            Address::from_python(host, Some(port)),
            NetOptions::default(),
        )
    }

    /// To a Unix stream socket, with the default options (Python's
    /// `SocketHandler(path, None)`).
    ///
    /// ```
    /// let h = mplog::handler::SocketHandler::unix("/run/app/log.sock").unwrap();
    /// assert_eq!(h.address().to_string(), "/run/app/log.sock");
    /// ```
    pub fn unix(path: impl Into<PathBuf>) -> Result<SocketHandler, HandlerError> {
        SocketHandler::new(Address::Unix(path.into()), NetOptions::default())
    }
}

impl<D: Delivery> Handler for PickleHandler<D> {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    /// `makePickle`: the record's dict with its message, exception text and stack as they
    /// are (mplog renders them when the record is made), length-prefixed, into the buffer.
    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        self.output.send(|out| encode_record(record, out))
    }

    fn flush(&self) -> io::Result<()> {
        self.output.flush(self.flush_timeout)
    }

    fn close(&self) {
        self.output.close();
    }
}
