//! Resumable `cp`: every file upload and file download keeps a journal (uploads in the
//! state directory, downloads beside their temporary file), a rerun of the same command
//! continues from it, `--no-resume` throws it away, and under `--resumable` Ctrl-C
//! pauses the transfers instead of cancelling them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use s3transfer::resume::{JournalStart, ResumeError, state_dir};
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
/// when its journal says there is one (unless `--no-resume`), through the library's
/// one implementation of a journaled file transfer; this only says what it found.
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
    // Under --resumable a lost network keeps the upload for the rerun, like Ctrl-C.
    args.keep_for_resume = options.resumable;
    let journaled = manager.upload_file_journaled(
        &path,
        (bucket, key),
        args,
        &dir,
        options.no_resume,
        subscribers,
    )?;
    tell(&journaled.start, "uploaded", &path, progress, options);
    Ok(journaled.future)
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
    args.keep_for_resume = options.resumable;
    let journaled = manager.download_file_journaled(
        (bucket, key),
        &dest,
        args,
        None,
        options.no_resume,
        subscribers,
    )?;
    tell(&journaled.start, "downloaded", &dest, progress, options);
    Ok(journaled.future)
}

/// Say what became of the journal found for `path`: continued, or set aside (an
/// unusable journal, cut short or of another transfer, is never trusted nor silently
/// overwritten).
fn tell(start: &JournalStart, moved: &str, path: &Path, progress: &Progress, options: &Options) {
    match start {
        JournalStart::Resumed { done, total } => say(
            progress,
            options,
            &format!(
                "resuming: {done} of {total} parts already {moved} ({})",
                path.display()
            ),
        ),
        JournalStart::SetAside { aside, reason } => say(
            progress,
            options,
            &format!(
                "s3transfer: starting afresh: {reason} (kept as {}; `s3transfer uploads ls` shows \
                 any upload it left open)",
                aside.display()
            ),
        ),
        // A warning even under --quiet: the open upload is billed until aborted.
        JournalStart::Orphaned {
            aside,
            upload_id,
            error,
        } => progress.println(&format!(
            "warning: the interrupted upload (upload id {upload_id}) could not be aborted: \
             {error}; it is still open (its journal is kept as {}; `s3transfer uploads ls` \
             shows it, `s3transfer uploads abort` ends it)",
            aside.display()
        )),
        _ => {}
    }
}
