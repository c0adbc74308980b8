//! Retries of one S3 call: the AWS SDKs' "standard" retry mode (a few attempts, capped
//! exponential backoff with full jitter, a retry quota shared by the whole manager),
//! the same for every backend because it works on [`S3ErrorKind`] alone.
//!
//! The call sites wrap one S3 request in [`with_retries`]; everything else here (the
//! quota, the clock, the jitter source) exists so that function can be tested without
//! sleeping and shared by every transfer of a manager.

mod config;
mod policy;
mod quota;
#[cfg(test)]
mod tests;

use config::SUCCESS_REFUND;
pub use config::{RetryConfig, RetryConfigBuilder};
pub(crate) use policy::RetryPolicy;

use crate::client::S3Error;
use crate::error::TransferError;

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
    let max_attempts = policy.config.max_attempts().max(1);
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
            tracing::debug!(
                operation = error.operation,
                attempts = attempt,
                error = %error,
                "giving up: every attempt failed"
            );
            return Err(RetryError::AttemptsExhausted {
                attempts: attempt,
                last_error: error,
            });
        }
        let cost = policy.cost(error.kind());
        if !policy.quota.try_acquire(cost) {
            tracing::debug!(
                operation = error.operation,
                attempts = attempt,
                error = %error,
                "not retrying: the retry quota is empty"
            );
            return Err(RetryError::QuotaExhausted {
                attempts: attempt,
                last_error: error,
            });
        }
        held = Some(cost);
        let delay = policy.backoff(error.kind(), attempt - 1);
        tracing::debug!(
            operation = error.operation,
            bucket = %error.bucket,
            key = %error.key,
            attempt,
            kind = %error.kind(),
            reason = %error,
            delay_ms = delay.as_millis() as u64,
            "retrying"
        );
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
