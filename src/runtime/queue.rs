//! `ShutdownQueue`: a bounded queue whose shutdown wakes blocked producers and consumers.

use std::fmt;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender, TryRecvError};
use parking_lot::Mutex;

/// Why a [`ShutdownQueue::put`] failed. The item is handed back, never lost.
#[derive(PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PutError<T> {
    /// The queue was shut down (s3transfer's `QueueShutdownError`).
    #[error("the queue has been shut down")]
    Shutdown(T),
    /// The queue stayed full for the whole timeout.
    #[error("the queue stayed full until the timeout")]
    Timeout(T),
}

impl<T> PutError<T> {
    /// The item that was not queued.
    pub fn into_inner(self) -> T {
        match self {
            PutError::Shutdown(t) | PutError::Timeout(t) => t,
        }
    }

    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, PutError::Shutdown(_))
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Shutdown(_) => f.write_str("Shutdown(..)"),
            PutError::Timeout(_) => f.write_str("Timeout(..)"),
        }
    }
}

/// Why a [`ShutdownQueue::get_timeout`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GetError {
    /// The queue was shut down and holds nothing more.
    #[error("the queue has been shut down")]
    Shutdown,
    /// Nothing arrived before the timeout.
    #[error("nothing arrived before the timeout")]
    Timeout,
}

/// A bounded multi-producer multi-consumer queue with a shutdown switch, on
/// crossbeam-channel.
///
/// After [`trigger_shutdown`](ShutdownQueue::trigger_shutdown), every `put` fails with
/// [`PutError::Shutdown`], including puts already blocked on a full queue (unlike
/// s3transfer's, which leaves those asleep). Consumers still drain what was queued
/// before the shutdown; once it is empty, `get` reports the shutdown.
///
/// ```
/// use s3transfer::{ShutdownQueue, PutError};
/// let queue = ShutdownQueue::new(2);
/// queue.put("a", None).unwrap();
/// queue.trigger_shutdown();
/// assert!(matches!(queue.put("b", None), Err(PutError::Shutdown("b"))));
/// assert_eq!(queue.get().unwrap(), "a");
/// assert!(queue.get().is_err());
/// ```
pub struct ShutdownQueue<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
    /// Dropping the sender closes `closed_rx`, which wakes every select on it at once.
    /// The mutex protects only the take-once of that sender.
    closer: Mutex<Option<Sender<()>>>,
    closed_rx: Receiver<()>,
    capacity: usize,
}

impl<T> ShutdownQueue<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let (closer, closed_rx) = crossbeam_channel::bounded(0);
        ShutdownQueue {
            tx,
            rx,
            closer: Mutex::new(Some(closer)),
            closed_rx,
            capacity,
        }
    }

    /// Add `item`, waiting while the queue is full: forever with `None`, else up to
    /// `timeout`.
    pub fn put(&self, item: T, timeout: Option<Duration>) -> Result<(), PutError<T>> {
        if self.is_shutdown() {
            return Err(PutError::Shutdown(item));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut sel = Select::new();
        let send_index = sel.send(&self.tx);
        let closed_index = sel.recv(&self.closed_rx);
        let oper = match deadline {
            Some(d) => match sel.select_deadline(d) {
                Ok(oper) => oper,
                Err(_) => return Err(PutError::Timeout(item)),
            },
            None => sel.select(),
        };
        match oper.index() {
            i if i == send_index => {
                // The send happens under the same lock `trigger_shutdown` takes, so once
                // a shutdown has returned nothing more can go in: a consumer that sees
                // the shutdown and drains once more gets every item. The selected send
                // cannot block, so the lock is held only for an instant.
                let closer = self.closer.lock();
                if closer.is_none() {
                    drop(closer);
                    return Err(PutError::Shutdown(item));
                }
                oper.send(&self.tx, item)
                    .map_err(|e| PutError::Shutdown(e.into_inner()))
            }
            i if i == closed_index => {
                let _ = oper.recv(&self.closed_rx);
                Err(PutError::Shutdown(item))
            }
            _ => unreachable!("select returned an operation it was not given"),
        }
    }

    /// Take the next item, waiting for one. After a shutdown, returns what is left,
    /// then `Err(GetError::Shutdown)`.
    pub fn get(&self) -> Result<T, GetError> {
        self.get_deadline(None)
    }

    /// Like [`get`](ShutdownQueue::get), but gives up after `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_deadline(Some(Instant::now() + timeout))
    }

    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        loop {
            match self.rx.try_recv() {
                Ok(item) => return Ok(item),
                Err(TryRecvError::Disconnected) => return Err(GetError::Shutdown),
                Err(TryRecvError::Empty) => {}
            }
            if self.is_shutdown() {
                return Err(GetError::Shutdown);
            }
            let mut sel = Select::new();
            let recv_index = sel.recv(&self.rx);
            let closed_index = sel.recv(&self.closed_rx);
            let oper = match deadline {
                Some(d) => sel.select_deadline(d).map_err(|_| GetError::Timeout)?,
                None => sel.select(),
            };
            match oper.index() {
                i if i == recv_index => {
                    if let Ok(item) = oper.recv(&self.rx) {
                        return Ok(item);
                    }
                }
                i if i == closed_index => {
                    let _ = oper.recv(&self.closed_rx);
                    // Loop: drain anything queued before the shutdown first.
                }
                _ => unreachable!("select returned an operation it was not given"),
            }
        }
    }

    /// Refuse every further `put`, wake producers blocked in one, and let consumers
    /// drain what is queued. Idempotent.
    pub fn trigger_shutdown(&self) {
        self.closer.lock().take();
    }

    /// Whether `trigger_shutdown` was called.
    pub fn is_shutdown(&self) -> bool {
        self.closer.lock().is_none()
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    pub(crate) fn receivers(&self) -> (&Receiver<T>, &Receiver<()>) {
        (&self.rx, &self.closed_rx)
    }

    /// The most items the queue holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<T> fmt::Debug for ShutdownQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn put_after_shutdown_fails_and_returns_the_item() {
        let q = ShutdownQueue::new(4);
        q.trigger_shutdown();
        let err = q.put(7, None).unwrap_err();
        assert!(err.is_shutdown());
        assert_eq!(err.into_inner(), 7);
    }

    #[test]
    fn shutdown_wakes_a_producer_blocked_on_a_full_queue() {
        let q = Arc::new(ShutdownQueue::new(1));
        q.put(1, None).unwrap();
        let q2 = q.clone();
        // The producer blocks on the full queue (or, if it starts late, finds the queue
        // shut): either way it must come back with its item and the shutdown error.
        let producer = thread::spawn(move || q2.put(2, None));
        q.trigger_shutdown();
        assert!(matches!(
            producer.join().unwrap(),
            Err(PutError::Shutdown(2))
        ));
    }

    #[test]
    fn consumers_drain_queued_items_then_see_the_shutdown() {
        let q = ShutdownQueue::new(3);
        q.put('a', None).unwrap();
        q.put('b', None).unwrap();
        q.trigger_shutdown();
        assert_eq!(q.get(), Ok('a'));
        assert_eq!(q.get_timeout(Duration::from_secs(5)), Ok('b'));
        assert_eq!(q.get(), Err(GetError::Shutdown));
    }

    #[test]
    fn shutdown_wakes_a_blocked_consumer() {
        let q = Arc::new(ShutdownQueue::<u8>::new(1));
        let q2 = q.clone();
        let consumer = thread::spawn(move || q2.get());
        q.trigger_shutdown();
        assert_eq!(consumer.join().unwrap(), Err(GetError::Shutdown));
    }

    #[test]
    fn put_times_out_on_a_full_queue_and_get_times_out_on_an_empty_one() {
        let q = ShutdownQueue::new(1);
        q.put(1, None).unwrap();
        assert!(matches!(
            q.put(2, Some(Duration::from_millis(20))),
            Err(PutError::Timeout(2))
        ));
        assert_eq!(q.get(), Ok(1));
        assert_eq!(
            q.get_timeout(Duration::from_millis(20)),
            Err(GetError::Timeout)
        );
    }

    #[test]
    fn many_producers_and_consumers_deliver_every_item_exactly_once() {
        let q = Arc::new(ShutdownQueue::new(8));
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let q = q.clone();
                thread::spawn(move || {
                    for i in 0..1000 {
                        q.put(p * 1000 + i, None).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(x) = q.get() {
                        got.push(x);
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        q.trigger_shutdown();
        let mut all: Vec<i32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, (0..4000).collect::<Vec<_>>());
    }
}
