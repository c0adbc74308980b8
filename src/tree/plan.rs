//! The tree's own thread: it streams the source (and, for a sync, the destination)
//! side by side, filters, decides each entry ([`compare`](super::compare)), checks
//! every local path it would write ([`key_safety`](super::key_safety)), and starts
//! one transfer per entry on the manager, at most `max_objects_in_flight` at a time.
//! Each transfer's completion records its result; the thread ends the tree when the
//! last one is done.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use super::TreeLocation;
use super::args::{CaseConflict, TreeArgs};
use super::compare::{CompareOptions, Direction, Merge, Pair, needs_transfer};
use super::entry::{EntryOrigin, TreeEntry};
use super::handle::{ObjectAction, ObjectResult, TreeShared};
use super::key_safety::{check_no_link_between, local_path};
use super::listing::{Listing, ListingRequest};
use super::local_walk::LocalWalk;
use crate::client::CopySource;
use crate::error::TransferError;
use crate::future::TransferFuture;
use crate::manager::TransferManager;
use crate::resume::file::Prepared;
use crate::subscriber::Subscriber;
use crate::transfer::upload::UploadSource;

type Entries = Box<dyn Iterator<Item = Result<TreeEntry, TransferError>> + Send>;

/// `cp --recursive` (every source entry is sent), `sync` (compared first) or `rm
/// --recursive` (every source entry is deleted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Copy,
    Sync,
    Delete,
}

pub(crate) struct Plan {
    pub(crate) manager: Arc<TransferManager>,
    pub(crate) mode: Mode,
    pub(crate) source: TreeLocation,
    pub(crate) destination: TreeLocation,
    pub(crate) args: TreeArgs,
    pub(crate) shared: Arc<TreeShared>,
}

impl Plan {
    fn direction(&self) -> Direction {
        match (&self.source, &self.destination) {
            (TreeLocation::Local(_), _) => Direction::Upload,
            (_, TreeLocation::Local(_)) => Direction::Download,
            _ => Direction::Copy,
        }
    }

    /// Open one side as a stream of entries in key order. A local source follows
    /// links as the caller chose; a local destination never does: what a sync lists
    /// there it may delete, and a link could lead anywhere (a linked file or directory
    /// is then left out, so it is neither deleted nor compared).
    fn open(&self, side: &TreeLocation, is_source: bool) -> Result<Entries, TransferError> {
        match side {
            TreeLocation::Local(dir) => {
                if !is_source && !dir.exists() {
                    return Ok(Box::new(std::iter::empty()));
                }
                let follow = is_source && self.args.follow_symlinks;
                Ok(Box::new(LocalWalk::new(dir, follow)))
            }
            TreeLocation::S3 { bucket, prefix } => {
                let engine = self.manager.engine();
                let context = match (self.mode, self.direction()) {
                    (Mode::Delete, _) => self.args.delete_args.context.clone(),
                    (_, Direction::Download) => self.args.download.context.clone(),
                    (_, Direction::Copy) => self.args.copy.context.clone(),
                    (_, Direction::Upload) => self.args.upload.context.clone(),
                };
                let listing = Listing::start(
                    engine.client.clone(),
                    engine.retry.clone(),
                    ListingRequest {
                        bucket: bucket.clone(),
                        prefix: prefix.clone(),
                        delimiter: None,
                        context,
                    },
                )?;
                // `rm --recursive` deletes "directory markers" too, as the AWS CLI's
                // does; every other tree leaves them out.
                let keep_markers = self.mode == Mode::Delete;
                Ok(Box::new(listing.entries(prefix.clone(), keep_markers)))
            }
        }
    }

    /// The tree's thread.
    pub(crate) fn run(self) {
        // A caller's predicate may panic: the tree must still end, or `wait` would
        // wait forever.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.walk())) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.shared.stop(error),
            // A predicate's panic is caught where it is called (`accepts`); any other
            // is a bug of the tree.
            Err(payload) => self.shared.stop(TransferError::Internal(format!(
                "the tree's thread panicked: {}",
                panic_message(payload.as_ref())
            ))),
        }
        self.shared.finish();
    }

    fn walk(&self) -> Result<(), TransferError> {
        let source = self.open(&self.source, true)?;
        let destination: Entries = match self.mode {
            Mode::Sync => self.open(&self.destination, false)?,
            Mode::Copy | Mode::Delete => Box::new(std::iter::empty()),
        };
        let options = CompareOptions {
            size_only: self.args.size_only,
            exact_timestamps: self.args.exact_timestamps,
        };
        let mut seq = 0u64;
        // Set once either side could not be read somewhere: from then on a destination
        // entry may look missing from the source only because of that, so no delete is
        // done (rclone's "not deleting files as there were IO errors"). Deletes decided
        // before it were made on entries both sides had read correctly.
        let mut read_failed = false;
        for pair in Merge::new(source, destination) {
            if self.shared.is_stopped() {
                break;
            }
            seq += 1;
            match pair {
                Pair::Error(error) => {
                    if matches!(
                        error,
                        TransferError::S3ListFailed { .. }
                            | TransferError::RetriesExceeded { .. }
                            | TransferError::OutOfOrder { .. }
                    ) {
                        // Without the whole listing (it failed, or kept failing until
                        // the retries ran out: only a listing retries), or with a side
                        // whose entries cannot be paired, no decision can be right.
                        return Err(error);
                    }
                    read_failed = true;
                    self.fail_walk(error);
                }
                Pair::Source(source) => {
                    if !self.accepts(&source)? {
                        continue;
                    }
                    if self.mode == Mode::Delete {
                        // The destination is the source: what is listed goes.
                        self.remove(seq, source);
                    } else {
                        // A sync's destination was listed: a file there under this
                        // name would have paired with it.
                        self.send(seq, source, self.mode == Mode::Sync, None);
                    }
                }
                Pair::Destination(destination) => {
                    if self.args.delete && self.accepts(&destination)? {
                        if read_failed {
                            self.skip_delete(&destination);
                        } else {
                            self.remove(seq, destination);
                        }
                    }
                }
                Pair::Both(source, destination) => {
                    match (self.accepts(&source)?, self.accepts(&destination)?) {
                        (true, true) => {
                            if needs_transfer(self.direction(), &source, &destination, options) {
                                self.send(seq, source, false, Some((destination, options)));
                            } else {
                                self.skip(source, &destination);
                            }
                        }
                        (true, false) => self.send(seq, source, false, None),
                        // An entry the source has is never deleted, whatever a
                        // predicate says of either side: `--delete` removes only what
                        // the source lacks.
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the filters keep `entry`. A caller's predicate that panics stops the
    /// tree with a typed error naming the entry: what it meant to keep is unknown.
    fn accepts(&self, entry: &TreeEntry) -> Result<bool, TransferError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.args.filter.accepts(entry)
        }))
        .map_err(|payload| TransferError::PredicatePanicked {
            relative: entry.relative.clone(),
            message: panic_message(payload.as_ref()),
        })
    }

    fn describe(side: &TreeLocation, entry: &TreeEntry) -> String {
        match (&entry.origin, side) {
            (EntryOrigin::Local(path), _) => path.display().to_string(),
            (EntryOrigin::S3 { key, .. }, TreeLocation::S3 { bucket, .. }) => {
                format!("s3://{bucket}/{key}")
            }
            (EntryOrigin::S3 { key, .. }, _) => key.clone(),
        }
    }

    /// The destination's name for `relative`: a key under the prefix, or a path.
    fn destination_key(&self, relative: &str) -> String {
        match &self.destination {
            TreeLocation::S3 { prefix, .. } => format!("{prefix}{relative}"),
            TreeLocation::Local(_) => relative.to_owned(),
        }
    }

    fn result(
        &self,
        action: ObjectAction,
        entry: &TreeEntry,
        source: String,
        destination: String,
    ) -> ObjectResult {
        ObjectResult {
            action,
            relative: entry.relative.clone(),
            source,
            destination,
            size: entry.size,
            dry_run: self.args.dry_run,
            outcome: Ok(None),
            warning: None,
        }
    }

    fn fail_walk(&self, error: TransferError) {
        let source = match &error {
            TransferError::Io {
                path: Some(path), ..
            } => path.display().to_string(),
            _ => String::new(),
        };
        self.shared.planned(0);
        self.shared.record(ObjectResult {
            action: ObjectAction::Walk,
            relative: String::new(),
            source,
            destination: String::new(),
            size: 0,
            dry_run: self.args.dry_run,
            outcome: Err(error),
            warning: None,
        });
    }

    fn skip(&self, source: TreeEntry, destination: &TreeEntry) {
        self.shared.planned(0);
        let result = self.result(
            ObjectAction::Skip,
            &source,
            Self::describe(&self.source, &source),
            Self::describe(&self.destination, destination),
        );
        self.shared.record(result);
    }

    /// Send `entry` from the source to the destination. `unlisted`: the destination
    /// was listed and has no entry of this exact name. `compared`: the destination's
    /// entry a sync compared it with, to decide again should the object change.
    fn send(
        &self,
        seq: u64,
        entry: TreeEntry,
        unlisted: bool,
        compared: Option<(TreeEntry, CompareOptions)>,
    ) {
        let source_name = Self::describe(&self.source, &entry);
        let direction = self.direction();
        let action = match direction {
            Direction::Upload => ObjectAction::Upload,
            Direction::Download => ObjectAction::Download,
            Direction::Copy => ObjectAction::Copy,
        };
        self.shared.planned(entry.size);
        // Where it goes, checked before anything is started.
        let (destination_name, local) = match &self.destination {
            TreeLocation::S3 { bucket, .. } => (
                format!("s3://{bucket}/{}", self.destination_key(&entry.relative)),
                None,
            ),
            TreeLocation::Local(root) => match self.local_target(root, &entry) {
                Ok(path) => (path.display().to_string(), Some(path)),
                Err(error) => {
                    let mut result = self.result(action, &entry, source_name, String::new());
                    result.outcome = Err(error);
                    self.shared.record(result);
                    return;
                }
            },
        };
        let mut result = self.result(action, &entry, source_name, destination_name);
        let case = match (&local, &entry.origin) {
            (Some(path), EntryOrigin::S3 { key, .. })
                if self.args.case_conflict != CaseConflict::Ignore =>
            {
                Some(CaseCheck {
                    path: path.clone(),
                    key: key.clone(),
                    folded: entry.relative.to_lowercase(),
                    unlisted,
                })
            }
            _ => None,
        };
        if self.args.dry_run {
            // Nothing is in flight in a dry run: only a file on disk can conflict.
            if let Some(check) = &case
                && !self.case_verdict(&mut result, check)
            {
                return;
            }
            self.shared.record(result);
            return;
        }
        if let Some(path) = &local
            && let Some(parent) = path.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            let mut result = result;
            result.outcome = Err(TransferError::io("creating", Some(parent), e));
            self.shared.record(result);
            return;
        }
        // A journal found for the file is looked at before the transfer starts, so the
        // result can say what became of it (set aside, discarded) as its warning.
        let mut prepared = match (
            self.args.journal_dir.as_deref(),
            &self.source,
            &self.destination,
            &entry.origin,
        ) {
            (Some(dir), _, TreeLocation::S3 { bucket, .. }, EntryOrigin::Local(path)) => {
                let key = self.destination_key(&entry.relative);
                Some(
                    self.manager
                        .prepare_upload(path, (bucket, &key), dir, false),
                )
            }
            (Some(_), TreeLocation::S3 { bucket, .. }, _, EntryOrigin::S3 { key, etag })
                if let Some(dest) = &local =>
            {
                Some(
                    self.manager
                        .prepare_download((bucket, key), dest, etag.as_deref(), false),
                )
            }
            _ => None,
        };
        if let Some(warning) = prepared.as_ref().and_then(Prepared::warning) {
            result.warning = Some(warning);
        }
        let mtime = match direction {
            Direction::Download => local.clone().zip(entry.modified),
            _ => None,
        };
        // A download pinned to the listed ETag is fetched once more should the object
        // be replaced since the listing (see `Refetch`).
        let refetch = match (&self.source, &entry.origin, &local) {
            (
                TreeLocation::S3 { bucket, .. },
                EntryOrigin::S3 { key, etag: Some(_) },
                Some(dest),
            ) => Some(Refetch {
                manager: self.manager.clone(),
                bucket: bucket.clone(),
                key: key.clone(),
                relative: entry.relative.clone(),
                dest: dest.clone(),
                args: self.args.download.clone(),
                journal_dir: self.args.journal_dir.clone(),
                subscribers: self.args.subscribers.clone(),
                compared,
            }),
            _ => None,
        };
        self.start(seq, result, mtime, case, refetch, |manager, subscribers| {
            match (&self.source, &self.destination, &entry.origin) {
                (_, TreeLocation::S3 { bucket, .. }, EntryOrigin::Local(path)) => {
                    let key = self.destination_key(&entry.relative);
                    let args = self.args.upload.clone();
                    match prepared.as_mut() {
                        // A journal of another transfer was set aside, never trusted.
                        Some(prepared) => {
                            manager.begin_upload(prepared, path, (bucket, &key), args, subscribers)
                        }
                        None => manager.upload(
                            UploadSource::path(path),
                            bucket,
                            &key,
                            args,
                            subscribers,
                        ),
                    }
                }
                (
                    TreeLocation::S3 { bucket, .. },
                    TreeLocation::Local(_),
                    EntryOrigin::S3 { key, etag },
                ) => {
                    let dest = local.as_deref().expect("a checked local path");
                    let args = self.args.download.clone();
                    // Pinned to the ETag listed: an object replaced since the decision
                    // was made fails (412) instead of being written.
                    let etag = etag.as_deref();
                    match prepared.as_mut() {
                        Some(prepared) => manager.begin_download(
                            prepared,
                            (bucket, key),
                            dest,
                            args,
                            etag,
                            subscribers,
                        ),
                        None => {
                            manager.download_pinned((bucket, key), dest, args, etag, subscribers)
                        }
                    }
                }
                (
                    TreeLocation::S3 { bucket: from, .. },
                    TreeLocation::S3 { bucket, .. },
                    EntryOrigin::S3 { key, .. },
                ) => manager.copy(
                    CopySource::new(from.clone(), key.clone()),
                    bucket,
                    &self.destination_key(&entry.relative),
                    self.args.copy.clone(),
                    subscribers,
                ),
                _ => Err(TransferError::InvalidArgument(
                    "a tree goes local to S3, S3 to local, or S3 to S3".into(),
                )),
            }
        });
    }

    /// Check a download for a case conflict (see [`CaseCheck`]) and act on it as the
    /// tree's [`CaseConflict`] says: `false` when the result was recorded and nothing
    /// is to be started (skipped, or failed and the tree stopped).
    fn case_verdict(&self, result: &mut ObjectResult, check: &CaseCheck) -> bool {
        let TreeLocation::S3 { bucket, .. } = &self.source else {
            return true;
        };
        let in_flight = self
            .shared
            .case_name_in_flight(&check.folded)
            .filter(|other| *other != check.key)
            .map(|other| format!("s3://{bucket}/{other}"));
        let on_disk = || {
            check
                .unlisted
                .then(|| case_variant_on_disk(&check.path))
                .flatten()
        };
        let Some(other) = in_flight.or_else(on_disk) else {
            return true;
        };
        let conflict = TransferError::CaseConflict {
            bucket: bucket.clone(),
            key: check.key.clone(),
            path: check.path.clone(),
            other,
        };
        match self.args.case_conflict {
            CaseConflict::Error => {
                let mut failed = result.clone();
                failed.outcome = Err(conflict.clone());
                self.shared.record(failed);
                // As the AWS CLI: the command fails, the downloads running are
                // cancelled.
                self.shared.stop(conflict);
                false
            }
            CaseConflict::Skip => {
                let mut skipped = result.clone();
                skipped.action = ObjectAction::Skip;
                skipped.warning = Some(conflict);
                self.shared.record(skipped);
                false
            }
            _ => {
                result.warning = Some(conflict);
                true
            }
        }
    }

    /// The checked local path of a download.
    fn local_target(&self, root: &Path, entry: &TreeEntry) -> Result<PathBuf, TransferError> {
        let (bucket, key) = match (&self.source, &entry.origin) {
            (TreeLocation::S3 { bucket, .. }, EntryOrigin::S3 { key, .. }) => {
                (bucket.clone(), key.clone())
            }
            _ => (String::new(), entry.relative.clone()),
        };
        let refused = |reason: String| TransferError::UnsafeKey {
            bucket: bucket.clone(),
            key: key.clone(),
            reason,
        };
        let path = local_path(root, &entry.relative).map_err(refused)?;
        check_no_link_between(root, &path).map_err(refused)?;
        Ok(path)
    }

    /// A delete not done because a side could not be read: a failure of its own, so
    /// the caller sees each entry left in place.
    fn skip_delete(&self, entry: &TreeEntry) {
        self.shared.planned(0);
        let name = Self::describe(&self.destination, entry);
        let mut result = self.result(ObjectAction::Delete, entry, name.clone(), String::new());
        result.outcome = Err(TransferError::DeleteSkipped {
            target: name,
            reason: "reading the source or the destination failed earlier in this sync, so it may be missing from the source only because of that (not deleting files as there were I/O errors)".into(),
        });
        self.shared.record(result);
    }

    /// Delete a destination entry the source lacks.
    fn remove(&self, seq: u64, entry: TreeEntry) {
        self.shared.planned(0);
        let name = Self::describe(&self.destination, &entry);
        let result = self.result(ObjectAction::Delete, &entry, name, String::new());
        if self.args.dry_run {
            self.shared.record(result);
            return;
        }
        match (&self.destination, &entry.origin) {
            (TreeLocation::Local(root), EntryOrigin::Local(path)) => {
                let mut result = result;
                // Checked again here, not only by the walk: a directory on the way may
                // have been replaced by a link since it was walked.
                let checked = match path.strip_prefix(root) {
                    Ok(_) => check_no_link_between(root, path),
                    Err(_) => Err("it is not inside the destination directory".into()),
                };
                result.outcome = match checked {
                    Err(reason) => Err(TransferError::DeleteSkipped {
                        target: path.display().to_string(),
                        reason,
                    }),
                    Ok(()) => std::fs::remove_file(path)
                        .map(|()| None)
                        .map_err(|e| TransferError::io("removing", Some(path), e)),
                };
                self.shared.record(result);
            }
            (TreeLocation::S3 { bucket, .. }, EntryOrigin::S3 { key, .. }) => {
                self.start(seq, result, None, None, None, |manager, subscribers| {
                    manager.delete(bucket, key, self.args.delete_args.clone(), subscribers)
                });
            }
            _ => {}
        }
    }

    /// Start one transfer with the tree's completion attached. `case`: a download to
    /// check for a case conflict once it has its place, in flight until it ends.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        seq: u64,
        result: ObjectResult,
        mtime: Option<(PathBuf, SystemTime)>,
        case: Option<CaseCheck>,
        refetch: Option<Refetch>,
        call: impl FnOnce(
            &TransferManager,
            &[Arc<dyn Subscriber>],
        ) -> Result<TransferFuture, TransferError>,
    ) {
        if !self.shared.reserve(seq) {
            return;
        }
        // Checked once this download has its place: a download that ended meanwhile
        // has left the names in flight.
        let mut result = result;
        if let Some(check) = &case {
            if !self.case_verdict(&mut result, check) {
                self.shared.attach(seq, None);
                return;
            }
            self.shared
                .case_name_started(check.folded.clone(), check.key.clone());
        }
        let folded = case.map(|check| check.folded);
        let completion: Arc<dyn Subscriber> = Arc::new(Completion {
            shared: self.shared.clone(),
            seq,
            result: parking_lot::Mutex::new(Some(result.clone())),
            mtime,
            case_name: folded.clone(),
            refetch: parking_lot::Mutex::new(refetch),
        });
        let mut subscribers = vec![completion];
        subscribers.extend(self.args.subscribers.iter().cloned());
        let outcome = call(&self.manager, &subscribers);
        if outcome.is_err()
            && let Some(folded) = &folded
        {
            self.shared.case_name_ended(folded);
        }
        match outcome {
            Ok(future) => self.shared.attach(seq, Some(future)),
            Err(TransferError::QueueShutdown) => {
                // The manager was shut down (a Ctrl-C, say): every later entry would
                // fail the same way, so the tree stops here instead of reporting each.
                self.shared.attach(seq, None);
                self.shared.stop(TransferError::QueueShutdown);
            }
            Err(error) => {
                self.shared.attach(seq, None);
                let mut result = result;
                result.outcome = Err(error);
                self.shared.record(result);
            }
        }
    }
}

/// A download to check for names that differ only by case: by name, as the AWS CLI
/// checks, so it is the same on any file system. It conflicts with a download in
/// flight whose lowercased relative name is `folded` too, or, when the destination was
/// listed without this exact name (`unlisted`), with a file at `path` all the same: on
/// a case-insensitive file system, another case of the name.
pub(crate) struct CaseCheck {
    path: PathBuf,
    key: String,
    folded: String,
    unlisted: bool,
}

/// A regular file beside `path` whose name differs from `path`'s only by case (as
/// `A.txt` is to `a.txt`): what a download to `path` would overwrite on a
/// case-insensitive file system. Looked for (in the directory's entries) only when
/// something answers to `path`, as the AWS CLI asks whether the path exists: on a
/// case-sensitive file system nothing is overwritten. The same name, a directory, a
/// link and a download's working file are never one.
fn case_variant_on_disk(path: &Path) -> Option<String> {
    std::fs::symlink_metadata(path).ok()?;
    let wanted = path.file_name()?.to_str()?;
    let folded = wanted.to_lowercase();
    std::fs::read_dir(path.parent()?)
        .ok()?
        .filter_map(Result::ok)
        .find_map(|entry| {
            let name = entry.file_name();
            let name = name.to_str()?;
            (name != wanted
                && name.to_lowercase() == folded
                && entry.file_type().is_ok_and(|t| t.is_file())
                && !crate::resume::state_dir::is_download_working_file(name))
            .then(|| entry.path().display().to_string())
        })
}

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a
/// `String`), or a placeholder.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Attached first to every transfer of a tree: counts its bytes, and when it ends
/// sets a downloaded file's time to the object's LastModified (so the next sync sees
/// it as up to date) and records the result.
struct Completion {
    shared: Arc<TreeShared>,
    seq: u64,
    /// Taken by `on_done`, which runs once.
    result: parking_lot::Mutex<Option<ObjectResult>>,
    mtime: Option<(PathBuf, SystemTime)>,
    /// A download's lowercased name, in flight until `on_done`.
    case_name: Option<String>,
    /// A pinned download's second chance, taken once (see [`Refetch`]).
    refetch: parking_lot::Mutex<Option<Refetch>>,
}

impl Subscriber for Completion {
    fn on_progress(&self, _future: &TransferFuture, bytes: i64) {
        if bytes >= 0 {
            self.shared.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        } else {
            self.shared
                .bytes
                .fetch_sub(bytes.unsigned_abs(), Ordering::Relaxed);
        }
    }

    fn on_done(&self, future: &TransferFuture) {
        let Some(mut result) = self.result.lock().take() else {
            return;
        };
        result.outcome = future.result().map(Some);
        if let Err(error) = &result.outcome
            && replaced_since_listed(error)
            && let Some(refetch) = self.refetch.lock().take()
        {
            // Its place in flight (and its name's) stays until the refetch ends; the
            // HEAD it starts with is not made on a thread a transfer's callback runs on.
            let (shared, seq, case_name) = (self.shared.clone(), self.seq, self.case_name.clone());
            let spawned = std::thread::Builder::new()
                .name("s3transfer-refetch".into())
                .spawn({
                    let result = result.clone();
                    move || refetch.run(shared, seq, result, case_name)
                });
            if spawned.is_ok() {
                return;
            }
        }
        if let Some(folded) = &self.case_name {
            self.shared.case_name_ended(folded);
        }
        if result.outcome.is_ok()
            && let Some((path, time)) = &self.mtime
        {
            let set = std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|file| file.set_modified(*time));
            if let Err(e) = set {
                result.outcome = Err(TransferError::io("setting the time of", Some(path), e));
            }
        }
        self.shared.transfer_done(self.seq, result);
    }
}

/// Whether a pinned download failed because the object is no longer the one listed:
/// the store answered 412 to the pin, or a resumed download found another ETag.
fn replaced_since_listed(error: &TransferError) -> bool {
    error.is_precondition_failed()
        || matches!(
            error,
            TransferError::Resume(crate::resume::ResumeError::ObjectChanged { .. })
        )
}

/// A tree's download pinned to the listed ETag whose object was replaced since the
/// listing (a busy bucket): rather than fail the sync, the object is looked at again
/// (HeadObject) and, once, fetched pinned to its new ETag, the file then dated with
/// its own LastModified. A sync first decides again against the destination file it
/// compared (the new object may be up to date there). Replaced once more, it fails as
/// before, naming the key.
struct Refetch {
    manager: Arc<TransferManager>,
    bucket: String,
    key: String,
    relative: String,
    dest: PathBuf,
    args: crate::args::DownloadArgs,
    journal_dir: Option<PathBuf>,
    /// The caller's subscribers (the tree's completion is made anew).
    subscribers: Vec<Arc<dyn Subscriber>>,
    compared: Option<(TreeEntry, CompareOptions)>,
}

impl Refetch {
    /// On a thread of its own: HEAD, decide, start the download (or record the
    /// result). `failed` is the first download's result, recorded as it is if the
    /// object cannot be looked at again.
    fn run(
        self,
        shared: Arc<TreeShared>,
        seq: u64,
        failed: ObjectResult,
        case_name: Option<String>,
    ) {
        let end = |result: ObjectResult| {
            if let Some(folded) = &case_name {
                shared.case_name_ended(folded);
            }
            shared.transfer_done(seq, result);
        };
        let request = crate::client::HeadObjectRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let engine = self.manager.engine();
        let head = crate::runtime::retry::with_retries(
            &engine.retry,
            &|| shared.is_stopped(),
            &mut |_| engine.client.head_object(&request),
        );
        let (Ok(head), false) = (head, shared.is_stopped()) else {
            return end(failed);
        };
        let Some(etag) = head.etag.clone() else {
            return end(failed);
        };
        let modified = head
            .last_modified
            .as_deref()
            .and_then(|date| httpdate::parse_http_date(date).ok());
        let now = TreeEntry {
            relative: self.relative.clone(),
            size: head.content_length,
            modified,
            origin: EntryOrigin::S3 {
                key: self.key.clone(),
                etag: Some(etag.clone()),
            },
        };
        let mut result = failed;
        result.size = now.size;
        if let Some((destination, options)) = &self.compared
            && !needs_transfer(Direction::Download, &now, destination, *options)
        {
            result.action = ObjectAction::Skip;
            result.outcome = Ok(None);
            return end(result);
        }
        result.outcome = Ok(None);
        let completion: Arc<dyn Subscriber> = Arc::new(Completion {
            shared: shared.clone(),
            seq,
            result: parking_lot::Mutex::new(Some(result.clone())),
            mtime: modified.map(|time| (self.dest.clone(), time)),
            case_name: case_name.clone(),
            refetch: parking_lot::Mutex::new(None),
        });
        let mut subscribers = vec![completion];
        subscribers.extend(self.subscribers.iter().cloned());
        let key = (self.bucket.as_str(), self.key.as_str());
        let started = match &self.journal_dir {
            Some(_) => self
                .manager
                .download_file_journaled(
                    key,
                    &self.dest,
                    self.args.clone(),
                    Some(&etag),
                    false,
                    &subscribers,
                )
                .map(|journaled| journaled.future),
            None => self.manager.download_pinned(
                key,
                &self.dest,
                self.args.clone(),
                Some(&etag),
                &subscribers,
            ),
        };
        match started {
            Ok(future) => shared.attach(seq, Some(future)),
            Err(error) => {
                result.outcome = Err(error);
                end(result);
            }
        }
    }
}
