//! `ShutdownQueue` and its shutdown error, as in the seed document's queue scenario: a
//! producer and a consumer on two threads share a bounded queue; after a second the
//! main thread calls `trigger_shutdown`; the producer's next `put` fails with
//! `PutError::Shutdown` (s3transfer's `QueueShutdownError`) and it stops; the consumer
//! drains what was queued and stops; a last `put` from the main thread fails the same
//! way and hands its item back.
//!
//! It also shows where this queue differs from Python's: a producer already *blocked*
//! on a full queue is woken by the shutdown (Python's stays asleep).
//!
//! No S3 server is involved. Exits 0 when every check holds, 1 otherwise.
//!
//! ```text
//! cargo run --example shutdown_queue
//! ```

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use s3transfer::{GetError, PutError, ShutdownQueue};

fn main() {
    let queue: Arc<ShutdownQueue<String>> = Arc::new(ShutdownQueue::new(10));
    let mut failures: Vec<String> = Vec::new();

    let producer = {
        let queue = queue.clone();
        thread::spawn(move || {
            let mut produced = 0;
            let mut stopped_by_shutdown = false;
            for i in 0..20 {
                let item = format!("item_{i}");
                match queue.put(item, Some(Duration::from_secs(1))) {
                    Ok(()) => {
                        println!("Produced: item_{i}");
                        produced += 1;
                        thread::sleep(Duration::from_millis(100));
                    }
                    Err(PutError::Shutdown(item)) => {
                        println!(
                            "Producer: queue has been shut down, stopping ({item} not queued)"
                        );
                        stopped_by_shutdown = true;
                        break;
                    }
                    Err(PutError::Timeout(item)) => {
                        println!("Producer: queue stayed full, dropping {item}");
                        break;
                    }
                    // The error types may grow: a new reason still stops the producer.
                    Err(other) => {
                        println!("Producer: {other}, stopping");
                        break;
                    }
                }
            }
            (produced, stopped_by_shutdown)
        })
    };

    let consumer = {
        let queue = queue.clone();
        thread::spawn(move || {
            let mut consumed = 0;
            loop {
                match queue.get_timeout(Duration::from_secs(2)) {
                    Ok(item) => {
                        println!("Consumed: {item}");
                        consumed += 1;
                        thread::sleep(Duration::from_millis(200));
                    }
                    Err(GetError::Shutdown) => {
                        println!("Consumer: queue shut down and drained");
                        break;
                    }
                    Err(GetError::Timeout) => {
                        println!("Consumer: no more items");
                        break;
                    }
                    Err(other) => {
                        println!("Consumer: {other}, stopping");
                        break;
                    }
                }
            }
            println!("Consumer processed {consumed} items");
            consumed
        })
    };

    thread::sleep(Duration::from_secs(1));
    println!("Triggering queue shutdown...");
    queue.trigger_shutdown();
    let (produced, stopped_by_shutdown) = producer.join().expect("producer thread");
    let consumed = consumer.join().expect("consumer thread");

    match queue.put("post_shutdown_item".to_owned(), None) {
        Err(PutError::Shutdown(item)) => {
            println!("Correctly got PutError::Shutdown after shutdown; {item:?} handed back")
        }
        other => failures.push(format!("post-shutdown put returned {other:?}")),
    }
    if !stopped_by_shutdown || produced >= 20 {
        failures.push(format!(
            "the producer should have been stopped by the shutdown (produced {produced})"
        ));
    }
    if consumed != produced {
        failures.push(format!(
            "the consumer should drain every queued item: produced {produced}, consumed {consumed}"
        ));
    }

    // A producer blocked on a full queue is woken by the shutdown.
    let full: Arc<ShutdownQueue<u32>> = Arc::new(ShutdownQueue::new(1));
    full.put(1, None).expect("room for one");
    let blocked = {
        let full = full.clone();
        thread::spawn(move || {
            let start = Instant::now();
            let result = full.put(2, None); // no timeout: would wait forever
            (result, start.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(200));
    full.trigger_shutdown();
    let (result, waited) = blocked.join().expect("blocked producer thread");
    match result {
        Err(PutError::Shutdown(2)) => println!(
            "A producer blocked on a full queue was woken by the shutdown after {} ms",
            waited.as_millis()
        ),
        other => failures.push(format!("blocked put returned {other:?}")),
    }

    if failures.is_empty() {
        println!("all checks passed");
    } else {
        for f in &failures {
            eprintln!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
