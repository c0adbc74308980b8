//! The rusoto backend's use of the shared owned runtime (`transport::runtime`): its
//! threads' name, stopping it without waiting, and `block_on` for callers of the raw
//! rusoto client.

use std::future::Future;

use super::{Inner, RusotoS3};
use crate::client::transport::runtime::{self, off_async};

/// The backend's multi-thread runtime, with `worker_threads` workers.
pub(super) fn new_runtime(worker_threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    runtime::new_runtime(worker_threads, "s3transfer-rusoto")
}

impl Drop for Inner {
    fn drop(&mut self) {
        runtime::shut_down(self.runtime.take());
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
        off_async(move || handle.block_on(future))
    }
}
