//! The two halves of the leaky bucket's decision, ported from s3transfer: the moving
//! average of the consumption rate, and the FIFO schedule of refused requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one stream's requests to a [`LeakyBucket`], so a refused request can
/// come back and claim the slot it was scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RequestToken(u64);

impl RequestToken {
    /// A token distinct from every other in the process.
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        RequestToken(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Default for RequestToken {
    fn default() -> Self {
        RequestToken::new()
    }
}

/// An exponential moving average of the rate at which bytes are consumed.
///
/// Times are seconds on any fixed scale. Until the first record the rate is 0 (so the
/// first request is always admitted); the first record only notes its time.
#[derive(Debug, Clone)]
pub(crate) struct BandwidthRateTracker {
    alpha: f64,
    last_time: Option<f64>,
    current_rate: f64,
}

impl Default for BandwidthRateTracker {
    fn default() -> Self {
        BandwidthRateTracker::new(0.8)
    }
}

impl BandwidthRateTracker {
    /// A tracker weighting each new measurement by `alpha` (s3transfer uses 0.8).
    pub(crate) fn new(alpha: f64) -> Self {
        BandwidthRateTracker {
            alpha,
            last_time: None,
            current_rate: 0.0,
        }
    }

    /// The rate as of the last record, in bytes per second.
    #[cfg(test)]
    pub(crate) fn current_rate(&self) -> f64 {
        self.current_rate
    }

    /// The rate if `amt` bytes were consumed at time `now`. Before any record: 0. A
    /// time at or before the last record: infinity.
    pub(crate) fn get_projected_rate(&self, amt: u64, now: f64) -> f64 {
        match self.last_time {
            None => 0.0,
            Some(_) => self.calculate_exponential_moving_average_rate(amt, now),
        }
    }

    /// Record that `amt` bytes were consumed at time `now`.
    pub(crate) fn record_consumption_rate(&mut self, amt: u64, now: f64) {
        if self.last_time.is_none() {
            self.last_time = Some(now);
            self.current_rate = 0.0;
            return;
        }
        self.current_rate = self.calculate_exponential_moving_average_rate(amt, now);
        self.last_time = Some(now);
    }

    fn calculate_rate(&self, amt: u64, now: f64) -> f64 {
        let delta = now - self.last_time.unwrap_or(now);
        if delta <= 0.0 {
            // Two consumptions at the same instant: an infinite rate, so the second is
            // always scheduled.
            return f64::INFINITY;
        }
        amt as f64 / delta
    }

    fn calculate_exponential_moving_average_rate(&self, amt: u64, now: f64) -> f64 {
        // Same order of operations as s3transfer, so the same numbers come out.
        let new_rate = self.calculate_rate(amt, now);
        self.alpha * new_rate + (1.0 - self.alpha) * self.current_rate
    }
}

/// Hands out wait times to refused requests, each after every request scheduled
/// before it: the FIFO that keeps any stream from starving.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumptionScheduler {
    /// Each scheduled token's own share of the wait (`time_to_consume`), in seconds.
    scheduled: HashMap<RequestToken, f64>,
    /// Sum of the shares of every token still scheduled, in seconds.
    total_wait: f64,
}

impl ConsumptionScheduler {
    /// An empty schedule.
    pub(crate) fn new() -> Self {
        ConsumptionScheduler::default()
    }

    /// Whether `token` has a scheduled consumption.
    pub(crate) fn is_scheduled(&self, token: RequestToken) -> bool {
        self.scheduled.contains_key(&token)
    }

    /// Schedule `amt` bytes for `token`, taking `time_to_consume` seconds. Returns the
    /// seconds to wait: everyone scheduled before plus this one's share.
    pub(crate) fn schedule_consumption(
        &mut self,
        amt: u64,
        token: RequestToken,
        time_to_consume: f64,
    ) -> f64 {
        // `amt` is part of s3transfer's signature; the wait depends only on the time.
        let _ = amt;
        self.total_wait += time_to_consume;
        self.scheduled.insert(token, time_to_consume);
        self.total_wait
    }

    /// The scheduled consumption of `token` happened (or was withdrawn): its share
    /// leaves the total wait.
    pub(crate) fn process_scheduled_consumption(&mut self, token: RequestToken) {
        if let Some(time_to_consume) = self.scheduled.remove(&token) {
            self.total_wait = (self.total_wait - time_to_consume).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_tracker_starts_at_zero() {
        let t = BandwidthRateTracker::new(0.8);
        assert_eq!(t.current_rate(), 0.0);
        assert_eq!(t.get_projected_rate(1, 1.0), 0.0);
    }

    #[test]
    fn rate_tracker_first_record_only_notes_the_time() {
        let mut t = BandwidthRateTracker::new(0.8);
        t.record_consumption_rate(1, 1.0);
        assert_eq!(t.current_rate(), 0.0);
    }

    #[test]
    fn rate_tracker_moving_average() {
        let mut t = BandwidthRateTracker::new(0.8);
        t.record_consumption_rate(1, 1.0);
        t.record_consumption_rate(1, 2.0);
        t.record_consumption_rate(1, 3.0);
        assert_eq!(t.current_rate(), 0.96);
    }

    #[test]
    fn rate_tracker_projection() {
        let mut t = BandwidthRateTracker::new(0.8);
        t.record_consumption_rate(1, 1.0);
        t.record_consumption_rate(1, 2.0);
        assert_eq!(t.get_projected_rate(1, 3.0), 0.96);
        // Projecting does not record.
        assert_eq!(t.current_rate(), 0.8);
    }

    #[test]
    fn rate_tracker_same_timestamp_is_infinite() {
        let mut t = BandwidthRateTracker::new(0.8);
        t.record_consumption_rate(1, 1.0);
        assert_eq!(t.get_projected_rate(1, 1.0), f64::INFINITY);
    }

    #[test]
    fn scheduler_schedules_one() {
        let mut s = ConsumptionScheduler::new();
        assert_eq!(s.schedule_consumption(1, RequestToken::new(), 5.0), 5.0);
    }

    #[test]
    fn scheduler_waits_are_cumulative() {
        let mut s = ConsumptionScheduler::new();
        assert_eq!(s.schedule_consumption(1, RequestToken::new(), 5.0), 5.0);
        assert_eq!(s.schedule_consumption(1, RequestToken::new(), 3.0), 8.0);
    }

    #[test]
    fn scheduler_is_scheduled() {
        let mut s = ConsumptionScheduler::new();
        let token = RequestToken::new();
        s.schedule_consumption(1, token, 5.0);
        assert!(s.is_scheduled(token));
        assert!(!s.is_scheduled(RequestToken::new()));
    }

    #[test]
    fn scheduler_processed_consumption_leaves_the_wait() {
        let mut s = ConsumptionScheduler::new();
        let token = RequestToken::new();
        s.schedule_consumption(1, token, 5.0);
        s.process_scheduled_consumption(token);
        assert!(!s.is_scheduled(token));
        assert_eq!(s.schedule_consumption(1, token, 7.0), 7.0);
    }
}
