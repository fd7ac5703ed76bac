//! Bridges from other logging APIs into mplog: the `log` crate facade ([`log_bridge`]).
//!
//! What does not live here: mplog's own call sites (the macros) and handlers.

pub mod log_bridge;
