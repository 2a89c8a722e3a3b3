//! Limits on new sessions: the per-address handshake rate and its bounded table of addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How many handshakes one remote address may make: a token bucket per address.
///
/// An address may make `burst` handshakes at once, then one more every `every`; a handshake
/// beyond that is refused with status 429 and `{"code":8,"message":"Too many handshakes"}`.
/// IPv4 addresses are counted one by one, IPv6 addresses by their `/64` network (what one
/// host usually gets). The table of addresses holds at most
/// [`max_addresses`](Self::max_addresses) entries (10,000 by default): when it is full, the
/// addresses whose bucket has filled up again are forgotten, and if none has, the one closest
/// to it.
///
/// The address is the [`PeerAddr`](crate::PeerAddr) in the request's extensions, which
/// [`serve`](crate::serve) puts there; requests without one are not limited. Behind a reverse
/// proxy every client has the proxy's address: limit handshakes in the proxy instead.
///
/// ```
/// use std::time::Duration;
/// use tidings_transports::{EngineConfig, HandshakeRate};
///
/// // 20 handshakes at once, then one every 500 ms, per address.
/// let config = EngineConfig::default()
///     .handshake_rate(HandshakeRate::new(20, Duration::from_millis(500)));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HandshakeRate {
    pub(crate) burst: u32,
    pub(crate) every: Duration,
    pub(crate) max_addresses: usize,
}

impl HandshakeRate {
    /// Up to `burst` handshakes at once from one address (at least 1), then one every `every`.
    pub fn new(burst: u32, every: Duration) -> HandshakeRate {
        HandshakeRate {
            burst: burst.max(1),
            every,
            max_addresses: 10_000,
        }
    }

    /// How many addresses the table remembers at most (10,000 by default, at least 1); about
    /// 64 bytes each.
    pub fn max_addresses(mut self, max: usize) -> HandshakeRate {
        self.max_addresses = max.max(1);
        self
    }
}

/// The per-address buckets, as the time at which each address's bucket is full again (the
/// "theoretical arrival time" of the generic cell rate algorithm): one instant per address.
#[derive(Debug)]
pub(crate) struct RateTable {
    rate: HandshakeRate,
    full_at: Mutex<HashMap<IpAddr, Instant>>,
}

impl RateTable {
    pub(crate) fn new(rate: HandshakeRate) -> RateTable {
        RateTable {
            rate,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip` at `now`; false when its bucket is empty.
    pub(crate) fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let key = key(ip);
        let rate = &self.rate;
        let window = rate.every.saturating_mul(rate.burst);
        let mut table = self.full_at.lock().unwrap_or_else(|e| e.into_inner());
        if !table.contains_key(&key) && table.len() >= rate.max_addresses {
            table.retain(|_, full_at| *full_at > now);
            if table.len() >= rate.max_addresses
                && let Some(soonest) = table.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k)
            {
                table.remove(&soonest);
            }
        }
        let full_at = table.entry(key).or_insert(now);
        let start = (*full_at).max(now);
        // The bucket holds `burst` tokens of `every` each: it is empty once refilling it
        // would take longer than the whole window.
        if start + rate.every > now + window {
            return false;
        }
        *full_at = start + rate.every;
        true
    }

    /// How many addresses are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.full_at.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// What an address is counted as: IPv4 as is (also when mapped into IPv6), IPv6 by its `/64`.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn refills_one_token_per_interval() {
        let table = RateTable::new(HandshakeRate::new(3, Duration::from_secs(1)));
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // (milliseconds after start, allowed)
        let steps = [
            (0, true),
            (0, true),
            (0, true),
            (0, false),
            (999, false),
            (1000, true),
            (1000, false),
            (3000, true),
            (3000, true),
            (3000, false),
            (10_000, true),
            (10_000, true),
            (10_000, true),
            (10_000, false),
        ];
        for (i, (ms, allowed)) in steps.into_iter().enumerate() {
            assert_eq!(table.allow(ip("10.0.0.1"), at(ms)), allowed, "step {i}");
        }
        assert!(table.allow(ip("10.0.0.2"), at(10_000)), "another address");
    }

    #[test]
    fn counts_ipv6_by_network_and_mapped_ipv4_as_ipv4() {
        let cases = [
            ("2001:db8::1", "2001:db8::ffff:1", true),
            ("2001:db8::1", "2001:db8:0:1::1", false),
            ("::ffff:10.0.0.7", "10.0.0.7", true),
            ("10.0.0.7", "10.0.0.8", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(key(ip(a)) == key(ip(b)), same, "{a} and {b}");
        }
    }

    #[test]
    fn the_table_stays_bounded() {
        let table =
            RateTable::new(HandshakeRate::new(1, Duration::from_secs(60)).max_addresses(100));
        let now = Instant::now();
        for n in 0..1000u32 {
            let address = IpAddr::V4(n.into());
            assert!(table.allow(address, now), "first handshake of {address}");
            assert!(table.len() <= 100);
        }
        // Refilled buckets are forgotten before any other.
        let later = now + Duration::from_secs(61);
        assert!(table.allow(ip("192.0.2.1"), later));
        assert_eq!(table.len(), 1);
    }
}
