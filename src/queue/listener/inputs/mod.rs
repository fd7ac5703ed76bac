//! Where records come in. Each input reads its peers with bounded memory and hands their
//! records, in each peer's order, to the dispatch thread ([`super::dispatch`]):
//! - [`socket`]: mplog workers' frames on the Unix socket (one reader thread per connection);
//! - [`rings`] (Linux): mplog workers' shm rings (one drainer thread per ring).

#[cfg(target_os = "linux")]
pub(crate) mod rings;
pub(crate) mod socket;
