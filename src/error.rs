//! The error vocabulary of the library, after s3transfer's exceptions.

use std::path::PathBuf;
use std::sync::Arc;

use crate::client::{S3Error, S3ErrorKind};

/// What a transfer (or a call on the manager) failed with.
///
/// Callers branch with `match` or with [`TransferError::kind`]. A fatal shutdown is a
/// kind of cancellation, as in s3transfer where `FatalError` subclasses
/// `CancelledError`: it is the [`TransferError::Cancelled`] variant with `fatal: true`,
/// so a caller matching `Cancelled { .. }` catches both.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// A request kept failing with retryable errors until the attempts ran out.
    #[error("gave up after {attempts} attempts: {last_error}")]
    RetriesExceeded {
        /// How many attempts were made.
        attempts: u32,
        /// The error of the last attempt.
        #[source]
        last_error: S3Error,
    },

    /// An upload failed at S3. A multipart upload was aborted before this was reported.
    #[error("failed to upload to s3://{bucket}/{key}{}: {source}", upload_id_suffix(.upload_id))]
    S3UploadFailed {
        /// Destination bucket.
        bucket: String,
        /// Destination key.
        key: String,
        /// The multipart upload id, for a multipart upload.
        upload_id: Option<String>,
        /// What S3 said.
        #[source]
        source: S3Error,
    },

    /// A download failed at S3 (the object is missing, changed while being read, or its
    /// response did not match the request). No file is left at the destination.
    #[error("failed to download s3://{bucket}/{key}: {reason}")]
    S3DownloadFailed {
        /// Source bucket.
        bucket: String,
        /// Source key.
        key: String,
        /// What went wrong, in words.
        reason: String,
        /// The S3 error behind it, when there was one.
        #[source]
        source: Option<S3Error>,
    },

    /// A download's bytes did not match the object's stored checksum: they were
    /// corrupted on the way (or the store holds a wrong checksum). No file is left at
    /// the destination; a seekable or stream output has received the bytes.
    #[error(
        "integrity check failed for s3://{bucket}/{key} ({part_or_range}): {algorithm} is {actual}, expected {expected}"
    )]
    IntegrityFailed {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The algorithm compared (`CRC32`, ...).
        algorithm: String,
        /// The stored value (base64).
        expected: String,
        /// The value of the bytes received (base64).
        actual: String,
        /// What was compared: `"whole object, 3 ranges"`, `"part 2 of 3, bytes
        /// 5242880-10485759"` (a part of an object with a composite checksum), or
        /// `"composite of the 3 part checksums"`.
        part_or_range: String,
    },

    /// A copy failed at S3 (a multipart copy was aborted before this was reported).
    #[error("failed to copy to s3://{bucket}/{key}: {source}")]
    S3CopyFailed {
        /// Destination bucket.
        bucket: String,
        /// Destination key.
        key: String,
        /// What S3 said.
        #[source]
        source: S3Error,
    },

    /// A delete failed at S3.
    #[error("failed to delete s3://{bucket}/{key}: {source}")]
    S3DeleteFailed {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What S3 said.
        #[source]
        source: S3Error,
    },

    /// Listing the keys under a prefix failed (a directory download, copy or sync).
    #[error("failed to list s3://{bucket}/{prefix}: {source}")]
    S3ListFailed {
        /// Bucket.
        bucket: String,
        /// The prefix listed.
        prefix: String,
        /// What S3 said.
        #[source]
        source: S3Error,
    },

    /// A key was refused because its local path would not stay inside the destination
    /// directory (`../x`, `a/../../x`, an absolute path, a drive prefix, a NUL, a path
    /// through a symbolic link of the destination), would not have the key's name (a
    /// `..`, `.` or empty segment), or cannot be a file (a key ending in `/` that holds
    /// data). Nothing was written for it.
    #[error("refused s3://{bucket}/{key}: {reason}")]
    UnsafeKey {
        /// Bucket.
        bucket: String,
        /// The key refused.
        key: String,
        /// Why, in words.
        reason: String,
    },

    /// A tree download whose file name differs only by case from another object of the
    /// tree being downloaded, or from a file already in the destination that the sync
    /// did not list under that exact name (see
    /// [`CaseConflict`](crate::CaseConflict)): on a case-insensitive file system one
    /// would overwrite the other. Under `CaseConflict::Error` it fails the object and
    /// stops the tree; under `Warn` and `Skip` it is the result's
    /// [`warning`](crate::ObjectResult::warning).
    #[error(
        "s3://{bucket}/{key} -> {}: a file whose name differs only by case ({other}) either exists or is being downloaded",
        path.display()
    )]
    CaseConflict {
        /// Bucket.
        bucket: String,
        /// The key whose download conflicts.
        key: String,
        /// Where it would be written.
        path: std::path::PathBuf,
        /// What it conflicts with: `s3://bucket/key` of the object being downloaded, or
        /// the local file already there.
        other: String,
    },

    /// One side of a sync did not come in the byte order of its keys (a store that
    /// does not list lexicographically, such as an S3 Express directory bucket, or a
    /// local walk out of order): the two sides cannot be paired, so an entry could be
    /// both sent and deleted. The tree stops at the first entry out of order.
    #[error(
        "the {side} is not in key order ({next:?} came after {previous:?}), so the sync cannot pair its entries; stopped before deciding anything more"
    )]
    OutOfOrder {
        /// `"source"` or `"destination"`.
        side: &'static str,
        /// The entry seen before.
        previous: String,
        /// The entry that came after it and sorts before it (or equals it).
        next: String,
    },

    /// A sync's delete that was not done because reading one of the sides failed
    /// earlier in the run: an entry the source could not list may be missing from it
    /// only because of that failure (rclone: "not deleting files as there were IO
    /// errors").
    #[error("not deleting {target}: {reason}")]
    DeleteSkipped {
        /// What would have been deleted (a local path or `s3://bucket/key`).
        target: String,
        /// Why it was not.
        reason: String,
    },

    /// A tree's filter predicate (given to
    /// [`TreeArgsBuilder::filter`](crate::TreeArgsBuilder::filter)) panicked: the tree
    /// stopped there, as it cannot know which entries the predicate meant to keep.
    #[error("the tree's filter predicate panicked on {relative:?}: {message}")]
    PredicatePanicked {
        /// The entry it was asked about (its path relative to the tree's root).
        relative: String,
        /// The panic's message, when it had one.
        message: String,
    },

    /// The transfer has not finished: an operation that needs a finished transfer was
    /// called too early, or `result_timeout` ran out.
    #[error("the transfer is not done yet")]
    TransferNotDone,

    /// [`crate::TransferFuture::result`] or `result_timeout` was called on one of the
    /// library's worker threads (inside a [`crate::Subscriber`] callback) for a transfer
    /// that is still running. Waiting there could wait forever on the very thread the
    /// transfer needs (its own `on_queued` or `on_progress`, or the only request
    /// thread), so the call fails at once instead. Wait from a thread of your own, or
    /// follow that transfer with its own `on_done`.
    #[error(
        "cannot wait for transfer {transfer_id} inside a subscriber callback: it is still running and may need this very thread; wait from a thread of your own or in its on_done"
    )]
    WaitInCallback {
        /// The id of the transfer waited for.
        transfer_id: u64,
    },

    /// The transfer was cancelled. `fatal` is true when the manager was shut down with
    /// cancellation (s3transfer's `FatalError`).
    #[error("{}{}", if *.fatal { "fatal: transfer cancelled" } else { "transfer cancelled" }, message_suffix(.message))]
    Cancelled {
        /// The message given to `cancel` or `shutdown`.
        message: String,
        /// Whether this came from a fatal shutdown.
        fatal: bool,
    },

    /// The transfer was paused ([`crate::TransferFuture::pause`]): nothing was aborted
    /// or removed, and its token ([`crate::TransferFuture::resume_token`], or the
    /// journal) continues it.
    #[error("transfer paused")]
    Paused,

    /// A pause or a resume was refused, or a resume found the recorded state unusable.
    #[error(transparent)]
    Resume(#[from] crate::resume::ResumeError),

    /// A subscriber method misbehaved (it panicked), so the transfer cannot report
    /// reliably.
    #[error("subscriber method {method} is invalid: {reason}")]
    InvalidSubscriberMethod {
        /// The method (`on_queued`, `on_progress`, `on_done`).
        method: &'static str,
        /// Why.
        reason: String,
    },

    /// A put on a [`crate::ShutdownQueue`] after `trigger_shutdown`, or a call on a manager
    /// that was shut down.
    #[error("the queue has been shut down")]
    QueueShutdown,

    /// An argument of a call is invalid (an unknown extra argument, a bad bucket).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Reading the source or writing the destination failed locally.
    #[error("{action} {}: {source}", .path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "stream".into()))]
    Io {
        /// What was being done (`"opening"`, `"reading"`, `"writing"`, `"renaming"`).
        action: &'static str,
        /// The file, when it was one.
        path: Option<PathBuf>,
        /// The I/O error (shared: every waiter of the transfer gets the same one).
        #[source]
        source: Arc<std::io::Error>,
    },

    /// A bug in this library (a worker panicked). Please report it.
    #[error("internal error: {0}")]
    Internal(String),
}

fn upload_id_suffix(upload_id: &Option<String>) -> String {
    upload_id
        .as_ref()
        .map(|id| format!(" (upload id {id})"))
        .unwrap_or_default()
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The kind of a [`TransferError`], for callers that branch without destructuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`TransferError::RetriesExceeded`].
    RetriesExceeded,
    /// [`TransferError::S3UploadFailed`].
    S3UploadFailed,
    /// [`TransferError::S3DownloadFailed`].
    S3DownloadFailed,
    /// [`TransferError::IntegrityFailed`].
    IntegrityFailed,
    /// [`TransferError::S3CopyFailed`].
    S3CopyFailed,
    /// [`TransferError::S3DeleteFailed`].
    S3DeleteFailed,
    /// [`TransferError::S3ListFailed`].
    S3ListFailed,
    /// [`TransferError::UnsafeKey`].
    UnsafeKey,
    /// [`TransferError::CaseConflict`].
    CaseConflict,
    /// [`TransferError::OutOfOrder`].
    OutOfOrder,
    /// [`TransferError::DeleteSkipped`].
    DeleteSkipped,
    /// [`TransferError::PredicatePanicked`].
    PredicatePanicked,
    /// [`TransferError::TransferNotDone`].
    TransferNotDone,
    /// [`TransferError::WaitInCallback`].
    WaitInCallback,
    /// [`TransferError::Cancelled`] with `fatal: false`.
    Cancelled,
    /// [`TransferError::Cancelled`] with `fatal: true`.
    Fatal,
    /// [`TransferError::InvalidSubscriberMethod`].
    InvalidSubscriberMethod,
    /// [`TransferError::Paused`].
    Paused,
    /// [`TransferError::Resume`].
    Resume,
    /// [`TransferError::QueueShutdown`].
    QueueShutdown,
    /// [`TransferError::InvalidArgument`].
    InvalidArgument,
    /// [`TransferError::Io`].
    Io,
    /// [`TransferError::Internal`].
    Internal,
}

impl TransferError {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransferError::RetriesExceeded { .. } => ErrorKind::RetriesExceeded,
            TransferError::S3UploadFailed { .. } => ErrorKind::S3UploadFailed,
            TransferError::S3DownloadFailed { .. } => ErrorKind::S3DownloadFailed,
            TransferError::IntegrityFailed { .. } => ErrorKind::IntegrityFailed,
            TransferError::S3CopyFailed { .. } => ErrorKind::S3CopyFailed,
            TransferError::S3DeleteFailed { .. } => ErrorKind::S3DeleteFailed,
            TransferError::S3ListFailed { .. } => ErrorKind::S3ListFailed,
            TransferError::UnsafeKey { .. } => ErrorKind::UnsafeKey,
            TransferError::CaseConflict { .. } => ErrorKind::CaseConflict,
            TransferError::OutOfOrder { .. } => ErrorKind::OutOfOrder,
            TransferError::DeleteSkipped { .. } => ErrorKind::DeleteSkipped,
            TransferError::PredicatePanicked { .. } => ErrorKind::PredicatePanicked,
            TransferError::TransferNotDone => ErrorKind::TransferNotDone,
            TransferError::WaitInCallback { .. } => ErrorKind::WaitInCallback,
            TransferError::Cancelled { fatal: false, .. } => ErrorKind::Cancelled,
            TransferError::Cancelled { fatal: true, .. } => ErrorKind::Fatal,
            TransferError::InvalidSubscriberMethod { .. } => ErrorKind::InvalidSubscriberMethod,
            TransferError::Paused => ErrorKind::Paused,
            TransferError::Resume(_) => ErrorKind::Resume,
            TransferError::QueueShutdown => ErrorKind::QueueShutdown,
            TransferError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            TransferError::Io { .. } => ErrorKind::Io,
            TransferError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether the transfer was paused (and can be resumed from its token).
    pub fn is_paused(&self) -> bool {
        matches!(self, TransferError::Paused)
    }

    /// The reason a pause or resume was refused, if that is what this is.
    pub fn resume_error(&self) -> Option<&crate::resume::ResumeError> {
        match self {
            TransferError::Resume(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the transfer was cancelled, by the caller or by a fatal shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TransferError::Cancelled { .. })
    }

    /// Whether the transfer was cancelled by a fatal shutdown.
    pub fn is_fatal(&self) -> bool {
        matches!(self, TransferError::Cancelled { fatal: true, .. })
    }

    /// The S3 error behind this one, if any.
    pub fn s3_error(&self) -> Option<&S3Error> {
        match self {
            TransferError::RetriesExceeded { last_error, .. } => Some(last_error),
            TransferError::S3UploadFailed { source, .. }
            | TransferError::S3CopyFailed { source, .. }
            | TransferError::S3DeleteFailed { source, .. }
            | TransferError::S3ListFailed { source, .. } => Some(source),
            TransferError::S3DownloadFailed { source, .. } => source.as_ref(),
            _ => None,
        }
    }

    /// Whether S3 said the object (or bucket, or upload) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.s3_error()
            .is_some_and(|e| e.kind() == S3ErrorKind::NotFound)
    }

    /// Whether the object changed while it was being read (an ETag precondition failed).
    pub fn is_precondition_failed(&self) -> bool {
        self.s3_error()
            .is_some_and(|e| e.kind() == S3ErrorKind::PreconditionFailed)
    }

    pub(crate) fn cancelled(message: impl Into<String>, fatal: bool) -> Self {
        TransferError::Cancelled {
            message: message.into(),
            fatal,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: Option<&std::path::Path>,
        source: std::io::Error,
    ) -> Self {
        TransferError::Io {
            action,
            path: path.map(|p| p.to_path_buf()),
            source: Arc::new(source),
        }
    }
}

/// A configuration value that cannot work, refused by a builder before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {setting} {reason}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting refused (`"max_request_queue_size"`).
    pub setting: &'static str,
    /// Why, completing a sentence that starts with the setting's name (`"must be
    /// greater than 0"`).
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            setting,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_static<T: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn errors_work_with_question_mark_into_boxed_errors() {
        assert_send_sync_static::<TransferError>();
        fn f() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Err(TransferError::TransferNotDone)?
        }
        // The boxed error is still the TransferError, typed and with its message.
        let boxed = f().unwrap_err();
        assert_eq!(
            boxed.to_string(),
            TransferError::TransferNotDone.to_string()
        );
        assert!(matches!(
            boxed.downcast_ref::<TransferError>(),
            Some(TransferError::TransferNotDone)
        ));
    }

    #[test]
    fn fatal_is_a_kind_of_cancelled() {
        let e = TransferError::cancelled("shutting down", true);
        assert!(matches!(e, TransferError::Cancelled { .. }));
        assert!(e.is_cancelled() && e.is_fatal());
        assert_eq!(e.kind(), ErrorKind::Fatal);
        assert_eq!(e.to_string(), "fatal: transfer cancelled: shutting down");
        let plain = TransferError::cancelled("", false);
        assert_eq!(plain.kind(), ErrorKind::Cancelled);
        assert_eq!(plain.to_string(), "transfer cancelled");
    }

    #[test]
    fn retries_exceeded_carries_the_last_error() {
        let last =
            S3Error::from_response("GetObject", Some(500), Some("InternalError".into()), "x");
        let e = TransferError::RetriesExceeded {
            attempts: 5,
            last_error: last,
        };
        let copy = e.clone();
        assert_eq!(
            copy.s3_error().unwrap().code.as_deref(),
            Some("InternalError")
        );
        assert!(std::error::Error::source(&copy).is_some());
    }

    #[test]
    fn a_copy_keeps_the_chain_of_sources() {
        // Every waiter of a future gets a clone: the transport error under an S3 error
        // and the OS error under an I/O error must survive the copy, not become text.
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let s3 =
            S3Error::new(S3ErrorKind::Transient, "UploadPart", "send failed").with_source(reset);
        let e = TransferError::S3UploadFailed {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: None,
            source: s3,
        };
        let copy = e.clone();
        let s3_source = std::error::Error::source(&copy).expect("the S3 error");
        let transport = s3_source.source().expect("the transport error");
        let io = transport
            .downcast_ref::<std::io::Error>()
            .expect("still an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);

        let local = TransferError::io(
            "reading",
            None,
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no"),
        );
        match local.clone() {
            TransferError::Io { source, .. } => {
                assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_error_type_stays_small() {
        // Errors travel through every result: keep them cheap to move (an S3Error
        // with its context is the largest payload).
        assert!(std::mem::size_of::<TransferError>() <= 256);
    }
}
