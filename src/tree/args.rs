//! [`TreeArgs`]: how a directory upload, prefix download, prefix copy or sync runs
//! (filters, links, the failure policy, dry run, the sync rules) and what each object
//! is sent with; built by [`TreeArgsBuilder`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::entry::TreeEntry;
use super::filter::TreeFilter;
use super::handle::ObjectResult;
use crate::args::{CopyArgs, DeleteArgs, DownloadArgs, UploadArgs};
use crate::error::TransferError;
use crate::subscriber::Subscriber;

/// What a tree does when one of its objects fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Go on with the rest and report each failure (the AWS CLI's behaviour). The
    /// default.
    #[default]
    Continue,
    /// Stop at the first failure: nothing more is started, what is running is
    /// cancelled, and the report's error is that first failure.
    StopOnFirst,
}

/// What a tree download does when an object's file name differs only by case from
/// another object being downloaded (`A.txt` and `a.txt`), or, in a sync, from a file
/// already in the destination that is not listed under that exact name: the AWS CLI
/// v2's `--case-conflict`. On a case-insensitive file system (macOS, Windows) one of
/// the two would overwrite the other. The check is by name, so it runs on any file
/// system, and it is bounded: it remembers only the (lowercased) names of the
/// downloads in flight, at most `max_objects_in_flight`, and asks the file system
/// only whether the one path exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CaseConflict {
    /// Fail the object with [`TransferError::CaseConflict`] and stop the tree (the
    /// downloads running are cancelled).
    Error,
    /// Download it anyway; its result carries the conflict as a
    /// [`warning`](crate::ObjectResult::warning). The default, as the AWS CLI v2's.
    #[default]
    Warn,
    /// Leave it out: its result is a [`Skip`](crate::ObjectAction::Skip) with the
    /// conflict as its warning.
    Skip,
    /// No check (for a case-sensitive destination).
    Ignore,
}

impl CaseConflict {
    /// The AWS CLI's word for it (`error`, `warn`, `skip`, `ignore`).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseConflict::Error => "error",
            CaseConflict::Warn => "warn",
            CaseConflict::Skip => "skip",
            CaseConflict::Ignore => "ignore",
        }
    }

    /// Parse the AWS CLI's word for it.
    pub fn parse(text: &str) -> Option<CaseConflict> {
        match text {
            "error" => Some(CaseConflict::Error),
            "warn" => Some(CaseConflict::Warn),
            "skip" => Some(CaseConflict::Skip),
            "ignore" => Some(CaseConflict::Ignore),
            _ => None,
        }
    }
}

/// A callback for each object's outcome, as it is known.
pub type ResultCallback = Arc<dyn Fn(&ObjectResult) + Send + Sync>;

/// The arguments of [`TransferManager::upload_dir`](crate::TransferManager::upload_dir),
/// [`download_prefix`](crate::TransferManager::download_prefix),
/// [`copy_prefix`](crate::TransferManager::copy_prefix) and
/// [`sync`](crate::TransferManager::sync). Build with [`TreeArgs::builder`];
/// `TreeArgs::default()` is the builder's defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct TreeArgs {
    /// Which entries take part.
    pub filter: TreeFilter,
    /// Follow symbolic links in a local source.
    pub follow_symlinks: bool,
    /// Go on after a failure or stop.
    pub failure_policy: FailurePolicy,
    /// Decide everything, send nothing that changes anything.
    pub dry_run: bool,
    /// Sync only: delete destination entries the source does not have.
    pub delete: bool,
    /// Sync only: compare sizes only.
    pub size_only: bool,
    /// Sync only: on a download, same-sized files whose time differs at all are sent.
    pub exact_timestamps: bool,
    /// What every upload is sent with.
    pub upload: UploadArgs,
    /// What every download is sent with.
    pub download: DownloadArgs,
    /// What every copy is sent with.
    pub copy: CopyArgs,
    /// What every delete of an object is sent with.
    pub delete_args: DeleteArgs,
    /// Attached to every transfer of the tree.
    pub subscribers: Vec<Arc<dyn Subscriber>>,
    /// Keep every object's result for the report.
    pub keep_results: bool,
    /// Called with every object's result as it is known.
    pub on_result: Option<ResultCallback>,
    /// Transfers started and not yet finished, at most.
    pub max_objects_in_flight: usize,
    /// Where upload journals are kept; `Some` makes each file transfer of the tree
    /// resumable (see [`TreeArgsBuilder::resumable`]).
    pub journal_dir: Option<PathBuf>,
    /// Downloads only: what to do about names that differ only by case.
    pub case_conflict: CaseConflict,
}

impl Default for TreeArgs {
    fn default() -> Self {
        TreeArgs {
            filter: TreeFilter::new(),
            follow_symlinks: true,
            failure_policy: FailurePolicy::Continue,
            dry_run: false,
            delete: false,
            size_only: false,
            exact_timestamps: false,
            upload: UploadArgs::default(),
            download: DownloadArgs::default(),
            copy: CopyArgs::default(),
            delete_args: DeleteArgs::default(),
            subscribers: Vec::new(),
            keep_results: true,
            on_result: None,
            max_objects_in_flight: 1000,
            journal_dir: None,
            case_conflict: CaseConflict::Warn,
        }
    }
}

impl TreeArgs {
    /// A builder with the defaults.
    pub fn builder() -> TreeArgsBuilder {
        TreeArgsBuilder {
            args: TreeArgs::default(),
            rules: Vec::new(),
            predicate: None,
        }
    }
}

impl fmt::Debug for TreeArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeArgs")
            .field("filter", &self.filter)
            .field("follow_symlinks", &self.follow_symlinks)
            .field("failure_policy", &self.failure_policy)
            .field("dry_run", &self.dry_run)
            .field("delete", &self.delete)
            .field("size_only", &self.size_only)
            .field("exact_timestamps", &self.exact_timestamps)
            .field("upload", &self.upload)
            .field("download", &self.download)
            .field("copy", &self.copy)
            .field("delete_args", &self.delete_args)
            .field("subscribers", &self.subscribers.len())
            .field("keep_results", &self.keep_results)
            .field("on_result", &self.on_result.is_some())
            .field("max_objects_in_flight", &self.max_objects_in_flight)
            .field("journal_dir", &self.journal_dir)
            .field("case_conflict", &self.case_conflict)
            .finish()
    }
}

type BoxedPredicate = Box<dyn Fn(&TreeEntry) -> bool + Send + Sync>;

/// Builds [`TreeArgs`]. Every setting has a default, chosen to match `aws s3 cp
/// --recursive` / `aws s3 sync` without options.
pub struct TreeArgsBuilder {
    args: TreeArgs,
    rules: Vec<(bool, String)>,
    predicate: Option<BoxedPredicate>,
}

impl TreeArgsBuilder {
    /// `--include pattern`; see [`TreeFilter`] for how rules combine. Default: no rules,
    /// everything is included.
    pub fn include(mut self, pattern: impl Into<String>) -> Self {
        self.rules.push((true, pattern.into()));
        self
    }

    /// `--exclude pattern`; see [`TreeFilter`].
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.rules.push((false, pattern.into()));
        self
    }

    /// Keep only the entries `predicate` accepts (after the rules). Default: none.
    pub fn filter(
        mut self,
        predicate: impl Fn(&TreeEntry) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicate = Some(Box::new(predicate));
        self
    }

    /// Follow symbolic links of a local source (default `true`, as the AWS CLI's
    /// `--follow-symlinks`); with `false` links are left out.
    pub fn follow_symlinks(mut self, follow: bool) -> Self {
        self.args.follow_symlinks = follow;
        self
    }

    /// Default [`FailurePolicy::Continue`], as the AWS CLI.
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.args.failure_policy = policy;
        self
    }

    /// Plan only: every object's result says what would happen, and no request that
    /// changes anything is sent (listings still are), no directory is created and no
    /// file removed. Default `false`.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.args.dry_run = dry_run;
        self
    }

    /// Sync only: delete destination entries that the source lacks, among those the
    /// filters keep (`--delete`). Default `false`. Once either side has failed to be
    /// read (a walk error), later deletes are not done and are reported as
    /// [`TransferError::DeleteSkipped`]; links in a local destination are never
    /// followed, so nothing behind one is deleted.
    pub fn delete(mut self, delete: bool) -> Self {
        self.args.delete = delete;
        self
    }

    /// Sync only: a file on both sides is sent only if its size differs
    /// (`--size-only`). Default `false`.
    pub fn size_only(mut self, size_only: bool) -> Self {
        self.args.size_only = size_only;
        self
    }

    /// Sync only: on a download, a same-sized file is sent unless its time equals the
    /// object's LastModified exactly (`--exact-timestamps`). Default `false`.
    pub fn exact_timestamps(mut self, exact: bool) -> Self {
        self.args.exact_timestamps = exact;
        self
    }

    /// Arguments of every upload (default [`UploadArgs::default`]: the content type is
    /// guessed from each file's name unless one is given).
    pub fn upload_args(mut self, args: UploadArgs) -> Self {
        self.args.upload = args;
        self
    }

    /// Arguments of every download (default none).
    pub fn download_args(mut self, args: DownloadArgs) -> Self {
        self.args.download = args;
        self
    }

    /// Arguments of every copy (default none: the source's metadata is copied).
    pub fn copy_args(mut self, args: CopyArgs) -> Self {
        self.args.copy = args;
        self
    }

    /// Arguments of every object delete (default none).
    pub fn delete_args(mut self, args: DeleteArgs) -> Self {
        self.args.delete_args = args;
        self
    }

    /// Attach `subscriber` to every transfer of the tree (default none).
    pub fn subscriber(mut self, subscriber: Arc<dyn Subscriber>) -> Self {
        self.args.subscribers.push(subscriber);
        self
    }

    /// Keep every object's result in the [`TreeReport`](crate::TreeReport) (default
    /// `true`). Memory then grows with the number of objects; turn it off for large
    /// trees and follow them with [`on_result`](Self::on_result). Failures are always
    /// kept.
    pub fn keep_results(mut self, keep: bool) -> Self {
        self.args.keep_results = keep;
        self
    }

    /// Call `callback` with every object's result as it is known (on the tree's own
    /// thread or on the worker that finished the transfer: keep it short). Default
    /// none.
    pub fn on_result(mut self, callback: impl Fn(&ObjectResult) + Send + Sync + 'static) -> Self {
        self.args.on_result = Some(Arc::new(callback));
        self
    }

    /// Transfers started and not finished, at most (default 1,000, the manager's
    /// default submission queue): the tree waits for one to end before starting more,
    /// so memory holds at most this many transfers whatever the tree's size.
    pub fn max_objects_in_flight(mut self, n: usize) -> Self {
        self.args.max_objects_in_flight = n;
        self
    }

    /// Make each file of the tree resumable, as a single `resume` journal makes one
    /// transfer: every upload of a file keeps a journal under `dir` (keyed by source and
    /// destination, see [`crate::resume::upload_journal_path`]) and every download one
    /// beside its temporary file; a tree that finds a usable journal for a file (a run
    /// killed or interrupted before) continues that file from it instead of starting
    /// over, after the same re-checks as `resume_upload` / `resume_download`, starting
    /// it over when its source or object changed. Default: off (no journals are written,
    /// as for a single transfer); the CLI turns it on with its state directory unless
    /// `--no-resume`.
    pub fn resumable(mut self, dir: impl Into<PathBuf>) -> Self {
        self.args.journal_dir = Some(dir.into());
        self
    }

    /// Downloads only: what to do with an object whose file name differs only by case
    /// from another being downloaded, or from a file a sync finds in the destination
    /// under another case (`--case-conflict`; see [`CaseConflict`]). Default
    /// [`CaseConflict::Warn`], as the AWS CLI v2: the download goes ahead and its
    /// result says so.
    pub fn case_conflict(mut self, mode: CaseConflict) -> Self {
        self.args.case_conflict = mode;
        self
    }

    /// The arguments; [`TransferError::InvalidArgument`] for a pattern that does not
    /// compile, `size_only` with `exact_timestamps`, or `max_objects_in_flight` 0.
    pub fn build(self) -> Result<TreeArgs, TransferError> {
        let mut args = self.args;
        let mut filter = TreeFilter::new();
        for (include, pattern) in &self.rules {
            filter = if *include {
                filter.include(pattern)?
            } else {
                filter.exclude(pattern)?
            };
        }
        if let Some(predicate) = self.predicate {
            filter = filter.predicate(predicate);
        }
        args.filter = filter;
        if args.size_only && args.exact_timestamps {
            return Err(TransferError::InvalidArgument(
                "size_only and exact_timestamps cannot be used together".into(),
            ));
        }
        if args.max_objects_in_flight == 0 {
            return Err(TransferError::InvalidArgument(
                "max_objects_in_flight must be at least 1".into(),
            ));
        }
        Ok(args)
    }
}
