//! Upload bodies (PutObject, UploadPart) from a blocking caller: the chunks are pulled
//! from the [`RequestBody`] on the calling thread (progress, throttling, cancellation
//! happen there) and handed to the request running on the runtime through a small
//! bounded channel, without copying; the request's answer is awaited under the request
//! timeout once the whole body went.

use std::time::Duration;

use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::Timeouts;
use super::answers::request_timed_out;
use super::runtime::off_async;
use crate::client::{RequestBody, S3Error, S3ErrorKind};

/// Chunks of an upload body buffered between the calling thread and the transport:
/// small, so memory stays bounded and progress reflects what the transport took.
const UPLOAD_CHANNEL_CAPACITY: usize = 4;

/// The body's chunks as the transport receives them; the channel closes after the
/// last one.
pub(crate) type BodyChunks = tokio::sync::mpsc::Receiver<Bytes>;

/// Stream `body` to the request `start` spawns (inside the runtime's context) with the
/// receiving end of the body's channel and the body's length, which the request must
/// announce as its Content-Length (S3 refuses chunked encoding). The request's own
/// failure is returned as it comes, with `bucket` and `key` added.
pub(crate) fn send_body<T>(
    handle: &Handle,
    t: Timeouts,
    (op, bucket, key): (&'static str, &str, &str),
    body: &mut RequestBody,
    start: impl FnOnce(BodyChunks, u64) -> JoinHandle<Result<T, S3Error>> + Send,
) -> Result<T, S3Error>
where
    T: Send + 'static,
{
    // Always send the whole body, also when a failed attempt consumed part of it.
    body.rewind();
    let len = body.len();
    off_async(move || {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(UPLOAD_CHANNEL_CAPACITY);
        let mut join = {
            let _enter = handle.enter();
            start(rx, len)
        };
        let request_ended_early = match feed_transport(body, &tx, handle, t.body_send) {
            Ok(ended_early) => ended_early,
            Err(stop) => {
                // Kill the request so the server sees a broken upload, never a short
                // one, and report why.
                join.abort();
                return Err(match stop {
                    FeedStopped::ByCaller(e) => e,
                    FeedStopped::Stalled => S3Error::new(
                        S3ErrorKind::Timeout,
                        op,
                        format!("the transport took no body bytes for {:?}", t.body_send),
                    )
                    .with_object(bucket, key),
                });
            }
        };
        drop(tx);
        let result = handle.block_on(async { timeout(t.request, &mut join).await });
        match result {
            Err(_) => {
                join.abort();
                Err(request_timed_out(op, t.request).with_object(bucket, key))
            }
            Ok(Err(join_error)) => Err(S3Error::new(
                S3ErrorKind::Transient,
                op,
                format!("request task failed: {join_error}"),
            )
            .with_source(join_error)
            .with_object(bucket, key)),
            Ok(Ok(Err(e))) => Err(e.with_object(bucket, key)),
            Ok(Ok(Ok(_))) if request_ended_early => Err(S3Error::new(
                S3ErrorKind::Transient,
                op,
                "the server answered before the whole body was sent",
            )
            .with_object(bucket, key)),
            Ok(Ok(Ok(out))) => Ok(out),
        }
    })
}

/// Why [`feed_transport`] stopped before the body's end.
enum FeedStopped {
    /// The body's own error (the caller cancelled, a read failed), returned unchanged.
    ByCaller(S3Error),
    /// The transport took no chunk within the body send timeout.
    Stalled,
}

/// Pull `body`'s chunks on this thread and hand each to the transport. Returns whether
/// the request finished before the whole body went (the server answered early, or the
/// connection failed; the request's result says why).
fn feed_transport(
    body: &mut RequestBody,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
    handle: &Handle,
    send_timeout: Duration,
) -> Result<bool, FeedStopped> {
    loop {
        let chunk = match body.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(false),
            Err(e) => return Err(FeedStopped::ByCaller(e)),
        };
        let sent = handle.block_on(async { timeout(send_timeout, tx.send(chunk)).await });
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Ok(true),
            Err(_) => return Err(FeedStopped::Stalled),
        }
    }
}
