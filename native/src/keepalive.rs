//! HTTP/2 keepalive on the connections to lnd: `lnd-web-signer connect` and
//! signer-bridge's leg to lnd. Without it a half-open connection (a NAT or
//! firewall that dropped its state, a peer that vanished without FIN) goes
//! unnoticed: TCP sends nothing while the stream is idle, and lnd may be
//! silent for a minute between health-check pings.
//!
//! **lnd's policy.** The remote-signer listener is a grpc-go server built
//! with `keepalive.EnforcementPolicy{MinTime: grpc.client-ping-min-wait,
//! PermitWithoutStream: grpc.client-allow-ping-without-stream}` (lnd
//! `lnd.go`, `startInboundWatchOnlyRPCServer`; defaults 5 s and false in
//! `config.go`, `defaultGrpcClientPingMinWait`). grpc-go
//! (`internal/transport/http2_server.go`, `handlePing`) counts a strike for
//! every ping that arrives less than `MinTime` after the previous one while
//! a stream is open (less than 2 hours after it while none is and
//! `PermitWithoutStream` is false), forgets the strikes whenever it writes
//! headers or data, and after the third strike (`maxPingStrikes = 2`) sends
//! GOAWAY `ENHANCE_YOUR_CALM` with debug data `too_many_pings` and closes
//! the connection.
//!
//! **What we send.** hyper (under tonic) pings only after `interval` with no
//! frame received at all, waits `timeout` for the ack and then closes the
//! connection (the stream fails, the host reconnects). The stream sees only
//! a broken connection (hyper does not pass the keepalive cause on), so
//! hosts report the time since the last message with it. With
//! `keep_alive_while_idle(false)` it pings only while a stream is open, so
//! the "no stream" rule never applies. Two pings are at least `interval`
//! apart, so any `interval >= MinTime` earns no strike. The default
//! [`DEFAULT_INTERVAL`] of 30 s is six times lnd's default minimum (a node
//! may raise `grpc.client-ping-min-wait` up to 30 s and still accept it) and
//! costs one ping per 30 s of silence; [`DEFAULT_TIMEOUT`] of 20 s is lnd's
//! own `grpc.server-ping-timeout` default. A dead link is noticed at most
//! `interval + timeout` (50 s) after the last frame from lnd.
//!
//! lnd keeps its own side of a half-open stream until its server keepalive
//! (`grpc.server-ping-time` 1 min + `grpc.server-ping-timeout` 20 s) drops
//! it; until then it refuses the reconnecting signer with "only one remote
//! signer can be connected", and the signer retries with its backoff.

use std::time::Duration;

use tonic::transport::Endpoint;

/// lnd's default `grpc.client-ping-min-wait`: grpc-go's `MinTime`.
pub const LND_CLIENT_PING_MIN_WAIT: Duration = Duration::from_secs(5);

/// grpc-go's `maxPingStrikes`: the third too-early ping closes the connection.
pub const GRPC_GO_MAX_PING_STRIKES: u32 = 2;

/// Default keepalive interval: ping after 30 s without any frame from lnd.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Default keepalive timeout: a ping unanswered for 20 s closes the connection.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// HTTP/2 keepalive settings of a connection to lnd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Ping after this long without any frame from lnd; `None`: no pings.
    pub interval: Option<Duration>,
    /// Close the connection when a ping is not acknowledged within this.
    pub timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            interval: Some(DEFAULT_INTERVAL),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Invalid keepalive settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeepaliveError {
    /// Pings on, but no time to wait for their answer.
    #[error("the keepalive timeout must be greater than zero (an interval of 0 turns pings off)")]
    ZeroTimeout,
}

impl Keepalive {
    /// No keepalive pings.
    pub fn off() -> Self {
        Self {
            interval: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// From command-line values: an `interval` of zero turns pings off.
    pub fn from_flags(interval: Duration, timeout: Duration) -> Result<Self, KeepaliveError> {
        if interval.is_zero() {
            return Ok(Self::off());
        }
        if timeout.is_zero() {
            return Err(KeepaliveError::ZeroTimeout);
        }
        Ok(Self {
            interval: Some(interval),
            timeout,
        })
    }

    /// Whether pings come more often than lnd's default
    /// `grpc.client-ping-min-wait` allows (hosts warn: such a node answers
    /// with GOAWAY `too_many_pings` unless it lowered that setting).
    pub fn below_lnd_default_minimum(&self) -> bool {
        self.interval.is_some_and(|i| i < LND_CLIENT_PING_MIN_WAIT)
    }

    /// The longest a dead link stays unnoticed: `interval + timeout` after
    /// the last frame from lnd (`None` without pings).
    pub fn dead_link_bound(&self) -> Option<Duration> {
        self.interval.map(|i| i.saturating_add(self.timeout))
    }

    /// `endpoint` with these settings (pings only while a stream is open).
    pub fn apply(&self, endpoint: Endpoint) -> Endpoint {
        match self.interval {
            Some(interval) => endpoint
                .http2_keep_alive_interval(interval)
                .keep_alive_timeout(self.timeout)
                .keep_alive_while_idle(false),
            None => endpoint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// grpc-go's `handlePing` rules for a connection with one open stream
    /// (a model for the arithmetic; the real server is exercised by
    /// `native/tests/integration/liveness.rs` against grpc-go itself).
    struct Policy {
        min_time: Duration,
        strikes: u32,
        last_ping: Option<Duration>,
    }

    impl Policy {
        /// Returns false once the server would send GOAWAY `too_many_pings`.
        fn ping(&mut self, at: Duration) -> bool {
            if let Some(last) = self.last_ping {
                if last + self.min_time > at {
                    self.strikes += 1;
                }
            }
            self.last_ping = Some(at);
            self.strikes <= GRPC_GO_MAX_PING_STRIKES
        }
    }

    /// The times hyper pings a silent peer: `interval` after the last frame
    /// read, where the ack of the previous ping (one `rtt` later) is the
    /// last frame.
    fn hyper_ping_times(interval: Duration, rtt: Duration, n: u32) -> Vec<Duration> {
        let mut t = Duration::ZERO;
        (0..n)
            .map(|_| {
                t += interval;
                let at = t;
                t += rtt;
                at
            })
            .collect()
    }

    fn survives(interval: Duration, min_time: Duration) -> bool {
        let mut policy = Policy {
            min_time,
            strikes: 0,
            last_ping: None,
        };
        hyper_ping_times(interval, Duration::ZERO, 100)
            .into_iter()
            .all(|t| policy.ping(t))
    }

    #[test]
    fn defaults_are_within_lnds_enforcement_policy() {
        let k = Keepalive::default();
        assert_eq!(k.interval, Some(DEFAULT_INTERVAL));
        assert!(DEFAULT_INTERVAL >= LND_CLIENT_PING_MIN_WAIT * 6);
        assert!(!k.below_lnd_default_minimum());
        assert_eq!(k.dead_link_bound(), Some(Duration::from_secs(50)));
        // The default survives lnd's default minimum and any minimum up to
        // the interval itself, even with no round-trip time at all.
        assert!(survives(DEFAULT_INTERVAL, LND_CLIENT_PING_MIN_WAIT));
        assert!(survives(DEFAULT_INTERVAL, DEFAULT_INTERVAL));
        // One millisecond below the minimum: every ping is a strike and the
        // third one closes the connection.
        assert!(!survives(
            LND_CLIENT_PING_MIN_WAIT - Duration::from_millis(1),
            LND_CLIENT_PING_MIN_WAIT
        ));
        assert!(survives(LND_CLIENT_PING_MIN_WAIT, LND_CLIENT_PING_MIN_WAIT));
    }

    #[test]
    fn too_early_pings_close_the_connection_on_the_third_strike() {
        let mut policy = Policy {
            min_time: LND_CLIENT_PING_MIN_WAIT,
            strikes: 0,
            last_ping: None,
        };
        let times = hyper_ping_times(Duration::from_secs(1), Duration::ZERO, 4);
        let alive: Vec<bool> = times.into_iter().map(|t| policy.ping(t)).collect();
        assert_eq!(alive, vec![true, true, true, false]);
    }

    #[test]
    fn flags() {
        assert_eq!(
            Keepalive::from_flags(Duration::ZERO, Duration::ZERO),
            Ok(Keepalive::off())
        );
        assert_eq!(Keepalive::off().dead_link_bound(), None);
        assert_eq!(
            Keepalive::from_flags(Duration::from_secs(1), Duration::ZERO),
            Err(KeepaliveError::ZeroTimeout)
        );
        let k =
            Keepalive::from_flags(Duration::from_secs(1), Duration::from_secs(2)).expect("valid");
        assert!(k.below_lnd_default_minimum());
        assert_eq!(k.dead_link_bound(), Some(Duration::from_secs(3)));
        let text = KeepaliveError::ZeroTimeout.to_string();
        assert!(text.starts_with("the keepalive"), "{text}");
    }
}
