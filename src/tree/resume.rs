//! Each file of a tree as a resumable transfer: journaled as it goes, and continued
//! from its journal when a rerun finds one (see `TreeArgsBuilder::resumable`).

use std::path::Path;
use std::sync::Arc;

use crate::args::{DownloadArgs, UploadArgs};
use crate::error::TransferError;
use crate::future::TransferFuture;
use crate::manager::TransferManager;
use crate::resume::{
    IfChanged, ResumeOptions, download_journal_path, read_journal, upload_journal_path,
};
use crate::subscriber::Subscriber;
use crate::transfer::download::DownloadTarget;
use crate::transfer::upload::UploadSource;

/// A rerun takes a file as it is now: one edited since is sent afresh, as a fresh
/// `sync` would, rather than failing the tree.
fn resume_options() -> ResumeOptions {
    ResumeOptions::new().if_changed(IfChanged::StartOver)
}

/// Upload `path` to `bucket`/`key`; with a journal directory, continue the upload its
/// journal describes, if there is a usable one for this very file and object.
pub(super) fn upload(
    manager: &TransferManager,
    path: &Path,
    (bucket, key): (&str, &str),
    mut args: UploadArgs,
    journal_dir: Option<&Path>,
    subscribers: &[Arc<dyn Subscriber>],
) -> Result<TransferFuture, TransferError> {
    if let Some(dir) = journal_dir {
        let journal = upload_journal_path(dir, path, bucket, key);
        args.journal = Some(journal.clone());
        // A journal of another transfer (or cut short) is not trusted: the upload
        // starts afresh and its journal replaces that one.
        if let Ok(token) = read_journal(&journal)
            && token.expect_upload(path, bucket, key).is_ok()
        {
            return manager.resume_upload(&token, args, resume_options(), subscribers);
        }
    }
    manager.upload(UploadSource::path(path), bucket, key, args, subscribers)
}

/// Download `bucket`/`key` to `dest`; with journals on, continue the download the
/// journal beside `dest` describes, if it is one of this very object to this file.
pub(super) fn download(
    manager: &TransferManager,
    (bucket, key): (&str, &str),
    dest: &Path,
    mut args: DownloadArgs,
    journals: bool,
    subscribers: &[Arc<dyn Subscriber>],
) -> Result<TransferFuture, TransferError> {
    if journals {
        let journal = download_journal_path(dest);
        args.journal = Some(journal.clone());
        if let Ok(token) = read_journal(&journal)
            && token.expect_download(bucket, key, dest).is_ok()
        {
            return manager.resume_download(&token, args, resume_options(), subscribers);
        }
    }
    manager.download(bucket, key, DownloadTarget::path(dest), args, subscribers)
}
