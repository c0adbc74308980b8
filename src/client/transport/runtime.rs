//! The tokio runtime an HTTP backend owns, and how blocking callers use it: straight
//! `block_on` from the library's worker threads, a scoped helper thread from inside
//! async code (where `block_on` would panic).

use tokio::runtime::{Handle, Runtime};

/// A backend's multi-thread runtime, with `worker_threads` workers named `thread_name`.
pub(crate) fn new_runtime(worker_threads: usize, thread_name: &str) -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .thread_name(thread_name)
        .enable_all()
        .build()
}

/// Stop a backend's runtime without waiting: a plain drop waits for the runtime's
/// tasks, which can hang on a stuck connection, and panics when dropped inside async
/// code.
pub(crate) fn shut_down(runtime: Option<Runtime>) {
    if let Some(runtime) = runtime {
        runtime.shutdown_background();
    }
}

/// Run `f` here, or, when this thread is inside a tokio runtime (where
/// `Handle::block_on` panics with "Cannot start a runtime from within a runtime"), on a
/// scoped helper thread that is joined before returning.
pub(crate) fn off_async<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if Handle::try_current().is_ok() {
        std::thread::scope(|s| join(s.spawn(f)))
    } else {
        f()
    }
}

/// Wait for a scoped thread, and go on with its panic if it panicked.
pub(crate) fn join<R>(thread: std::thread::ScopedJoinHandle<'_, R>) -> R {
    match thread.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A backend's runtime while the backend is being set up: if the setup fails, it is
/// stopped without waiting when this is dropped (a plain drop panics inside async code,
/// where a builder may be called); [`keep`](Self::keep) hands it over once the backend
/// owns it.
pub(crate) struct RuntimeInSetup(Option<Runtime>);

impl RuntimeInSetup {
    pub(crate) fn new(runtime: Runtime) -> Self {
        RuntimeInSetup(Some(runtime))
    }

    /// The runtime's handle, to resolve the setup on it.
    pub(crate) fn handle(&self) -> Handle {
        match &self.0 {
            Some(runtime) => runtime.handle().clone(),
            None => unreachable!("a RuntimeInSetup holds its runtime until kept"),
        }
    }

    /// The runtime, for the backend that now owns it.
    pub(crate) fn keep(mut self) -> Runtime {
        match self.0.take() {
            Some(runtime) => runtime,
            None => unreachable!("a RuntimeInSetup is kept once"),
        }
    }
}

impl Drop for RuntimeInSetup {
    fn drop(&mut self) {
        shut_down(self.0.take());
    }
}
