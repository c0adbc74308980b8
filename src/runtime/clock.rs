//! The one clock and the one interruptible wait: retry backoff, bandwidth waits and the
//! memory permits all sleep through here, so a cancel is seen within [`POLL`] wherever a
//! thread waits, and tests replace time instead of sleeping.

use std::time::{Duration, Instant};

/// How long any wait sleeps before checking again whether its transfer stopped: short
/// enough that a cancel feels immediate, long enough that a 20 s backoff is 2,000
/// wake-ups rather than a busy loop.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// A source of time: the real one ([`SystemClock`]) or a test's.
pub(crate) trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Instant;
    /// Block the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock: [`Instant::now`] and [`std::thread::sleep`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Sleep for `delay` on `clock` in slices of at most [`POLL`], checking `stopped` before
/// each. False as soon as it says stop; true when the whole delay passed. A delay too
/// long to represent as an instant (`Duration::MAX`) waits until stopped.
pub(crate) fn sleep_unless_stopped(
    clock: &dyn Clock,
    delay: Duration,
    stopped: &dyn Fn() -> bool,
) -> bool {
    let deadline = clock.now().checked_add(delay);
    sleep_until_unless_stopped(clock, deadline, stopped)
}

/// [`sleep_unless_stopped`] until `deadline` (`None`: until stopped).
pub(crate) fn sleep_until_unless_stopped(
    clock: &dyn Clock,
    deadline: Option<Instant>,
    stopped: &dyn Fn() -> bool,
) -> bool {
    loop {
        if stopped() {
            return false;
        }
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(clock.now()),
            None => POLL,
        };
        if left.is_zero() {
            return true;
        }
        clock.sleep(left.min(POLL));
    }
}

/// A clock for tests that moves only when slept on (or advanced), and records every
/// sleep.
#[cfg(test)]
pub(crate) struct FakeClock {
    base: Instant,
    /// Time elapsed since `base`, and the sleeps taken.
    state: parking_lot::Mutex<(Duration, Vec<Duration>)>,
}

#[cfg(test)]
impl FakeClock {
    pub(crate) fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(FakeClock {
            base: Instant::now(),
            state: parking_lot::Mutex::new((Duration::ZERO, Vec::new())),
        })
    }
    pub(crate) fn advance(&self, d: Duration) {
        self.state.lock().0 += d;
    }
    /// Time passed, by sleeps and advances.
    pub(crate) fn elapsed(&self) -> Duration {
        self.state.lock().0
    }
    /// Time spent sleeping.
    pub(crate) fn slept(&self) -> Duration {
        self.state.lock().1.iter().sum()
    }
    /// Every sleep, in order.
    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().1.clone()
    }
}

#[cfg(test)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_wait_runs_out_its_delay_in_poll_slices() {
        let clock = FakeClock::new();
        assert!(sleep_unless_stopped(
            &*clock,
            Duration::from_millis(35),
            &|| false
        ));
        assert_eq!(clock.elapsed(), Duration::from_millis(35));
        assert_eq!(clock.sleeps(), [POLL, POLL, POLL, Duration::from_millis(5)]);
    }

    #[test]
    fn a_stop_ends_the_wait_within_one_slice() {
        let clock = FakeClock::new();
        let watcher = clock.clone();
        let stop_at = Duration::from_millis(35);
        let stopped = move || watcher.elapsed() >= stop_at;
        assert!(!sleep_unless_stopped(
            &*clock,
            Duration::from_secs(20),
            &stopped
        ));
        assert!(clock.elapsed() >= stop_at && clock.elapsed() <= stop_at + POLL);
    }

    #[test]
    fn an_unrepresentable_delay_waits_until_stopped_instead_of_panicking() {
        let clock = FakeClock::new();
        let watcher = clock.clone();
        let stopped = move || watcher.elapsed() >= Duration::from_secs(1);
        assert!(!sleep_unless_stopped(&*clock, Duration::MAX, &stopped));
        assert_eq!(clock.elapsed(), Duration::from_secs(1));
    }

    #[test]
    fn the_real_clock_wakes_for_a_stop_from_another_thread() {
        // The one test on real time: a 20 s wait stopped from another thread ends
        // within a few slices, not 20 s.
        let flag = Arc::new(AtomicBool::new(false));
        let setter = flag.clone();
        let started = Instant::now();
        let t = std::thread::spawn(move || setter.store(true, Ordering::SeqCst));
        let slept = sleep_unless_stopped(&SystemClock, Duration::from_secs(20), &|| {
            flag.load(Ordering::SeqCst)
        });
        t.join().unwrap();
        assert!(!slept);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
