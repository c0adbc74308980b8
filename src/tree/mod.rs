//! Trees: a directory uploaded, a prefix downloaded or copied, or two sides synced,
//! each as one call returning a [`TreeHandle`].
//!
//! The flow is one way: the source is streamed (a local walk or a ListObjectsV2
//! listing into a bounded channel), merged in key order with the destination for a
//! sync, filtered, decided (`compare`), checked (`key_safety`), and each entry becomes
//! one transfer on the manager; transfers' completions record results on the handle.

mod args;
mod compare;
mod entry;
mod filter;
mod handle;
mod key_safety;
mod listing;
mod local_walk;
mod plan;

pub use args::{CaseConflict, FailurePolicy, ResultCallback, TreeArgs, TreeArgsBuilder};
pub use entry::{EntryOrigin, TreeEntry};
pub use filter::TreeFilter;
pub use handle::{ObjectAction, ObjectResult, TreeHandle, TreeProgress, TreeReport};
pub use listing::{LISTING_QUEUE_BOUND, ListedItem, ObjectListing};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::TransferError;
use crate::manager::TransferManager;
use handle::TreeShared;
use plan::{Mode, Plan};

/// One side of a tree: a local directory, or a bucket and a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeLocation {
    /// A local directory.
    Local(PathBuf),
    /// The objects of `bucket` under `prefix` (empty, or ending in `/`; a tree adds
    /// the `/` to a prefix without one, as [`TreeLocation::s3`] does).
    S3 {
        /// Bucket.
        bucket: String,
        /// A "directory" prefix: empty or ending in `/`.
        prefix: String,
    },
}

impl TreeLocation {
    /// A local directory.
    pub fn local(path: impl Into<PathBuf>) -> TreeLocation {
        TreeLocation::Local(path.into())
    }

    /// The objects under `prefix` in `bucket`. A prefix not ending in `/` gets one, as
    /// `aws s3 sync s3://b/photos` means the "directory" `photos/` (and not
    /// `photos-old/`).
    pub fn s3(bucket: impl Into<String>, prefix: impl Into<String>) -> TreeLocation {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        TreeLocation::S3 {
            bucket: bucket.into(),
            prefix,
        }
    }
}

impl TreeLocation {
    /// The same location with a non-empty prefix ending in `/`.
    fn normalised(self) -> TreeLocation {
        match self {
            TreeLocation::S3 { bucket, prefix } => TreeLocation::s3(bucket, prefix),
            local => local,
        }
    }
}

/// Directory operations. They take the manager in an `Arc` because the tree's own
/// thread starts its transfers on it after the call has returned.
impl TransferManager {
    /// Upload every file under `dir` to `bucket` under `prefix` (`aws s3 cp
    /// --recursive dir s3://bucket/prefix`): the key of `dir/a/b.txt` is
    /// `prefix/a/b.txt`. Each file's content type is guessed from its name unless
    /// `args.upload` names one; empty directories make no object.
    pub fn upload_dir(
        self: &Arc<Self>,
        dir: impl AsRef<Path>,
        bucket: &str,
        prefix: &str,
        args: TreeArgs,
    ) -> Result<TreeHandle, TransferError> {
        let source = TreeLocation::local(dir.as_ref());
        self.start_tree(Mode::Copy, source, TreeLocation::s3(bucket, prefix), args)
    }

    /// Download every object under `prefix` into `dir` (`aws s3 cp --recursive
    /// s3://bucket/prefix dir`), creating the directories keys name. A key that would
    /// land outside `dir` is refused with [`TransferError::UnsafeKey`]; "directory
    /// markers" (keys ending in `/` with no data) are left out. Each file gets the
    /// object's LastModified as its modification time.
    pub fn download_prefix(
        self: &Arc<Self>,
        bucket: &str,
        prefix: &str,
        dir: impl AsRef<Path>,
        args: TreeArgs,
    ) -> Result<TreeHandle, TransferError> {
        let destination = TreeLocation::local(dir.as_ref());
        self.start_tree(
            Mode::Copy,
            TreeLocation::s3(bucket, prefix),
            destination,
            args,
        )
    }

    /// Copy every object under `source_prefix` to `bucket` under `prefix` within S3
    /// (`aws s3 cp --recursive s3://a/p s3://b/q`).
    pub fn copy_prefix(
        self: &Arc<Self>,
        source_bucket: &str,
        source_prefix: &str,
        bucket: &str,
        prefix: &str,
        args: TreeArgs,
    ) -> Result<TreeHandle, TransferError> {
        let source = TreeLocation::s3(source_bucket, source_prefix);
        self.start_tree(Mode::Copy, source, TreeLocation::s3(bucket, prefix), args)
    }

    /// Make `destination` like `source` (`aws s3 sync`): local to S3, S3 to local or
    /// S3 to S3. An entry missing at the destination is sent; one on both sides is
    /// sent when its size differs or its time says the source changed (see
    /// [`TreeArgsBuilder::size_only`] and [`TreeArgsBuilder::exact_timestamps`]); with
    /// [`TreeArgsBuilder::delete`], destination entries the source lacks are deleted,
    /// among those the filters keep. Downloads set each file's time to the object's
    /// LastModified, so a second sync moves nothing.
    pub fn sync(
        self: &Arc<Self>,
        source: TreeLocation,
        destination: TreeLocation,
        args: TreeArgs,
    ) -> Result<TreeHandle, TransferError> {
        self.start_tree(Mode::Sync, source, destination, args)
    }

    /// Delete every object under `prefix` (`aws s3 rm --recursive s3://bucket/prefix`),
    /// "directory markers" included, as the listing reads them: keys are deleted while
    /// later pages are still being listed, so the listing and the deletes in flight
    /// hold a bounded number of keys however many there are. The report, though, keeps
    /// every key's result by default ([`TreeArgsBuilder::keep_results`] is `true`),
    /// which grows with the prefix: for a huge one, give `keep_results(false)` and take
    /// each result from [`TreeArgsBuilder::on_result`] (as the CLI's `rm --recursive`
    /// does), and memory stays bounded but for the failures, which the report always
    /// keeps. `args` filters (`include`, `exclude`, `filter`), plans
    /// only (`dry_run`), sets the failure policy and what each DeleteObject is sent
    /// with (`delete_args`); each result's action is [`ObjectAction::Delete`] and its
    /// source `s3://bucket/key`.
    pub fn delete_prefix(
        self: &Arc<Self>,
        bucket: &str,
        prefix: &str,
        args: TreeArgs,
    ) -> Result<TreeHandle, TransferError> {
        let location = TreeLocation::s3(bucket, prefix);
        self.start_tree(Mode::Delete, location.clone(), location, args)
    }

    fn start_tree(
        self: &Arc<Self>,
        mode: Mode,
        source: TreeLocation,
        destination: TreeLocation,
        args: TreeArgs,
    ) -> Result<TreeHandle, TransferError> {
        // A location built without `TreeLocation::s3` gets the same "directory"
        // prefix: `photos` alone would list `photos-old/x` too, which a sync with
        // delete would then delete.
        let (source, destination) = (source.normalised(), destination.normalised());
        if mode != Mode::Delete
            && let (
                TreeLocation::S3 {
                    bucket: from,
                    prefix: from_prefix,
                },
                TreeLocation::S3 { bucket, prefix },
            ) = (&source, &destination)
            && from == bucket
            && (prefix.starts_with(from_prefix.as_str())
                || from_prefix.starts_with(prefix.as_str()))
        {
            // Copies into the source's own prefix would be listed as they are written
            // and copied again, without end; a sync or move the other way round would
            // delete or move what it reads. Refused, as rclone refuses overlapping
            // remotes.
            return Err(TransferError::InvalidArgument(format!(
                "s3://{from}/{from_prefix} and s3://{bucket}/{prefix} overlap (one is inside the other): the source and the destination of a tree must be apart"
            )));
        }
        for side in [&source, &destination] {
            if let TreeLocation::S3 { bucket, .. } = side
                && bucket.is_empty()
            {
                return Err(TransferError::InvalidArgument(
                    "the bucket name is empty".into(),
                ));
            }
        }
        match (&source, &destination) {
            (TreeLocation::Local(_), TreeLocation::Local(_)) => {
                return Err(TransferError::InvalidArgument(
                    "a tree goes local to S3, S3 to local, or S3 to S3".into(),
                ));
            }
            (TreeLocation::Local(dir), _) => match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(TransferError::InvalidArgument(format!(
                        "{} is not a directory",
                        dir.display()
                    )));
                }
                Err(e) => return Err(TransferError::io("opening", Some(dir), e)),
            },
            _ => {}
        }
        let shared = TreeShared::new(
            args.failure_policy,
            args.keep_results,
            args.on_result.clone(),
            args.max_objects_in_flight,
        );
        let plan = Plan {
            manager: self.clone(),
            mode,
            source,
            destination,
            args,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("s3transfer-tree".into())
            .spawn(move || plan.run())
            .map_err(|e| TransferError::io("starting the tree's thread", None, e))?;
        Ok(TreeHandle {
            shared,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }
}
