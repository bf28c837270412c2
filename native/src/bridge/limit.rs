//! Bounds on anonymous `Attach` callers: a token bucket per source address
//! (IPv6 counted per /64, what one host usually gets) and a bound on Attach
//! calls dialing lnd at the same time. Every Attach before lnd's macaroon
//! check costs the bridge a TCP + TLS dial to lnd; these keep one caller
//! from spending the bridge's sessions or lnd's handshakes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default burst of Attach attempts per source.
pub const DEFAULT_ATTACH_BURST: u32 = 10;
/// Default sustained Attach attempts per source and minute.
pub const DEFAULT_ATTACH_PER_MINUTE: u32 = 30;
/// Default number of Attach calls dialing lnd at once.
pub const DEFAULT_MAX_PENDING_ATTACHES: usize = 4;
/// Sources remembered at once; beyond that, new sources share one bucket.
const MAX_SOURCES: usize = 4096;

/// Per-source Attach rate: `burst` at once, then `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachRate {
    /// Attempts a source may make at once.
    pub burst: u32,
    /// Attempts per minute after the burst; 0 = no limit at all.
    pub per_minute: u32,
}

impl Default for AttachRate {
    fn default() -> Self {
        Self {
            burst: DEFAULT_ATTACH_BURST,
            per_minute: DEFAULT_ATTACH_PER_MINUTE,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The key a source is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKey {
    /// An IPv4 address.
    V4([u8; 4]),
    /// The /64 prefix of an IPv6 address.
    V6([u8; 8]),
    /// Every source past the table's capacity (or of unknown address).
    Overflow,
}

impl SourceKey {
    /// The key of `addr`, or the shared overflow bucket when unknown.
    pub fn of_opt(addr: Option<IpAddr>) -> Self {
        addr.map_or(SourceKey::Overflow, Self::of)
    }

    /// The key of `addr` (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => SourceKey::V4(a.octets()),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(v4.octets()),
                None => {
                    let o = a.octets();
                    SourceKey::V6([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]])
                }
            },
        }
    }
}

/// Token buckets per source (bounded memory).
#[derive(Debug)]
pub struct AttachLimiter {
    rate: AttachRate,
    buckets: Mutex<HashMap<SourceKey, Bucket>>,
}

impl AttachLimiter {
    /// A limiter with `rate` for every source.
    pub fn new(rate: AttachRate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let per_sec = f64::from(self.rate.per_minute) / 60.0;
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + dt * per_sec).min(f64::from(self.rate.burst));
        b.at = now;
    }

    /// Takes one attempt for `key` at `now`; `Err(wait)` when the source
    /// must wait that long first.
    pub fn take(&self, key: SourceKey, now: Instant) -> Result<(), Duration> {
        if self.rate.per_minute == 0 {
            return Ok(());
        }
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let key = if map.contains_key(&key) || map.len() < MAX_SOURCES {
            key
        } else {
            // Forget sources whose buckets are full again, then fall back
            // to the shared overflow bucket.
            let burst = f64::from(self.rate.burst);
            let per_sec = f64::from(self.rate.per_minute) / 60.0;
            map.retain(|_, b| {
                let dt = now.saturating_duration_since(b.at).as_secs_f64();
                b.tokens + dt * per_sec < burst
            });
            if map.len() < MAX_SOURCES {
                key
            } else {
                SourceKey::Overflow
            }
        };
        let burst = f64::from(self.rate.burst.max(1));
        let b = map.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let mut bucket = *b;
        self.refill(&mut bucket, now);
        let result = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let per_sec = f64::from(self.rate.per_minute) / 60.0;
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        };
        *b = bucket;
        result
    }

    /// Number of sources remembered (for tests).
    pub fn sources(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn burst_then_rate_per_source() {
        let l = AttachLimiter::new(AttachRate {
            burst: 3,
            per_minute: 60,
        });
        let t0 = Instant::now();
        let a = SourceKey::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let b = SourceKey::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
        for _ in 0..3 {
            l.take(a, t0).expect("burst");
        }
        let wait = l.take(a, t0).expect_err("over the burst");
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        l.take(b, t0).expect("other source unaffected");
        l.take(a, t0 + Duration::from_secs(1))
            .expect("refilled one");
        assert!(l.take(a, t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let x: Ipv6Addr = "2001:db8:1:2::1".parse().expect("v6");
        let y: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().expect("v6");
        assert_eq!(SourceKey::of(IpAddr::V6(x)), SourceKey::of(IpAddr::V6(y)));
        let mapped: Ipv6Addr = "::ffff:192.0.2.7".parse().expect("mapped");
        assert_eq!(
            SourceKey::of(IpAddr::V6(mapped)),
            SourceKey::V4([192, 0, 2, 7])
        );
    }

    #[test]
    fn memory_is_bounded() {
        let l = AttachLimiter::new(AttachRate {
            burst: 1,
            per_minute: 1,
        });
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 100) {
            let _ = l.take(SourceKey::of(IpAddr::V4(Ipv4Addr::from(i))), t0);
        }
        assert!(l.sources() <= MAX_SOURCES + 1, "{}", l.sources());
        // The overflow bucket is shared: it is empty now.
        assert!(l
            .take(SourceKey::of(IpAddr::V4(Ipv4Addr::from(u32::MAX))), t0)
            .is_err());
    }

    #[test]
    fn zero_per_minute_turns_it_off() {
        let l = AttachLimiter::new(AttachRate {
            burst: 1,
            per_minute: 0,
        });
        let t0 = Instant::now();
        for _ in 0..100 {
            l.take(SourceKey::Overflow, t0).expect("unlimited");
        }
    }
}
