//! The engine a manager runs on: the client, the config, the three pools, and the
//! shared memory and bandwidth bounds. Every job of every transfer holds an `Arc` of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::runtime::bandwidth::{BandwidthLimiter, ChunkLimiter, LeakyBucket};

use crate::client::{BodyObserver, S3Api, S3Error, stopped_by_caller};
use crate::config::TransferConfig;
use crate::runtime::coordinator::Coordinator;
use crate::runtime::permits::TaskSemaphore;
use crate::runtime::pool::WorkerPool;
use crate::runtime::retry::RetryPolicy;

pub(crate) struct Engine {
    pub(crate) client: Arc<dyn S3Api>,
    pub(crate) config: TransferConfig,
    /// Plans transfers: stat, first GET, CreateMultipartUpload, reading streams.
    pub(crate) submission: WorkerPool,
    /// Makes the data-carrying S3 requests.
    pub(crate) request: WorkerPool,
    /// Writes downloaded bytes to seekable writers and streams, in order per output
    /// (files are written by the request threads).
    pub(crate) io: WorkerPool,
    /// Upload parts buffered in memory, across all transfers of the manager.
    pub(crate) upload_chunks: Arc<TaskSemaphore>,
    /// Attempts, backoff and the retry quota shared by every request of the manager.
    pub(crate) retry: RetryPolicy,
    /// The one bucket every upload and download body of the manager draws from, when
    /// `max_bandwidth` is set.
    pub(crate) bandwidth: Option<BandwidthLimiter>,
}

impl Engine {
    pub(crate) fn new(client: Arc<dyn S3Api>, config: TransferConfig) -> Arc<Engine> {
        Arc::new(Engine {
            submission: WorkerPool::new(
                "submit",
                config.max_submission_concurrency,
                config.max_submission_queue_size,
            ),
            request: WorkerPool::new(
                "request",
                config.max_request_concurrency,
                config.max_request_queue_size,
            ),
            // One writer thread, as in s3transfer: writes to a caller's writer or stream
            // must stay in order and never overlap.
            io: WorkerPool::new("io", 1, config.max_io_queue_size),
            upload_chunks: Arc::new(TaskSemaphore::new(config.max_in_memory_upload_chunks)),
            retry: RetryPolicy::new(config.retry.clone()),
            bandwidth: config
                .max_bandwidth
                .map(|rate| BandwidthLimiter::new(Arc::new(LeakyBucket::new(rate)))),
            client,
            config,
        })
    }

    /// Whether the calling thread belongs to one of the pools.
    pub(crate) fn on_worker_thread(&self) -> bool {
        self.submission.is_worker_thread()
            || self.request.is_worker_thread()
            || self.io.is_worker_thread()
    }

    /// A limiter for one body of the transfer `coordinator`, if bandwidth is limited.
    /// Its waits end as soon as the transfer stops, and it takes turns with the
    /// transfer's other bodies, so transfers share the bucket evenly.
    pub(crate) fn chunk_limiter(&self, coordinator: &Arc<Coordinator>) -> Option<ChunkLimiter> {
        self.bandwidth.as_ref().map(|limiter| {
            limiter
                .get_chunk_limiter(coordinator.clone())
                .in_group(coordinator.bandwidth_share.clone())
        })
    }

    pub(crate) fn shutdown_pools(&self) {
        self.submission.shutdown();
        self.request.shutdown();
        self.io.shutdown();
    }
}

/// Connects a request body to its transfer: every chunk is charged to the bandwidth
/// bucket (blocking this worker thread while it refuses) and counts as progress, and a
/// stopped transfer stops the body at its next chunk or mid-wait.
pub(crate) struct TransferObserver {
    pub(crate) coordinator: Arc<Coordinator>,
    pub(crate) operation: &'static str,
    /// The body's limiter: one token for the body's life, as s3transfer has one per
    /// stream. `None` when bandwidth is unlimited.
    pub(crate) throttle: Option<ChunkLimiter>,
    /// The body's length, and how much of it has been handed out: the last chunk also
    /// charges any remainder below the threshold, on this worker thread, rather than
    /// leaving it to a drop that may run on a transport thread.
    pub(crate) body_len: u64,
    pub(crate) handed_out: AtomicU64,
}

impl TransferObserver {
    pub(crate) fn new(
        engine: &Engine,
        coordinator: &Arc<Coordinator>,
        operation: &'static str,
        body_len: u64,
    ) -> Self {
        TransferObserver {
            coordinator: coordinator.clone(),
            operation,
            throttle: engine.chunk_limiter(coordinator),
            body_len,
            handed_out: AtomicU64::new(0),
        }
    }
}

impl BodyObserver for TransferObserver {
    fn on_chunk(&self, len: usize) -> Result<(), S3Error> {
        if self.coordinator.is_stopped() {
            return Err(stopped_by_caller(self.operation));
        }
        if let Some(throttle) = &self.throttle {
            let sent = self.handed_out.fetch_add(len as u64, Ordering::AcqRel) + len as u64;
            let charged = throttle.consume(len as u64).and_then(|()| {
                if sent >= self.body_len {
                    throttle.flush()
                } else {
                    Ok(())
                }
            });
            // The only refusal a blocking limiter returns is the transfer stopping.
            if charged.is_err() {
                return Err(stopped_by_caller(self.operation));
            }
        }
        self.coordinator.progress(len as i64);
        Ok(())
    }

    fn on_rewind(&self, len: usize) {
        // Replayed bytes are charged again: they cross the wire again.
        self.handed_out.fetch_sub(len as u64, Ordering::AcqRel);
        self.coordinator.progress(-(len as i64));
    }
}
