//! `TransferManager`: the public entry point. It validates a call on the caller's
//! thread, hands the transfer to a submission thread, and returns its future at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::args::{CopyArgs, DeleteArgs, DownloadArgs, UploadArgs};
use crate::client::{CopySource, S3Api};
use crate::config::TransferConfig;
use crate::error::TransferError;
use crate::future::{CallArgs, TransferFuture, TransferMeta};
use crate::runtime::coordinator::Coordinator;
use crate::subscriber::Subscriber;
use crate::transfer::context::TransferContext;
use crate::transfer::download::DownloadTarget;
use crate::transfer::engine::Engine;
use crate::transfer::upload::UploadSource;
use crate::transfer::{copy, delete, download, upload};

/// Runs uploads, downloads, copies and deletes on its own thread pools.
///
/// Every method returns a [`TransferFuture`] straight away (after checking its
/// arguments); the work happens on the manager's threads. When more transfers are
/// waiting than `max_submission_queue_size`, the call blocks until one is picked up:
/// a fast caller is slowed down rather than buffering without bound. A call from a
/// [`Subscriber`] callback never blocks (see [`Subscriber`] for why).
///
/// Dropping the manager cancels what is still running (as
/// [`shutdown(true, ..)`](TransferManager::shutdown) does) and joins its threads;
/// call `shutdown(false, ..)` first to let transfers finish.
pub struct TransferManager {
    engine: Arc<Engine>,
    /// Transfers not yet finished, by id: what a cancelling shutdown stops and what
    /// every shutdown waits for. Entries remove themselves when their transfer ends.
    live: Arc<Mutex<HashMap<u64, Arc<Coordinator>>>>,
    next_id: AtomicU64,
    closed: AtomicBool,
}

impl TransferManager {
    /// A manager over `client` with `config`.
    pub fn new(client: Arc<dyn S3Api>, config: TransferConfig) -> TransferManager {
        TransferManager {
            engine: Engine::new(client, config),
            live: Arc::new(Mutex::new(HashMap::new())),
            next_id: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TransferConfig {
        &self.engine.config
    }

    /// The S3 client.
    pub fn client(&self) -> &Arc<dyn S3Api> {
        &self.engine.client
    }

    /// Abort the multipart upload `request` names (its parts are deleted) under the
    /// manager's retry policy, as a transfer's own abort is sent: what `s3transfer
    /// uploads abort` and a fresh start over a kept upload use. An upload already gone
    /// is no failure.
    pub fn abort_multipart_upload(
        &self,
        request: &crate::client::AbortMultipartUploadRequest,
    ) -> Result<(), TransferError> {
        let client = self.engine.client.as_ref();
        crate::runtime::retry::with_retries(
            &self.engine.retry,
            &|| self.closed.load(Ordering::Acquire),
            &mut |_| crate::transfer::multipart::abort_once(client, request),
        )
        .map_err(|e| {
            e.into_transfer_error(|source| TransferError::S3UploadFailed {
                bucket: request.bucket.clone(),
                key: request.key.clone(),
                upload_id: Some(request.upload_id.clone()),
                source,
            })
        })
    }

    /// The engine, for the directory operations of `tree/` (its client and retry
    /// policy serve their listings).
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Upload `source` to `bucket`/`key`.
    pub fn upload(
        &self,
        source: impl Into<UploadSource>,
        bucket: &str,
        key: &str,
        mut args: UploadArgs,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        let source = source.into();
        validate_object(bucket, key)?;
        args.validate()?;
        if let UploadSource::Path(path) = &source
            && args.guess_content_type
            && args.attributes.content_type.is_none()
        {
            // As the AWS CLI: a file's name says what it holds; a stream's has no name.
            args.attributes.content_type = crate::mime::guess(path).map(str::to_owned);
        }
        let call = CallArgs {
            operation: "upload",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            other: source.describe(),
            extra_args: format!("{args:?}"),
        };
        self.submit(call, subscribers, move |ctx| {
            upload::submit(Arc::new(upload::Upload::new(ctx, args)), source);
        })
    }

    /// Continue the paused or interrupted upload `token` describes (from
    /// [`TransferFuture::pause`](crate::TransferFuture::pause) or a journal), in this
    /// process or another.
    ///
    /// Before anything recorded is trusted: the source file must be the one the token
    /// describes (size, modification time, and the CRC32C of every part already stored,
    /// read again), the store's ListParts must confirm each recorded part (its size and
    /// ETag; a part it cannot confirm is sent again), and `args` must give the same
    /// checksum settings. Then only the missing parts are sent and the upload is
    /// completed. A changed source or a vanished upload is a typed
    /// [`ResumeError`](crate::resume::ResumeError) (nothing is aborted or removed), or a
    /// fresh upload under [`IfChanged::StartOver`](crate::resume::IfChanged::StartOver).
    pub fn resume_upload(
        &self,
        token: &crate::resume::ResumeToken,
        mut args: UploadArgs,
        options: crate::resume::ResumeOptions,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        let Some(token) = token.as_upload().cloned() else {
            return Err(crate::resume::ResumeError::WrongTransfer {
                expected: "an upload".into(),
                found: token.describe(),
            }
            .into());
        };
        validate_object(&token.bucket, &token.key)?;
        args.validate()?;
        if args.guess_content_type && args.attributes.content_type.is_none() {
            args.attributes.content_type =
                crate::mime::guess(&token.source.path).map(str::to_owned);
        }
        let call = CallArgs {
            operation: "upload",
            bucket: token.bucket.clone(),
            key: token.key.clone(),
            other: format!("path {}", token.source.path.display()),
            extra_args: format!("{args:?}"),
        };
        self.submit(call, subscribers, move |ctx| {
            upload::submit_resumed(Arc::new(upload::Upload::new(ctx, args)), token, options);
        })
    }

    /// Continue the paused or interrupted download `token` describes, in this process
    /// or another.
    ///
    /// Before anything recorded is trusted: a HeadObject must show the same ETag and
    /// size (every remaining GET is then pinned to that ETag with If-Match), and each
    /// range recorded as written is read back from the temporary file and must match
    /// its CRC32C (a range that does not is fetched again). An object overwritten
    /// since is a typed [`ResumeError::ObjectChanged`](crate::resume::ResumeError::ObjectChanged)
    /// (the old temporary file is removed), or a fresh download under
    /// [`IfChanged::StartOver`](crate::resume::IfChanged::StartOver): bytes of two
    /// versions are never put together.
    pub fn resume_download(
        &self,
        token: &crate::resume::ResumeToken,
        mut args: DownloadArgs,
        options: crate::resume::ResumeOptions,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        let Some(token) = token.as_download().cloned() else {
            return Err(crate::resume::ResumeError::WrongTransfer {
                expected: "a download".into(),
                found: token.describe(),
            }
            .into());
        };
        validate_object(&token.bucket, &token.key)?;
        // Before anything is opened, written or removed at the path the token names.
        token.check_temp_path()?;
        args.validate()?;
        if args.version_id.is_none() {
            args.version_id = token.version_id.clone();
        }
        let call = CallArgs {
            operation: "download",
            bucket: token.bucket.clone(),
            key: token.key.clone(),
            other: format!("path {}", token.destination.display()),
            extra_args: format!("{args:?}"),
        };
        self.submit(call, subscribers, move |ctx| {
            download::submit_resumed(ctx, args, token, options);
        })
    }

    /// Download `bucket`/`key` into `target`.
    pub fn download(
        &self,
        bucket: &str,
        key: &str,
        target: impl Into<DownloadTarget>,
        args: DownloadArgs,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        let target = target.into();
        validate_object(bucket, key)?;
        args.validate()?;
        let call = CallArgs {
            operation: "download",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            other: target.describe(),
            extra_args: format!("{args:?}"),
        };
        self.submit(call, subscribers, move |ctx| {
            download::submit(ctx, args, target);
        })
    }

    /// Copy `source` to `bucket`/`key` inside S3 (no bytes pass through this process).
    pub fn copy(
        &self,
        source: CopySource,
        bucket: &str,
        key: &str,
        args: CopyArgs,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        validate_object(bucket, key)?;
        validate_object(&source.bucket, &source.key)?;
        args.validate()?;
        let call = CallArgs {
            operation: "copy",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            other: format!("s3://{}/{}", source.bucket, source.key),
            extra_args: format!("{args:?}"),
        };
        self.submit(call, subscribers, move |ctx| {
            copy::submit(Arc::new(copy::Copy { ctx, source, args }));
        })
    }

    /// Delete `bucket`/`key`.
    pub fn delete(
        &self,
        bucket: &str,
        key: &str,
        args: DeleteArgs,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        validate_object(bucket, key)?;
        let call = CallArgs {
            operation: "delete",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            other: String::new(),
            extra_args: format!("{args:?}"),
        };
        self.submit(call, subscribers, move |ctx| delete::submit(ctx, args))
    }

    fn submit(
        &self,
        call: CallArgs,
        subscribers: &[Arc<dyn Subscriber>],
        plan: impl FnOnce(TransferContext) + Send + 'static,
    ) -> Result<TransferFuture, TransferError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransferError::QueueShutdown);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (bucket, key) = (call.bucket.clone(), call.key.clone());
        let coordinator = Coordinator::new(TransferMeta::new(id, call), subscribers.to_vec());
        self.live.lock().insert(id, coordinator.clone());
        // Checked again after the insert: a shutdown that began meanwhile either copied
        // the live list with this transfer in it (and waits for it) or is seen here.
        if self.closed.load(Ordering::SeqCst) {
            self.live.lock().remove(&id);
            return Err(TransferError::QueueShutdown);
        }
        let live = Arc::downgrade(&self.live);
        coordinator.add_done_callback(move || {
            if let Some(live) = live.upgrade() {
                live.lock().remove(&id);
            }
        });
        let future = coordinator.future();
        let ctx = TransferContext::new(self.engine.clone(), coordinator.clone(), bucket, key);
        let job = Box::new(move || plan(ctx));
        let submitted = if crate::runtime::pool::on_worker_thread() {
            // A subscriber callback starting a transfer: its thread may be one the full
            // submission queue is waiting on (a request thread a planner is blocked
            // on), so it takes the lane that never blocks instead.
            self.engine.submission.submit_continuation(job)
        } else {
            self.engine.submission.submit(job)
        };
        if let Err(e) = submitted {
            self.live.lock().remove(&id);
            return Err(e);
        }
        Ok(future)
    }

    /// Stop taking transfers, optionally cancel the ones running, wait for all of them
    /// to end, and stop the threads. A cancelled transfer ends with
    /// [`TransferError::Cancelled`] with `fatal: true` and `message`. Later calls on the
    /// manager fail with [`TransferError::QueueShutdown`]. Safe to call twice, and
    /// from a subscriber.
    pub fn shutdown(&self, cancel: bool, message: &str) {
        self.closed.store(true, Ordering::SeqCst);
        // Copy the list out: waiting must not hold the lock the done callbacks take.
        let live: Vec<Arc<Coordinator>> = self.live.lock().values().cloned().collect();
        if cancel {
            for coordinator in &live {
                coordinator.cancel(message.to_owned(), true);
            }
        }
        let engine = self.engine.clone();
        let wait_and_stop = move || {
            for coordinator in &live {
                let _ = coordinator.wait(None);
            }
            engine.shutdown_pools();
        };
        if self.engine.on_worker_thread() {
            // Called from a callback on one of our own threads: waiting here could wait
            // on this very thread (the single io thread, say). Finish on a fresh one.
            let _ = std::thread::Builder::new()
                .name("s3transfer-shutdown".into())
                .spawn(wait_and_stop);
        } else {
            wait_and_stop();
        }
    }
}

impl Drop for TransferManager {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::Acquire) || !self.live.lock().is_empty() {
            self.shutdown(true, "the TransferManager was dropped");
        } else {
            self.engine.shutdown_pools();
        }
    }
}

impl std::fmt::Debug for TransferManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferManager")
            .field("config", &self.engine.config)
            .field("live_transfers", &self.live.lock().len())
            .finish()
    }
}

fn validate_object(bucket: &str, key: &str) -> Result<(), TransferError> {
    if bucket.is_empty() {
        return Err(TransferError::InvalidArgument(
            "the bucket name is empty".into(),
        ));
    }
    if key.is_empty() {
        return Err(TransferError::InvalidArgument("the key is empty".into()));
    }
    if bucket.starts_with("arn:") && bucket.contains(":s3-object-lambda:") {
        return Err(TransferError::InvalidArgument(
            "S3 Object Lambda access points cannot be used for transfers; call the client directly"
                .into(),
        ));
    }
    Ok(())
}
