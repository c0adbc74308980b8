//! Bandwidth limiting: a leaky bucket shared by every upload and download of a
//! manager, and the throttled stream and chunk forms that draw from it. A port of
//! s3transfer's `bandwidth.py`, algorithm for algorithm.
//!
//! * [`LeakyBucket`] grants bytes at up to `max_rate` bytes per second. It admits a
//!   request when the projected rate (an exponential moving average) stays at or below
//!   the limit; otherwise it schedules the request and refuses it with
//!   [`RequestExceeded`] naming when to come back. Waits are cumulative, so refused
//!   callers form a FIFO and none starves; a caller that comes back with its scheduled
//!   token is admitted unconditionally.
//! * [`BandwidthLimiter`] hands out [`BandwidthLimitedStream`]s (a `Read` wrapper) and,
//!   inside the crate, chunk limiters for the engine's bodies. Both charge the bucket once 256 KiB have been
//!   seen, wait (in short slices, so an [`Interrupt`] is seen at once) and retry with
//!   the same token.
//!
//! Time comes from the runtime's clock, so the algorithm is tested without real sleeping.

mod bucket;
mod limiter;
mod rate;
mod stream;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::future::TransferFuture;

pub use bucket::LeakyBucket;
pub use limiter::BandwidthLimiter;
pub(crate) use limiter::{ChunkLimiter, ShareGroup};
pub use stream::BandwidthLimitedStream;

/// Bytes a stream or chunk limiter accumulates before it charges the bucket: 256 KiB,
/// s3transfer's threshold. Smaller reads are charged together (or when flushed).
pub(crate) const BYTES_THRESHOLD: u64 = 256 * 1024;

/// A bucket could not grant `requested_amt` bytes now; come back at `retry_time`
/// (s3transfer's `RequestExceededException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bandwidth exceeded: {requested_amt} bytes requested")]
pub struct RequestExceeded {
    /// Bytes asked for.
    pub requested_amt: u64,
    /// When the request will be granted.
    pub retry_time: Instant,
}

/// Why a limited stream could not move its bytes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BandwidthError {
    /// A non-blocking stream was refused: read the same amount again after its
    /// `retry_time`.
    #[error(transparent)]
    RequestExceeded(#[from] RequestExceeded),
    /// The stream's [`Interrupt`] fired while it waited for the bucket.
    #[error("interrupted while waiting for bandwidth")]
    Interrupted,
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

/// Buckets and limiters on a fake clock, for the tests of every file here.
#[cfg(test)]
mod test_support {
    use std::sync::Arc;

    use super::{BandwidthLimiter, LeakyBucket};
    use crate::runtime::clock::FakeClock;

    pub(super) fn bucket(max_rate: u64) -> (Arc<FakeClock>, LeakyBucket) {
        let clock = FakeClock::new();
        let b = LeakyBucket::with_clock(max_rate, clock.clone());
        (clock, b)
    }

    pub(super) fn limiter(max_rate: u64) -> (Arc<FakeClock>, BandwidthLimiter) {
        let (clock, b) = bucket(max_rate);
        (clock, BandwidthLimiter::new(Arc::new(b)))
    }
}
