//! [`BandwidthLimitedStream`]: a `Read` wrapper whose reads are charged to a bucket.

use std::io::{self, Read};

use super::BandwidthError;
use super::limiter::ChunkLimiter;

/// A `Read` wrapper charging every read to a shared [`LeakyBucket`](super::LeakyBucket). Reads count the
/// *requested* length (as s3transfer does), charge once 256 KiB accumulate, and
/// sleep while the bucket refuses. [`BandwidthLimitedStream::close`] and drop charge
/// what is left.
///
/// Errors: an interrupt gives an `io::Error` of kind `Interrupted` wrapping
/// [`BandwidthError::Interrupted`]; in non-blocking mode a refusal gives kind
/// `WouldBlock` wrapping [`BandwidthError::RequestExceeded`] (reach it with
/// `get_ref()` and `downcast_ref`); read the same amount again after its
/// `retry_time`.
#[derive(Debug)]
pub struct BandwidthLimitedStream<R> {
    pub(super) inner: R,
    pub(super) limiter: ChunkLimiter,
}

impl<R> BandwidthLimitedStream<R> {
    /// Charge only once `threshold` bytes have been requested (default 256 KiB).
    pub fn with_threshold(mut self, threshold: u64) -> Self {
        self.limiter = self.limiter.with_threshold(threshold);
        self
    }

    /// Return [`BandwidthError::RequestExceeded`] (as `WouldBlock`) instead of
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

fn to_io(e: BandwidthError) -> io::Error {
    let kind = match e {
        BandwidthError::RequestExceeded(_) => io::ErrorKind::WouldBlock,
        BandwidthError::Interrupted => io::ErrorKind::Interrupted,
    };
    io::Error::new(kind, e)
}

#[cfg(test)]
mod tests {
    use super::super::rate::RequestToken;
    use super::super::test_support::limiter;
    use super::super::{Interrupt, NoInterrupt};
    use super::*;
    use crate::runtime::clock::Clock;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
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
        let inner = err.get_ref().unwrap().downcast_ref::<BandwidthError>();
        assert_eq!(inner, Some(&BandwidthError::Interrupted));
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
        assert!(
            clock.elapsed() <= 2 * crate::runtime::clock::POLL,
            "{:?}",
            clock.elapsed()
        );
        // Nobody waits behind the cancelled stream's 100 s.
        match l.bucket().consume(1, RequestToken::new()) {
            Err(super::super::RequestExceeded { retry_time, .. }) => {
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
        let Some(BandwidthError::RequestExceeded(super::super::RequestExceeded {
            requested_amt,
            retry_time,
        })) = err.get_ref().unwrap().downcast_ref::<BandwidthError>()
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
}
