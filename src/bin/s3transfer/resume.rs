//! Resumable `cp`: every file upload and file download keeps a journal (uploads in the
//! state directory, downloads beside their temporary file), a rerun of the same command
//! continues from it, `--no-resume` throws it away, and under `--resumable` Ctrl-C
//! pauses the transfers instead of cancelling them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use s3transfer::client::AbortMultipartUploadRequest;
use s3transfer::resume::{
    IfChanged, ResumeError, ResumeOptions, ResumeToken, download_journal_path, read_journal,
    remove_journal, state_dir, upload_journal_path,
};
use s3transfer::{
    DownloadArgs, Subscriber, TransferError, TransferFuture, TransferManager, UploadArgs,
};

use crate::args::Options;
use crate::progress::Progress;

/// The transfers a Ctrl-C under `--resumable` pauses. Guards only the list: futures
/// are copied out before any is paused.
static LIVE: Mutex<Vec<TransferFuture>> = Mutex::new(Vec::new());

/// Set once a transfer ended paused: the command then says how to continue.
static PAUSED: AtomicBool = AtomicBool::new(false);

/// Remember a started transfer for a pausing Ctrl-C.
pub(crate) fn track(future: &TransferFuture) {
    LIVE.lock().push(future.clone());
}

/// Ctrl-C under `--resumable`: pause every transfer that can be paused (multipart file
/// uploads, file downloads), cancel the rest (nothing is left behind for them).
pub(crate) fn pause_all() {
    let live: Vec<TransferFuture> = LIVE.lock().clone();
    for future in live {
        if let Err(e) = future.request_pause()
            && matches!(e.resume_error(), Some(ResumeError::NotResumable { .. }))
        {
            future.cancel_with_message("interrupted");
        }
    }
}

/// A transfer ended paused.
pub(crate) fn note_paused() {
    PAUSED.store(true, Ordering::SeqCst);
}

/// A transfer failed: under `--resumable`, one that failed transiently (retries ran
/// out, the connection broke) kept its state, so the command says how to continue.
pub(crate) fn note_failed(error: &TransferError, options: &Options) {
    let transient = matches!(error, TransferError::RetriesExceeded { .. })
        || error.s3_error().is_some_and(|e| e.is_retryable());
    if options.resumable && transient {
        note_paused();
    }
}

/// How to continue, when anything was paused.
pub(crate) fn paused_hint() -> Option<&'static str> {
    PAUSED.load(Ordering::SeqCst).then_some(
        "s3transfer: kept for a resume; run the same command again to continue (paused \
         uploads and partial downloads are resumed), add --no-resume to start over, or \
         drop an upload with `s3transfer uploads abort --exact s3://bucket/key`",
    )
}

fn say(progress: &Progress, options: &Options, line: &str) {
    if !options.quiet {
        progress.println(line);
    }
}

/// Upload the file at `path`, continuing an interrupted upload of it to the same key
/// when its journal says there is one (unless `--no-resume`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn upload_file(
    manager: &TransferManager,
    path: PathBuf,
    bucket: &str,
    key: &str,
    mut args: UploadArgs,
    subscribers: &[Arc<dyn Subscriber>],
    options: &Options,
    progress: &Progress,
) -> Result<TransferFuture, TransferError> {
    let Some(dir) = state_dir() else {
        // Nowhere to keep a journal: a plain upload, as before.
        return manager.upload(path, bucket, key, args, subscribers);
    };
    let journal = upload_journal_path(&dir, &path, bucket, key);
    args.journal = Some(journal.clone());
    // Under --resumable a lost network keeps the upload for the rerun, like Ctrl-C.
    args.keep_for_resume = options.resumable;
    let token = match found(&journal, progress, options) {
        Some(token) => token,
        None => return manager.upload(path, bucket, key, args, subscribers),
    };
    let upload = match token.expect_upload(&path, bucket, key) {
        Ok(upload) => upload.clone(),
        Err(e) => {
            set_aside(&journal, &e, progress, options);
            return manager.upload(path, bucket, key, args, subscribers);
        }
    };
    if options.no_resume {
        abort_quietly(manager, &upload.bucket, &upload.key, &upload.upload_id);
        let _ = remove_journal(&journal);
        return manager.upload(path, bucket, key, args, subscribers);
    }
    let (done, total) = token.progress();
    say(
        progress,
        options,
        &format!(
            "resuming: {done} of {total} parts already uploaded ({})",
            path.display()
        ),
    );
    // A file edited since is uploaded as it is now, as a fresh `cp` would.
    let resume = ResumeOptions::new().if_changed(IfChanged::StartOver);
    manager.resume_upload(&token, args, resume, subscribers)
}

/// Download to the file at `dest`, continuing an interrupted download of the same
/// object to it when its journal says there is one (unless `--no-resume`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn download_file(
    manager: &TransferManager,
    bucket: &str,
    key: &str,
    dest: PathBuf,
    mut args: DownloadArgs,
    subscribers: &[Arc<dyn Subscriber>],
    options: &Options,
    progress: &Progress,
) -> Result<TransferFuture, TransferError> {
    let journal = download_journal_path(&dest);
    args.journal = Some(journal.clone());
    args.keep_for_resume = options.resumable;
    let token = match found(&journal, progress, options) {
        Some(token) => token,
        None => return manager.download(bucket, key, dest, args, subscribers),
    };
    let download = match token.expect_download(bucket, key, &dest) {
        Ok(download) => download.clone(),
        Err(e) => {
            set_aside(&journal, &e, progress, options);
            return manager.download(bucket, key, dest, args, subscribers);
        }
    };
    if options.no_resume {
        let _ = std::fs::remove_file(&download.temp_path);
        let _ = remove_journal(&journal);
        return manager.download(bucket, key, dest, args, subscribers);
    }
    let (done, total) = token.progress();
    say(
        progress,
        options,
        &format!(
            "resuming: {done} of {total} parts already downloaded ({})",
            dest.display()
        ),
    );
    // An object overwritten since is fetched afresh: never a mix of two versions.
    let resume = ResumeOptions::new().if_changed(IfChanged::StartOver);
    manager.resume_download(&token, args, resume, subscribers)
}

/// The token of `journal`, if there is a usable one. An unusable journal (cut short, of
/// another format version) is said and set aside, never trusted; the transfer then
/// starts afresh and writes a new one.
fn found(journal: &Path, progress: &Progress, options: &Options) -> Option<ResumeToken> {
    if !journal.exists() {
        return None;
    }
    match read_journal(journal) {
        Ok(token) => Some(token),
        Err(e) => {
            set_aside(journal, &e, progress, options);
            None
        }
    }
}

/// Move an unusable journal (cut short, of another format version, of another transfer)
/// out of the way as `<journal>.unusable`, and say so: it is never trusted, and never
/// silently overwritten either.
fn set_aside(journal: &Path, why: &ResumeError, progress: &Progress, options: &Options) {
    let mut aside = journal.as_os_str().to_owned();
    aside.push(".unusable");
    let _ = std::fs::rename(journal, &aside);
    say(
        progress,
        options,
        &format!(
            "s3transfer: starting afresh: {why} (kept as {}; `s3transfer uploads ls` shows \
             any upload it left open)",
            Path::new(&aside).display()
        ),
    );
}

/// Abort an interrupted upload that `--no-resume` replaces; one already gone is fine.
fn abort_quietly(manager: &TransferManager, bucket: &str, key: &str, upload_id: &str) {
    let mut request = AbortMultipartUploadRequest::default();
    request.bucket = bucket.to_owned();
    request.key = key.to_owned();
    request.upload_id = upload_id.to_owned();
    if let Err(e) = manager.client().abort_multipart_upload(&request) {
        tracing::warn!(error = %e, "the interrupted upload could not be aborted");
    }
}
