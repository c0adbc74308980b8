//! The per-transfer state machine (`Coordinator`): status, first error, outcome,
//! cleanups and done callbacks, and the waiters of its future.
//!
//! ```text
//! NotStarted -> Queued -> Running -> Success
//!      \           \         \----> Failed     (first error wins)
//!       \-----------\--------------> Cancelled  (cancel / shutdown)
//! ```
//! A transfer is *announced* done exactly once, by whichever job drops the last
//! [`WorkGuard`]: failure cleanups (abort the multipart upload, remove the temporary
//! file) run first, then the `on_done` subscribers, then waiters wake.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::TransferError;
use crate::future::{TransferFuture, TransferMeta, TransferOutput, TransferStatus};
use crate::resume::{ResumeError, ResumeToken};
use crate::subscriber::Subscriber;

type Callback = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct Coordinator {
    pub(crate) meta: TransferMeta,
    subscribers: Vec<Arc<dyn Subscriber>>,
    /// Status, outcome, and the announce/finish flags; waiters sleep on `finished_cv`.
    state: Mutex<State>,
    finished_cv: Condvar,
    /// True once an error or a cancel is recorded. Read on every chunk, so it is an
    /// atomic beside the lock rather than behind it.
    stopped: AtomicBool,
    bytes: AtomicI64,
    /// Requests sent again after a retryable failure, reported in the output.
    retries: AtomicU32,
    /// Failure cleanups, run once, before waiters wake, unless the transfer succeeded.
    cleanups: Mutex<Vec<Callback>>,
    /// Internal done callbacks (the manager's bookkeeping), run after `on_done`.
    done_callbacks: Mutex<Vec<Callback>>,
    /// Set by the transfer once it can be paused (a multipart file upload once its
    /// upload exists, a file download once its temporary file is open).
    pausable: AtomicBool,
    /// Set by a pause request: no further job starts, jobs running finish their part,
    /// and the finalizer records a token instead of completing. An atomic beside the
    /// lock, read by every job before it starts.
    pausing: AtomicBool,
    /// The token of a paused transfer, set once by its finalizer.
    token: Mutex<Option<ResumeToken>>,
    /// Set by a transfer asked to keep its state for a resume when it fails for a
    /// reason a later run may overcome (see `keeps_state`).
    keep_on_transient_failure: AtomicBool,
    /// The transfer's bodies take turns at the bandwidth bucket through this, so each
    /// transfer gets an even share however many parts it has in flight.
    pub(crate) bandwidth_share: Arc<crate::runtime::bandwidth::ShareGroup>,
}

struct State {
    status: TransferStatus,
    error: Option<TransferError>,
    output: Option<TransferOutput>,
    announced: bool,
    finished: bool,
    /// Paused rather than cancelled: the failure cleanups (abort, remove the temporary
    /// file and the journal) must not run.
    paused: bool,
    /// The thread running the done callbacks, so that `result()` called from inside
    /// `on_done` returns instead of waiting on itself.
    callback_thread: Option<ThreadId>,
}

impl Coordinator {
    pub(crate) fn new(meta: TransferMeta, subscribers: Vec<Arc<dyn Subscriber>>) -> Arc<Self> {
        Arc::new(Coordinator {
            meta,
            subscribers,
            state: Mutex::new(State {
                status: TransferStatus::NotStarted,
                error: None,
                output: None,
                announced: false,
                finished: false,
                paused: false,
                callback_thread: None,
            }),
            finished_cv: Condvar::new(),
            stopped: AtomicBool::new(false),
            bytes: AtomicI64::new(0),
            retries: AtomicU32::new(0),
            cleanups: Mutex::new(Vec::new()),
            done_callbacks: Mutex::new(Vec::new()),
            pausable: AtomicBool::new(false),
            pausing: AtomicBool::new(false),
            token: Mutex::new(None),
            keep_on_transient_failure: AtomicBool::new(false),
            bandwidth_share: Arc::default(),
        })
    }

    pub(crate) fn future(self: &Arc<Self>) -> TransferFuture {
        TransferFuture {
            coordinator: self.clone(),
        }
    }

    pub(crate) fn status(&self) -> TransferStatus {
        self.state.lock().status
    }

    /// Move to `Queued`, run `on_queued`, move to `Running`. An error if the transfer
    /// was stopped meanwhile or a subscriber panicked.
    pub(crate) fn start(self: &Arc<Self>) -> Result<(), TransferError> {
        self.transition(TransferStatus::Queued)?;
        let future = self.future();
        for subscriber in &self.subscribers {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| subscriber.on_queued(&future))) {
                let error = TransferError::InvalidSubscriberMethod {
                    method: "on_queued",
                    reason: format!("it panicked: {}", panic_message(&panic)),
                };
                self.fail(error.clone());
                return Err(error);
            }
        }
        self.transition(TransferStatus::Running)
    }

    fn transition(&self, to: TransferStatus) -> Result<(), TransferError> {
        let mut state = self.state.lock();
        if state.status.is_final() {
            return Err(state
                .error
                .clone()
                .unwrap_or_else(|| TransferError::cancelled("", false)));
        }
        state.status = to;
        Ok(())
    }

    /// Whether the transfer failed or was cancelled: work should stop.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Whether new work of the transfer may start: not stopped, and no pause asked for.
    pub(crate) fn accepts_work(&self) -> bool {
        !self.is_stopped() && !self.pausing.load(Ordering::Acquire)
    }

    /// Whether a pause was asked for.
    pub(crate) fn is_pausing(&self) -> bool {
        self.pausing.load(Ordering::Acquire)
    }

    /// The transfer has reached the point where it can be paused.
    pub(crate) fn allow_pause(&self) {
        self.pausable.store(true, Ordering::Release);
    }

    /// Ask the transfer to pause: no job starts from now on, and its finalizer makes
    /// the token. Refused for a finished transfer and one that cannot be paused (yet).
    pub(crate) fn request_pause(&self) -> Result<(), ResumeError> {
        let state = self.state.lock();
        if state.status.is_final() {
            return Err(ResumeError::AlreadyFinished);
        }
        if !self.pausable.load(Ordering::Acquire) {
            return Err(ResumeError::NotResumable {
                reason: "only a multipart upload of a file or a download to a file can be \
                         paused, once its first request has been made"
                    .into(),
            });
        }
        self.pausing.store(true, Ordering::Release);
        Ok(())
    }

    /// The finalizer of a pausing transfer: record it as paused with `token`, so its
    /// cleanups do not run. Without a token (the transfer could not describe itself)
    /// it is cancelled instead, cleanups and all. A transfer that failed meanwhile
    /// keeps its failure.
    pub(crate) fn finish_paused(&self, token: Option<ResumeToken>) {
        let mut state = self.state.lock();
        if state.status.is_final() {
            return;
        }
        state.status = TransferStatus::Cancelled;
        self.stopped.store(true, Ordering::Release);
        match token {
            Some(token) => {
                state.error = Some(TransferError::Paused);
                state.paused = true;
                *self.token.lock() = Some(token);
            }
            None => {
                state.error = Some(TransferError::cancelled(
                    "paused before it could describe itself; cancelled instead",
                    false,
                ));
            }
        }
    }

    /// A failure that a later run may overcome (retries ran out on transient errors,
    /// the connection broke) keeps the transfer's state for a resume instead of running
    /// its cleanups.
    pub(crate) fn keep_on_transient_failure(&self) {
        self.keep_on_transient_failure
            .store(true, Ordering::Release);
    }

    /// Whether a transfer that ended with `state` keeps its upload, temporary file and
    /// journal: paused, or failed transiently when asked to keep its state then.
    fn keeps_state(&self, state: &State) -> bool {
        let transient = |e: &TransferError| {
            matches!(e, TransferError::RetriesExceeded { .. })
                || e.s3_error().is_some_and(|s| s.is_retryable())
        };
        state.paused
            || (self.keep_on_transient_failure.load(Ordering::Acquire)
                && state.status == TransferStatus::Failed
                && state.error.as_ref().is_some_and(transient))
    }

    /// The token of a paused transfer.
    pub(crate) fn paused_token(&self) -> Option<ResumeToken> {
        self.token.lock().clone()
    }

    /// Record a failure. The first error wins; later ones are dropped.
    pub(crate) fn fail(&self, error: TransferError) {
        let mut state = self.state.lock();
        if state.status.is_final() {
            return;
        }
        state.status = TransferStatus::Failed;
        state.error = Some(error);
        self.stopped.store(true, Ordering::Release);
    }

    /// Cancel, unless already finished. A transfer still waiting in the submission
    /// queue has no work to unwind, so it is announced done at once rather than when
    /// its turn in the queue comes.
    pub(crate) fn cancel(self: &Arc<Self>, message: String, fatal: bool) {
        let mut state = self.state.lock();
        if state.status.is_final() {
            return;
        }
        let never_started = state.status == TransferStatus::NotStarted;
        state.status = TransferStatus::Cancelled;
        state.error = Some(TransferError::cancelled(message, fatal));
        self.stopped.store(true, Ordering::Release);
        drop(state);
        if never_started {
            self.announce_done();
        }
    }

    /// Record success. A cancel that arrived while the final step (Complete, rename)
    /// was already under way is overridden: the object or file exists, and saying
    /// "cancelled" would be false. A failure is never overridden.
    pub(crate) fn succeed(&self, output: TransferOutput) {
        let mut state = self.state.lock();
        if state.status == TransferStatus::Failed || state.announced {
            return;
        }
        state.status = TransferStatus::Success;
        state.error = None;
        state.output = Some(TransferOutput {
            retries: self.retries.load(Ordering::Relaxed),
            ..output
        });
    }

    /// Count one request sent again after a retryable failure.
    pub(crate) fn note_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_cleanup(&self, cleanup: impl FnOnce() + Send + 'static) {
        self.cleanups.lock().push(Box::new(cleanup));
    }

    pub(crate) fn add_done_callback(&self, callback: impl FnOnce() + Send + 'static) {
        self.done_callbacks.lock().push(Box::new(callback));
    }

    /// Report `delta` bytes of progress to every subscriber.
    pub(crate) fn progress(self: &Arc<Self>, delta: i64) {
        if delta == 0 {
            return;
        }
        self.bytes.fetch_add(delta, Ordering::Relaxed);
        if self.subscribers.is_empty() {
            return;
        }
        let future = self.future();
        for subscriber in &self.subscribers {
            if let Err(panic) =
                catch_unwind(AssertUnwindSafe(|| subscriber.on_progress(&future, delta)))
            {
                self.fail(TransferError::InvalidSubscriberMethod {
                    method: "on_progress",
                    reason: format!("it panicked: {}", panic_message(&panic)),
                });
            }
        }
    }

    pub(crate) fn bytes_transferred(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed).max(0) as u64
    }

    /// Finish the transfer: cleanups (unless it succeeded), `on_done`, internal
    /// callbacks, then wake waiters. Runs once; later calls do nothing.
    pub(crate) fn announce_done(self: &Arc<Self>) {
        let (succeeded, paused) = {
            let mut state = self.state.lock();
            if state.announced {
                return;
            }
            if !state.status.is_final() {
                // Every job ended without recording an outcome: a bug, but never a hang.
                state.status = TransferStatus::Failed;
                state.error = Some(TransferError::Internal(
                    "transfer ended without an outcome".into(),
                ));
                self.stopped.store(true, Ordering::Release);
            }
            state.announced = true;
            state.callback_thread = Some(thread::current().id());
            (
                state.status == TransferStatus::Success,
                self.keeps_state(&state),
            )
        };
        // Locks are never held across cleanups or callbacks: they make S3 calls and
        // run user code.
        let cleanups = std::mem::take(&mut *self.cleanups.lock());
        // A paused transfer (or one failed transiently that was asked to) keeps its
        // upload, temporary file and journal for the resume.
        if !succeeded && !paused {
            for cleanup in cleanups {
                let _ = catch_unwind(AssertUnwindSafe(cleanup));
            }
        }
        let future = self.future();
        for subscriber in &self.subscribers {
            // The transfer is over: a panicking on_done can only be contained.
            let _ = catch_unwind(AssertUnwindSafe(|| subscriber.on_done(&future)));
        }
        let callbacks = std::mem::take(&mut *self.done_callbacks.lock());
        for callback in callbacks {
            let _ = catch_unwind(AssertUnwindSafe(callback));
        }
        let mut state = self.state.lock();
        state.finished = true;
        state.callback_thread = None;
        drop(state);
        self.finished_cv.notify_all();
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.state.lock().finished
    }

    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<TransferOutput, TransferError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let me = thread::current().id();
        let mut state = self.state.lock();
        // A worker thread never waits for a transfer: until it is finished, the transfer
        // may need this very thread (running its on_queued or on_progress, or the one
        // request or io thread), and even its done callbacks may be waiting, on another
        // thread, for the transfer this thread is announcing.
        if !state.finished
            && state.callback_thread != Some(me)
            && crate::runtime::pool::on_worker_thread()
        {
            return Err(TransferError::WaitInCallback {
                transfer_id: self.meta.transfer_id(),
            });
        }
        while !state.finished && state.callback_thread != Some(me) {
            match deadline {
                Some(d) => {
                    if self.finished_cv.wait_until(&mut state, d).timed_out() && !state.finished {
                        return Err(TransferError::TransferNotDone);
                    }
                }
                None => self.finished_cv.wait(&mut state),
            }
        }
        match &state.error {
            Some(e) => Err(e.clone()),
            None => Ok(state.output.clone().unwrap_or_default()),
        }
    }

    pub(crate) fn override_error(&self, error: TransferError) -> Result<(), TransferError> {
        let mut state = self.state.lock();
        if !state.announced {
            return Err(TransferError::TransferNotDone);
        }
        state.status = TransferStatus::Failed;
        state.error = Some(error);
        self.stopped.store(true, Ordering::Release);
        Ok(())
    }
}

/// A throttled body of this transfer stops waiting once the transfer is stopped.
impl crate::runtime::bandwidth::Interrupt for Coordinator {
    fn is_interrupted(&self) -> bool {
        self.is_stopped()
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::future::CallArgs;
    use crate::runtime::work_group::{WorkGroup, run_job};
    use std::sync::atomic::AtomicUsize;

    fn coordinator(subscribers: Vec<Arc<dyn Subscriber>>) -> Arc<Coordinator> {
        let args = CallArgs {
            operation: "upload",
            bucket: "b".into(),
            key: "k".into(),
            other: String::new(),
            extra_args: String::new(),
        };
        Coordinator::new(TransferMeta::new(0, args), subscribers)
    }

    #[test]
    fn first_error_wins() {
        let c = coordinator(vec![]);
        c.fail(TransferError::InvalidArgument("first".into()));
        c.fail(TransferError::InvalidArgument("second".into()));
        c.cancel("late".into(), false);
        c.announce_done();
        let err = c.wait(None).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: first");
        assert_eq!(c.status(), TransferStatus::Failed);
    }

    #[test]
    fn cleanups_run_once_on_failure_and_never_on_success() {
        let ran = Arc::new(AtomicUsize::new(0));
        let ok = coordinator(vec![]);
        let r = ran.clone();
        ok.add_cleanup(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        ok.succeed(TransferOutput::default());
        ok.announce_done();
        assert_eq!(ran.load(Ordering::SeqCst), 0);

        let bad = coordinator(vec![]);
        let r = ran.clone();
        bad.add_cleanup(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        bad.cancel("stop".into(), true);
        bad.announce_done();
        bad.announce_done();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert!(bad.wait(None).unwrap_err().is_fatal());
    }

    #[test]
    fn a_cancel_is_reported_with_its_message() {
        let c = coordinator(vec![]);
        c.future().cancel_with_message("user pressed stop");
        c.announce_done();
        match c.wait(None).unwrap_err() {
            TransferError::Cancelled { message, fatal } => {
                assert_eq!(message, "user pressed stop");
                assert!(!fatal);
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn result_inside_on_done_returns_instead_of_deadlocking() {
        struct CheckResult(AtomicUsize);
        impl Subscriber for CheckResult {
            fn on_done(&self, future: &TransferFuture) {
                assert!(future.result().is_ok());
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let sub = Arc::new(CheckResult(AtomicUsize::new(0)));
        let c = coordinator(vec![sub.clone()]);
        c.succeed(TransferOutput::default());
        c.announce_done();
        assert_eq!(sub.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn waiters_wake_only_after_on_done_has_run() {
        // on_done holds, on the announcing thread, until the test has looked: while it
        // runs, a waiter is not let through and the transfer is not finished.
        struct Held {
            entered: Mutex<Option<std::sync::mpsc::Sender<()>>>,
            go: Mutex<std::sync::mpsc::Receiver<()>>,
            ran: AtomicBool,
        }
        impl Subscriber for Held {
            fn on_done(&self, _: &TransferFuture) {
                if let Some(entered) = self.entered.lock().take() {
                    entered.send(()).unwrap();
                }
                self.go
                    .lock()
                    .recv_timeout(Duration::from_secs(30))
                    .expect("the test lets on_done end");
                self.ran.store(true, Ordering::SeqCst);
            }
        }
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel();
        let sub = Arc::new(Held {
            entered: Mutex::new(Some(entered_tx)),
            go: Mutex::new(go_rx),
            ran: AtomicBool::new(false),
        });
        let c = coordinator(vec![sub.clone()]);
        c.succeed(TransferOutput::default());
        let announcer = {
            let c = c.clone();
            thread::spawn(move || c.announce_done())
        };
        entered.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(matches!(
            c.wait(Some(Duration::ZERO)),
            Err(TransferError::TransferNotDone)
        ));
        assert!(!c.is_finished());
        go.send(()).unwrap();
        // This wait returns only once on_done has run.
        c.wait(None).unwrap();
        assert!(sub.ran.load(Ordering::SeqCst));
        announcer.join().unwrap();
    }

    #[test]
    fn a_panicking_progress_subscriber_fails_the_transfer() {
        struct Bad;
        impl Subscriber for Bad {
            fn on_progress(&self, _: &TransferFuture, _: i64) {
                panic!("boom");
            }
        }
        let c = coordinator(vec![Arc::new(Bad)]);
        c.progress(10);
        assert!(c.is_stopped());
        c.announce_done();
        assert!(matches!(
            c.wait(None).unwrap_err(),
            TransferError::InvalidSubscriberMethod {
                method: "on_progress",
                ..
            }
        ));
    }

    #[test]
    fn result_timeout_reports_not_done() {
        let c = coordinator(vec![]);
        assert!(matches!(
            c.wait(Some(Duration::from_millis(10))),
            Err(TransferError::TransferNotDone)
        ));
        assert!(matches!(
            c.future()
                .set_exception(TransferError::Internal("x".into())),
            Err(TransferError::TransferNotDone)
        ));
    }

    #[test]
    fn a_panicking_job_fails_the_transfer_and_still_releases_its_guard() {
        let c = coordinator(vec![]);
        let c2 = c.clone();
        let root = WorkGroup::start(move || c2.announce_done());
        let guard = root.hold();
        drop(root);
        run_job(&c, guard, |_| panic!("bug"));
        assert!(matches!(c.wait(None), Err(TransferError::Internal(_))));
    }
}
