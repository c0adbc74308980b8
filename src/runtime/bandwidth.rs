//! Bandwidth limiting: a leaky bucket shared by every upload and download of a
//! manager, and the throttled stream and chunk forms that draw from it. A port of
//! s3transfer's `bandwidth.py`, algorithm for algorithm.
//!
//! * [`LeakyBucket`] grants bytes at up to `max_rate` bytes per second. It admits a
//!   request when the projected rate ([`BandwidthRateTracker`], an exponential moving
//!   average) stays at or below the limit; otherwise it schedules the request
//!   ([`ConsumptionScheduler`]) and refuses it with [`TransferError::RequestExceeded`]
//!   naming when to come back. Waits are cumulative, so refused callers form a FIFO
//!   and none starves; a caller that comes back with its scheduled [`RequestToken`] is
//!   admitted unconditionally.
//! * [`BandwidthLimiter`] hands out [`BandwidthLimitedStream`]s (a `Read` wrapper) and
//!   [`ChunkLimiter`]s (for code that is handed chunks rather than reading them, such
//!   as the engine's download sink). Both charge the bucket once 256 KiB have been
//!   seen, wait (in short slices, so an [`Interrupt`] is seen at once) and retry with
//!   the same token.
//!
//! Time comes from a [`Clock`], so the algorithm is tested without real sleeping.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::TransferError;
use crate::future::TransferFuture;

/// Bytes a stream or chunk limiter accumulates before it charges the bucket: 256 KiB,
/// s3transfer's threshold. Smaller reads are charged together (or when flushed).
pub const BYTES_THRESHOLD: u64 = 256 * 1024;

/// The longest a throttled wait sleeps before checking its [`Interrupt`] again.
const WAIT_SLICE: Duration = Duration::from_millis(10);

/// A source of time: the real one ([`SystemClock`]) or a test's.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Instant;
    /// Block the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock: [`Instant::now`] and [`std::thread::sleep`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Tells a throttled wait to give up: a cancelled or failed transfer, or a caller's
/// own flag.
pub trait Interrupt: Send + Sync {
    /// Whether the wait should stop now.
    fn is_interrupted(&self) -> bool;
}

/// Interrupted once the transfer is cancelled or has failed.
impl Interrupt for TransferFuture {
    fn is_interrupted(&self) -> bool {
        self.coordinator.is_stopped()
    }
}

/// Interrupted while the flag is `true`.
impl Interrupt for AtomicBool {
    fn is_interrupted(&self) -> bool {
        self.load(Ordering::Acquire)
    }
}

/// Never interrupted: for streams that no transfer owns.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInterrupt;

impl Interrupt for NoInterrupt {
    fn is_interrupted(&self) -> bool {
        false
    }
}

/// Identifies one stream's requests to a [`LeakyBucket`], so a refused request can
/// come back and claim the slot it was scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestToken(u64);

impl RequestToken {
    /// A token distinct from every other in the process.
    pub fn new() -> Self {
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
pub struct BandwidthRateTracker {
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
    pub fn new(alpha: f64) -> Self {
        BandwidthRateTracker {
            alpha,
            last_time: None,
            current_rate: 0.0,
        }
    }

    /// The rate as of the last record, in bytes per second.
    pub fn current_rate(&self) -> f64 {
        self.current_rate
    }

    /// The rate if `amt` bytes were consumed at time `now`. Before any record: 0. A
    /// time at or before the last record: infinity.
    pub fn get_projected_rate(&self, amt: u64, now: f64) -> f64 {
        match self.last_time {
            None => 0.0,
            Some(_) => self.calculate_exponential_moving_average_rate(amt, now),
        }
    }

    /// Record that `amt` bytes were consumed at time `now`.
    pub fn record_consumption_rate(&mut self, amt: u64, now: f64) {
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
pub struct ConsumptionScheduler {
    /// Each scheduled token's own share of the wait (`time_to_consume`), in seconds.
    scheduled: HashMap<RequestToken, f64>,
    /// Sum of the shares of every token still scheduled, in seconds.
    total_wait: f64,
}

impl ConsumptionScheduler {
    /// An empty schedule.
    pub fn new() -> Self {
        ConsumptionScheduler::default()
    }

    /// Whether `token` has a scheduled consumption.
    pub fn is_scheduled(&self, token: RequestToken) -> bool {
        self.scheduled.contains_key(&token)
    }

    /// Schedule `amt` bytes for `token`, taking `time_to_consume` seconds. Returns the
    /// seconds to wait: everyone scheduled before plus this one's share.
    pub fn schedule_consumption(
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
    pub fn process_scheduled_consumption(&mut self, token: RequestToken) {
        if let Some(time_to_consume) = self.scheduled.remove(&token) {
            self.total_wait = (self.total_wait - time_to_consume).max(0.0);
        }
    }
}

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
    pub fn with_clock(max_rate: u64, clock: Arc<dyn Clock>) -> Self {
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
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Bytes granted so far.
    pub fn total_consumed(&self) -> u64 {
        self.state.lock().consumed
    }

    /// Ask for `amt` bytes for `token`. Returns `amt` when granted; otherwise
    /// [`TransferError::RequestExceeded`] with the time to come back with the same
    /// token, which is then admitted unconditionally.
    ///
    /// 1. A token already scheduled is admitted and leaves the schedule.
    /// 2. Else, if the projected rate would exceed the limit, the token is scheduled
    ///    `amt / max_rate` seconds after everyone already scheduled, and refused.
    /// 3. Else it is admitted. A projected rate exactly at the limit is admitted.
    pub fn consume(&self, amt: u64, token: RequestToken) -> Result<u64, TransferError> {
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
            return Err(TransferError::RequestExceeded {
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
    pub fn withdraw(&self, token: RequestToken) {
        self.state
            .lock()
            .scheduler
            .process_scheduled_consumption(token);
    }
}

/// Makes throttled streams and chunk limiters that draw from one shared bucket.
#[derive(Debug, Clone)]
pub struct BandwidthLimiter {
    bucket: Arc<LeakyBucket>,
}

impl BandwidthLimiter {
    /// A limiter over `bucket`.
    pub fn new(bucket: Arc<LeakyBucket>) -> Self {
        BandwidthLimiter { bucket }
    }

    /// The shared bucket.
    pub fn bucket(&self) -> &Arc<LeakyBucket> {
        &self.bucket
    }

    /// Wrap `reader` so that its reads are charged to the bucket, sleeping when the
    /// bucket refuses; `interrupt` ends a wait at once with an error. Limiting starts
    /// enabled and blocking.
    pub fn get_bandwidth_limited_stream<R: Read>(
        &self,
        reader: R,
        interrupt: Arc<dyn Interrupt>,
    ) -> BandwidthLimitedStream<R> {
        BandwidthLimitedStream {
            inner: reader,
            limiter: self.get_chunk_limiter(interrupt),
        }
    }

    /// A limiter for code that is handed chunks (a response body pushed into a sink)
    /// rather than reading them: call [`ChunkLimiter::consume`] before passing each
    /// chunk on.
    pub fn get_chunk_limiter(&self, interrupt: Arc<dyn Interrupt>) -> ChunkLimiter {
        ChunkLimiter {
            bucket: self.bucket.clone(),
            interrupt,
            token: RequestToken::new(),
            threshold: BYTES_THRESHOLD,
            bytes_seen: AtomicU64::new(0),
            enabled: AtomicBool::new(true),
            blocking: AtomicBool::new(true),
            retry_at: Mutex::new(None),
            group: None,
        }
    }
}

/// Streams that take turns at the bucket: at most one member of a group is queued
/// there at a time, so groups share the bandwidth evenly however many streams each
/// runs (a transfer with eight parts in flight gets the same share as one with two).
///
/// The bucket's FIFO is fair per request; a group makes it fair per transfer. The turn
/// is a flag, not a held lock: members wait for it on a condvar in short slices that
/// check their [`Interrupt`].
#[derive(Debug, Default)]
pub struct ShareGroup {
    /// Whether a member is at the bucket now.
    busy: Mutex<bool>,
    turn_free: Condvar,
}

impl ShareGroup {
    /// A new, empty group.
    pub fn new() -> Self {
        ShareGroup::default()
    }

    /// Wait for the turn, giving up when `interrupt` fires.
    fn take_turn(&self, interrupt: &dyn Interrupt) -> Option<Turn<'_>> {
        let mut busy = self.busy.lock();
        while *busy {
            if interrupt.is_interrupted() {
                return None;
            }
            self.turn_free.wait_for(&mut busy, WAIT_SLICE);
        }
        *busy = true;
        Some(Turn(self))
    }
}

/// A member's turn at the bucket; dropping it passes the turn on.
struct Turn<'a>(&'a ShareGroup);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock() = false;
        self.0.turn_free.notify_one();
    }
}

/// Charges one stream's bytes to a [`LeakyBucket`], with one [`RequestToken`] for the
/// stream's life. Bytes are counted as they are announced and charged once
/// [`BYTES_THRESHOLD`] have accumulated; [`ChunkLimiter::flush`] (and drop) charges
/// the rest.
///
/// Methods take `&self` so that a limiter can sit behind an `Arc` and be switched on
/// or off from another thread while in use; the counters are atomics and no lock is
/// held while waiting.
pub struct ChunkLimiter {
    bucket: Arc<LeakyBucket>,
    interrupt: Arc<dyn Interrupt>,
    token: RequestToken,
    threshold: u64,
    /// Bytes announced and not yet charged.
    bytes_seen: AtomicU64,
    enabled: AtomicBool,
    blocking: AtomicBool,
    /// In non-blocking mode, the time a refused charge may come back; until then a
    /// retry is refused again without asking the bucket. Never held across a wait.
    retry_at: Mutex<Option<Instant>>,
    group: Option<Arc<ShareGroup>>,
}

impl fmt::Debug for ChunkLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkLimiter")
            .field("token", &self.token)
            .field("bytes_seen", &self.bytes_seen.load(Ordering::Relaxed))
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl ChunkLimiter {
    /// Charge bytes only once `threshold` have accumulated (default
    /// [`BYTES_THRESHOLD`]; 1 charges every announcement).
    pub fn with_threshold(mut self, threshold: u64) -> Self {
        self.threshold = threshold.max(1);
        self
    }

    /// Take turns at the bucket with the other members of `group` (see
    /// [`ShareGroup`]).
    pub fn in_group(mut self, group: Arc<ShareGroup>) -> Self {
        self.group = Some(group);
        self
    }

    /// In non-blocking mode a refused charge returns
    /// [`TransferError::RequestExceeded`] instead of sleeping; announce the same bytes
    /// again after its `retry_time` and they are admitted.
    pub fn set_blocking(&self, blocking: bool) {
        self.blocking.store(blocking, Ordering::Release);
    }

    /// Turn limiting on (the default).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    /// Turn limiting off: bytes pass uncounted until [`ChunkLimiter::enable`].
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::Release);
    }

    /// Whether limiting is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// This stream's token.
    pub fn token(&self) -> RequestToken {
        self.token
    }

    /// Announce `amt` bytes about to be moved; returns once they may be. Blocks while
    /// the bucket refuses (unless non-blocking), and fails if the interrupt fires.
    pub fn consume(&self, amt: u64) -> Result<(), TransferError> {
        if !self.is_enabled() {
            return Ok(());
        }
        // A refused non-blocking charge is being retried: its bytes were counted.
        if self.retry_at.lock().is_none() {
            self.bytes_seen.fetch_add(amt, Ordering::AcqRel);
        }
        if self.bytes_seen.load(Ordering::Acquire) < self.threshold {
            return Ok(());
        }
        self.consume_through_bucket()
    }

    /// Charge the bytes announced but not yet charged (below the threshold).
    pub fn flush(&self) -> Result<(), TransferError> {
        if self.is_enabled() && self.bytes_seen.load(Ordering::Acquire) > 0 {
            return self.consume_through_bucket();
        }
        Ok(())
    }

    fn consume_through_bucket(&self) -> Result<(), TransferError> {
        // Held across this charge's waits (it is a flag, not a lock guard), so the
        // group has one request at most in the bucket's queue.
        let _turn = match &self.group {
            Some(group) => match group.take_turn(&*self.interrupt) {
                Some(turn) => Some(turn),
                None => return Err(self.interrupted()),
            },
            None => None,
        };
        let amt = self.bytes_seen.load(Ordering::Acquire);
        let clock = self.bucket.clock().clone();
        loop {
            if self.interrupt.is_interrupted() {
                return Err(self.interrupted());
            }
            if let Some(at) = *self.retry_at.lock()
                && clock.now() < at
            {
                return Err(TransferError::RequestExceeded {
                    requested_amt: amt,
                    retry_time: at,
                });
            }
            match self.bucket.consume(amt, self.token) {
                Ok(_) => {
                    self.bytes_seen.store(0, Ordering::Release);
                    *self.retry_at.lock() = None;
                    return Ok(());
                }
                Err(TransferError::RequestExceeded {
                    requested_amt,
                    retry_time,
                }) => {
                    if !self.blocking.load(Ordering::Acquire) {
                        *self.retry_at.lock() = Some(retry_time);
                        return Err(TransferError::RequestExceeded {
                            requested_amt,
                            retry_time,
                        });
                    }
                    self.wait_until(&*clock, retry_time)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sleep until `deadline` in short slices, so an interrupt is seen within one.
    fn wait_until(&self, clock: &dyn Clock, deadline: Instant) -> Result<(), TransferError> {
        loop {
            if self.interrupt.is_interrupted() {
                return Err(self.interrupted());
            }
            let left = deadline.saturating_duration_since(clock.now());
            if left.is_zero() {
                return Ok(());
            }
            clock.sleep(left.min(WAIT_SLICE));
        }
    }

    fn interrupted(&self) -> TransferError {
        // The slot this stream was scheduled will not be used: free it for the rest.
        self.bucket.withdraw(self.token);
        *self.retry_at.lock() = None;
        TransferError::cancelled("interrupted while waiting for bandwidth", false)
    }
}

impl Drop for ChunkLimiter {
    /// Charges what is left, as s3transfer's `close` does, so small transfers count.
    /// A non-blocking limiter that is refused gives its slot back instead.
    fn drop(&mut self) {
        if self.flush().is_err() {
            self.bucket.withdraw(self.token);
        }
    }
}

/// A `Read` wrapper charging every read to a shared [`LeakyBucket`]. Reads count the
/// *requested* length (as s3transfer does), charge once 256 KiB accumulate, and
/// sleep while the bucket refuses. [`BandwidthLimitedStream::close`] and drop charge
/// what is left.
///
/// Errors: an interrupt gives an `io::Error` of kind `Interrupted` wrapping
/// [`TransferError::Cancelled`]; in non-blocking mode a refusal gives kind
/// `WouldBlock` wrapping [`TransferError::RequestExceeded`] (reach it with
/// `get_ref()` and `downcast_ref`); read the same amount again after its
/// `retry_time`.
#[derive(Debug)]
pub struct BandwidthLimitedStream<R> {
    inner: R,
    limiter: ChunkLimiter,
}

impl<R> BandwidthLimitedStream<R> {
    /// Charge only once `threshold` bytes have been requested (default 256 KiB).
    pub fn with_threshold(mut self, threshold: u64) -> Self {
        self.limiter = self.limiter.with_threshold(threshold);
        self
    }

    /// Return [`TransferError::RequestExceeded`] (as `WouldBlock`) instead of
    /// sleeping when the bucket refuses.
    pub fn non_blocking(self) -> Self {
        self.limiter.set_blocking(false);
        self
    }

    /// Turn limiting on (the default). Safe on a live stream.
    pub fn enable(&self) {
        self.limiter.enable();
    }

    /// Turn limiting off: reads pass straight through, uncounted.
    pub fn disable(&self) {
        self.limiter.disable();
    }

    /// Whether limiting is on.
    pub fn is_enabled(&self) -> bool {
        self.limiter.is_enabled()
    }

    /// Charge the bytes read but not yet charged. Further reads are still limited.
    pub fn close(&mut self) -> io::Result<()> {
        self.limiter.flush().map_err(to_io)
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for BandwidthLimitedStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.limiter.consume(buf.len() as u64).map_err(to_io)?;
        self.inner.read(buf)
    }
}

fn to_io(e: TransferError) -> io::Error {
    let kind = match e {
        TransferError::RequestExceeded { .. } => io::ErrorKind::WouldBlock,
        TransferError::Cancelled { .. } => io::ErrorKind::Interrupted,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A clock that moves only when slept on, and records every sleep.
    struct FakeClock {
        base: Instant,
        /// Time elapsed since `base`, and the sleeps taken.
        state: Mutex<(Duration, Vec<Duration>)>,
    }

    impl FakeClock {
        fn new() -> Arc<Self> {
            Arc::new(FakeClock {
                base: Instant::now(),
                state: Mutex::new((Duration::ZERO, Vec::new())),
            })
        }
        fn advance(&self, d: Duration) {
            self.state.lock().0 += d;
        }
        fn elapsed(&self) -> Duration {
            self.state.lock().0
        }
        fn slept(&self) -> Duration {
            self.state.lock().1.iter().sum()
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.base + self.state.lock().0
        }
        fn sleep(&self, d: Duration) {
            let mut s = self.state.lock();
            s.0 += d;
            s.1.push(d);
        }
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    // --- TestBandwidthRateTracker ---

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

    // --- TestConsumptionScheduler ---

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

    // --- TestLeakyBucket ---

    fn bucket(max_rate: u64) -> (Arc<FakeClock>, LeakyBucket) {
        let clock = FakeClock::new();
        let b = LeakyBucket::with_clock(max_rate, clock.clone());
        (clock, b)
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
            Err(TransferError::RequestExceeded {
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
            Err(TransferError::RequestExceeded { retry_time, .. }) => {
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
                Err(TransferError::RequestExceeded { retry_time, .. }) => retry_time,
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
            Err(TransferError::RequestExceeded { retry_time, .. }) => {
                assert_eq!(retry_time, b.clock().now() + secs(1.0))
            }
            other => panic!("{other:?}"),
        }
    }

    // --- TestBandwidthLimitedStream ---

    fn limiter(max_rate: u64) -> (Arc<FakeClock>, BandwidthLimiter) {
        let (clock, b) = bucket(max_rate);
        (clock, BandwidthLimiter::new(Arc::new(b)))
    }

    const CONTENT: &[u8] = b"my content";

    #[test]
    fn stream_reads_and_charges_the_requested_amount() {
        let (_, l) = limiter(1000);
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, Arc::new(NoInterrupt))
            .with_threshold(1);
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], CONTENT);
        // The requested 64, not the 10 read.
        assert_eq!(l.bucket().total_consumed(), 64);
    }

    #[test]
    fn stream_sleeps_until_the_retry_time_and_retries_with_its_token() {
        let (clock, l) = limiter(10);
        l.bucket().consume(1, RequestToken::new()).unwrap();
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, Arc::new(NoInterrupt))
            .with_threshold(1);
        let mut buf = [0u8; 10];
        assert_eq!(s.read(&mut buf).unwrap(), 10);
        // Refused at t=0 with a wait of 10/10 s; slept exactly that, in slices.
        assert_eq!(clock.slept(), secs(1.0));
        assert_eq!(l.bucket().total_consumed(), 11);
    }

    #[test]
    fn stream_below_the_threshold_charges_nothing_until_close() {
        let (_, l) = limiter(1000);
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, Arc::new(NoInterrupt))
            .with_threshold(2);
        let mut buf = [0u8; 1];
        assert_eq!(s.read(&mut buf).unwrap(), buf.len());
        assert_eq!(l.bucket().total_consumed(), 0);
        s.close().unwrap();
        assert_eq!(l.bucket().total_consumed(), 1);
        assert_eq!(s.read(&mut buf).unwrap(), buf.len());
        assert_eq!(s.read(&mut buf).unwrap(), buf.len());
        assert_eq!(l.bucket().total_consumed(), 3);
    }

    #[test]
    fn stream_charges_pending_bytes_on_drop() {
        let (_, l) = limiter(1000);
        let mut s = l.get_bandwidth_limited_stream(CONTENT, Arc::new(NoInterrupt));
        let mut buf = [0u8; 4];
        assert_eq!(s.read(&mut buf).unwrap(), buf.len());
        assert_eq!(l.bucket().total_consumed(), 0);
        drop(s);
        assert_eq!(l.bucket().total_consumed(), 4);
    }

    #[test]
    fn stream_toggles_limiting() {
        let (_, l) = limiter(1000);
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, Arc::new(NoInterrupt))
            .with_threshold(1);
        let mut buf = [0u8; 2];
        s.disable();
        assert_eq!(s.read(&mut buf).unwrap(), buf.len());
        assert_eq!(l.bucket().total_consumed(), 0);
        s.enable();
        assert_eq!(s.read(&mut buf).unwrap(), buf.len());
        assert_eq!(l.bucket().total_consumed(), 2);
    }

    #[test]
    fn interrupted_stream_fails_without_reading() {
        let (_, l) = limiter(1000);
        let flag = Arc::new(AtomicBool::new(true));
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, flag.clone())
            .with_threshold(1);
        let err = s.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        let inner = err.get_ref().unwrap().downcast_ref::<TransferError>();
        assert!(inner.unwrap().is_cancelled());
        flag.store(false, Ordering::Release);
    }

    /// Fires after `n` checks: a cancel landing mid-wait.
    struct AfterChecks(AtomicUsize);
    impl Interrupt for AfterChecks {
        fn is_interrupted(&self) -> bool {
            self.0.fetch_sub(1, Ordering::AcqRel) <= 1
        }
    }

    #[test]
    fn interrupt_ends_a_wait_within_one_slice_and_frees_the_slot() {
        let (clock, l) = limiter(1);
        l.bucket().consume(1, RequestToken::new()).unwrap();
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, Arc::new(AfterChecks(AtomicUsize::new(3))))
            .with_threshold(1);
        // A 100 s wait, cancelled after two slices.
        let err = s.read(&mut [0u8; 100]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        assert!(clock.elapsed() <= 2 * WAIT_SLICE, "{:?}", clock.elapsed());
        // Nobody waits behind the cancelled stream's 100 s.
        match l.bucket().consume(1, RequestToken::new()) {
            Err(TransferError::RequestExceeded { retry_time, .. }) => {
                assert_eq!(retry_time, clock.now() + secs(1.0))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_blocking_stream_reports_request_exceeded_and_reads_on_after_waiting() {
        let (clock, l) = limiter(4);
        l.bucket().consume(1, RequestToken::new()).unwrap();
        let mut s = l
            .get_bandwidth_limited_stream(CONTENT, Arc::new(NoInterrupt))
            .with_threshold(1)
            .non_blocking();
        let mut buf = [0u8; 8];
        let err = s.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let Some(TransferError::RequestExceeded {
            requested_amt,
            retry_time,
        }) = err.get_ref().unwrap().downcast_ref::<TransferError>()
        else {
            panic!("{err:?}");
        };
        assert_eq!(*requested_amt, 8);
        assert_eq!(*retry_time, clock.now() + secs(2.0));
        // Too early: refused again without moving the schedule.
        assert_eq!(
            s.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        clock.advance(secs(2.0));
        assert_eq!(s.read(&mut buf).unwrap(), 8);
        assert_eq!(l.bucket().total_consumed(), 9);
        assert_eq!(clock.slept(), Duration::ZERO);
    }

    #[test]
    fn chunk_limiter_charges_at_the_threshold_and_on_flush() {
        let (_, l) = limiter(1 << 30);
        let c = l.get_chunk_limiter(Arc::new(NoInterrupt));
        c.consume(100 * 1024).unwrap();
        c.consume(100 * 1024).unwrap();
        assert_eq!(l.bucket().total_consumed(), 0);
        c.consume(100 * 1024).unwrap();
        assert_eq!(l.bucket().total_consumed(), 300 * 1024);
        c.consume(5).unwrap();
        c.flush().unwrap();
        assert_eq!(l.bucket().total_consumed(), 300 * 1024 + 5);
    }

    /// A fake clock that also counts how many threads are in `sleep` at once.
    struct CountingClock {
        fake: Arc<FakeClock>,
        inside: AtomicUsize,
        most: AtomicUsize,
    }

    impl Clock for CountingClock {
        fn now(&self) -> Instant {
            self.fake.now()
        }
        fn sleep(&self, d: Duration) {
            let n = self.inside.fetch_add(1, Ordering::AcqRel) + 1;
            self.most.fetch_max(n, Ordering::AcqRel);
            self.fake.sleep(d);
            // Give any other member a chance to overlap, were the turn not held.
            for _ in 0..50 {
                std::thread::yield_now();
            }
            self.inside.fetch_sub(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn a_group_has_one_member_at_the_bucket_at_a_time() {
        let clock = Arc::new(CountingClock {
            fake: FakeClock::new(),
            inside: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        });
        let l = BandwidthLimiter::new(Arc::new(LeakyBucket::with_clock(1024, clock.clone())));
        let group = Arc::new(ShareGroup::new());
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let c = l
                    .get_chunk_limiter(Arc::new(NoInterrupt))
                    .with_threshold(1)
                    .in_group(group.clone());
                std::thread::spawn(move || {
                    for _ in 0..4 {
                        c.consume(4096).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(l.bucket().total_consumed(), 12 * 4096);
        assert_eq!(clock.most.load(Ordering::Acquire), 1);
        assert!(!*group.busy.lock());
    }

    #[test]
    fn a_member_waiting_for_its_turn_sees_an_interrupt() {
        let l = BandwidthLimiter::new(Arc::new(LeakyBucket::new(1)));
        let group = Arc::new(ShareGroup::new());
        let _held = group.take_turn(&NoInterrupt).unwrap();
        let c = l
            .get_chunk_limiter(Arc::new(AtomicBool::new(true)))
            .with_threshold(1)
            .in_group(group.clone());
        assert!(c.consume(1).unwrap_err().is_cancelled());
    }

    #[test]
    fn throttled_streams_take_turns() {
        // Two streams refused at the same instant are admitted in order, each after
        // its own share: neither starves.
        let (clock, l) = limiter(100);
        l.bucket().consume(1, RequestToken::new()).unwrap();
        let a = l.get_chunk_limiter(Arc::new(NoInterrupt)).with_threshold(1);
        let b = l.get_chunk_limiter(Arc::new(NoInterrupt)).with_threshold(1);
        a.set_blocking(false);
        b.set_blocking(false);
        let at = |r: Result<(), TransferError>| match r {
            Err(TransferError::RequestExceeded { retry_time, .. }) => retry_time,
            other => panic!("{other:?}"),
        };
        let ta = at(a.consume(100));
        let tb = at(b.consume(100));
        assert_eq!(tb - ta, secs(1.0));
        clock.advance(secs(1.0));
        a.consume(0).unwrap();
        assert!(b.consume(0).is_err());
        clock.advance(secs(1.0));
        b.consume(0).unwrap();
    }
}
