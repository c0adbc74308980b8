//! GetObject bodies for a blocking caller: a task on the backend's runtime reads the
//! body and hands it to the caller's sink on the calling thread, in batches (or chunk by
//! chunk through a helper thread when the caller is itself async), with the stall
//! timeout and the byte count checked against the headers (a short body is
//! `TruncatedBody`). A backend supplies the future that sends the request and opens
//! the answer ([`Opened`]); everything after that is here.

use std::error::Error;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::runtime::Handle;
use tokio::time::timeout;

use super::Timeouts;
use super::answers::not_an_object_answer;
use super::runtime::join;
use crate::client::{GetObjectOutput, ResponseSink, S3Error, S3ErrorKind, stopped_by_caller};

/// Chunks of a download buffered between the runtime and the caller when a call has to
/// be moved off an async thread (see [`RusotoS3::get_from_async`]).
const DOWNLOAD_CHANNEL_CAPACITY: usize = 4;
/// Bytes of a download body the runtime gathers before waking the calling thread: the
/// size of an io chunk, so the sink hands each batch on as one write.
const DOWNLOAD_BATCH_BYTES: usize = 256 * 1024;
/// Batches buffered between the runtime and the calling thread: two, so the runtime
/// reads the next batch while the caller takes the last. With the batch being filled,
/// one waiting to be sent and one being written, up to five batches of at most 256 KiB
/// plus one hyper chunk (up to ~400 KiB) each: about 2 MiB per GET at worst.
const DOWNLOAD_BATCHES_IN_FLIGHT: usize = 2;
/// How long bytes wait for a batch to fill before they go anyway.
const DOWNLOAD_BATCH_MAX_AGE: Duration = Duration::from_millis(20);

const OP: &str = "GetObject";

/// An answer whose headers arrived: what they say, the body length they announce
/// (`Content-Length`, else the `Content-Range` span), and the body still to be read.
pub(crate) struct Opened<S> {
    pub(crate) head: GetObjectOutput,
    pub(crate) expected: Option<u64>,
    pub(crate) body: S,
}

/// Run the GetObject `open` (which sends the request under the request timeout and
/// classifies its failure) and stream its body into `sink`, from a blocking caller or
/// from inside async code.
pub(crate) fn get_into_sink<F, S, E>(
    handle: &Handle,
    t: Timeouts,
    (bucket, key): (&str, &str),
    open: F,
    sink: &mut dyn ResponseSink,
) -> Result<GetObjectOutput, S3Error>
where
    F: Future<Output = Result<Opened<S>, S3Error>> + Send + 'static,
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Error + Send + Sync + 'static,
{
    if Handle::try_current().is_err() {
        // The usual path: the body is read by a task on the runtime and the sink is
        // fed here, in batches (see `Batched`).
        get_batched(handle, t, (bucket, key), open, sink)
    } else {
        get_from_async(handle, t, (bucket, key), open, sink)
    }
}

/// GetObject from a thread outside the runtime: a task on the runtime reads the body
/// and hands it over in batches; the sink is fed here. A sink error aborts the task,
/// which drops the connection.
fn get_batched<F, S, E>(
    handle: &Handle,
    t: Timeouts,
    (bucket, key): (&str, &str),
    open: F,
    sink: &mut dyn ResponseSink,
) -> Result<GetObjectOutput, S3Error>
where
    F: Future<Output = Result<Opened<S>, S3Error>> + Send + 'static,
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Error + Send + Sync + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(DOWNLOAD_BATCHES_IN_FLIGHT);
    let (b, k) = (bucket.to_owned(), key.to_owned());
    let task = handle.spawn(async move {
        let mut batched = Batched {
            tx,
            batch: Vec::new(),
            bytes: 0,
        };
        let got = get_streamed(open, (&b, &k), t, &mut batched).await;
        // The tail below a batch goes over even when the body broke off: the caller
        // resumes from the first byte it did not get.
        let flushed = batched.flush().await;
        got.and_then(|out| flushed.map(|()| out))
    });
    // Also when the sink panics: the task must not go on reading a body nobody takes.
    let _abort_on_drop = AbortOnDrop(task.abort_handle());
    let fed = feed(sink, std::iter::from_fn(|| rx.blocking_recv()).flatten());
    if fed.is_err() {
        // Rather than wait for the task to notice at its next batch.
        task.abort();
    }
    drop(rx);
    let result = handle.block_on(task);
    fed?;
    match result {
        Ok(got) => got,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(S3Error::new(
            S3ErrorKind::Cancelled,
            OP,
            format!("the request task ended: {e}"),
        )),
    }
}

/// GetObject called from async code: block_on would panic here, and the sink is not
/// Send, so the request runs on a helper thread and the chunks come back to this one.
fn get_from_async<F, S, E>(
    handle: &Handle,
    t: Timeouts,
    object: (&str, &str),
    open: F,
    sink: &mut dyn ResponseSink,
) -> Result<GetObjectOutput, S3Error>
where
    F: Future<Output = Result<Opened<S>, S3Error>> + Send,
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: Error + Send + Sync + 'static,
{
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Delivery>(DOWNLOAD_CHANNEL_CAPACITY);
        let worker =
            s.spawn(move || handle.block_on(get_streamed(open, object, t, &mut ToThread(tx))));
        let fed = feed(sink, rx.iter());
        // Dropping the receiver makes the helper's next send fail, which stops it.
        drop(rx);
        let result = join(worker);
        fed.and(result)
    })
}

/// Aborts a task when dropped (a no-op once it finished).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a GET hands to its consumer: the headers once, then the body chunks.
enum Delivery {
    Headers(Box<GetObjectOutput>),
    Chunk(Bytes),
}

/// Hand the deliveries to the caller's sink, the headers to `on_response` and the
/// chunks to `write_chunk`, until the sink refuses one: its error is returned as is.
/// Both hand-over paths (batched, and from a helper thread) end here.
fn feed(
    sink: &mut dyn ResponseSink,
    deliveries: impl Iterator<Item = Delivery>,
) -> Result<(), S3Error> {
    for delivery in deliveries {
        match delivery {
            Delivery::Headers(head) => sink.on_response(&head)?,
            Delivery::Chunk(chunk) => sink.write_chunk(&chunk)?,
        }
    }
    Ok(())
}

/// Where a GET's headers and chunks go from the task reading the body.
trait Deliver {
    /// Hand over one delivery; an error stops the GET and is returned as is.
    async fn deliver(&mut self, delivery: Delivery) -> Result<(), S3Error>;

    /// Whether bytes are held back, waiting for more to fill a batch.
    fn holding(&self) -> bool {
        false
    }

    /// Hand over whatever is held back.
    async fn flush(&mut self) -> Result<(), S3Error> {
        Ok(())
    }
}

/// Hands the body to the calling thread in batches of about [`DOWNLOAD_BATCH_BYTES`]:
/// hyper yields a chunk per socket read (often 8-64 KiB on loopback), and waking the
/// calling thread for each cost more CPU than the bytes themselves (the measurement is
/// in docs/benchmarks.md).
struct Batched {
    tx: tokio::sync::mpsc::Sender<Vec<Delivery>>,
    batch: Vec<Delivery>,
    bytes: usize,
}

impl Deliver for Batched {
    fn holding(&self) -> bool {
        !self.batch.is_empty()
    }

    async fn flush(&mut self) -> Result<(), S3Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        // A closed channel: the caller's sink refused a chunk and stopped reading.
        self.tx.send(batch).await.map_err(|_| stopped_by_caller(OP))
    }

    async fn deliver(&mut self, delivery: Delivery) -> Result<(), S3Error> {
        let headers = matches!(delivery, Delivery::Headers(_));
        if let Delivery::Chunk(chunk) = &delivery {
            self.bytes += chunk.len();
        }
        self.batch.push(delivery);
        // The headers go at once: the sink checks them before it takes any byte.
        if headers || self.bytes >= DOWNLOAD_BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }
}

/// Hands each delivery to a thread outside the runtime (see the async-caller path of
/// `get_object`); blocking is fine there, this runs on a helper thread's `block_on`.
struct ToThread(std::sync::mpsc::SyncSender<Delivery>);

impl Deliver for ToThread {
    async fn deliver(&mut self, delivery: Delivery) -> Result<(), S3Error> {
        self.0.send(delivery).map_err(|_| stopped_by_caller(OP))
    }
}

/// Stream one GetObject into `deliver`, checking the byte count against the headers.
async fn get_streamed<S, E>(
    open: impl Future<Output = Result<Opened<S>, S3Error>>,
    (bucket, key): (&str, &str),
    t: Timeouts,
    deliver: &mut impl Deliver,
) -> Result<GetObjectOutput, S3Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Error + Send + Sync + 'static,
{
    let Opened {
        mut head,
        expected,
        mut body,
    } = open.await?;
    if head.etag.is_none() {
        return Err(not_an_object_answer(OP).with_object(bucket, key));
    }
    deliver
        .deliver(Delivery::Headers(Box::new(head.clone())))
        .await?;
    let mut received = 0u64;
    loop {
        // Bytes held for a batch go to the caller after at most `DOWNLOAD_BATCH_MAX_AGE`
        // of quiet: the sink is where a cancel is noticed and progress counted, so a
        // slow body must not keep them waiting for a full batch.
        let next = if deliver.holding() {
            match timeout(DOWNLOAD_BATCH_MAX_AGE.min(t.body_read), body.next()).await {
                Ok(next) => Ok(next),
                Err(_) => {
                    deliver.flush().await?;
                    timeout(t.body_read, body.next()).await
                }
            }
        } else {
            timeout(t.body_read, body.next()).await
        };
        match next {
            Err(_) => {
                return Err(S3Error::new(
                    S3ErrorKind::Timeout,
                    OP,
                    format!(
                        "body stalled: no bytes for {:?} after {received} bytes",
                        t.body_read
                    ),
                )
                .with_object(bucket, key));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let announced = expected.map_or(String::new(), |n| format!(" of {n}"));
                return Err(S3Error::new(
                    S3ErrorKind::TruncatedBody,
                    OP,
                    format!("body read failed after {received}{announced} bytes: {e}"),
                )
                .with_source(e)
                .with_object(bucket, key));
            }
            Ok(Some(Ok(chunk))) => {
                received += chunk.len() as u64;
                // The sink's error goes back unchanged: it is the caller's own.
                deliver.deliver(Delivery::Chunk(chunk)).await?;
            }
        }
    }
    check_count(received, expected).map_err(|e| e.with_object(bucket, key))?;
    head.content_length = expected.unwrap_or(received);
    head.bytes_received = received;
    Ok(head)
}

/// The body's end against the announced length: hyper 0.14 can end a body early
/// without an error (its runtime went away, a proxy cut it), and only the count tells.
fn check_count(received: u64, expected: Option<u64>) -> Result<(), S3Error> {
    let Some(expected) = expected else {
        return Ok(());
    };
    if received < expected {
        return Err(S3Error::new(
            S3ErrorKind::TruncatedBody,
            OP,
            format!("body ended after {received} of {expected} announced bytes"),
        ));
    }
    if received > expected {
        return Err(S3Error::new(
            S3ErrorKind::Other,
            OP,
            format!("received {received} bytes, more than the {expected} announced"),
        ));
    }
    Ok(())
}
