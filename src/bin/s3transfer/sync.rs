//! `sync`, `cp --recursive` and `mv` over the library's trees: one streamed
//! `TransferManager::sync` / `upload_dir` / `download_prefix` / `copy_prefix` call,
//! each object's line printed as it finishes (`upload: a to s3://b/a`, on stdout as
//! the AWS CLI prints it; `(dryrun) ...` in a dry run; `--json`: one JSON object per
//! line), a refused key reported as a warning with exit code 2, and `mv` deleting each
//! source once its copy is written.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::Instant;

use clap::ArgMatches;
use s3transfer::{
    ErrorKind, ObjectAction, ObjectResult, TransferError, TransferFuture, TransferManager,
    TreeLocation,
};

use crate::args::Options;
use crate::execute::{Single, as_move, failed_line, interrupted};
use crate::location::Location;
use crate::plan::Job;
use crate::progress::Progress;
use crate::report::{CliError, EXIT_CANCELLED, EXIT_USAGE, Summary, transfer_exit_code};
use crate::tree_args::{ObjectArgs, SyncFlags, TreeFlags};

/// Which command runs the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TreeCommand {
    /// `cp --recursive`: every file.
    Copy,
    /// `sync`: what differs.
    Sync,
    /// `mv --recursive`: every file, then its source is deleted.
    Move,
    /// `rm --recursive`: every object under the prefix is deleted.
    Remove,
}

/// Exit code: some files were skipped with a warning (a refused key, an unreadable
/// file), everything else succeeded: the AWS CLI's 2.
pub(crate) const EXIT_SKIPPED: u8 = EXIT_USAGE;

/// What the command tells the user, shared by the result callback and the end.
struct Output {
    progress: Arc<Progress>,
    json: bool,
    /// No success lines (--quiet, --only-show-errors).
    errors_only: bool,
    verb: &'static str,
    /// A parking_lot lock: it is taken inside the tree's result callback, and a
    /// std lock poisoned by a panic there would make the end of the command panic.
    summary: Mutex<Summary>,
    /// Refused keys and unreadable files: warnings, exit code 2.
    warnings: AtomicU64,
    /// The first real failure's exit code.
    failure_code: Mutex<Option<u8>>,
}

impl Output {
    fn report(&self, result: &ObjectResult) {
        if self.json {
            let line = serde_json::json!({
                "action": result.action.as_str(),
                "source": result.source,
                "destination": result.destination,
                "size": result.size,
                "dryrun": result.dry_run,
                "status": match &result.outcome {
                    Ok(_) if result.action == ObjectAction::Skip => "skipped",
                    Ok(_) => "ok",
                    Err(e) if is_warning(e) => "warning",
                    Err(_) => "failed",
                },
                "error": result.outcome.as_ref().err().map(|e| e.to_string()),
                "warning": result.warning.as_ref().map(|e| e.to_string()),
            });
            self.progress.println_stdout(&line.to_string());
        }
        if let Some(warning) = &result.warning {
            self.progress.println(&case_warning(result, warning));
            if self.verb == "move" && matches!(warning, TransferError::CaseConflict { .. }) {
                // Skipped by a move: its source was not moved.
                self.warnings.fetch_add(1, Ordering::Relaxed);
            }
        }
        match &result.outcome {
            Ok(output) => {
                if let Some(output) = output {
                    self.summary.lock().succeeded(output);
                }
                if result.action == ObjectAction::Skip || self.json || self.errors_only {
                    return;
                }
                self.progress.println_stdout(&self.line(result));
            }
            Err(error) if is_warning(error) => {
                self.warnings.fetch_add(1, Ordering::Relaxed);
                if matches!(error.kind(), ErrorKind::DeleteSkipped) {
                    // The error names what was left in place.
                    self.progress.println(&format!("warning: {error}"));
                    return;
                }
                let what = if result.source.is_empty() {
                    "an entry"
                } else {
                    &result.source
                };
                self.progress
                    .println(&format!("warning: Skipping file {what}. {error}"));
            }
            // After Ctrl-C every running transfer ends cancelled: one line said so.
            Err(error) if error.is_cancelled() && interrupted() => {}
            Err(error) => {
                let mut code = self.failure_code.lock();
                code.get_or_insert(transfer_exit_code(error));
                drop(code);
                self.progress
                    .println(&failed_line(&self.line(result), error));
                self.summary.lock().failed(self.line(result), error.clone());
            }
        }
    }

    /// `upload: a to s3://b/a`, `(dryrun) delete: s3://b/x`, `move: ...`.
    fn line(&self, result: &ObjectResult) -> String {
        let verb = match result.action {
            ObjectAction::Delete => "delete",
            _ => self.verb_for(result.action),
        };
        let dry = if result.dry_run { "(dryrun) " } else { "" };
        if result.destination.is_empty() {
            format!("{dry}{verb}: {}", result.source)
        } else {
            format!("{dry}{verb}: {} to {}", result.source, result.destination)
        }
    }

    fn verb_for(&self, action: ObjectAction) -> &'static str {
        if self.verb == "move" {
            "move"
        } else {
            action.as_str()
        }
    }
}

/// A result's warning as the AWS CLI words a case conflict (`--case-conflict warn` or
/// `skip`): on stderr, and the exit code stays 0, as the AWS CLI's does.
fn case_warning(result: &ObjectResult, warning: &TransferError) -> String {
    let TransferError::CaseConflict {
        bucket,
        key,
        path,
        other,
    } = warning
    else {
        return format!("warning: {warning}");
    };
    let (src, dst) = (format!("s3://{bucket}/{key}"), path.display());
    if result.action == ObjectAction::Skip {
        format!(
            "warning: Skipping {src} -> {dst} because a file whose name differs only by case \
             ({other}) either exists or is being downloaded."
        )
    } else {
        format!(
            "warning: Downloading {src} -> {dst} despite a file whose name differs only by \
             case ({other}) either existing or being downloaded. This behavior is not defined \
             on case-insensitive filesystems and may result in overwriting existing files or \
             race conditions between concurrent downloads."
        )
    }
}

/// A key refused as unsafe, or a local file that could not be read: the AWS CLI
/// skips those with a warning; and a `--delete` not done after such an error.
fn is_warning(error: &TransferError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::UnsafeKey | ErrorKind::DeleteSkipped
    ) || matches!(
        error,
        TransferError::Io {
            action: "walking",
            ..
        }
    )
}

fn tree_location(arg: &str) -> Result<TreeLocation, CliError> {
    match Location::parse(arg).map_err(CliError::usage)? {
        Location::Local(path) => Ok(TreeLocation::local(path)),
        Location::S3 { bucket, key } => Ok(TreeLocation::s3(bucket, key)),
        Location::Std => Err(CliError::usage("- (stdin/stdout) cannot be a directory")),
    }
}

/// Run `command` from `src` to `dst`; returns the exit code.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_tree(
    command: TreeCommand,
    manager: &Arc<TransferManager>,
    (src, dst): (&str, &str),
    tree: &TreeFlags,
    sync: &SyncFlags,
    object: &ObjectArgs,
    options: &Options,
    matches: Option<&ArgMatches>,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let source = tree_location(src)?;
    let destination = tree_location(dst)?;
    // The library refuses any overlap; a move onto its own prefix gets the AWS CLI's
    // words for it.
    if command == TreeCommand::Move
        && let (
            TreeLocation::S3 { bucket, prefix },
            TreeLocation::S3 {
                bucket: to_bucket,
                prefix: to_prefix,
            },
        ) = (&source, &destination)
        && bucket == to_bucket
        && prefix.trim_end_matches('/') == to_prefix.trim_end_matches('/')
    {
        return Err(crate::plan::onto_itself(src, dst).into());
    }
    let errors_only = options.quiet || tree.only_show_errors;
    let hidden = errors_only || tree.no_progress || options.json || tree.dryrun;
    let progress = Progress::for_tree(hidden);
    let output = Arc::new(Output {
        progress: progress.clone(),
        json: options.json,
        errors_only,
        verb: if command == TreeCommand::Move {
            "move"
        } else {
            ""
        },
        summary: Mutex::new(Summary::default()),
        warnings: AtomicU64::new(0),
        failure_code: Mutex::new(None),
    });
    // `mv`: each source goes once its copy is written; the deletes' futures are
    // waited for on a thread of their own (a callback may not wait).
    // `None` ends the waiting thread: every result has been reported when the tree's
    // wait returns, though the callback holding the sender may live on.
    let (deletes_tx, deletes_rx) =
        crossbeam_channel::unbounded::<Option<(String, TransferFuture)>>();
    let end_deletes = deletes_tx.clone();
    let mover = (command == TreeCommand::Move && !tree.dryrun).then(|| {
        let output = output.clone();
        std::thread::spawn(move || {
            while let Ok(Some((label, future))) = deletes_rx.recv() {
                if let Err(error) = future.result() {
                    output
                        .progress
                        .println(&format!("delete failed: {label}: {error}"));
                    output
                        .failure_code
                        .lock()
                        .get_or_insert(transfer_exit_code(&error));
                }
            }
        })
    });
    let callback_output = output.clone();
    let callback_manager = manager.clone();
    let delete_args = object.delete.clone();
    let on_result = move |result: &ObjectResult| {
        let mut result = result.clone();
        if command == TreeCommand::Move && !result.dry_run && result.outcome.is_ok() {
            if result.action == ObjectAction::Download
                && matches!(result.warning, Some(TransferError::CaseConflict { .. }))
            {
                // Written despite a case conflict: the file may hold the other key's
                // bytes, so the source stays, said as a warning (exit code 2).
                result.outcome = Err(TransferError::DeleteSkipped {
                    target: result.source.clone(),
                    reason: "a key differing only by case was downloaded to the same name".into(),
                });
            } else {
                remove_source(&callback_manager, &mut result, &delete_args, &deletes_tx);
            }
        }
        callback_output.report(&result);
    };
    let mut builder = tree
        .builder(matches)
        .delete(sync.delete)
        .size_only(sync.size_only)
        .exact_timestamps(sync.exact_timestamps)
        .upload_args(object.upload.clone())
        .download_args(object.download.clone())
        .copy_args(object.copy.clone())
        .delete_args(object.delete.clone())
        .keep_results(false)
        .on_result(on_result);
    // A move must not download two keys onto one file (on a case-insensitive file
    // system) and then delete both sources: one object would be lost. Its `warn`
    // leaves the second key where it is, with the warning (`skip`).
    if command == TreeCommand::Move && tree.case_conflict == "warn" {
        builder = builder.case_conflict(s3transfer::CaseConflict::Skip);
    }
    if !hidden {
        builder = builder.subscriber(progress.tree_subscriber());
    }
    // Each file resumable, as a single `cp` is: a rerun after a kill continues the
    // files that were under way (the others a sync skips, or a copy sends again).
    if !options.no_resume
        && !tree.dryrun
        && let Some(dir) = s3transfer::resume::state_dir()
    {
        builder = builder.resumable(dir);
    }
    let args = builder
        .build()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let handle = match command {
        TreeCommand::Sync => manager.sync(source, destination, args)?,
        TreeCommand::Remove => match source {
            TreeLocation::S3 { bucket, prefix } => manager.delete_prefix(&bucket, &prefix, args)?,
            _ => return Err(CliError::usage("rm takes s3://bucket/prefix").into()),
        },
        TreeCommand::Copy | TreeCommand::Move => match (source, destination) {
            (TreeLocation::Local(dir), TreeLocation::S3 { bucket, prefix }) => {
                manager.upload_dir(dir, &bucket, &prefix, args)?
            }
            (TreeLocation::S3 { bucket, prefix }, TreeLocation::Local(dir)) => {
                manager.download_prefix(&bucket, &prefix, dir, args)?
            }
            (
                TreeLocation::S3 {
                    bucket: from,
                    prefix: from_prefix,
                },
                TreeLocation::S3 { bucket, prefix },
            ) => manager.copy_prefix(&from, &from_prefix, &bucket, &prefix, args)?,
            _ => {
                return Err(CliError::usage(
                    "--recursive copies a directory to s3://bucket/prefix, a prefix to a directory, or a prefix to a prefix",
                )
                .into());
            }
        },
    };
    let report = handle.wait();
    if let Some(mover) = mover {
        let _ = end_deletes.send(None);
        let _ = mover.join();
    }
    progress.finish();
    let stopped_code = report
        .stopped_by
        .as_ref()
        .filter(|_| !interrupted())
        .map(|error| {
            progress.println(&format!("s3transfer: error: {error}"));
            transfer_exit_code(error)
        });
    let failure = *output.failure_code.lock();
    let code = if interrupted() {
        EXIT_CANCELLED
    } else if let Some(code) = stopped_code.or(failure) {
        code
    } else if output.warnings.load(Ordering::Relaxed) > 0 {
        EXIT_SKIPPED
    } else {
        0
    };
    let seconds = started.elapsed().as_secs_f64();
    let summary = output.summary.lock();
    summary.print(
        match command {
            TreeCommand::Copy => "cp",
            TreeCommand::Sync => "sync",
            TreeCommand::Move => "mv",
            TreeCommand::Remove => "rm",
        },
        seconds,
        code,
        options,
        false,
    );
    Ok(code)
}

/// `mv`: delete the source of a finished object (a file, or an object through the
/// manager). A failure to remove the local file fails the result.
fn remove_source(
    manager: &Arc<TransferManager>,
    result: &mut ObjectResult,
    delete_args: &s3transfer::DeleteArgs,
    deletes: &crossbeam_channel::Sender<Option<(String, TransferFuture)>>,
) {
    match result.action {
        ObjectAction::Upload => {
            if let Err(e) = std::fs::remove_file(&result.source) {
                result.outcome = Err(TransferError::Io {
                    action: "removing",
                    path: Some(result.source.clone().into()),
                    source: Arc::new(e),
                });
            }
        }
        ObjectAction::Download | ObjectAction::Copy => {
            let Some((bucket, key)) = result
                .source
                .strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
            else {
                return;
            };
            match manager.delete(bucket, key, delete_args.clone(), &[]) {
                Ok(future) => {
                    let _ = deletes.send(Some((result.source.clone(), future)));
                }
                Err(error) => result.outcome = Err(error),
            }
        }
        _ => {}
    }
}

/// `cp`, `mv` or `rm` of one file or object: the planned job, or with `--dryrun` its
/// line only (`(dryrun) upload: a to s3://b/a`, on stdout as the AWS CLI prints it).
pub(crate) fn run_single(
    command: &str,
    manager: &TransferManager,
    job: Job,
    tree: &TreeFlags,
    object: &ObjectArgs,
    options: &Options,
    matches: Option<&ArgMatches>,
) -> anyhow::Result<u8> {
    let single = if command == "mv" {
        Single::Move
    } else {
        Single::Copy
    };
    // The AWS CLI filters a single file or object too (`rm s3://b/k --exclude k`
    // deletes nothing): left out, nothing is done or printed and the exit code is 0.
    let filter = tree.filter(matches)?;
    if let Some(name) = job.filtered_name()
        && !filter.matches_path(&name)
    {
        return Ok(0);
    }
    if tree.dryrun {
        let line = match single {
            Single::Move => as_move(&job.label),
            Single::Copy => job.label,
        };
        println!("(dryrun) {line}");
        return Ok(0);
    }
    let errors_only = options.quiet || tree.only_show_errors;
    let shown = crate::execute::Shown {
        lines: !errors_only,
        progress: !errors_only && !tree.no_progress,
    };
    crate::execute::execute(command, manager, job, single, options, object, shown)
}
