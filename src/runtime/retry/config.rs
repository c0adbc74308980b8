//! [`RetryConfig`]: the public description of how requests are retried, with its
//! builder and its defaults (the standard mode's, with boto3's 5 attempts).

use std::time::Duration;

use crate::error::ConfigError;

/// Default [`RetryConfig::max_attempts`]: 5 in total (boto3's legacy mode and the AWS
/// CLI's); why, in [`RetryConfigBuilder::max_attempts`].
pub(super) const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default [`RetryConfig::transient_backoff`]: 50 ms.
pub(super) const DEFAULT_TRANSIENT_BACKOFF: Duration = Duration::from_millis(50);
/// Default [`RetryConfig::throttle_backoff`]: 1 s.
pub(super) const DEFAULT_THROTTLE_BACKOFF: Duration = Duration::from_secs(1);
/// Default [`RetryConfig::max_backoff`]: 20 s.
pub(super) const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Default [`RetryConfig::retry_quota`]: 500 tokens.
pub(super) const DEFAULT_QUOTA_CAPACITY: u32 = 500;
/// Default [`RetryConfig::retry_cost`]: 5 tokens.
pub(super) const DEFAULT_RETRY_COST: u32 = 5;
/// Default [`RetryConfig::timeout_cost`]: 10 tokens.
pub(super) const DEFAULT_TIMEOUT_COST: u32 = 10;
/// The longest backoff base or cap [`RetryConfigBuilder::build`] accepts: 5 minutes.
/// Far above what any store asks of a client (the SDKs cap at 20 s), and short enough
/// that a cleanup, which retries whatever the transfer's state, always ends: an abort
/// must not sleep for ever while the upload it would end stays open and billed.
pub(super) const MAX_BACKOFF_LIMIT: Duration = Duration::from_secs(5 * 60);
/// Tokens a first-attempt success puts back (botocore's `NO_RETRY_INCREMENT`), so a
/// quota drained by an outage refills as requests start succeeding again.
pub(super) const SUCCESS_REFUND: u32 = 1;
/// How S3 calls that fail with a retryable error ([`S3ErrorKind::is_retryable`](crate::S3ErrorKind::is_retryable):
/// throttled, transient, timed out, truncated body) are retried.
///
/// This is the AWS SDKs' "standard" retry mode, with 5 attempts by default instead of 3
/// (see [`RetryConfigBuilder::max_attempts`]). Attempt `n + 1` waits
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

    /// Attempts per request, the first included. Default 5.
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
    /// Attempts per request, the first included; 1 turns retries off. Default 5, as
    /// boto3 (legacy mode) and the AWS CLI's transfers: S3 answers a burst of requests
    /// with several 503 SlowDown in a row on the same request, and the standard mode's 3
    /// attempts failed a whole upload on a burst of three on CreateMultipartUpload.
    /// With 5, a burst of four throttles on one request is ridden out; the waits before
    /// its retries are at most 1 + 2 + 4 + 8 = 15 s (half that on average, with jitter).
    ///
    /// More attempts do not make an outage last longer or send more: the retry quota
    /// (500 tokens, 5 a retry) pays for at most 100 retries across the whole manager
    /// until requests succeed again, so during an outage a manager sends at most
    /// `first attempts + 100` requests whatever `max_attempts` is, and each request gets
    /// its first attempt only once the quota is dry.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = attempts;
        self
    }

    /// Backoff base after a transient failure. Default 50 ms (the SDKs' 2026 standard
    /// mode): a reset connection or a one-off 500 usually succeeds at once on a fresh
    /// connection, and every millisecond of backoff holds a request thread idle.
    /// At most 5 minutes, like every backoff setting.
    pub fn transient_backoff(mut self, base: Duration) -> Self {
        self.config.transient_backoff = base;
        self
    }

    /// Backoff base after a throttling error. Default 1 s (the standard mode's base):
    /// throttling means the store wants fewer requests, and only a real pause gives
    /// it that. At most 5 minutes.
    pub fn throttle_backoff(mut self, base: Duration) -> Self {
        self.config.throttle_backoff = base;
        self
    }

    /// The cap on one backoff before jitter. Default 20 s, the standard mode's value.
    /// At most 5 minutes: cleanups (AbortMultipartUpload) retry whatever state the
    /// transfer is in, and each of their waits must end.
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
        for (name, value) in [
            ("transient_backoff", c.transient_backoff),
            ("throttle_backoff", c.throttle_backoff),
            ("max_backoff", c.max_backoff),
        ] {
            if value > MAX_BACKOFF_LIMIT {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "({value:?}) is above {}s: a cleanup must never wait that long",
                        MAX_BACKOFF_LIMIT.as_secs()
                    ),
                ));
            }
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
