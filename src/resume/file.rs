//! A file transfer that keeps a journal and continues the one an earlier run left: find
//! the journal, check it is this very transfer's, and resume it, or set it aside and
//! start afresh. The one implementation behind the CLI's `cp`/`mv` of a file and every
//! file of a resumable tree.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    IfChanged, ResumeError, ResumeOptions, ResumeToken, download_journal_path, read_journal,
    remove_journal, upload_journal_path,
};
use crate::args::{DownloadArgs, UploadArgs};
use crate::client::{AbortMultipartUploadRequest, etag};
use crate::error::TransferError;
use crate::future::TransferFuture;
use crate::manager::TransferManager;
use crate::subscriber::Subscriber;
use crate::transfer::download::DownloadTarget;
use crate::transfer::upload::UploadSource;

/// What a journaled file transfer did with the journal it found.
#[derive(Debug)]
#[non_exhaustive]
pub enum JournalStart {
    /// There was none: the transfer starts afresh (and journals as it goes).
    Fresh,
    /// It continues the interrupted transfer: `done` of `total` parts (or ranges) were
    /// already moved.
    Resumed {
        /// Parts or ranges already moved.
        done: u64,
        /// Parts or ranges in all.
        total: u64,
    },
    /// The journal could not be used (cut short, of another format version, of another
    /// transfer): it was moved to `aside` (`<journal>.unusable`), never trusted nor
    /// silently overwritten, and the transfer starts afresh.
    SetAside {
        /// Where the journal now is.
        aside: PathBuf,
        /// Why it could not be used.
        reason: ResumeError,
    },
    /// The journal was usable but not wanted (`start_over`, or a download whose object
    /// no longer has the ETag asked for): what it kept was dropped (the multipart
    /// upload aborted, the partial download removed) and the transfer starts afresh.
    Discarded,
    /// The journal was not wanted (`start_over`) but the multipart upload it names
    /// could not be aborted: the journal was moved to `aside`
    /// (`<journal>.unaborted`), so the upload's id is not lost, and the transfer starts
    /// afresh. The upload is still open (and billed) until aborted, e.g. with
    /// [`TransferManager::abort_multipart_upload`].
    Orphaned {
        /// Where the journal now is.
        aside: PathBuf,
        /// The upload left open.
        upload_id: String,
        /// Why the abort failed.
        error: TransferError,
    },
}

/// A journaled file transfer: its future, and what became of the journal it found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Journaled {
    /// The transfer.
    pub future: TransferFuture,
    /// What was found and done with it.
    pub start: JournalStart,
}

/// A rerun takes a file as it is now: one edited since (an object overwritten since) is
/// sent afresh, as a fresh copy would, rather than failing.
fn resume_options() -> ResumeOptions {
    ResumeOptions::new().if_changed(IfChanged::StartOver)
}

/// The token in `journal`, or why it cannot be used (`Ok(None)`: there is none).
fn found(journal: &Path) -> Result<Option<ResumeToken>, ResumeError> {
    if !journal.exists() {
        return Ok(None);
    }
    read_journal(journal).map(Some)
}

/// Move an unusable journal out of the way as `<journal>.unusable`.
fn set_aside(journal: &Path, reason: ResumeError) -> JournalStart {
    let aside = move_aside(journal, ".unusable");
    JournalStart::SetAside { aside, reason }
}

/// A download journal set aside (of another object to this very file) may name a
/// temporary file beside it, the partial download it kept: removed with it when that
/// is one of our working files in the journal's own directory. A journal of another
/// destination, or naming anything else, leaves everything as it is: that file may be
/// another download's.
fn remove_own_temp(token: &ResumeToken, journal: &Path, dest: &Path) {
    let ResumeToken::Download(download) = token else {
        return;
    };
    let temp = &download.temp_path;
    let ours = temp
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(super::state_dir::is_download_working_file);
    if ours
        && download.destination == dest
        && temp.parent() == journal.parent()
        && std::fs::symlink_metadata(temp).is_ok_and(|m| m.is_file())
    {
        let _ = std::fs::remove_file(temp);
    }
}

/// Rename `journal` to itself plus `suffix`, out of the way of the fresh transfer's.
fn move_aside(journal: &Path, suffix: &str) -> PathBuf {
    let mut aside = journal.as_os_str().to_owned();
    aside.push(suffix);
    let aside = PathBuf::from(aside);
    let _ = std::fs::rename(journal, &aside);
    aside
}

/// What a journaled file transfer found before it starts: what [`JournalStart`] says,
/// and the token to continue when it is one to resume. The tree decides this before
/// it starts the transfer, so a result's warning can say it.
pub(crate) struct Prepared {
    pub(crate) start: JournalStart,
    journal: PathBuf,
    token: Option<ResumeToken>,
}

impl Prepared {
    /// [`JournalStart::warning`] of what was found.
    pub(crate) fn warning(&self) -> Option<TransferError> {
        self.start.warning(&self.journal)
    }
}

impl JournalStart {
    /// What a tree reports of this start as a result's warning: a journal set aside,
    /// discarded or whose upload was orphaned (a fresh start or a resume is none).
    pub(crate) fn warning(&self, journal: &Path) -> Option<TransferError> {
        let reason = match self {
            JournalStart::Fresh | JournalStart::Resumed { .. } => return None,
            JournalStart::SetAside { aside, reason } => format!(
                "its journal could not be used ({reason}) and was set aside as {}; \
                 transferred afresh",
                aside.display()
            ),
            JournalStart::Discarded => {
                "its journal was of another object and was discarded; transferred afresh".to_owned()
            }
            JournalStart::Orphaned {
                aside,
                upload_id,
                error,
            } => format!(
                "the interrupted upload {upload_id} could not be aborted ({error}); it is \
                 still open and its journal is kept as {}",
                aside.display()
            ),
        };
        Some(TransferError::Resume(ResumeError::JournalNotContinued {
            journal: journal.to_owned(),
            what: reason,
        }))
    }
}

impl TransferManager {
    /// Upload the file at `path` to `bucket`/`key` with a journal in `journal_dir` (see
    /// [`upload_journal_path`]), continuing the upload a journal there describes when
    /// it is one of this very file to this very key (after the re-checks of
    /// [`resume_upload`](Self::resume_upload); a file edited since is uploaded afresh).
    /// With `start_over`, a usable journal's upload is aborted instead and the file
    /// uploaded afresh (`--no-resume`). The returned [`JournalStart`] says which.
    pub fn upload_file_journaled(
        &self,
        path: &Path,
        (bucket, key): (&str, &str),
        args: UploadArgs,
        journal_dir: &Path,
        start_over: bool,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<Journaled, TransferError> {
        let mut prepared = self.prepare_upload(path, (bucket, key), journal_dir, start_over);
        let future = self.begin_upload(&mut prepared, path, (bucket, key), args, subscribers)?;
        Ok(Journaled {
            future,
            start: prepared.start,
        })
    }

    /// The journal part of [`upload_file_journaled`](Self::upload_file_journaled).
    pub(crate) fn prepare_upload(
        &self,
        path: &Path,
        (bucket, key): (&str, &str),
        journal_dir: &Path,
        start_over: bool,
    ) -> Prepared {
        let journal = upload_journal_path(journal_dir, path, bucket, key);
        let fresh = |start: JournalStart| Prepared {
            start,
            journal: journal.clone(),
            token: None,
        };
        let token = match found(&journal) {
            Ok(Some(token)) => token,
            Ok(None) => return fresh(JournalStart::Fresh),
            Err(reason) => return fresh(set_aside(&journal, reason)),
        };
        let upload = match token.expect_upload(path, bucket, key) {
            Ok(upload) => upload.clone(),
            Err(reason) => return fresh(set_aside(&journal, reason)),
        };
        if start_over {
            let request = AbortMultipartUploadRequest {
                bucket: upload.bucket.clone(),
                key: upload.key.clone(),
                upload_id: upload.upload_id.clone(),
                ..Default::default()
            };
            // One already gone counts as aborted (`abort_multipart_upload`). On a
            // failure the journal is the only record of the upload's id: kept aside.
            return match self.abort_multipart_upload(&request) {
                Ok(()) => {
                    let _ = remove_journal(&journal);
                    fresh(JournalStart::Discarded)
                }
                Err(error) => {
                    tracing::warn!(%error, "the interrupted upload could not be aborted");
                    let aside = move_aside(&journal, ".unaborted");
                    fresh(JournalStart::Orphaned {
                        aside,
                        upload_id: upload.upload_id,
                        error,
                    })
                }
            };
        }
        let (done, total) = token.progress();
        Prepared {
            start: JournalStart::Resumed { done, total },
            journal,
            token: Some(token),
        }
    }

    /// Start the upload `prepared` decided on.
    pub(crate) fn begin_upload(
        &self,
        prepared: &mut Prepared,
        path: &Path,
        (bucket, key): (&str, &str),
        mut args: UploadArgs,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        args.journal = Some(prepared.journal.clone());
        match prepared.token.take() {
            Some(token) => self.resume_upload(&token, args, resume_options(), subscribers),
            None => self.upload(UploadSource::path(path), bucket, key, args, subscribers),
        }
    }

    /// Download `bucket`/`key` to the file `dest` with a journal beside it (see
    /// [`download_journal_path`]), continuing the download that journal describes when
    /// it is one of this very object to this very file (after the re-checks of
    /// [`resume_download`](Self::resume_download); an object overwritten since is
    /// fetched afresh). With `etag`, the download is of the object with that ETag only
    /// (every GET is pinned to it with If-Match; another is a failed download naming
    /// the key, a resume included) and a journal of another ETag is discarded. With
    /// `start_over`, a usable journal's partial download is removed instead
    /// (`--no-resume`). A journal set aside takes the temporary file it names with it
    /// when that is a download's working file beside `dest`.
    pub fn download_file_journaled(
        &self,
        (bucket, key): (&str, &str),
        dest: &Path,
        args: DownloadArgs,
        etag: Option<&str>,
        start_over: bool,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<Journaled, TransferError> {
        let mut prepared = self.prepare_download((bucket, key), dest, etag, start_over);
        let future =
            self.begin_download(&mut prepared, (bucket, key), dest, args, etag, subscribers)?;
        Ok(Journaled {
            future,
            start: prepared.start,
        })
    }

    /// The journal part of [`download_file_journaled`](Self::download_file_journaled).
    pub(crate) fn prepare_download(
        &self,
        (bucket, key): (&str, &str),
        dest: &Path,
        etag: Option<&str>,
        start_over: bool,
    ) -> Prepared {
        let journal = download_journal_path(dest);
        let fresh = |start: JournalStart| Prepared {
            start,
            journal: journal.clone(),
            token: None,
        };
        let token = match found(&journal) {
            Ok(Some(token)) => token,
            Ok(None) => return fresh(JournalStart::Fresh),
            Err(reason) => return fresh(set_aside(&journal, reason)),
        };
        let download = match token.expect_download(bucket, key, dest) {
            Ok(download) => download.clone(),
            Err(reason) => {
                remove_own_temp(&token, &journal, dest);
                return fresh(set_aside(&journal, reason));
            }
        };
        let other_object = etag.is_some_and(|e| !etag::same(e, &download.etag));
        if start_over || other_object {
            // `expect_download` checked that the temporary file is one of ours beside
            // `dest`.
            let _ = std::fs::remove_file(&download.temp_path);
            let _ = remove_journal(&journal);
            return fresh(JournalStart::Discarded);
        }
        let (done, total) = token.progress();
        Prepared {
            start: JournalStart::Resumed { done, total },
            journal,
            token: Some(token),
        }
    }

    /// Start the download `prepared` decided on.
    pub(crate) fn begin_download(
        &self,
        prepared: &mut Prepared,
        (bucket, key): (&str, &str),
        dest: &Path,
        mut args: DownloadArgs,
        etag: Option<&str>,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        args.journal = Some(prepared.journal.clone());
        let Some(token) = prepared.token.take() else {
            return self.download_pinned((bucket, key), dest, args, etag, subscribers);
        };
        // Pinned, the decision to fetch was made on the journal's ETag (checked equal
        // above): an object changed since must fail as a fresh pinned GET would, not
        // be fetched afresh unpinned.
        let options = match etag {
            Some(_) => ResumeOptions::new().if_changed(IfChanged::Fail),
            None => resume_options(),
        };
        self.resume_download(&token, args, options, subscribers)
    }

    /// Download to `dest`; with `etag`, of the object with that ETag only.
    pub(crate) fn download_pinned(
        &self,
        (bucket, key): (&str, &str),
        dest: &Path,
        args: DownloadArgs,
        etag: Option<&str>,
        subscribers: &[Arc<dyn Subscriber>],
    ) -> Result<TransferFuture, TransferError> {
        let Some(etag) = etag else {
            return self.download(bucket, key, DownloadTarget::path(dest), args, subscribers);
        };
        // First, so the ETag is known before the download plans its first GET.
        let mut all: Vec<Arc<dyn Subscriber>> = vec![Arc::new(PinEtag(etag.to_owned()))];
        all.extend(subscribers.iter().cloned());
        self.download(bucket, key, DownloadTarget::path(dest), args, &all)
    }
}

/// Pins a download to the ETag a decision was made on (a tree's listing): every GET
/// then carries If-Match, and an object replaced since fails with 412 instead of being
/// written.
struct PinEtag(String);

impl Subscriber for PinEtag {
    fn on_queued(&self, future: &TransferFuture) {
        future.meta().provide_object_etag(self.0.clone());
    }
}
