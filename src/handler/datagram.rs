//! [`DatagramHandler`]: records to a UDP or Unix datagram socket, one datagram each, as
//! Python's `logging.handlers.DatagramHandler` sends them (the same bytes as `SocketHandler`,
//! length prefix included).

use std::path::PathBuf;

use super::net::transport::{DatagramTransport, Transport};
use super::net::{Address, NetOptions};
use super::socket::{sealed, Delivery, PickleHandler};
use super::HandlerError;

/// Datagrams: UDP, or a Unix datagram socket ([`DatagramHandler`]).
///
/// ```
/// let h: mplog::handler::PickleHandler<mplog::handler::Datagram> = mplog::handler::DatagramHandler::udp("localhost", 9021).unwrap();
/// # drop(h);
/// ```
#[derive(Debug)]
pub enum Datagram {}

impl Delivery for Datagram {}

#[allow(private_interfaces)]
impl sealed::Transports for Datagram {
    fn transport(address: &Address) -> Box<dyn Transport> {
        Box::new(DatagramTransport::new(address.clone()))
    }

    fn scheme(address: &Address) -> &'static str {
        match address {
            Address::Tcp { .. } => "udp",
            Address::Unix(_) => "unix datagram",
        }
    }
}

/// Sends records as Python's `logging.handlers.DatagramHandler` does: each record one
/// datagram, to UDP `host:port` or a Unix datagram socket (a path). Nothing confirms UDP
/// delivery; a Unix datagram peer that is not there (or whose queue is full) is retried with
/// the backoff and the records kept meanwhile, as for [`SocketHandler`](super::SocketHandler).
/// A record larger than a datagram can be is dropped, counted and reported.
///
/// ```
/// use mplog::handler::{DatagramHandler, Handler};
/// let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let port = receiver.local_addr().unwrap().port();
/// let h = DatagramHandler::udp("127.0.0.1", port).unwrap();
/// h.handle(&mplog::Record::new("app", mplog::Level::WARNING, "over UDP"));
/// h.flush().unwrap();
/// let mut datagram = [0u8; 65536];
/// let n = receiver.recv(&mut datagram).unwrap();
/// let limits = mplog::compat::pickle::Limits::default();
/// let record = mplog::compat::pickle::decode_datagram(&datagram[..n], &limits).unwrap();
/// assert_eq!(&*record.message, "over UDP");
/// ```
pub type DatagramHandler = PickleHandler<Datagram>;

impl PickleHandler<Datagram> {
    /// To UDP `host:port` with the default options (Python's `DatagramHandler(host, port)`).
    ///
    /// ```
    /// let h = mplog::handler::DatagramHandler::udp("localhost", 9021).unwrap();
    /// assert_eq!(h.stats().dropped, 0);
    /// ```
    pub fn udp(host: &str, port: u16) -> Result<DatagramHandler, HandlerError> {
        DatagramHandler::new(
            Address::from_python(host, Some(port)),
            NetOptions::default(),
        )
    }

    /// To a Unix datagram socket with the default options (Python's
    /// `DatagramHandler(path, None)`).
    ///
    /// ```
    /// let h = mplog::handler::DatagramHandler::unix("/run/app/log.dgram").unwrap();
    /// assert_eq!(h.address().to_string(), "/run/app/log.dgram");
    /// ```
    pub fn unix(path: impl Into<PathBuf>) -> Result<DatagramHandler, HandlerError> {
        DatagramHandler::new(Address::Unix(path.into()), NetOptions::default())
    }
}
