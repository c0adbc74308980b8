//! `TransferFuture`, what a caller holds for a transfer, and `TransferMeta`, what is
//! known about it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::client::ChecksumAlgorithm;
use crate::error::TransferError;
use crate::runtime::coordinator::Coordinator;

/// What a finished transfer had checked end to end by a checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Validation {
    /// Nothing: the backend has no checksums, they were switched off, the object has
    /// none, or the stored one could not be compared (for a download, a full-object SHA
    /// of an object fetched in more than one range).
    #[default]
    Nothing,
    /// The whole object: a single PutObject's body, a multipart upload's full-object
    /// CRC, or a download's bytes against the stored full-object checksum (the ranges'
    /// CRCs combined).
    WholeObject(ChecksumAlgorithm),
    /// Each part on its own: a multipart upload whose algorithm cannot be combined, or
    /// whose caller chose `COMPOSITE`; or a download of an object with a composite
    /// stored checksum, fetched part by part, each part's bytes against its stored
    /// checksum and those against the object's composite value.
    PerPart(ChecksumAlgorithm),
    /// The whole object against its ETag, which for a single-part object stored
    /// without a KMS or customer key is the MD5 of its bytes (a download with no stored
    /// checksum: hashed as it passes when it comes in one GET; otherwise as a stream
    /// output writes it in order, or read back from the finished temporary file; never
    /// for a caller's seekable writer, which can be neither).
    Etag,
}

/// Where a transfer is in its life. The last three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferStatus {
    /// Accepted by the manager, not yet picked up by a submission thread.
    NotStarted,
    /// Picked up; `on_queued` subscribers are running.
    Queued,
    /// Requests are being made.
    Running,
    /// Finished successfully.
    Success,
    /// Finished with an error.
    Failed,
    /// Cancelled by the caller or by a shutdown.
    Cancelled,
}

impl TransferStatus {
    /// Whether the status is final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TransferStatus::Success | TransferStatus::Failed | TransferStatus::Cancelled
        )
    }
}

/// What a successful transfer produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferOutput {
    /// Bytes moved (the object's size for uploads, downloads and copies; 0 for a
    /// delete).
    pub bytes: u64,
    /// ETag of the object written (upload, copy) or read (download).
    pub etag: Option<String>,
    /// Version id, where the bucket is versioned.
    pub version_id: Option<String>,
    /// Requests that carried data: parts of a multipart upload or copy, ranged GETs of
    /// a download; 1 for single-request transfers.
    pub parts: u32,
    /// What a checksum verified end to end (always `Nothing` for copies and deletes).
    pub validated: crate::future::Validation,
    /// Requests sent again after a retryable failure: S3 calls retried under the retry
    /// policy, and download bodies resumed after they broke off.
    pub retries: u32,
}

/// The operation and arguments a transfer was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallArgs {
    /// `"upload"`, `"download"`, `"copy"` or `"delete"`.
    pub operation: &'static str,
    /// Bucket written to (upload, copy) or read from (download), or deleted from.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The local side or the copy source, described (`"path /tmp/x"`, `"stream"`,
    /// `"s3://b/k"`).
    pub other: String,
    /// The extra arguments, as `Debug` text.
    pub extra_args: String,
}

/// What is known about a transfer: its arguments, id, size and ETag, and a free
/// context for the caller.
pub struct TransferMeta {
    transfer_id: u64,
    call_args: CallArgs,
    /// Size and ETag, learned during the transfer or provided by a subscriber.
    known: Mutex<Known>,
    user_context: Mutex<BTreeMap<String, String>>,
}

#[derive(Default)]
struct Known {
    size: Option<u64>,
    etag: Option<String>,
}

impl TransferMeta {
    pub(crate) fn new(transfer_id: u64, call_args: CallArgs) -> Self {
        TransferMeta {
            transfer_id,
            call_args,
            known: Mutex::new(Known::default()),
            user_context: Mutex::new(BTreeMap::new()),
        }
    }

    /// The manager-unique id of the transfer (0, 1, 2, ... per manager).
    pub fn transfer_id(&self) -> u64 {
        self.transfer_id
    }

    /// The arguments the transfer was started with.
    pub fn call_args(&self) -> &CallArgs {
        &self.call_args
    }

    /// The size in bytes, once known.
    pub fn size(&self) -> Option<u64> {
        self.known.lock().size
    }

    /// The object's ETag, once known.
    pub fn etag(&self) -> Option<String> {
        self.known.lock().etag.clone()
    }

    /// Tell the transfer its size, so it need not find out (call from `on_queued`).
    /// For a stream upload this also lets the part size grow to fit S3's 10,000 parts.
    pub fn provide_transfer_size(&self, size: u64) {
        self.known.lock().size = Some(size);
    }

    /// Tell a download or copy the ETag the object must have; every request is then
    /// pinned to it.
    pub fn provide_object_etag(&self, etag: impl Into<String>) {
        self.known.lock().etag = Some(etag.into());
    }

    /// Read a caller-defined value.
    pub fn user_context(&self, key: &str) -> Option<String> {
        self.user_context.lock().get(key).cloned()
    }

    /// Store a caller-defined value with the transfer.
    pub fn set_user_context(&self, key: impl Into<String>, value: impl Into<String>) {
        self.user_context.lock().insert(key.into(), value.into());
    }
}

impl fmt::Debug for TransferMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransferMeta")
            .field("transfer_id", &self.transfer_id)
            .field("call_args", &self.call_args)
            .field("size", &self.size())
            .field("etag", &self.etag())
            .finish()
    }
}

/// A handle on a running transfer: wait for it, look at it, or cancel it.
///
/// Cheap to clone; every clone sees the same transfer.
#[derive(Clone)]
pub struct TransferFuture {
    pub(crate) coordinator: Arc<Coordinator>,
}

impl TransferFuture {
    /// Wait for the transfer to finish and return its outcome.
    ///
    /// Inside a [`crate::Subscriber`] callback (on one of the library's worker threads)
    /// it never waits: it returns the outcome of a finished transfer, or of the
    /// transfer whose `on_done` is running, and fails at once with
    /// [`TransferError::WaitInCallback`] for a transfer still running, which may need
    /// that very thread.
    pub fn result(&self) -> Result<TransferOutput, TransferError> {
        self.coordinator.wait(None)
    }

    /// Wait up to `timeout`; [`TransferError::TransferNotDone`] if it is still running.
    /// Inside a callback, as [`result`](TransferFuture::result): never waits.
    pub fn result_timeout(&self, timeout: Duration) -> Result<TransferOutput, TransferError> {
        self.coordinator.wait(Some(timeout))
    }

    /// Whether the transfer has finished (and `result` will not block).
    pub fn done(&self) -> bool {
        self.coordinator.is_finished()
    }

    /// Cancel the transfer. Work in flight stops at its next body chunk; a multipart
    /// upload is aborted and a partial download removed. No effect on a finished
    /// transfer. A request without a body to interrupt (a CopyObject, a DeleteObject)
    /// runs to its end; if it, or the last step of a transfer (CompleteMultipartUpload,
    /// the rename of a download), succeeds after the cancel, the transfer reports
    /// success: the object or file exists, and saying "cancelled" would be false.
    pub fn cancel(&self) {
        self.coordinator.cancel(String::new(), false);
    }

    /// Pause the transfer and return its resume token, once it has stopped.
    ///
    /// No new part or range starts; those already sending finish (so the token counts
    /// whole parts only); then the transfer ends with [`TransferError::Paused`]
    /// *without* aborting its multipart upload or removing its temporary file. Hand the
    /// token (or its JSON form, in another process) to
    /// [`crate::TransferManager::resume_upload`] or
    /// [`crate::TransferManager::resume_download`] to continue. An upload left paused
    /// keeps its parts stored, and billed, until resumed or aborted.
    ///
    /// Only a multipart upload of a file and a download to a file can be paused, once
    /// under way; anything else is [`crate::resume::ResumeError::NotResumable`] and keeps
    /// running. A transfer that finished meanwhile is
    /// [`crate::resume::ResumeError::AlreadyFinished`] (its outcome is in
    /// [`result`](TransferFuture::result)); one that failed returns that failure.
    /// Waits like [`result`](TransferFuture::result), so inside a callback use
    /// [`request_pause`](TransferFuture::request_pause).
    pub fn pause(&self) -> Result<crate::resume::ResumeToken, TransferError> {
        self.request_pause()?;
        match self.coordinator.wait(None) {
            Err(TransferError::Paused) => self
                .coordinator
                .paused_token()
                .ok_or_else(|| TransferError::Internal("a paused transfer without a token".into())),
            Err(e) => Err(e),
            Ok(_) => Err(crate::resume::ResumeError::AlreadyFinished.into()),
        }
    }

    /// Ask the transfer to pause without waiting (see [`pause`](TransferFuture::pause));
    /// its result is then [`TransferError::Paused`] and its token
    /// [`resume_token`](TransferFuture::resume_token).
    pub fn request_pause(&self) -> Result<(), TransferError> {
        Ok(self.coordinator.request_pause()?)
    }

    /// The token of a transfer that ended paused.
    pub fn resume_token(&self) -> Option<crate::resume::ResumeToken> {
        self.coordinator.paused_token()
    }

    /// Cancel with a message that the result's [`TransferError::Cancelled`] carries.
    pub fn cancel_with_message(&self, message: impl Into<String>) {
        self.coordinator.cancel(message.into(), false);
    }

    /// The current status.
    pub fn status(&self) -> TransferStatus {
        self.coordinator.status()
    }

    /// What is known about the transfer.
    pub fn meta(&self) -> &TransferMeta {
        &self.coordinator.meta
    }

    /// Mark a finished transfer as failed with `error` (for a subscriber whose own
    /// follow-up work failed). [`TransferError::TransferNotDone`] if it is not finished.
    pub fn set_exception(&self, error: TransferError) -> Result<(), TransferError> {
        self.coordinator.override_error(error)
    }

    /// Bytes reported as transferred so far.
    pub fn bytes_transferred(&self) -> u64 {
        self.coordinator.bytes_transferred()
    }
}

impl fmt::Debug for TransferFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransferFuture")
            .field("id", &self.coordinator.meta.transfer_id())
            .field("status", &self.status())
            .finish()
    }
}
