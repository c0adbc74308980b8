//! [`RetryQuota`]: the token bucket of retries a manager shares between its transfers.

use std::sync::atomic::{AtomicU32, Ordering};

/// The retry quota of one manager: a token bucket every retry draws from and every
/// success refills.
///
/// Shared by all transfers (and threads) of the manager. The count is one atomic, and
/// every change is a single compare-and-swap (`fetch_update`), so taking tokens can
/// never overdraw it and no lock is held.
#[derive(Debug)]
pub(crate) struct RetryQuota {
    /// `None`: unlimited.
    capacity: Option<u32>,
    available: AtomicU32,
}

impl RetryQuota {
    pub(crate) fn new(capacity: Option<u32>) -> RetryQuota {
        RetryQuota {
            capacity,
            available: AtomicU32::new(capacity.unwrap_or(0)),
        }
    }

    /// Take `cost` tokens for a retry; false, and nothing taken, when too few are left.
    pub(crate) fn try_acquire(&self, cost: u32) -> bool {
        if self.capacity.is_none() {
            return true;
        }
        self.available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(cost))
            .is_ok()
    }

    /// Put `tokens` back, never above the capacity.
    pub(crate) fn release(&self, tokens: u32) {
        let Some(capacity) = self.capacity else {
            return;
        };
        // The closure always returns Some, so this cannot fail.
        let _ = self
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(tokens).min(capacity))
            });
    }

    /// Tokens left, or `None` when unlimited.
    #[cfg(test)]
    pub(crate) fn available(&self) -> Option<u32> {
        self.capacity
            .map(|_| self.available.load(Ordering::Acquire))
    }
}
