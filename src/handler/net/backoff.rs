//! Python's reconnect backoff (`SocketHandler.createSocket`): after a failed attempt wait
//! `retryStart`, then multiply by `retryFactor` after each further failure, up to `retryMax`;
//! a success, or a connection that was working until it broke, retries at once.

use std::time::{Duration, Instant};

/// When the next connection attempt may be made.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    start: Duration,
    factor: f64,
    max: Duration,
    /// `None`: attempt now (Python's `retryTime is None`).
    next: Option<Instant>,
    period: Duration,
}

impl Backoff {
    pub(crate) fn new(start: Duration, factor: f64, max: Duration) -> Backoff {
        Backoff {
            start,
            factor,
            max,
            next: None,
            period: start,
        }
    }

    /// How long to wait before the next attempt (`None`: attempt now).
    pub(crate) fn wait(&self, now: Instant) -> Option<Duration> {
        self.next
            .and_then(|next| next.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// An attempt failed at `now`.
    pub(crate) fn failed(&mut self, now: Instant) {
        self.period = match self.next {
            None => self.start,
            Some(_) => self.period.mul_f64(self.factor.max(1.0)).min(self.max),
        };
        self.next = Some(now + self.period);
    }

    /// An attempt succeeded: the next one (after the connection breaks) is immediate.
    pub(crate) fn succeeded(&mut self) {
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_start_to_max_as_python() {
        let t0 = Instant::now();
        let mut b = Backoff::new(Duration::from_secs(1), 2.0, Duration::from_secs(30));
        assert_eq!(b.wait(t0), None);
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..8 {
            b.failed(now);
            let w = b.wait(now).unwrap();
            waits.push(w.as_secs());
            assert_eq!(b.wait(now + w), None);
            now += w;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        b.succeeded();
        assert_eq!(b.wait(now), None);
        b.failed(now);
        assert_eq!(b.wait(now), Some(Duration::from_secs(1)));
    }
}
