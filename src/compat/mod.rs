//! Bridges from other logging APIs into mplog: the `log` crate facade ([`log_bridge`]), and
//! Python's pickled log records ([`pickle`]: what `SocketHandler` and `DatagramHandler` send).
//!
//! What does not live here: mplog's own call sites (the macros) and handlers.

pub mod log_bridge;
pub mod pickle;
