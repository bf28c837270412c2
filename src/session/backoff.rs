//! Reconnect backoff: 1 s, ×1.5 per attempt, capped at 60 s, reset after a
//! completed handshake (the schedule of lnd's own signer), with jitter.
//!
//! Sans-IO: the host passes the random jitter in and sleeps itself.

use core::time::Duration;

/// First delay after a failed attempt, and the delay after a session that
/// completed its handshake.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Upper bound of every delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Jitter shortens a delay by up to this percentage (never lengthens it), so
/// the schedule above stays an upper bound and reconnects stay fast.
pub const JITTER_PERCENT: u32 = 20;

/// Reconnect delay generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// The standard schedule: [`INITIAL_BACKOFF`] growing by 1.5 up to [`MAX_BACKOFF`].
    pub fn new() -> Self {
        Self::with_limits(INITIAL_BACKOFF, MAX_BACKOFF)
    }

    /// A schedule with other limits (tests, hosts with tighter budgets).
    /// `max` below `initial` is raised to `initial`.
    pub fn with_limits(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// The delay (before jitter) that the next call to [`Backoff::next`] uses.
    pub fn peek(&self) -> Duration {
        self.current
    }

    /// The delay to wait before the next attempt; advances the schedule
    /// (×1.5, capped). `jitter` is a uniformly random `u32` supplied by the
    /// host; see [`apply_jitter`].
    pub fn next(&mut self, jitter: u32) -> Duration {
        let base = self.current;
        self.current = grow(base).min(self.max);
        apply_jitter(base, jitter)
    }

    /// Back to the initial delay (call after a completed handshake).
    pub fn reset(&mut self) {
        self.current = self.initial;
    }

    /// Delay after an attempt ended: resets first when the attempt had
    /// completed its handshake (`registered`), then returns [`Backoff::next`].
    pub fn after_attempt(&mut self, registered: bool, jitter: u32) -> Duration {
        if registered {
            self.reset();
        }
        self.next(jitter)
    }
}

/// ×1.5 without floating point; saturates instead of overflowing.
fn grow(d: Duration) -> Duration {
    let nanos = d.as_nanos().saturating_mul(3) / 2;
    duration_from_nanos(nanos)
}

fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let Ok(secs) = u64::try_from(nanos / NANOS_PER_SEC) else {
        return Duration::MAX;
    };
    // The remainder is below 10^9 and fits.
    let sub = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    Duration::new(secs, sub)
}

/// Shortens `base` by `base × JITTER_PERCENT% × jitter / 2^32`: the result
/// lies in `(base × (1 − JITTER_PERCENT%), base]`, `jitter = 0` gives `base`.
pub fn apply_jitter(base: Duration, jitter: u32) -> Duration {
    let nanos = base.as_nanos();
    let cut = nanos.saturating_mul(u128::from(JITTER_PERCENT)) / 100;
    let cut = cut.saturating_mul(u128::from(jitter)) >> 32;
    duration_from_nanos(nanos.saturating_sub(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn schedule_without_jitter_matches_lnd() {
        let mut b = Backoff::new();
        let got: Vec<Duration> = (0..6).map(|_| b.next(0)).collect();
        assert_eq!(
            got,
            vec![
                ms(1000),
                ms(1500),
                ms(2250),
                Duration::from_micros(3_375_000),
                Duration::from_nanos(5_062_500_000),
                Duration::from_nanos(7_593_750_000),
            ]
        );
    }

    #[test]
    fn schedule_is_capped_at_sixty_seconds() {
        let mut b = Backoff::new();
        let mut last = Duration::ZERO;
        let mut reached_cap_at = None;
        for i in 0..40 {
            let d = b.next(0);
            assert!(d >= last, "delay shrank at step {i}: {d:?} < {last:?}");
            assert!(d <= MAX_BACKOFF, "delay {d:?} above cap at step {i}");
            if d == MAX_BACKOFF && reached_cap_at.is_none() {
                reached_cap_at = Some(i);
            }
            last = d;
        }
        // 1.5^10 = 57.7, 1.5^11 = 86.5: step 11 is the first capped one.
        assert_eq!(reached_cap_at, Some(11));
        assert_eq!(b.next(0), MAX_BACKOFF);
    }

    #[test]
    fn reset_returns_to_one_second() {
        let mut b = Backoff::new();
        for _ in 0..5 {
            b.next(0);
        }
        assert!(b.peek() > INITIAL_BACKOFF);
        b.reset();
        assert_eq!(b.peek(), INITIAL_BACKOFF);
        assert_eq!(b.next(0), ms(1000));
        assert_eq!(b.next(0), ms(1500));
    }

    #[test]
    fn after_attempt_resets_only_when_registered() {
        let mut b = Backoff::new();
        assert_eq!(b.after_attempt(false, 0), ms(1000));
        assert_eq!(b.after_attempt(false, 0), ms(1500));
        assert_eq!(b.after_attempt(false, 0), ms(2250));
        // A session that completed its handshake: the next retry is after 1 s again.
        assert_eq!(b.after_attempt(true, 0), ms(1000));
        assert_eq!(b.after_attempt(false, 0), ms(1500));
    }

    #[test]
    fn jitter_bounds() {
        let base = Duration::from_secs(10);
        assert_eq!(apply_jitter(base, 0), base);
        let max_cut = apply_jitter(base, u32::MAX);
        assert!(max_cut < base);
        assert!(max_cut > ms(8000), "{max_cut:?}");
        assert!(max_cut < ms(8001), "{max_cut:?}");
        assert_eq!(apply_jitter(base, 1 << 31), ms(9000));
        for j in [1u32, 7, 1 << 16, 0x8000_0001, 0xdead_beef, u32::MAX - 1] {
            let d = apply_jitter(base, j);
            assert!(d <= base && d > ms(8000), "jitter {j:#x} gave {d:?}");
        }
        // Jitter is monotone in the random input.
        assert!(apply_jitter(base, 100) >= apply_jitter(base, 200));
    }

    #[test]
    fn jittered_delays_stay_within_schedule() {
        let mut plain = Backoff::new();
        let mut jittered = Backoff::new();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..30 {
            // xorshift as a stand-in for host randomness.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let upper = plain.next(0);
            let d = jittered.next(x);
            assert!(d <= upper, "{d:?} > {upper:?}");
            assert!(
                d * 100 >= upper * (100 - JITTER_PERCENT),
                "{d:?} too short for {upper:?}"
            );
        }
    }

    #[test]
    fn custom_limits_and_saturation() {
        let mut b = Backoff::with_limits(ms(10), ms(5));
        assert_eq!(b.next(0), ms(10));
        assert_eq!(b.next(0), ms(10));
        let mut huge = Backoff::with_limits(Duration::MAX, Duration::MAX);
        assert_eq!(huge.next(0), Duration::MAX);
        assert_eq!(huge.next(0), Duration::MAX);
        assert!(apply_jitter(Duration::MAX, u32::MAX) < Duration::MAX);
    }
}
