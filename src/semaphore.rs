//! Counting semaphores that bound memory: a plain one for upload chunks, and a sliding
//! window that frees permits only in order, for downloads to non-seekable outputs.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// How often a blocked acquire re-checks whether its transfer was cancelled.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// A counting semaphore whose `acquire` gives up when `abandon()` turns true.
pub(crate) struct TaskSemaphore {
    /// Free permits.
    permits: Mutex<usize>,
    freed: Condvar,
}

impl TaskSemaphore {
    pub(crate) fn new(permits: usize) -> Self {
        TaskSemaphore {
            permits: Mutex::new(permits.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Take a permit, waiting for one. Returns false, without a permit, once
    /// `abandon()` is true.
    pub(crate) fn acquire(&self, abandon: &dyn Fn() -> bool) -> bool {
        let mut permits = self.permits.lock();
        loop {
            if abandon() {
                return false;
            }
            if *permits > 0 {
                *permits -= 1;
                return true;
            }
            self.freed.wait_for(&mut permits, CANCEL_POLL);
        }
    }

    pub(crate) fn release(&self) {
        *self.permits.lock() += 1;
        self.freed.notify_one();
    }
}

/// A window over sequence numbers 0, 1, 2, ...: number `n` may be acquired only while
/// `n < lowest_unreleased + size`. Releasing out of order frees nothing until the
/// lowest number is released, so a slow early part holds back the later ones and at
/// most `size` parts are ever buffered (s3transfer's `SlidingWindowSemaphore`, one per
/// transfer).
pub(crate) struct SlidingWindow {
    state: Mutex<WindowState>,
    moved: Condvar,
}

struct WindowState {
    size: u64,
    /// Everything below this number was released.
    lowest: u64,
    /// Released numbers above `lowest`, waiting for the gap to close.
    released: std::collections::BTreeSet<u64>,
}

impl SlidingWindow {
    pub(crate) fn new(size: usize) -> Self {
        SlidingWindow {
            state: Mutex::new(WindowState {
                size: size.max(1) as u64,
                lowest: 0,
                released: Default::default(),
            }),
            moved: Condvar::new(),
        }
    }

    /// Wait until `seq` fits in the window. False once `abandon()` is true.
    pub(crate) fn acquire(&self, seq: u64, abandon: &dyn Fn() -> bool) -> bool {
        let mut state = self.state.lock();
        loop {
            if abandon() {
                return false;
            }
            if seq < state.lowest + state.size {
                return true;
            }
            self.moved.wait_for(&mut state, CANCEL_POLL);
        }
    }

    /// Mark `seq` done. Only an in-order release moves the window.
    pub(crate) fn release(&self, seq: u64) {
        let mut state = self.state.lock();
        if seq < state.lowest {
            return;
        }
        state.released.insert(seq);
        let mut moved = false;
        loop {
            let lowest = state.lowest;
            if !state.released.remove(&lowest) {
                break;
            }
            state.lowest += 1;
            moved = true;
        }
        drop(state);
        if moved {
            self.moved.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::thread;

    #[test]
    fn task_semaphore_bounds_concurrency() {
        let sem = Arc::new(TaskSemaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
                thread::spawn(move || {
                    for _ in 0..200 {
                        assert!(sem.acquire(&|| false));
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        sem.release();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn a_cancelled_waiter_gives_up_without_a_permit() {
        let sem = TaskSemaphore::new(1);
        assert!(sem.acquire(&|| false));
        let cancelled = AtomicBool::new(true);
        assert!(!sem.acquire(&|| cancelled.load(Ordering::SeqCst)));
    }

    #[test]
    fn window_moves_only_on_in_order_release() {
        let w = SlidingWindow::new(2);
        assert!(w.acquire(0, &|| false));
        assert!(w.acquire(1, &|| false));
        // 2 does not fit until 0 is released; releasing 1 first frees nothing.
        w.release(1);
        assert!(!w.acquire(2, &|| true));
        w.release(0);
        assert!(w.acquire(2, &|| false));
        assert!(w.acquire(3, &|| false));
        assert!(!w.acquire(4, &|| true));
    }

    #[test]
    fn window_waiter_is_woken_by_release() {
        let w = Arc::new(SlidingWindow::new(1));
        assert!(w.acquire(0, &|| false));
        let w2 = w.clone();
        let t = thread::spawn(move || w2.acquire(1, &|| false));
        w.release(0);
        assert!(t.join().unwrap());
    }
}
