//! `ShutdownQueue`: a bounded queue whose shutdown wakes blocked producers and consumers.

use std::fmt;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender, TryRecvError, TrySendError};
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
    /// The mutex protects the take-once of that sender, and every send is made under
    /// it, so that no item enters the queue once `trigger_shutdown` has returned. It is
    /// never held across a wait: sends under it are `try_send`s.
    closer: Mutex<Option<Sender<()>>>,
    closed_rx: Receiver<()>,
    capacity: usize,
    /// Threads about to sleep in `put` or `get`, so that tests can tell a blocked
    /// thread from one that has not reached the queue yet.
    #[cfg(test)]
    sleepers: std::sync::atomic::AtomicUsize,
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
            #[cfg(test)]
            sleepers: Default::default(),
        }
    }

    /// Add `item`, waiting while the queue is full: forever with `None`, else up to
    /// `timeout`. A put racing [`trigger_shutdown`](ShutdownQueue::trigger_shutdown)
    /// either lands before it (and is delivered) or hands `item` back.
    pub fn put(&self, mut item: T, timeout: Option<Duration>) -> Result<(), PutError<T>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            {
                // Sent under the shutdown lock: see `closer`.
                let closer = self.closer.lock();
                if closer.is_none() {
                    return Err(PutError::Shutdown(item));
                }
                match self.tx.try_send(item) {
                    Ok(()) => return Ok(()),
                    Err(TrySendError::Disconnected(back)) => return Err(PutError::Shutdown(back)),
                    Err(TrySendError::Full(back)) => item = back,
                }
            }
            // Wait for room or the shutdown without reserving a slot: a send selected
            // with `select` must be completed, so a shutdown seen after it could only
            // be ignored (an item queued behind consumers that already left) or break
            // the channel (a reserved slot never written, on which consumers spin).
            // `ready` only wakes us; the send above is tried again, and another
            // producer taking the room first just means another wait.
            let mut sel = Select::new();
            sel.send(&self.tx);
            sel.recv(&self.closed_rx);
            #[cfg(test)]
            let _sleeping = self.sleeping();
            match deadline {
                Some(d) => {
                    if sel.ready_deadline(d).is_err() {
                        return Err(PutError::Timeout(item));
                    }
                }
                None => {
                    sel.ready();
                }
            }
        }
    }

    /// Run `f` (which must not block) unless the queue is shut down, holding off any
    /// shutdown until it returns. What `f` puts in a channel the consumers drain is
    /// therefore never left behind: a consumer that saw the shutdown drains once more
    /// and finds it.
    pub(crate) fn while_open<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let closer = self.closer.lock();
        closer.as_ref().map(|_| f())
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
                // Something may have landed between the try above and the shutdown;
                // after it nothing more can.
                return self.rx.try_recv().map_err(|_| GetError::Shutdown);
            }
            let mut sel = Select::new();
            let recv_index = sel.recv(&self.rx);
            let closed_index = sel.recv(&self.closed_rx);
            #[cfg(test)]
            let _sleeping = self.sleeping();
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

    #[cfg(test)]
    fn sleeping(&self) -> impl Drop + '_ {
        struct Sleeping<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Sleeping<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        self.sleepers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Sleeping(&self.sleepers)
    }

    /// Wait until `n` threads are about to sleep in `put` or `get`.
    #[cfg(test)]
    fn wait_for_sleepers(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.sleepers.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "no thread blocked on the queue");
            std::thread::yield_now();
        }
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
        let producer = thread::spawn(move || q2.put(2, None));
        q.wait_for_sleepers(1);
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
        q.wait_for_sleepers(1);
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
    fn a_put_racing_the_shutdown_either_lands_or_hands_its_item_back() {
        use std::sync::mpsc;
        // Miri explores interleavings of its own on every run; fewer rounds there.
        let rounds = if cfg!(miri) { 8 } else { 200 };
        for round in 0..rounds {
            let q = Arc::new(ShutdownQueue::new(1));
            let (done_tx, done_rx) = mpsc::channel();
            let (first_tx, first_rx) = mpsc::channel();
            for p in 0..2u32 {
                let (q, done_tx) = (q.clone(), done_tx.clone());
                thread::spawn(move || {
                    let mut handed_back = Vec::new();
                    let mut landed = Vec::new();
                    // A panic here drops `done_tx` unsent: the receive below sees it.
                    for i in 0.. {
                        let item = p * 1_000_000 + i;
                        match q.put(item, None) {
                            Ok(()) => landed.push(item),
                            Err(e) => {
                                handed_back.push(e.into_inner());
                                break;
                            }
                        }
                    }
                    let _ = done_tx.send(("producer", landed, handed_back));
                });
            }
            let (q2, done_tx2) = (q.clone(), done_tx.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(item) = q2.get() {
                    if got.is_empty() {
                        let _ = first_tx.send(());
                    }
                    got.push(item);
                }
                let _ = done_tx2.send(("consumer", got, Vec::new()));
            });
            drop(done_tx);
            first_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the consumer received an item");
            q.trigger_shutdown();
            let (mut landed, mut handed_back, mut delivered) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..3 {
                // Bounded: a consumer spinning on a slot that is never written, or a
                // producer that panicked, must fail the test rather than hang it.
                let (who, items, back) = done_rx
                    .recv_timeout(Duration::from_secs(30))
                    .unwrap_or_else(|e| panic!("round {round}: a thread did not finish: {e}"));
                match who {
                    "producer" => {
                        landed.extend(items);
                        handed_back.extend(back);
                    }
                    _ => delivered.extend(items),
                }
            }
            assert_eq!(handed_back.len(), 2, "round {round}");
            landed.sort();
            delivered.sort();
            assert_eq!(
                landed, delivered,
                "round {round}: every landed item is delivered"
            );
        }
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
