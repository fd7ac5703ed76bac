//! Where records come in. Each input reads its peers with bounded memory and hands their
//! records, in each peer's order, to the dispatch thread ([`super::dispatch`]):
//! - [`socket`]: mplog workers' frames on the Unix socket (one reader thread per connection),
//!   acknowledged through [`replies`] (one writer thread that never waits on a peer);
//! - [`rings`] (Linux): mplog workers' shm rings (one drainer thread per ring);
//! - [`python`]: Python's `SocketHandler` and `DatagramHandler` records on TCP, UDP and Unix
//!   sockets ([`python_stream`]: a reader per connection; [`python_dgram`]: a reader per socket).

pub(crate) mod python;
pub(crate) mod python_dgram;
pub(crate) mod python_stream;
pub(crate) mod replies;
#[cfg(target_os = "linux")]
pub(crate) mod rings;
pub(crate) mod socket;
