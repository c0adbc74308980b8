//! [`RetryPolicy`]: a [`RetryConfig`] in force, with the manager's quota, the clock it
//! sleeps on and the source of jitter.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use super::config::RetryConfig;
use super::quota::RetryQuota;
use crate::client::S3ErrorKind;
use crate::runtime::clock::{self, Clock, SystemClock};

/// A source of jitter: uniform in `[0, 1)`.
pub(crate) type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// A uniform `f64` in `[0, 1)` from a per-thread xorshift64* generator seeded from the
/// standard library's per-process random hash keys. Jitter needs spread, not
/// cryptographic strength, and this keeps the crate free of an RNG dependency.
pub(super) fn thread_jitter() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u64(u64::from(std::process::id()));
            hasher.finish() | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        // The top 53 bits fill an f64 mantissa exactly: uniform and always below 1.
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// A [`RetryConfig`] in force: the config, the manager's quota, the clock and the
/// jitter source. One per manager; clones share the quota.
#[derive(Clone)]
pub(crate) struct RetryPolicy {
    pub(super) config: RetryConfig,
    pub(super) quota: Arc<RetryQuota>,
    clock: Arc<dyn Clock>,
    jitter: Jitter,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("config", &self.config)
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// The policy of `config` with the real clock and a random jitter, and a fresh
    /// full quota.
    pub(crate) fn new(config: RetryConfig) -> RetryPolicy {
        RetryPolicy::with_clock(config, Arc::new(SystemClock), Arc::new(thread_jitter))
    }

    /// The policy of `config` with a given clock and jitter source (tests).
    pub(crate) fn with_clock(
        config: RetryConfig,
        clock: Arc<dyn Clock>,
        jitter: Jitter,
    ) -> RetryPolicy {
        RetryPolicy {
            quota: Arc::new(RetryQuota::new(config.retry_quota())),
            config,
            clock,
            jitter,
        }
    }

    /// The same attempts, backoff and clock, but outside the quota: for cleanup
    /// requests (AbortMultipartUpload). An outage is exactly when the quota runs dry,
    /// and it is also when an abort most needs its retries: one that gives up after a
    /// single 503 leaves the upload's parts stored and billed. Cleanups are one request
    /// per failed transfer, so they cannot multiply the load the quota guards against.
    pub(crate) fn unmetered(&self) -> RetryPolicy {
        RetryPolicy {
            config: self.config.clone(),
            quota: Arc::new(RetryQuota::new(None)),
            clock: self.clock.clone(),
            jitter: self.jitter.clone(),
        }
    }

    #[cfg(test)]
    pub(crate) fn quota(&self) -> &RetryQuota {
        &self.quota
    }

    /// Tokens a retry after an error of `kind` costs.
    pub(super) fn cost(&self, kind: S3ErrorKind) -> u32 {
        match kind {
            S3ErrorKind::Timeout => self.config.timeout_cost(),
            _ => self.config.retry_cost(),
        }
    }

    /// The ceiling of the backoff before retry number `retry` (0 for the first retry)
    /// after an error of `kind`: `min(base × 2^retry, max_backoff)`.
    pub(crate) fn backoff_ceiling(&self, kind: S3ErrorKind, retry: u32) -> Duration {
        let base = match kind {
            S3ErrorKind::Throttled => self.config.throttle_backoff(),
            _ => self.config.transient_backoff(),
        };
        // 2^31 × anything nonzero is past any sane cap; saturate instead of overflowing.
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        base.saturating_mul(factor).min(self.config.max_backoff())
    }

    /// The jittered backoff before retry number `retry`: uniform in `[0, ceiling)`.
    pub(crate) fn backoff(&self, kind: S3ErrorKind, retry: u32) -> Duration {
        let r = (self.jitter)().clamp(0.0, 1.0);
        self.backoff_ceiling(kind, retry).mul_f64(r)
    }

    /// Sleep for `delay` on the policy's clock, unless `stopped` says stop first (see
    /// [`clock::sleep_unless_stopped`]).
    pub(crate) fn sleep_unless_stopped(&self, delay: Duration, stopped: &dyn Fn() -> bool) -> bool {
        clock::sleep_unless_stopped(&*self.clock, delay, stopped)
    }
}
