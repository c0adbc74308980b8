//! Counting semaphores that bound memory: a plain one for upload chunks, whose permits
//! are RAII guards, and a sliding window that frees permits only in order, for
//! downloads to non-seekable outputs.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::runtime::clock::POLL;

/// A counting semaphore whose `acquire` gives up when `abandon()` turns true.
///
/// Permits go to waiters in arrival order: a transfer whose planner asks again the
/// moment it gets a permit must not take every freed permit from the others (with a
/// bandwidth limit, the transfers left without parts in flight would get no share).
pub(crate) struct TaskSemaphore {
    /// Free permits and the queue of waiting tickets.
    state: Mutex<SemState>,
    freed: Condvar,
}

struct SemState {
    permits: usize,
    next_ticket: u64,
    /// Tickets of waiting acquirers, oldest first.
    waiting: std::collections::VecDeque<u64>,
}

impl TaskSemaphore {
    pub(crate) fn new(permits: usize) -> Self {
        TaskSemaphore {
            state: Mutex::new(SemState {
                permits: permits.max(1),
                next_ticket: 0,
                waiting: Default::default(),
            }),
            freed: Condvar::new(),
        }
    }

    /// Take a permit, waiting for one behind earlier waiters. `None` once `abandon()`
    /// is true. The permit goes back when the returned guard drops, however its holder
    /// ends (a job that ran, a job dropped unrun, a reader that panicked).
    pub(crate) fn acquire(self: &Arc<Self>, abandon: &dyn Fn() -> bool) -> Option<Permit> {
        self.acquire_raw(abandon).then(|| Permit {
            semaphore: self.clone(),
        })
    }

    fn acquire_raw(&self, abandon: &dyn Fn() -> bool) -> bool {
        let mut state = self.state.lock();
        if state.permits > 0 && state.waiting.is_empty() {
            state.permits -= 1;
            return true;
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(ticket);
        loop {
            if abandon() {
                state.waiting.retain(|&t| t != ticket);
                // The next in line may be able to go now.
                self.freed.notify_all();
                return false;
            }
            if state.permits > 0 && state.waiting.front() == Some(&ticket) {
                state.permits -= 1;
                state.waiting.pop_front();
                self.freed.notify_all();
                return true;
            }
            self.freed.wait_for(&mut state, POLL);
        }
    }

    fn release(&self) {
        self.state.lock().permits += 1;
        // Every waiter checks whether it is first in line.
        self.freed.notify_all();
    }
}

/// One permit of a [`TaskSemaphore`], given back when dropped.
pub(crate) struct Permit {
    semaphore: Arc<TaskSemaphore>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.semaphore.release();
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
    /// Acquirers waiting for the window to move, so that tests can tell a blocked
    /// waiter from one that has not arrived yet.
    #[cfg(test)]
    waiting: usize,
}

impl SlidingWindow {
    pub(crate) fn new(size: usize) -> Self {
        SlidingWindow {
            state: Mutex::new(WindowState {
                size: size.max(1) as u64,
                lowest: 0,
                released: Default::default(),
                #[cfg(test)]
                waiting: 0,
            }),
            moved: Condvar::new(),
        }
    }

    /// Wait until `seq` fits in the window. `None` once `abandon()` is true. The slot is
    /// released when the returned guard drops, however its holder ends.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        seq: u64,
        abandon: &dyn Fn() -> bool,
    ) -> Option<WindowSlot> {
        self.acquire_raw(seq, abandon).then(|| WindowSlot {
            window: self.clone(),
            seq,
        })
    }

    fn acquire_raw(&self, seq: u64, abandon: &dyn Fn() -> bool) -> bool {
        let mut state = self.state.lock();
        loop {
            if abandon() {
                return false;
            }
            // Saturating: `max_in_memory_download_chunks(usize::MAX)` means no bound,
            // not an overflow once the window has moved.
            if seq < state.lowest.saturating_add(state.size) {
                return true;
            }
            #[cfg(test)]
            {
                state.waiting += 1;
            }
            self.moved.wait_for(&mut state, POLL);
            #[cfg(test)]
            {
                state.waiting -= 1;
            }
        }
    }

    /// Mark `seq` done. Only an in-order release moves the window.
    fn release(&self, seq: u64) {
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

/// Sequence number `seq`'s place in a [`SlidingWindow`], released when dropped.
pub(crate) struct WindowSlot {
    window: Arc<SlidingWindow>,
    seq: u64,
}

impl Drop for WindowSlot {
    fn drop(&mut self) {
        self.window.release(self.seq);
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
                    // Miri explores interleavings of its own on every run.
                    for _ in 0..if cfg!(miri) { 20 } else { 200 } {
                        let permit = sem.acquire(&|| false).expect("permit");
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert_eq!(sem.state.lock().permits, 2);
    }

    #[test]
    fn permits_go_to_waiters_in_arrival_order() {
        let sem = Arc::new(TaskSemaphore::new(1));
        let first = sem.acquire(&|| false).expect("permit");
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..3 {
            let (s, order) = (sem.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _permit = s.acquire(&|| false).expect("permit");
                order.lock().push(i);
            }));
            // Queue them one after another.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while sem.state.lock().waiting.len() < i + 1 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "waiter {i} never queued"
                );
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock(), vec![0, 1, 2]);
    }

    #[test]
    fn a_cancelled_waiter_gives_up_without_a_permit() {
        let sem = Arc::new(TaskSemaphore::new(1));
        let _held = sem.acquire(&|| false).expect("permit");
        let cancelled = AtomicBool::new(true);
        assert!(sem.acquire(&|| cancelled.load(Ordering::SeqCst)).is_none());
        assert_eq!(sem.state.lock().permits, 0);
    }

    #[test]
    fn a_permit_comes_back_when_its_holder_panics() {
        let sem = Arc::new(TaskSemaphore::new(1));
        let s = sem.clone();
        let panicked = thread::spawn(move || {
            let _permit = s.acquire(&|| false).expect("permit");
            panic!("a reader that panics while its part is buffered");
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(sem.state.lock().permits, 1);
        assert!(sem.acquire(&|| false).is_some());
    }

    #[test]
    fn window_moves_only_on_in_order_release() {
        let w = Arc::new(SlidingWindow::new(2));
        let zero = w.acquire(0, &|| false).expect("0 fits");
        let one = w.acquire(1, &|| false).expect("1 fits");
        // 2 does not fit until 0 is released; releasing 1 first frees nothing.
        drop(one);
        assert!(w.acquire(2, &|| true).is_none());
        drop(zero);
        let _two = w
            .acquire(2, &|| false)
            .expect("2 fits once 0 and 1 are done");
        let _three = w.acquire(3, &|| false).expect("3 fits");
        assert!(w.acquire(4, &|| true).is_none());
    }

    #[test]
    fn a_slot_dropped_unused_still_moves_the_window() {
        let w = Arc::new(SlidingWindow::new(1));
        let zero = w.acquire(0, &|| false).expect("0 fits");
        // A job holding slot 0 that is dropped without running releases it.
        let job: Box<dyn FnOnce() + Send> = Box::new(move || drop(zero));
        drop(job);
        assert!(w.acquire(1, &|| false).is_some());
    }

    #[test]
    fn window_waiter_is_woken_by_release() {
        let w = Arc::new(SlidingWindow::new(1));
        let zero = w.acquire(0, &|| false).expect("0 fits");
        let w2 = w.clone();
        let t = thread::spawn(move || w2.acquire(1, &|| false).is_some());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while w.state.lock().waiting == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the waiter never blocked"
            );
            thread::yield_now();
        }
        drop(zero);
        assert!(t.join().unwrap());
    }

    #[test]
    fn a_window_of_usize_max_never_overflows_as_it_moves() {
        let window = Arc::new(SlidingWindow::new(usize::MAX));
        for seq in 0..3 {
            let slot = window.acquire(seq, &|| false).expect("always fits");
            drop(slot);
        }
        assert!(window.acquire(u64::MAX - 1, &|| false).is_some());
    }
}
