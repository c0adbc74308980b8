//! Worker pools: named threads pulling jobs from a bounded [`ShutdownQueue`].

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};

use crossbeam_channel::{Receiver, Select, Sender};
use parking_lot::Mutex;

use crate::error::TransferError;
use crate::runtime::queue::ShutdownQueue;

thread_local! {
    /// Set on every thread of every pool: a thread that runs jobs (and the subscriber
    /// callbacks they call) must never wait on a queue or a transfer that needs
    /// worker threads to move.
    static ON_WORKER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is a worker of any pool (of any manager).
pub(crate) fn on_worker_thread() -> bool {
    ON_WORKER_THREAD.with(Cell::get)
}

/// A unit of work. Jobs handle their own errors through their transfer's coordinator.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of threads and a bounded queue in front of them.
///
/// `submit` blocks while the queue is full: that is the back-pressure that keeps a
/// fast producer from buffering without bound. `submit_continuation` never blocks; it
/// is for work that a worker thread (of any pool) hands to this pool, which must not
/// wait on this pool while this pool may be waiting on it: the follow-up step of a
/// download that learned its size (at most one per live transfer), and transfers
/// that a subscriber callback starts (as many as the callbacks start). Workers take
/// from the lane and the queue in turn.
pub(crate) struct WorkerPool {
    name: &'static str,
    queue: Arc<ShutdownQueue<Job>>,
    side_tx: Sender<Job>,
    /// The join handles, taken once at shutdown.
    threads: Mutex<Vec<JoinHandle<()>>>,
    thread_ids: Vec<ThreadId>,
}

impl WorkerPool {
    pub(crate) fn new(name: &'static str, threads: usize, queue_size: usize) -> WorkerPool {
        let queue = Arc::new(ShutdownQueue::new(queue_size));
        let (side_tx, side_rx) = crossbeam_channel::unbounded::<Job>();
        let handles: Vec<JoinHandle<()>> = (0..threads.max(1))
            .map(|i| {
                let queue = queue.clone();
                let side_rx = side_rx.clone();
                thread::Builder::new()
                    .name(format!("s3transfer-{name}-{i}"))
                    .spawn(move || {
                        ON_WORKER_THREAD.with(|on| on.set(true));
                        worker_loop(&queue, &side_rx)
                    })
                    .expect("spawning a worker thread")
            })
            .collect();
        let thread_ids = handles.iter().map(|h| h.thread().id()).collect();
        WorkerPool {
            name,
            queue,
            side_tx,
            threads: Mutex::new(handles),
            thread_ids,
        }
    }

    /// Queue `job`, blocking while the queue is full.
    pub(crate) fn submit(&self, job: Job) -> Result<(), TransferError> {
        self.queue
            .put(job, None)
            .map_err(|_| TransferError::QueueShutdown)
    }

    /// Queue `job` without ever blocking (see the type's docs for when this is allowed).
    pub(crate) fn submit_continuation(&self, job: Job) -> Result<(), TransferError> {
        // Sent under the queue's shutdown lock, as `put` sends: a job sent after the
        // workers' last drain would never run.
        self.queue
            .while_open(|| self.side_tx.send(job))
            .and_then(Result::ok)
            .ok_or(TransferError::QueueShutdown)
    }

    /// Whether the calling thread is one of this pool's workers.
    pub(crate) fn is_worker_thread(&self) -> bool {
        let me = thread::current().id();
        self.thread_ids.contains(&me)
    }

    /// Stop taking jobs, let the workers finish what is queued, and join them. From
    /// one of this pool's own workers the join is skipped (it would wait on itself);
    /// the threads still exit once the queue is drained.
    pub(crate) fn shutdown(&self) {
        self.queue.trigger_shutdown();
        if self.is_worker_thread() {
            // Leave the handles for a shutdown from outside the pool to join.
            return;
        }
        let handles = std::mem::take(&mut *self.threads.lock());
        for handle in handles {
            // A worker never panics out of its loop (jobs run under catch_unwind).
            let _ = handle.join();
        }
    }

    #[allow(dead_code)]
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(job: Job) {
    // A panicking job must not take the worker down with it; the job's own wrapper has
    // already recorded the failure on its transfer.
    let _ = catch_unwind(AssertUnwindSafe(job));
}

fn worker_loop(queue: &ShutdownQueue<Job>, side_rx: &Receiver<Job>) {
    let (rx, closed_rx) = queue.receivers();
    // The two lanes take turns: transfers that callbacks keep starting must not starve
    // the callers blocked on the bounded queue, nor the other way round.
    let mut side_first = true;
    loop {
        side_first = !side_first;
        let next = if side_first {
            side_rx.try_recv().or_else(|_| rx.try_recv())
        } else {
            rx.try_recv().or_else(|_| side_rx.try_recv())
        };
        if let Ok(job) = next {
            run(job);
            continue;
        }
        if queue.is_shutdown() {
            // Nothing can be queued after the shutdown, but something may have been
            // queued between the two tries above and it: run it, never drop it.
            while let Ok(job) = rx.try_recv().or_else(|_| side_rx.try_recv()) {
                run(job);
            }
            return;
        }
        let mut sel = Select::new();
        let side_index = sel.recv(side_rx);
        let main_index = sel.recv(rx);
        let closed_index = sel.recv(closed_rx);
        let oper = sel.select();
        match oper.index() {
            i if i == side_index => {
                if let Ok(job) = oper.recv(side_rx) {
                    run(job);
                }
            }
            i if i == main_index => {
                if let Ok(job) = oper.recv(rx) {
                    run(job);
                }
            }
            i if i == closed_index => {
                let _ = oper.recv(closed_rx);
            }
            _ => unreachable!("select returned an operation it was not given"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_every_job_and_survives_a_panicking_one() {
        let pool = WorkerPool::new("test", 3, 4);
        let count = Arc::new(AtomicUsize::new(0));
        pool.submit(Box::new(|| panic!("job bug"))).unwrap();
        for _ in 0..50 {
            let count = count.clone();
            pool.submit(Box::new(move || {
                count.fetch_add(1, Ordering::SeqCst);
            }))
            .unwrap();
        }
        let c2 = count.clone();
        pool.submit_continuation(Box::new(move || {
            c2.fetch_add(100, Ordering::SeqCst);
        }))
        .unwrap();
        pool.shutdown();
        assert_eq!(count.load(Ordering::SeqCst), 150);
    }

    #[test]
    fn submit_after_shutdown_is_refused() {
        let pool = WorkerPool::new("test", 1, 1);
        pool.shutdown();
        assert!(matches!(
            pool.submit(Box::new(|| {})),
            Err(TransferError::QueueShutdown)
        ));
    }

    #[test]
    fn shutdown_from_a_worker_thread_does_not_deadlock() {
        let pool = Arc::new(WorkerPool::new("test", 2, 2));
        let p2 = pool.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        pool.submit(Box::new(move || {
            p2.shutdown();
            tx.send(()).unwrap();
        }))
        .unwrap();
        rx.recv().unwrap();
        // The shutdown made from the worker took effect.
        assert!(matches!(
            pool.submit(Box::new(|| {})),
            Err(TransferError::QueueShutdown)
        ));
        pool.shutdown();
    }
}
