//! What every job of one transfer shares (the engine, the coordinator, the object), and
//! the one way a transfer begins its work and submits its jobs.

use std::sync::Arc;

use crate::client::S3Error;
use crate::error::TransferError;
use crate::runtime::coordinator::Coordinator;
use crate::runtime::pool::WorkerPool;
use crate::runtime::retry::with_retries;
use crate::runtime::work_group::{WorkGroup, WorkGuard, run_job};
use crate::transfer::engine::Engine;

/// One transfer's fixed facts: the engine it runs on, its coordinator, and the object it
/// writes (upload, copy, delete) or reads (download).
pub(crate) struct TransferContext {
    pub(crate) engine: Arc<Engine>,
    pub(crate) coordinator: Arc<Coordinator>,
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl TransferContext {
    pub(crate) fn new(
        engine: Arc<Engine>,
        coordinator: Arc<Coordinator>,
        bucket: String,
        key: String,
    ) -> TransferContext {
        TransferContext {
            engine,
            coordinator,
            bucket,
            key,
        }
    }

    /// Begin the transfer on its submission thread: move it to `Running` (running
    /// `on_queued`) and return the root guard of its work group. When the root and every
    /// guard made from it have dropped, `finish` runs (Complete, the rename), then the
    /// transfer is announced done. `None` when the transfer was stopped before it began;
    /// it is then announced done at once.
    pub(crate) fn begin(&self, finish: impl FnOnce() + Send + 'static) -> Option<WorkGuard> {
        let coordinator = self.coordinator.clone();
        let id = self.coordinator.meta.transfer_id();
        let operation = self.coordinator.meta.call_args().operation;
        tracing::debug!(transfer = id, operation, bucket = %self.bucket, key = %self.key, "transfer started");
        let root = WorkGroup::start(move || {
            finish();
            tracing::debug!(
                transfer = id,
                operation,
                status = ?coordinator.status(),
                bytes = coordinator.bytes_transferred(),
                "transfer finished"
            );
            coordinator.announce_done();
        });
        self.coordinator.start().ok().map(|()| root)
    }

    /// Submit `job` to the request pool as one more job of this transfer (see
    /// [`TransferContext::submit_to`]).
    pub(crate) fn submit(
        &self,
        root: &WorkGuard,
        job: impl FnOnce(&WorkGuard) + Send + 'static,
    ) -> Result<(), TransferError> {
        self.submit_to(&self.engine.request, root, job)
    }

    /// Submit `job` to `pool` holding a guard of the transfer's work group: it is
    /// skipped if the transfer stopped before its turn, a panic in it fails the
    /// transfer, and the transfer cannot finish before it has run or been dropped.
    pub(crate) fn submit_to(
        &self,
        pool: &WorkerPool,
        root: &WorkGuard,
        job: impl FnOnce(&WorkGuard) + Send + 'static,
    ) -> Result<(), TransferError> {
        let (coordinator, guard) = (self.coordinator.clone(), root.hold());
        pool.submit(Box::new(move || run_job(&coordinator, guard, job)))
    }

    /// Submit `job` to the submission pool's continuation lane, which never blocks (see
    /// [`WorkerPool::submit_continuation`]): for planning that a request thread hands
    /// back, as a request thread must not wait on the request queue it feeds.
    pub(crate) fn submit_continuation(
        &self,
        guard: &WorkGuard,
        job: impl FnOnce(&WorkGuard) + Send + 'static,
    ) -> Result<(), TransferError> {
        let (coordinator, guard) = (self.coordinator.clone(), guard.hold());
        self.engine
            .submission
            .submit_continuation(Box::new(move || run_job(&coordinator, guard, job)))
    }

    /// Make one S3 call for this transfer under the manager's retry policy. `call`
    /// gets the attempt number (rewind a request body on attempts after the first);
    /// `wrap` turns the final S3 error into the transfer's error, unless retries gave
    /// up, which is [`TransferError::RetriesExceeded`]. Every attempt after the first
    /// counts in the transfer's `retries`.
    pub(crate) fn call<T>(
        &self,
        mut call: impl FnMut(u32) -> Result<T, S3Error>,
        wrap: impl FnOnce(S3Error) -> TransferError,
    ) -> Result<T, TransferError> {
        let coordinator = &self.coordinator;
        let mut counted = |attempt: u32| {
            if attempt > 1 {
                coordinator.note_retry();
            }
            call(attempt)
        };
        with_retries(
            &self.engine.retry,
            &|| coordinator.is_stopped(),
            &mut counted,
        )
        .map_err(|e| e.into_transfer_error(wrap))
    }

    /// Record the outcome of a job that ends the transfer's work or fails it.
    pub(crate) fn settle<T>(&self, outcome: Result<T, TransferError>, then: impl FnOnce(T)) {
        match outcome {
            Ok(value) => then(value),
            Err(e) => self.coordinator.fail(e),
        }
    }
}
