//! The tokio runtime the rusoto backend owns, and how blocking callers use it: straight
//! `block_on` from the library's worker threads, a scoped helper thread from inside
//! async code (where `block_on` would panic).

use std::future::Future;

use tokio::runtime::{Handle, Runtime};

use super::{Inner, RusotoS3};

/// The backend's multi-thread runtime, with `worker_threads` workers.
pub(super) fn new_runtime(worker_threads: usize) -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .thread_name("s3transfer-rusoto")
        .enable_all()
        .build()
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A plain drop waits for the runtime's tasks, which can hang on a stuck
        // connection, and panics when dropped inside async code.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl RusotoS3 {
    /// Run a future to completion on the backend's runtime, from any thread (also from
    /// inside async code, where it moves to a helper thread instead of panicking).
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let handle = &self.inner.handle;
        self.off_async(move || handle.block_on(future))
    }

    /// Run `f` here, or, when this thread is inside a tokio runtime (where
    /// `Handle::block_on` panics with "Cannot start a runtime from within a runtime"),
    /// on a scoped helper thread that is joined before returning.
    pub(super) fn off_async<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        off_async(f)
    }
}

/// [`RusotoS3::off_async`] for code without a backend yet (the builder).
pub(super) fn off_async<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if Handle::try_current().is_ok() {
        std::thread::scope(|s| join(s.spawn(f)))
    } else {
        f()
    }
}

/// Wait for a scoped thread, and go on with its panic if it panicked.
pub(super) fn join<R>(thread: std::thread::ScopedJoinHandle<'_, R>) -> R {
    match thread.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
