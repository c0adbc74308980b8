//! The work counter of a transfer (`WorkGroup`): which job is its last, so that the
//! transfer is finished (Complete, the rename) and announced exactly once, however it
//! ends; and `run_job`, the one way a job of a transfer runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use parking_lot::Mutex;

use crate::error::TransferError;
use crate::runtime::coordinator::{Coordinator, panic_message};

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Counts the outstanding jobs of one transfer and runs its finalizer when the last
/// one ends. The creator holds the first guard while it plans, so the count cannot
/// reach zero before every job has been submitted.
pub(crate) struct WorkGroup {
    pending: AtomicUsize,
    /// Taken once, by the guard that brings `pending` to zero.
    finalizer: Mutex<Option<Callback>>,
}

pub(crate) struct WorkGuard {
    group: Arc<WorkGroup>,
}

impl WorkGroup {
    /// A group whose `finalizer` runs when the returned guard and every guard made from
    /// it have dropped.
    pub(crate) fn start(finalizer: impl FnOnce() + Send + 'static) -> WorkGuard {
        WorkGuard {
            group: Arc::new(WorkGroup {
                pending: AtomicUsize::new(1),
                finalizer: Mutex::new(Some(Box::new(finalizer))),
            }),
        }
    }
}

impl WorkGuard {
    /// Another guard on the same group, for a job about to be submitted.
    pub(crate) fn hold(&self) -> WorkGuard {
        self.group.pending.fetch_add(1, Ordering::AcqRel);
        WorkGuard {
            group: self.group.clone(),
        }
    }
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if self.group.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let Some(finalizer) = self.group.finalizer.lock().take() else {
            return;
        };
        if thread::panicking() {
            // A panic inside the finalizer now would abort the process: finish the
            // transfer on a fresh thread instead.
            let _ = thread::Builder::new()
                .name("s3transfer-finalizer".into())
                .spawn(move || {
                    let _ = catch_unwind(AssertUnwindSafe(finalizer));
                });
        } else {
            let _ = catch_unwind(AssertUnwindSafe(finalizer));
        }
    }
}

/// Run one job of a transfer: skip it if the transfer already stopped, record a panic
/// as an internal error, and release `guard` afterwards (never during unwinding).
pub(crate) fn run_job(coordinator: &Coordinator, guard: WorkGuard, job: impl FnOnce(&WorkGuard)) {
    // A pausing transfer starts no new job either: its token records what finished.
    if coordinator.accepts_work()
        && let Err(panic) = catch_unwind(AssertUnwindSafe(|| job(&guard)))
    {
        coordinator.fail(TransferError::Internal(format!(
            "a worker panicked: {}",
            panic_message(&panic)
        )));
    }
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_group_finalizes_once_after_the_last_guard() {
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let root = WorkGroup::start(move || {
            f.fetch_add(1, Ordering::SeqCst);
        });
        let guards: Vec<_> = (0..10).map(|_| root.hold()).collect();
        let threads: Vec<_> = guards
            .into_iter()
            .map(|g| thread::spawn(move || drop(g)))
            .collect();
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        drop(root);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(fired.load(Ordering::SeqCst), 1);
    }
}
