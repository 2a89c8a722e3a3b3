//! [`EventRate`]: how many events a socket may send, a token bucket per socket.

use std::time::Duration;

use tokio::time::Instant;

/// The name of the event a client is sent when its events go over [`EventRate`].
pub const RATE_LIMIT_EVENT: &str = "error";

/// How many events one socket may send: `burst` at once, then one more every `every`.
///
/// An event beyond that is not handled (no handler runs, no ack is sent) and the client is
/// told with an `"error"` event ([`RATE_LIMIT_EVENT`]) whose argument is
/// `{"message":"Rate limit exceeded","event":"<the event's name>"}`; what happens next is
/// the [`OverRate`] policy. Acks the client sends, and CONNECT and DISCONNECT packets, are
/// not counted. Set it with [`IoBuilder::event_rate`](crate::IoBuilder::event_rate); no limit
/// by default.
///
/// ```
/// use std::time::Duration;
/// use tidings::{EventRate, Io, OverRate};
///
/// // 50 events at once, then 10 a second; disconnect a socket that sends more.
/// let io = Io::builder()
///     .event_rate(
///         EventRate::new(50, Duration::from_millis(100)).on_exceed(OverRate::Disconnect),
///     )
///     .build();
/// # let _ = io;
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct EventRate {
    burst: u32,
    every: Duration,
    policy: OverRate,
}

/// What happens to a socket that sends events over its [`EventRate`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverRate {
    /// The events over the rate are dropped; the client is sent one `"error"` event each
    /// time it goes over (not one per dropped event), and the socket stays connected. The
    /// default.
    #[default]
    Drop,
    /// The client is sent the `"error"` event, then the socket is disconnected, with
    /// [`DisconnectReason::RateLimited`](crate::DisconnectReason::RateLimited) on the server
    /// and a DISCONNECT packet to the client (which, as for any server-side disconnect, does
    /// not reconnect by itself).
    Disconnect,
}

impl EventRate {
    /// Up to `burst` events at once (at least 1), then one every `every`; over it, the events
    /// are dropped ([`OverRate::Drop`]).
    pub fn new(burst: u32, every: Duration) -> EventRate {
        EventRate {
            burst: burst.max(1),
            every,
            policy: OverRate::Drop,
        }
    }

    /// What to do with a socket over the rate; [`OverRate::Drop`] by default.
    pub fn on_exceed(mut self, policy: OverRate) -> EventRate {
        self.policy = policy;
        self
    }

    pub(crate) fn policy(&self) -> OverRate {
        self.policy
    }
}

/// One socket's bucket: when it is full again, and whether the client was told it went over
/// since its last accepted event.
#[derive(Debug)]
pub(crate) struct Bucket {
    full_at: Instant,
    told: bool,
}

/// What to do with one event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    /// Over the rate; `tell` when the client has not been told since its last accepted event.
    Refuse {
        tell: bool,
    },
}

impl Bucket {
    pub(crate) fn new(now: Instant) -> Bucket {
        Bucket {
            full_at: now,
            told: false,
        }
    }

    /// Takes a token at `now`.
    pub(crate) fn take(&mut self, rate: &EventRate, now: Instant) -> Verdict {
        let start = self.full_at.max(now);
        let window = rate.every.saturating_mul(rate.burst);
        if start + rate.every > now + window {
            let tell = !std::mem::replace(&mut self.told, true);
            return Verdict::Refuse { tell };
        }
        self.full_at = start + rate.every;
        self.told = false;
        Verdict::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_burst_then_one_per_interval_and_tells_once_per_overrun() {
        let rate = EventRate::new(2, Duration::from_secs(1));
        let t0 = Instant::now();
        let mut bucket = Bucket::new(t0);
        let refuse = |tell| Verdict::Refuse { tell };
        // (milliseconds after start, verdict)
        let steps = [
            (0, Verdict::Accept),
            (0, Verdict::Accept),
            (0, refuse(true)),
            (500, refuse(false)),
            (1000, Verdict::Accept),
            (1000, refuse(true)),
            (1000, refuse(false)),
            (5000, Verdict::Accept),
            (5000, Verdict::Accept),
            (5000, refuse(true)),
        ];
        for (i, (ms, verdict)) in steps.into_iter().enumerate() {
            let now = t0 + Duration::from_millis(ms);
            assert_eq!(bucket.take(&rate, now), verdict, "step {i}");
        }
    }
}
