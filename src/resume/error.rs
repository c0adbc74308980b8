//! [`ResumeError`]: why a transfer could not be paused or resumed.

use std::path::PathBuf;
use std::sync::Arc;

/// Why a transfer could not be paused, or a token or journal could not be used.
///
/// Whatever the variant, nothing was lost: a refused resume leaves the multipart
/// upload, the temporary file and the journal as they were (except where a variant
/// says otherwise), so the caller can retry, start over, or abort.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// The token (or journal) was written by a format version this build does not read.
    #[error(
        "resume token format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// The version the token names (`0` when it names none).
        found: u64,
        /// The version this build writes and reads.
        supported: u32,
    },

    /// The token or journal is not a token: truncated, not JSON, or missing fields.
    #[error("{} is not a usable resume token: {reason}", .path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "the data".into()))]
    Corrupt {
        /// The journal, when read from one.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: String,
    },

    /// The token is for another transfer: another destination or source, or an upload
    /// token given to a download (or the reverse).
    #[error("the resume token is for {found}, not {expected}")]
    WrongTransfer {
        /// What the caller asked to resume.
        expected: String,
        /// What the token describes.
        found: String,
    },

    /// The upload's source file is not the one the token describes (size, modification
    /// time, or the bytes of a part already uploaded differ). Resuming would make an
    /// object of two different files.
    #[error("the source {} changed since the upload was paused: {reason}", .path.display())]
    SourceChanged {
        /// The source file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },

    /// The object being downloaded is no longer the one the token describes (its ETag
    /// or size changed). Continuing would mix bytes of two versions.
    #[error("s3://{bucket}/{key} changed since the download was paused: {reason}")]
    ObjectChanged {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What differs.
        reason: String,
    },

    /// The multipart upload the token names no longer exists (it was completed or
    /// aborted, or the store forgot it).
    #[error("the multipart upload {upload_id} of s3://{bucket}/{key} no longer exists")]
    UploadGone {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Upload id.
        upload_id: String,
    },

    /// A setting that decides the object's layout differs from the token's (the
    /// checksum algorithm, say): the parts already sent could not be completed with
    /// the new ones.
    #[error("cannot resume: {what} was {in_token} and is now {now}")]
    SettingChanged {
        /// The setting.
        what: &'static str,
        /// Its value in the token.
        in_token: String,
        /// Its value now.
        now: String,
    },

    /// The transfer cannot be paused: it is not a multipart file upload or a download
    /// to a path, or it has not reached the point where it can be (still planning).
    #[error("the transfer cannot be paused: {reason}")]
    NotResumable {
        /// Why.
        reason: String,
    },

    /// `pause` was called on a transfer that had already finished.
    #[error("the transfer finished before it could be paused")]
    AlreadyFinished,

    /// A journaled file transfer did not continue the journal it found: set aside
    /// (unusable), discarded (of another object) or kept because the upload it names
    /// could not be aborted. The transfer itself went ahead afresh; a tree gives this
    /// as its result's warning.
    #[error("{}: {what}", .journal.display())]
    JournalNotContinued {
        /// The journal as it was found.
        journal: PathBuf,
        /// What became of it, and why.
        what: String,
    },

    /// A journal could not be read, written or removed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done (`"writing the journal"`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: Arc<std::io::Error>,
    },
}

impl ResumeError {
    /// Whether the recorded state can never be used and a fresh transfer is the way
    /// on: the source or object changed, the upload is gone, or the token is of an
    /// unknown version, corrupt or for another transfer.
    pub fn should_start_over(&self) -> bool {
        matches!(
            self,
            ResumeError::SourceChanged { .. }
                | ResumeError::ObjectChanged { .. }
                | ResumeError::UploadGone { .. }
                | ResumeError::UnsupportedVersion { .. }
                | ResumeError::Corrupt { .. }
                | ResumeError::WrongTransfer { .. }
                | ResumeError::SettingChanged { .. }
        )
    }

    /// Whether the local source or the remote object changed since the pause.
    pub fn is_changed(&self) -> bool {
        matches!(
            self,
            ResumeError::SourceChanged { .. } | ResumeError::ObjectChanged { .. }
        )
    }

    pub(crate) fn io(action: &'static str, path: &std::path::Path, e: std::io::Error) -> Self {
        ResumeError::Io {
            action,
            path: path.to_path_buf(),
            source: Arc::new(e),
        }
    }
}
