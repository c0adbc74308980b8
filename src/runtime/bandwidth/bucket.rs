//! [`LeakyBucket`]: grants bytes at up to a rate to every stream that shares it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::RequestExceeded;
use super::rate::{BandwidthRateTracker, ConsumptionScheduler, RequestToken};
use crate::runtime::clock::{Clock, SystemClock};

/// What the bucket's lock protects: a consume reads the tracker and the schedule and
/// updates one of them as a single step.
struct BucketState {
    tracker: BandwidthRateTracker,
    scheduler: ConsumptionScheduler,
    consumed: u64,
}

/// Grants bytes at up to `max_rate` bytes per second to every stream that shares it.
pub struct LeakyBucket {
    max_rate: u64,
    clock: Arc<dyn Clock>,
    /// Zero of the seconds scale the rate tracker works in.
    epoch: Instant,
    state: Mutex<BucketState>,
}

impl fmt::Debug for LeakyBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakyBucket")
            .field("max_rate", &self.max_rate)
            .finish_non_exhaustive()
    }
}

impl LeakyBucket {
    /// A bucket of `max_rate` bytes per second on the real clock.
    ///
    /// # Panics
    /// If `max_rate` is 0.
    pub fn new(max_rate: u64) -> Self {
        LeakyBucket::with_clock(max_rate, Arc::new(SystemClock))
    }

    /// A bucket of `max_rate` bytes per second on `clock`.
    ///
    /// # Panics
    /// If `max_rate` is 0.
    pub(crate) fn with_clock(max_rate: u64, clock: Arc<dyn Clock>) -> Self {
        assert!(max_rate > 0, "a bandwidth limit must be above 0 bytes/s");
        LeakyBucket {
            max_rate,
            epoch: clock.now(),
            clock,
            state: Mutex::new(BucketState {
                tracker: BandwidthRateTracker::default(),
                scheduler: ConsumptionScheduler::new(),
                consumed: 0,
            }),
        }
    }

    /// The limit, in bytes per second.
    pub fn max_rate(&self) -> u64 {
        self.max_rate
    }

    /// The clock the bucket reads, which its streams also sleep on.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Bytes granted so far.
    pub fn total_consumed(&self) -> u64 {
        self.state.lock().consumed
    }

    /// Ask for `amt` bytes for `token`. Returns `amt` when granted; otherwise
    /// [`RequestExceeded`] with the time to come back with the same
    /// token, which is then admitted unconditionally.
    ///
    /// 1. A token already scheduled is admitted and leaves the schedule.
    /// 2. Else, if the projected rate would exceed the limit, the token is scheduled
    ///    `amt / max_rate` seconds after everyone already scheduled, and refused.
    /// 3. Else it is admitted. A projected rate exactly at the limit is admitted.
    pub(crate) fn consume(&self, amt: u64, token: RequestToken) -> Result<u64, RequestExceeded> {
        let now_instant = self.clock.now();
        let now = now_instant
            .saturating_duration_since(self.epoch)
            .as_secs_f64();
        let mut state = self.state.lock();
        if state.scheduler.is_scheduled(token) {
            state.scheduler.process_scheduled_consumption(token);
        } else if state.tracker.get_projected_rate(amt, now) > self.max_rate as f64 {
            let allocated = amt as f64 / self.max_rate as f64;
            let wait = state.scheduler.schedule_consumption(amt, token, allocated);
            return Err(RequestExceeded {
                requested_amt: amt,
                retry_time: now_instant + Duration::from_secs_f64(wait),
            });
        }
        state.tracker.record_consumption_rate(amt, now);
        state.consumed += amt;
        Ok(amt)
    }

    /// Give up `token`'s scheduled slot without consuming (its stream was cancelled),
    /// so the streams behind it do not wait for bytes that will never be sent.
    /// (s3transfer leaves the slot in place; this is the one deviation.)
    pub(crate) fn withdraw(&self, token: RequestToken) {
        self.state
            .lock()
            .scheduler
            .process_scheduled_consumption(token);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::bucket;
    use super::*;
    use std::time::Duration;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn bucket_admits_the_first_consume_whatever_its_size() {
        let (_, b) = bucket(1);
        assert_eq!(
            b.consume(1_000_000, RequestToken::new()).unwrap(),
            1_000_000
        );
    }

    #[test]
    fn bucket_admits_under_the_max_rate() {
        let (clock, b) = bucket(10);
        b.consume(1, RequestToken::new()).unwrap();
        clock.advance(secs(1.0));
        // Projected 0.8 * 5 = 4 bytes/s.
        assert_eq!(b.consume(5, RequestToken::new()).unwrap(), 5);
        assert_eq!(b.total_consumed(), 6);
    }

    #[test]
    fn bucket_admits_exactly_the_max_rate() {
        let (clock, b) = bucket(4);
        b.consume(1, RequestToken::new()).unwrap();
        clock.advance(secs(1.0));
        // Projected 0.8 * 5 / 1 + 0.2 * 0 = 4.0 == max.
        assert_eq!(b.consume(5, RequestToken::new()).unwrap(), 5);
    }

    #[test]
    fn bucket_refuses_over_the_max_rate_with_a_retry_time() {
        let (clock, b) = bucket(4);
        b.consume(1, RequestToken::new()).unwrap();
        clock.advance(secs(1.0));
        let token = RequestToken::new();
        let now = clock.now();
        match b.consume(6, token) {
            Err(RequestExceeded {
                requested_amt,
                retry_time,
            }) => {
                assert_eq!(requested_amt, 6);
                assert_eq!(retry_time, now + secs(1.5)); // 6 / 4
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(b.total_consumed(), 1);
    }

    #[test]
    fn bucket_admits_a_scheduled_token_unconditionally() {
        let (_, b) = bucket(1);
        b.consume(1, RequestToken::new()).unwrap();
        let token = RequestToken::new();
        // Same instant: an infinite projected rate.
        assert!(b.consume(1, token).is_err());
        // Still an infinite projected rate, but the token was scheduled.
        assert_eq!(b.consume(1, token).unwrap(), 1);
        // Its slot is gone: the next one waits only its own share.
        match b.consume(2, RequestToken::new()) {
            Err(RequestExceeded { retry_time, .. }) => {
                assert_eq!(retry_time, b.clock().now() + secs(2.0))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bucket_refusals_form_a_fifo() {
        let (clock, b) = bucket(2);
        b.consume(1, RequestToken::new()).unwrap();
        let now = clock.now();
        let waits: Vec<Instant> = [4u64, 2, 6]
            .into_iter()
            .map(|amt| match b.consume(amt, RequestToken::new()) {
                Err(RequestExceeded { retry_time, .. }) => retry_time,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            waits,
            vec![now + secs(2.0), now + secs(3.0), now + secs(6.0)]
        );
    }

    #[test]
    fn withdrawn_token_frees_its_slot() {
        let (_, b) = bucket(1);
        b.consume(1, RequestToken::new()).unwrap();
        let token = RequestToken::new();
        assert!(b.consume(5, token).is_err());
        b.withdraw(token);
        match b.consume(1, RequestToken::new()) {
            Err(RequestExceeded { retry_time, .. }) => {
                assert_eq!(retry_time, b.clock().now() + secs(1.0))
            }
            other => panic!("{other:?}"),
        }
    }
}
