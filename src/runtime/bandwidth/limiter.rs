//! [`BandwidthLimiter`] and the per-stream [`ChunkLimiter`] it hands out, and the
//! [`ShareGroup`] that makes a transfer's streams take turns at the bucket.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::bucket::LeakyBucket;
use super::rate::RequestToken;
use super::stream::BandwidthLimitedStream;
use super::{BYTES_THRESHOLD, BandwidthError, Interrupt, RequestExceeded};
use crate::runtime::clock::{self, POLL};

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
    pub(crate) fn get_chunk_limiter(&self, interrupt: Arc<dyn Interrupt>) -> ChunkLimiter {
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
pub(crate) struct ShareGroup {
    /// Whether a member is at the bucket now.
    busy: Mutex<bool>,
    turn_free: Condvar,
}

impl ShareGroup {
    /// A new, empty group.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        ShareGroup::default()
    }

    /// Wait for the turn, giving up when `interrupt` fires.
    fn take_turn(&self, interrupt: &dyn Interrupt) -> Option<Turn<'_>> {
        let mut busy = self.busy.lock();
        while *busy {
            if interrupt.is_interrupted() {
                return None;
            }
            self.turn_free.wait_for(&mut busy, POLL);
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
pub(crate) struct ChunkLimiter {
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
    pub(crate) fn with_threshold(mut self, threshold: u64) -> Self {
        self.threshold = threshold.max(1);
        self
    }

    /// Take turns at the bucket with the other members of `group` (see
    /// [`ShareGroup`]).
    pub(crate) fn in_group(mut self, group: Arc<ShareGroup>) -> Self {
        self.group = Some(group);
        self
    }

    /// In non-blocking mode a refused charge returns
    /// [`RequestExceeded`] instead of sleeping; announce the same bytes
    /// again after its `retry_time` and they are admitted.
    pub(crate) fn set_blocking(&self, blocking: bool) {
        self.blocking.store(blocking, Ordering::Release);
    }

    /// Turn limiting on (the default).
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    /// Turn limiting off: bytes pass uncounted until [`ChunkLimiter::enable`].
    pub(crate) fn disable(&self) {
        self.enabled.store(false, Ordering::Release);
    }

    /// Whether limiting is on.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Announce `amt` bytes about to be moved; returns once they may be. Blocks while
    /// the bucket refuses (unless non-blocking), and fails if the interrupt fires.
    pub(crate) fn consume(&self, amt: u64) -> Result<(), BandwidthError> {
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
    pub(crate) fn flush(&self) -> Result<(), BandwidthError> {
        if self.is_enabled() && self.bytes_seen.load(Ordering::Acquire) > 0 {
            return self.consume_through_bucket();
        }
        Ok(())
    }

    fn consume_through_bucket(&self) -> Result<(), BandwidthError> {
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
        loop {
            if self.interrupt.is_interrupted() {
                return Err(self.interrupted());
            }
            if let Some(at) = *self.retry_at.lock()
                && self.bucket.clock().now() < at
            {
                return Err(RequestExceeded {
                    requested_amt: amt,
                    retry_time: at,
                }
                .into());
            }
            match self.bucket.consume(amt, self.token) {
                Ok(_) => {
                    self.bytes_seen.store(0, Ordering::Release);
                    *self.retry_at.lock() = None;
                    return Ok(());
                }
                Err(refused) => {
                    if !self.blocking.load(Ordering::Acquire) {
                        *self.retry_at.lock() = Some(refused.retry_time);
                        return Err(refused.into());
                    }
                    let interrupt = &*self.interrupt;
                    tracing::trace!(
                        bytes = refused.requested_amt,
                        wait_ms = refused
                            .retry_time
                            .saturating_duration_since(self.bucket.clock().now())
                            .as_millis() as u64,
                        "bandwidth limit: waiting"
                    );
                    if !clock::sleep_until_unless_stopped(
                        &**self.bucket.clock(),
                        Some(refused.retry_time),
                        &|| interrupt.is_interrupted(),
                    ) {
                        return Err(self.interrupted());
                    }
                }
            }
        }
    }

    fn interrupted(&self) -> BandwidthError {
        // The slot this stream was scheduled will not be used: free it for the rest.
        self.bucket.withdraw(self.token);
        *self.retry_at.lock() = None;
        BandwidthError::Interrupted
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

#[cfg(test)]
mod tests {
    use super::super::NoInterrupt;
    use super::super::test_support::limiter;
    use super::*;
    use crate::runtime::clock::Clock;
    use crate::runtime::clock::FakeClock;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
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
        assert_eq!(c.consume(1).unwrap_err(), BandwidthError::Interrupted);
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
        let at = |r: Result<(), BandwidthError>| match r {
            Err(BandwidthError::RequestExceeded(RequestExceeded { retry_time, .. })) => retry_time,
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
