//! Retries of one S3 call: the AWS SDKs' "standard" retry mode (a few attempts, capped
//! exponential backoff with full jitter, a retry quota shared by the whole manager),
//! the same for every backend because it works on [`S3ErrorKind`] alone.
//!
//! The call sites wrap one S3 request in [`with_retries`]; everything else here (the
//! quota, the clock, the jitter source) exists so that function can be tested without
//! sleeping and shared by every transfer of a manager.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::client::{S3Error, S3ErrorKind};
use crate::error::{ConfigError, TransferError};
use crate::runtime::clock::{self, Clock, SystemClock};

/// Default [`RetryConfig::max_attempts`]: 3 in total, the standard mode's value.
const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default [`RetryConfig::transient_backoff`]: 50 ms.
const DEFAULT_TRANSIENT_BACKOFF: Duration = Duration::from_millis(50);
/// Default [`RetryConfig::throttle_backoff`]: 1 s.
const DEFAULT_THROTTLE_BACKOFF: Duration = Duration::from_secs(1);
/// Default [`RetryConfig::max_backoff`]: 20 s.
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Default [`RetryConfig::retry_quota`]: 500 tokens.
const DEFAULT_QUOTA_CAPACITY: u32 = 500;
/// Default [`RetryConfig::retry_cost`]: 5 tokens.
const DEFAULT_RETRY_COST: u32 = 5;
/// Default [`RetryConfig::timeout_cost`]: 10 tokens.
const DEFAULT_TIMEOUT_COST: u32 = 10;
/// Tokens a first-attempt success puts back (botocore's `NO_RETRY_INCREMENT`), so a
/// quota drained by an outage refills as requests start succeeding again.
const SUCCESS_REFUND: u32 = 1;
/// How S3 calls that fail with a retryable error ([`S3ErrorKind::is_retryable`]:
/// throttled, transient, timed out, truncated body) are retried.
///
/// This is the AWS SDKs' "standard" retry mode. Attempt `n + 1` waits
/// `rand(0, 1) × min(base × 2^(n - 1), max_backoff)` after attempt `n` failed ("full
/// jitter", so many clients failing together do not retry together), where `base` is
/// [`RetryConfig::throttle_backoff`] after a throttling error and
/// [`RetryConfig::transient_backoff`] after any other. Every retry also spends tokens
/// from a quota shared by all transfers of the manager; when the quota is empty, a
/// failure is returned at once, so an outage fails fast instead of multiplying the
/// load by the number of attempts.
///
/// Errors that cannot pass by themselves (not found, access denied, precondition
/// failed, invalid range, cancelled, other) are never retried.
///
/// Immutable and cheap to clone; build one with [`RetryConfig::builder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    max_attempts: u32,
    transient_backoff: Duration,
    throttle_backoff: Duration,
    max_backoff: Duration,
    quota_capacity: Option<u32>,
    retry_cost: u32,
    timeout_cost: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            transient_backoff: DEFAULT_TRANSIENT_BACKOFF,
            throttle_backoff: DEFAULT_THROTTLE_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            quota_capacity: Some(DEFAULT_QUOTA_CAPACITY),
            retry_cost: DEFAULT_RETRY_COST,
            timeout_cost: DEFAULT_TIMEOUT_COST,
        }
    }
}

impl RetryConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> RetryConfigBuilder {
        RetryConfigBuilder {
            config: RetryConfig::default(),
        }
    }

    /// Attempts per request, the first included. Default 3.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Backoff base after a transient failure (5xx, reset, timeout, truncated body).
    /// Default 50 ms.
    pub fn transient_backoff(&self) -> Duration {
        self.transient_backoff
    }

    /// Backoff base after a throttling error (503 SlowDown and the throttling codes).
    /// Default 1 s.
    pub fn throttle_backoff(&self) -> Duration {
        self.throttle_backoff
    }

    /// The cap on one backoff before jitter. Default 20 s.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Tokens in the manager's retry quota, or `None` when retries are not limited by
    /// a quota. Default 500.
    pub fn retry_quota(&self) -> Option<u32> {
        self.quota_capacity
    }

    /// Tokens a retry after a non-timeout failure costs. Default 5.
    pub fn retry_cost(&self) -> u32 {
        self.retry_cost
    }

    /// Tokens a retry after a client-side timeout costs. Default 10.
    pub fn timeout_cost(&self) -> u32 {
        self.timeout_cost
    }
}

/// Builds a [`RetryConfig`], rejecting values that cannot work.
#[derive(Clone, Debug)]
pub struct RetryConfigBuilder {
    config: RetryConfig,
}

impl RetryConfigBuilder {
    /// Attempts per request, the first included; 1 turns retries off. Default 3, the
    /// standard mode's value: two retries ride out a blip, and the engine's many
    /// parallel requests would multiply anything larger during an outage.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = attempts;
        self
    }

    /// Backoff base after a transient failure. Default 50 ms (the SDKs' 2026 standard
    /// mode): a reset connection or a one-off 500 usually succeeds at once on a fresh
    /// connection, and every millisecond of backoff holds a request thread idle.
    pub fn transient_backoff(mut self, base: Duration) -> Self {
        self.config.transient_backoff = base;
        self
    }

    /// Backoff base after a throttling error. Default 1 s (the standard mode's base):
    /// throttling means the store wants fewer requests, and only a real pause gives
    /// it that.
    pub fn throttle_backoff(mut self, base: Duration) -> Self {
        self.config.throttle_backoff = base;
        self
    }

    /// The cap on one backoff before jitter. Default 20 s, the standard mode's value.
    pub fn max_backoff(mut self, cap: Duration) -> Self {
        self.config.max_backoff = cap;
        self
    }

    /// Tokens in the manager's retry quota (at least 1). Default 500, the standard
    /// mode's value: with the default costs, 100 retries in a row without a success
    /// empty it.
    pub fn retry_quota(mut self, tokens: u32) -> Self {
        self.config.quota_capacity = Some(tokens);
        self
    }

    /// Retry without a quota: every request gets all its attempts, however many other
    /// requests are failing. For tests and for stores known to fail one request at a
    /// time; against an outage this multiplies the load.
    pub fn no_retry_quota(mut self) -> Self {
        self.config.quota_capacity = None;
        self
    }

    /// Tokens a retry after a non-timeout failure costs. Default 5.
    pub fn retry_cost(mut self, tokens: u32) -> Self {
        self.config.retry_cost = tokens;
        self
    }

    /// Tokens a retry after a client-side timeout costs. Default 10: a timeout has
    /// already held a thread for the whole timeout, so the quota should run out faster
    /// when they pile up.
    pub fn timeout_cost(mut self, tokens: u32) -> Self {
        self.config.timeout_cost = tokens;
        self
    }

    /// Check every value and build the config.
    pub fn build(self) -> Result<RetryConfig, ConfigError> {
        let c = self.config;
        if c.max_attempts == 0 {
            return Err(ConfigError::new(
                "max_attempts",
                "must be at least 1 (1 turns retries off)",
            ));
        }
        if c.quota_capacity == Some(0) {
            return Err(ConfigError::new(
                "retry_quota",
                "must be at least 1 (use no_retry_quota to turn it off)",
            ));
        }
        Ok(c)
    }
}

/// The retry quota of one manager: a token bucket every retry draws from and every
/// success refills.
///
/// Shared by all transfers (and threads) of the manager. The count is one atomic, and
/// every change is a single compare-and-swap (`fetch_update`), so taking tokens can
/// never overdraw it and no lock is held.
#[derive(Debug)]
pub(crate) struct RetryQuota {
    /// `None`: unlimited.
    capacity: Option<u32>,
    available: AtomicU32,
}

impl RetryQuota {
    pub(crate) fn new(capacity: Option<u32>) -> RetryQuota {
        RetryQuota {
            capacity,
            available: AtomicU32::new(capacity.unwrap_or(0)),
        }
    }

    /// Take `cost` tokens for a retry; false, and nothing taken, when too few are left.
    pub(crate) fn try_acquire(&self, cost: u32) -> bool {
        if self.capacity.is_none() {
            return true;
        }
        self.available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(cost))
            .is_ok()
    }

    /// Put `tokens` back, never above the capacity.
    pub(crate) fn release(&self, tokens: u32) {
        let Some(capacity) = self.capacity else {
            return;
        };
        // The closure always returns Some, so this cannot fail.
        let _ = self
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(tokens).min(capacity))
            });
    }

    /// Tokens left, or `None` when unlimited.
    #[cfg(test)]
    pub(crate) fn available(&self) -> Option<u32> {
        self.capacity
            .map(|_| self.available.load(Ordering::Acquire))
    }
}

/// A source of jitter: uniform in `[0, 1)`.
pub(crate) type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// A uniform `f64` in `[0, 1)` from a per-thread xorshift64* generator seeded from the
/// standard library's per-process random hash keys. Jitter needs spread, not
/// cryptographic strength, and this keeps the crate free of an RNG dependency.
fn thread_jitter() -> f64 {
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
    config: RetryConfig,
    quota: Arc<RetryQuota>,
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
            quota: Arc::new(RetryQuota::new(config.quota_capacity)),
            config,
            clock,
            jitter,
        }
    }

    #[cfg(test)]
    pub(crate) fn quota(&self) -> &RetryQuota {
        &self.quota
    }

    /// Tokens a retry after an error of `kind` costs.
    fn cost(&self, kind: S3ErrorKind) -> u32 {
        match kind {
            S3ErrorKind::Timeout => self.config.timeout_cost,
            _ => self.config.retry_cost,
        }
    }

    /// The ceiling of the backoff before retry number `retry` (0 for the first retry)
    /// after an error of `kind`: `min(base × 2^retry, max_backoff)`.
    pub(crate) fn backoff_ceiling(&self, kind: S3ErrorKind, retry: u32) -> Duration {
        let base = match kind {
            S3ErrorKind::Throttled => self.config.throttle_backoff,
            _ => self.config.transient_backoff,
        };
        // 2^31 × anything nonzero is past any sane cap; saturate instead of overflowing.
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        base.saturating_mul(factor).min(self.config.max_backoff)
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

/// Why [`with_retries`] returned no result.
#[derive(Debug)]
pub(crate) enum RetryError {
    /// The error cannot pass by retrying (or the caller's predicate refused to retry
    /// it): returned as is, after the attempt that hit it.
    NotRetryable(S3Error),
    /// Every attempt failed with a retryable error.
    AttemptsExhausted {
        /// Attempts made: the configured maximum.
        attempts: u32,
        /// The error of the last attempt.
        last_error: S3Error,
    },
    /// A retryable error, but the manager's retry quota is empty: other requests have
    /// been failing too, so this one is not retried.
    QuotaExhausted {
        /// Attempts made.
        attempts: u32,
        /// The error of the last attempt.
        last_error: S3Error,
    },
    /// `stopped` said stop during a backoff; no further attempt was made.
    Stopped {
        /// Attempts made (read by the tests; the transfer reports its cancel instead).
        #[cfg_attr(not(test), allow(dead_code))]
        attempts: u32,
        /// The error of the last attempt.
        last_error: S3Error,
    },
}

impl RetryError {
    /// The error of the last attempt.
    #[cfg(test)]
    pub(crate) fn last_error(&self) -> &S3Error {
        match self {
            RetryError::NotRetryable(e) => e,
            RetryError::AttemptsExhausted { last_error, .. }
            | RetryError::QuotaExhausted { last_error, .. }
            | RetryError::Stopped { last_error, .. } => last_error,
        }
    }

    /// The transfer's error: [`TransferError::RetriesExceeded`] when retries gave up
    /// (attempts or quota exhausted), otherwise `wrap` of the error as is (a
    /// non-retryable error, or the last error before a cancel, which the coordinator's
    /// own cancellation outranks anyway).
    pub(crate) fn into_transfer_error(
        self,
        wrap: impl FnOnce(S3Error) -> TransferError,
    ) -> TransferError {
        match self {
            RetryError::AttemptsExhausted {
                attempts,
                last_error,
            }
            | RetryError::QuotaExhausted {
                attempts,
                last_error,
            } => TransferError::RetriesExceeded {
                attempts,
                last_error,
            },
            RetryError::NotRetryable(e) | RetryError::Stopped { last_error: e, .. } => wrap(e),
        }
    }
}

/// Run `operation` until it succeeds, fails with an error that retrying cannot fix,
/// runs out of attempts, empties the retry quota, or `stopped` says stop during a
/// backoff.
///
/// `operation` gets the attempt number, 1 for the first; on later attempts it must
/// send the same request again from scratch (rewind a request body first). `stopped`
/// is checked between attempts, every [`clock::POLL`] of a backoff; the first attempt
/// is always made.
pub(crate) fn with_retries<T>(
    policy: &RetryPolicy,
    stopped: &dyn Fn() -> bool,
    operation: &mut dyn FnMut(u32) -> Result<T, S3Error>,
) -> Result<T, RetryError> {
    with_retries_if(policy, stopped, &|_| true, operation)
}

/// [`with_retries`], but a retryable error is retried only when `may_retry` also
/// agrees: a GetObject whose sink already took bytes must not be sent again from its
/// first byte.
pub(crate) fn with_retries_if<T>(
    policy: &RetryPolicy,
    stopped: &dyn Fn() -> bool,
    may_retry: &dyn Fn(&S3Error) -> bool,
    operation: &mut dyn FnMut(u32) -> Result<T, S3Error>,
) -> Result<T, RetryError> {
    let max_attempts = policy.config.max_attempts.max(1);
    let mut attempt = 1u32;
    // The tokens the retry now in flight took, refunded if it succeeds.
    let mut held = None;
    loop {
        let error = match operation(attempt) {
            Ok(value) => {
                policy.quota.release(held.unwrap_or(SUCCESS_REFUND));
                return Ok(value);
            }
            Err(e) => e,
        };
        if !error.is_retryable() || !may_retry(&error) {
            return Err(RetryError::NotRetryable(error));
        }
        if attempt >= max_attempts {
            return Err(RetryError::AttemptsExhausted {
                attempts: attempt,
                last_error: error,
            });
        }
        let cost = policy.cost(error.kind());
        if !policy.quota.try_acquire(cost) {
            return Err(RetryError::QuotaExhausted {
                attempts: attempt,
                last_error: error,
            });
        }
        held = Some(cost);
        let delay = policy.backoff(error.kind(), attempt - 1);
        if !policy.sleep_unless_stopped(delay, stopped) {
            // The retry the tokens paid for will not happen.
            policy.quota.release(cost);
            return Err(RetryError::Stopped {
                attempts: attempt,
                last_error: error,
            });
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::clock::FakeClock;

    fn policy(config: RetryConfig, jitter: f64) -> (RetryPolicy, Arc<FakeClock>) {
        let clock = FakeClock::new();
        let p = RetryPolicy::with_clock(config, clock.clone(), Arc::new(move || jitter));
        (p, clock)
    }

    fn err(kind: S3ErrorKind) -> S3Error {
        S3Error::new(kind, "UploadPart", "injected")
    }

    const NEVER: &dyn Fn() -> bool = &|| false;

    #[test]
    fn defaults_are_the_standard_mode() {
        let c = RetryConfig::default();
        assert_eq!(c.max_attempts(), 3);
        assert_eq!(c.transient_backoff(), Duration::from_millis(50));
        assert_eq!(c.throttle_backoff(), Duration::from_secs(1));
        assert_eq!(c.max_backoff(), Duration::from_secs(20));
        assert_eq!(c.retry_quota(), Some(500));
        assert_eq!(c.retry_cost(), 5);
        assert_eq!(c.timeout_cost(), 10);
        assert_eq!(RetryConfig::builder().build().unwrap(), c);
    }

    #[test]
    fn builder_refuses_values_that_cannot_work() {
        assert!(RetryConfig::builder().max_attempts(0).build().is_err());
        assert!(RetryConfig::builder().retry_quota(0).build().is_err());
        let c = RetryConfig::builder()
            .max_attempts(1)
            .no_retry_quota()
            .build()
            .unwrap();
        assert_eq!(c.retry_quota(), None);
    }

    #[test]
    fn backoff_doubles_per_retry_up_to_the_cap() {
        let (p, _) = policy(RetryConfig::default(), 1.0);
        let ms = |kind, i| p.backoff_ceiling(kind, i).as_millis();
        let transient: Vec<_> = (0..12).map(|i| ms(S3ErrorKind::Transient, i)).collect();
        assert_eq!(
            transient,
            [
                50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000, 20000
            ]
        );
        let throttled: Vec<_> = (0..7).map(|i| ms(S3ErrorKind::Throttled, i)).collect();
        assert_eq!(throttled, [1000, 2000, 4000, 8000, 16000, 20000, 20000]);
        // Timeouts and truncated bodies back off like transient errors.
        assert_eq!(ms(S3ErrorKind::Timeout, 1), 100);
        assert_eq!(ms(S3ErrorKind::TruncatedBody, 2), 200);
        // A huge retry number saturates at the cap instead of overflowing.
        assert_eq!(ms(S3ErrorKind::Throttled, u32::MAX), 20000);
    }

    #[test]
    fn jitter_scales_the_ceiling() {
        for (jitter, expected_ms) in [(0.0, 0), (0.25, 250), (0.5, 500), (1.0, 1000)] {
            let (p, _) = policy(RetryConfig::default(), jitter);
            assert_eq!(
                p.backoff(S3ErrorKind::Throttled, 0).as_millis(),
                expected_ms
            );
        }
        // Out-of-range jitter from a faulty source never exceeds the ceiling.
        let (p, _) = policy(RetryConfig::default(), 7.0);
        assert_eq!(
            p.backoff(S3ErrorKind::Throttled, 9),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn the_real_jitter_is_uniform_in_zero_to_one() {
        let samples: Vec<f64> = (0..20_000).map(|_| thread_jitter()).collect();
        assert!(samples.iter().all(|r| (0.0..1.0).contains(r)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.47..0.53).contains(&mean), "mean {mean}");
        let below = samples.iter().filter(|r| **r < 0.1).count();
        let above = samples.iter().filter(|r| **r >= 0.9).count();
        assert!((1600..2400).contains(&below), "{below}");
        assert!((1600..2400).contains(&above), "{above}");
    }

    #[test]
    fn a_retryable_failure_is_retried_with_growing_backoff() {
        let (p, clock) = policy(RetryConfig::default(), 1.0);
        let mut seen = Vec::new();
        let out = with_retries(&p, NEVER, &mut |attempt| {
            seen.push(attempt);
            if attempt < 3 {
                Err(err(S3ErrorKind::Transient))
            } else {
                Ok("done")
            }
        });
        assert_eq!(out.unwrap(), "done");
        assert_eq!(seen, [1, 2, 3]);
        // 50 ms then 100 ms, slept in slices of at most 10 ms.
        assert_eq!(clock.elapsed(), Duration::from_millis(150));
        assert!(clock.sleeps().iter().all(|s| *s <= clock::POLL));
        // Two retries took 5 each; the successful one gave its 5 back.
        assert_eq!(p.quota().available(), Some(495));
    }

    #[test]
    fn giving_up_reports_the_attempts_and_the_last_error() {
        let (p, clock) = policy(RetryConfig::default(), 0.5);
        let mut calls = 0;
        let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| {
            calls += 1;
            Err(err(S3ErrorKind::Throttled).with_object("b", &format!("k{calls}")))
        });
        let e = out.unwrap_err();
        match &e {
            RetryError::AttemptsExhausted {
                attempts,
                last_error,
            } => {
                assert_eq!(*attempts, 3);
                assert_eq!(last_error.key, "k3");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(calls, 3);
        // Half of 1 s, then half of 2 s.
        assert_eq!(clock.elapsed(), Duration::from_millis(1500));
        assert_eq!(p.quota().available(), Some(490));
        let t = e.into_transfer_error(|_| unreachable!());
        assert!(matches!(
            t,
            TransferError::RetriesExceeded { attempts: 3, .. }
        ));
    }

    #[test]
    fn errors_that_cannot_pass_are_returned_at_once() {
        for kind in [
            S3ErrorKind::NotFound,
            S3ErrorKind::AccessDenied,
            S3ErrorKind::PreconditionFailed,
            S3ErrorKind::InvalidRange,
            S3ErrorKind::Cancelled,
            S3ErrorKind::Other,
        ] {
            let (p, clock) = policy(RetryConfig::default(), 1.0);
            let mut calls = 0;
            let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| {
                calls += 1;
                Err(err(kind))
            });
            match out {
                Err(RetryError::NotRetryable(e)) => assert_eq!(e.kind(), kind),
                other => panic!("{kind:?}: {other:?}"),
            }
            assert_eq!(calls, 1, "{kind:?}");
            assert_eq!(clock.elapsed(), Duration::ZERO);
            assert_eq!(p.quota().available(), Some(500));
        }
    }

    #[test]
    fn the_predicate_can_refuse_a_retry() {
        let (p, _) = policy(RetryConfig::default(), 1.0);
        let mut calls = 0;
        let out: Result<(), _> = with_retries_if(&p, NEVER, &|e| e.key != "delivered", &mut |_| {
            calls += 1;
            Err(err(S3ErrorKind::TruncatedBody).with_object("b", "delivered"))
        });
        assert!(matches!(out, Err(RetryError::NotRetryable(_))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn timeouts_cost_more_tokens() {
        let (p, _) = policy(RetryConfig::default(), 0.0);
        let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| Err(err(S3ErrorKind::Timeout)));
        assert!(matches!(out, Err(RetryError::AttemptsExhausted { .. })));
        assert_eq!(p.quota().available(), Some(480));
    }

    #[test]
    fn an_empty_quota_fails_fast_and_successes_refill_it() {
        let config = RetryConfig::builder().retry_quota(12).build().unwrap();
        let (p, clock) = policy(config, 0.0);
        let failing = |_| -> Result<(), S3Error> { Err(err(S3ErrorKind::Transient)) };
        // 12 tokens pay for two retries of one request (3 attempts)...
        let out = with_retries(&p, NEVER, &mut failing.clone());
        assert!(matches!(
            out,
            Err(RetryError::AttemptsExhausted { attempts: 3, .. })
        ));
        assert_eq!(p.quota().available(), Some(2));
        // ...then the next failing request gets no retry at all.
        let mut calls = 0;
        let out = with_retries(&p, NEVER, &mut |a| {
            calls += 1;
            failing(a)
        });
        match out {
            Err(e @ RetryError::QuotaExhausted { attempts: 1, .. }) => {
                assert!(matches!(
                    e.into_transfer_error(|_| unreachable!()),
                    TransferError::RetriesExceeded { attempts: 1, .. }
                ));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(calls, 1);
        assert_eq!(clock.elapsed(), Duration::ZERO);
        // First-attempt successes put back one token each...
        for _ in 0..3 {
            with_retries(&p, NEVER, &mut |_| Ok(())).unwrap();
        }
        assert_eq!(p.quota().available(), Some(5));
        // ...which pays for one retry again; its success refunds its cost.
        let out = with_retries(&p, NEVER, &mut |a| {
            if a == 1 {
                Err(err(S3ErrorKind::Throttled))
            } else {
                Ok(a)
            }
        });
        assert_eq!(out.unwrap(), 2);
        assert_eq!(p.quota().available(), Some(5));
        // Refunds never lift the quota above its capacity.
        for _ in 0..100 {
            with_retries(&p, NEVER, &mut |_| Ok(())).unwrap();
        }
        assert_eq!(p.quota().available(), Some(12));
    }

    #[test]
    fn without_a_quota_every_request_gets_its_attempts() {
        let config = RetryConfig::builder().no_retry_quota().build().unwrap();
        let (p, _) = policy(config, 0.0);
        for _ in 0..300 {
            let out: Result<(), _> =
                with_retries(&p, NEVER, &mut |_| Err(err(S3ErrorKind::Timeout)));
            assert!(matches!(
                out,
                Err(RetryError::AttemptsExhausted { attempts: 3, .. })
            ));
        }
        assert_eq!(p.quota().available(), None);
    }

    #[test]
    fn a_stop_during_backoff_is_noticed_within_one_slice() {
        let (p, clock) = policy(RetryConfig::default(), 1.0);
        let stop_at = Duration::from_millis(35);
        let watcher = clock.clone();
        let stopped = move || watcher.elapsed() >= stop_at;
        let mut calls = 0;
        let out: Result<(), _> = with_retries(&p, &stopped, &mut |_| {
            calls += 1;
            Err(err(S3ErrorKind::Throttled))
        });
        match out {
            Err(RetryError::Stopped {
                attempts: 1,
                last_error,
            }) => assert_eq!(last_error.kind(), S3ErrorKind::Throttled),
            other => panic!("{other:?}"),
        }
        assert_eq!(calls, 1);
        // A 1 s backoff, abandoned at the first check after 35 ms.
        assert!(clock.elapsed() >= stop_at);
        assert!(clock.elapsed() <= stop_at + clock::POLL);
        // The retry that did not happen gave its tokens back.
        assert_eq!(p.quota().available(), Some(500));
    }

    #[test]
    fn a_stop_before_the_backoff_skips_it() {
        let (p, clock) = policy(RetryConfig::default(), 1.0);
        let out: Result<(), _> =
            with_retries(&p, &|| true, &mut |_| Err(err(S3ErrorKind::Transient)));
        assert!(matches!(out, Err(RetryError::Stopped { attempts: 1, .. })));
        assert_eq!(clock.elapsed(), Duration::ZERO);
        let e = out.unwrap_err();
        assert_eq!(e.last_error().kind(), S3ErrorKind::Transient);
    }
}
