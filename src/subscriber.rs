//! `Subscriber`: callbacks a caller attaches to a transfer to follow it.

use crate::future::TransferFuture;

/// Follows one transfer. Every method has a no-op default: implement the ones you need.
///
/// Threads: `on_queued` runs on a submission thread before any request is made (the
/// place to call [`crate::TransferMeta::provide_transfer_size`]); `on_progress` runs on
/// worker threads, possibly several at once; `on_done` runs once, on whichever thread
/// finishes the transfer, before [`TransferFuture::result`] returns to other waiters.
/// Keep `on_done` short: that thread is a request thread, or for a download into a
/// writer or stream the manager's single writer thread, and other transfers' requests
/// or writes wait while it runs.
///
/// What a callback may do with the manager, without ever deadlocking it:
/// * Start transfers (`upload`, `download`, ...): from a callback this never blocks, even
///   on a full submission queue; the transfer is queued on a lane of its own and runs.
/// * Wait on a future: `result()` of the transfer being announced, inside its `on_done`,
///   and of any finished transfer, returns the outcome at once. For a transfer still
///   running it fails at once with [`crate::TransferError::WaitInCallback`] (so does
///   `result_timeout`): the callback's thread may be one that transfer needs. Follow
///   it with its own `on_done`, or wait from a thread of your own.
/// * Call [`crate::TransferManager::shutdown`]: it returns without waiting there.
///
/// A subscriber that panics does not take a worker down: a panic in `on_queued` or
/// `on_progress` fails the transfer with
/// [`crate::TransferError::InvalidSubscriberMethod`]; one in `on_done` is contained
/// (the transfer is already over).
pub trait Subscriber: Send + Sync {
    /// The transfer was accepted and is about to start.
    fn on_queued(&self, future: &TransferFuture) {
        let _ = future;
    }

    /// `bytes` more were transferred. Negative when a retry takes back bytes reported
    /// before; the sum over a successful transfer is its size.
    fn on_progress(&self, future: &TransferFuture, bytes: i64) {
        let _ = (future, bytes);
    }

    /// The transfer finished: succeeded, failed or was cancelled.
    fn on_done(&self, future: &TransferFuture) {
        let _ = future;
    }
}
