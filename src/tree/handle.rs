//! [`TreeHandle`]: what a caller holds for a running tree (its progress, cancel, the
//! wait for its [`TreeReport`]); and the state the tree's thread and its transfers'
//! completions share: what is in flight, the counts, the results, the stop switch.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::args::{FailurePolicy, ResultCallback};
use crate::error::TransferError;
use crate::future::{TransferFuture, TransferOutput};

/// What was done, or would be done in a dry run, for one entry of a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectAction {
    /// A file sent to S3.
    Upload,
    /// An object written to a file.
    Download,
    /// An object copied within S3.
    Copy,
    /// A destination entry deleted (sync with `delete`), or an object deleted by
    /// [`delete_prefix`](crate::TransferManager::delete_prefix).
    Delete,
    /// Left alone: the destination is up to date.
    Skip,
    /// A local entry that could not be read (a broken link, a loop, no permission, a
    /// name that is not UTF-8): nothing was sent for it.
    Walk,
}

impl ObjectAction {
    /// The AWS CLI's word for it (`upload`, `download`, `copy`, `delete`, `skip`,
    /// `walk`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectAction::Upload => "upload",
            ObjectAction::Download => "download",
            ObjectAction::Copy => "copy",
            ObjectAction::Delete => "delete",
            ObjectAction::Skip => "skip",
            ObjectAction::Walk => "walk",
        }
    }
}

/// The outcome of one entry of a tree.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ObjectResult {
    /// What was done.
    pub action: ObjectAction,
    /// The path relative to the tree's root.
    pub relative: String,
    /// The source: a local path or `s3://bucket/key` (for a delete, what was deleted).
    pub source: String,
    /// The destination (empty for a delete).
    pub destination: String,
    /// The entry's size in bytes.
    pub size: u64,
    /// Whether this is a dry run's plan: nothing was done.
    pub dry_run: bool,
    /// The transfer's output (`None` for a skip, a local delete or a dry run), or
    /// why it failed.
    pub outcome: Result<Option<TransferOutput>, TransferError>,
    /// Something the caller should know though the entry did not fail: a download
    /// whose name differs only by case from another
    /// ([`TransferError::CaseConflict`], under
    /// [`CaseConflict::Warn`](crate::CaseConflict::Warn) or `Skip`).
    pub warning: Option<TransferError>,
}

impl ObjectResult {
    /// Whether it failed.
    pub fn is_failure(&self) -> bool {
        self.outcome.is_err()
    }
}

/// Counts of a tree so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeProgress {
    /// Entries decided on so far (transfers started, skips, failures found).
    pub planned: u64,
    /// Entries finished (succeeded, skipped or failed).
    pub finished: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Bytes of planned transfers whose size is known.
    pub bytes_planned: u64,
    /// Bytes moved so far.
    pub bytes_transferred: u64,
    /// Transfers running now.
    pub in_flight: u64,
}

/// What a tree did, once it is over.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TreeReport {
    /// Files uploaded.
    pub uploaded: u64,
    /// Objects downloaded.
    pub downloaded: u64,
    /// Objects copied.
    pub copied: u64,
    /// Entries deleted.
    pub deleted: u64,
    /// Entries left alone (up to date).
    pub skipped: u64,
    /// Entries failed.
    pub failed: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// Every result, in the order they finished, when
    /// [`keep_results`](crate::TreeArgsBuilder::keep_results) is on.
    pub results: Vec<ObjectResult>,
    /// The failed results, in the order they finished.
    pub failures: Vec<ObjectResult>,
    /// What stopped the whole tree before its end: a listing that failed, a cancel, or
    /// the first failure under [`FailurePolicy::StopOnFirst`].
    pub stopped_by: Option<TransferError>,
}

impl TreeReport {
    /// Whether every entry succeeded and nothing stopped the tree.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.stopped_by.is_none()
    }

    /// The error that stopped the tree, else the first failure.
    pub fn error(&self) -> Option<&TransferError> {
        self.stopped_by
            .as_ref()
            .or_else(|| self.failures.first().and_then(|r| r.outcome.as_ref().err()))
    }
}

/// A running tree: follow it, cancel it, wait for its report. Cheap to clone.
#[derive(Clone)]
pub struct TreeHandle {
    pub(crate) shared: Arc<TreeShared>,
    pub(crate) thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl TreeHandle {
    /// Stop: nothing more is started, and the transfers running are cancelled (a
    /// multipart upload is aborted, a partial download removed). The report's
    /// `stopped_by` is [`TransferError::Cancelled`].
    pub fn cancel(&self) {
        self.shared
            .stop(TransferError::cancelled("the tree was cancelled", false));
    }

    /// The counts so far.
    pub fn progress(&self) -> TreeProgress {
        let s = &self.shared;
        TreeProgress {
            planned: s.planned.load(Ordering::Relaxed),
            finished: s.finished.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            bytes_planned: s.bytes_planned.load(Ordering::Relaxed),
            bytes_transferred: s.bytes.load(Ordering::Relaxed),
            in_flight: s.in_flight.lock().len() as u64,
        }
    }

    /// Whether the tree is over (and [`wait`](Self::wait) will not block).
    pub fn is_done(&self) -> bool {
        *self.shared.done.lock()
    }

    /// Wait for the tree to end and return its report. Do not call it from a
    /// [`Subscriber`](crate::Subscriber) callback or an `on_result` callback: the tree
    /// may need that thread to end.
    pub fn wait(&self) -> TreeReport {
        {
            let mut done = self.shared.done.lock();
            while !*done {
                self.shared.done_changed.wait(&mut done);
            }
        }
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
        let s = &self.shared;
        let counts = s.counts.lock().clone();
        TreeReport {
            results: s.results.lock().clone(),
            failures: s.failures.lock().clone(),
            stopped_by: s.stopped_by.lock().clone(),
            bytes: s.bytes.load(Ordering::Relaxed),
            ..counts
        }
    }
}

impl std::fmt::Debug for TreeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeHandle")
            .field("progress", &self.progress())
            .field("done", &self.is_done())
            .finish()
    }
}

/// What the tree's thread and the completions of its transfers share. Locks: each
/// protects the one field it wraps, and none is held while a callback, a cancel or a
/// transfer call runs.
pub(crate) struct TreeShared {
    pub(crate) policy: FailurePolicy,
    pub(crate) keep_results: bool,
    pub(crate) on_result: Option<ResultCallback>,
    pub(crate) max_in_flight: usize,
    stopped: AtomicBool,
    stopped_by: Mutex<Option<TransferError>>,
    /// Transfers started and not yet done, by sequence number; `None` until the
    /// manager has returned the future (a fast transfer may end before that).
    in_flight: Mutex<HashMap<u64, Option<TransferFuture>>>,
    in_flight_changed: Condvar,
    planned: AtomicU64,
    finished: AtomicU64,
    failed: AtomicU64,
    bytes_planned: AtomicU64,
    pub(crate) bytes: AtomicU64,
    counts: Mutex<TreeReport>,
    /// The downloads in flight by lowercased relative name, with the key of one and
    /// how many: what a download whose name differs only by case is checked against.
    /// At most `max_in_flight` entries; each leaves when its last download ends.
    case_names: Mutex<HashMap<String, (String, usize)>>,
    results: Mutex<Vec<ObjectResult>>,
    failures: Mutex<Vec<ObjectResult>>,
    done: Mutex<bool>,
    done_changed: Condvar,
}

impl TreeShared {
    pub(crate) fn new(
        policy: FailurePolicy,
        keep_results: bool,
        on_result: Option<ResultCallback>,
        max_in_flight: usize,
    ) -> Arc<TreeShared> {
        Arc::new(TreeShared {
            policy,
            keep_results,
            on_result,
            max_in_flight,
            stopped: AtomicBool::new(false),
            stopped_by: Mutex::new(None),
            in_flight: Mutex::new(HashMap::new()),
            in_flight_changed: Condvar::new(),
            planned: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            bytes_planned: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            counts: Mutex::new(TreeReport::default()),
            case_names: Mutex::new(HashMap::new()),
            results: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            done: Mutex::new(false),
            done_changed: Condvar::new(),
        })
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stop the tree with `error` (the first stop wins) and cancel what runs.
    pub(crate) fn stop(&self, error: TransferError) {
        {
            let mut stopped_by = self.stopped_by.lock();
            if stopped_by.is_none() {
                *stopped_by = Some(error);
            }
        }
        self.stopped.store(true, Ordering::Release);
        // Copied out: a cancel may finish a transfer on this thread, whose completion
        // takes the in-flight lock.
        let running: Vec<TransferFuture> =
            self.in_flight.lock().values().flatten().cloned().collect();
        for future in running {
            future.cancel_with_message("the tree stopped");
        }
        self.in_flight_changed.notify_all();
    }

    /// Count one more entry decided on, with `bytes` to move.
    pub(crate) fn planned(&self, bytes: u64) {
        self.planned.fetch_add(1, Ordering::Relaxed);
        self.bytes_planned.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Reserve a place for transfer `seq`, waiting while `max_in_flight` run. `false`
    /// once the tree is stopped.
    pub(crate) fn reserve(&self, seq: u64) -> bool {
        let mut in_flight = self.in_flight.lock();
        while in_flight.len() >= self.max_in_flight && !self.is_stopped() {
            self.in_flight_changed.wait(&mut in_flight);
        }
        if self.is_stopped() {
            return false;
        }
        in_flight.insert(seq, None);
        true
    }

    /// The manager returned `future` for `seq` (or refused it: then `None`, and the
    /// caller records the failure).
    pub(crate) fn attach(&self, seq: u64, future: Option<TransferFuture>) {
        let mut in_flight = self.in_flight.lock();
        match future {
            Some(future) => {
                if let Some(slot) = in_flight.get_mut(&seq) {
                    *slot = Some(future.clone());
                    drop(in_flight);
                    if self.is_stopped() {
                        // Stopped between the reserve and now: `stop` did not see it.
                        future.cancel_with_message("the tree stopped");
                    }
                }
            }
            None => {
                in_flight.remove(&seq);
                drop(in_flight);
                self.in_flight_changed.notify_all();
            }
        }
    }

    /// Transfer `seq` ended with `result`.
    pub(crate) fn transfer_done(&self, seq: u64, result: ObjectResult) {
        // Recorded before it leaves the in-flight set: the tree is over when that set
        // is empty, and its report must hold this result.
        self.record(result);
        self.in_flight.lock().remove(&seq);
        self.in_flight_changed.notify_all();
    }

    /// Record one entry's result: counts, the callback, the lists, and the failure
    /// policy.
    pub(crate) fn record(&self, result: ObjectResult) {
        self.finished.fetch_add(1, Ordering::Relaxed);
        {
            let mut counts = self.counts.lock();
            match (&result.outcome, result.action) {
                (Err(_), _) => counts.failed += 1,
                (Ok(_), ObjectAction::Upload) => counts.uploaded += 1,
                (Ok(_), ObjectAction::Download) => counts.downloaded += 1,
                (Ok(_), ObjectAction::Copy) => counts.copied += 1,
                (Ok(_), ObjectAction::Delete) => counts.deleted += 1,
                (Ok(_), ObjectAction::Skip | ObjectAction::Walk) => counts.skipped += 1,
            }
        }
        if let Some(callback) = &self.on_result {
            // Contained: a panicking callback must not keep the transfer in flight
            // forever (the tree would never end).
            let called =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&result)));
            if called.is_err() {
                tracing::warn!(relative = %result.relative, "an on_result callback panicked");
            }
        }
        if let Err(error) = &result.outcome {
            self.failed.fetch_add(1, Ordering::Relaxed);
            // A transfer cancelled by the tree's own stop is not a new failure.
            if self.policy == FailurePolicy::StopOnFirst && !self.is_stopped() {
                self.stop(error.clone());
            }
            self.failures.lock().push(result.clone());
        }
        if self.keep_results {
            self.results.lock().push(result);
        }
    }

    /// The key of the download in flight whose lowercased name is `folded`, if any.
    pub(crate) fn case_name_in_flight(&self, folded: &str) -> Option<String> {
        self.case_names
            .lock()
            .get(folded)
            .map(|(key, _)| key.clone())
    }

    /// A download named `folded` (lowercased) of `key` starts.
    pub(crate) fn case_name_started(&self, folded: String, key: String) {
        self.case_names.lock().entry(folded).or_insert((key, 0)).1 += 1;
    }

    /// The download named `folded` ended (or never started).
    pub(crate) fn case_name_ended(&self, folded: &str) {
        let mut names = self.case_names.lock();
        if let Some((_, count)) = names.get_mut(folded) {
            *count -= 1;
            if *count == 0 {
                names.remove(folded);
            }
        }
    }

    /// Wait for every transfer to end, then mark the tree done and wake its waiters.
    pub(crate) fn finish(&self) {
        {
            let mut in_flight = self.in_flight.lock();
            while !in_flight.is_empty() {
                self.in_flight_changed.wait(&mut in_flight);
            }
        }
        *self.done.lock() = true;
        self.done_changed.notify_all();
    }
}
