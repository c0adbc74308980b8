//! Sending one request and waiting for its answer from a blocking caller: whole-response
//! calls under the request timeout, the signed requests this backend builds, and upload
//! bodies pulled on the calling thread and streamed to the transport.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use hyper::HeaderMap;
use rusoto_core::request::{BufferedHttpResponse, HttpResponse};
use rusoto_core::signature::SignedRequest;
use rusoto_core::{ByteStream, RusotoError};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::RusotoS3;
use super::errors::{ServiceError, Untyped, map_rusoto_error, request_timed_out};
use crate::client::{RequestBody, S3Error, S3ErrorKind};

/// Chunks of an upload body buffered between the calling thread and the transport:
/// small, so memory stays bounded and progress reflects what the transport took.
const UPLOAD_CHANNEL_CAPACITY: usize = 4;

impl RusotoS3 {
    /// Run a whole-response call (no streamed body) under the request timeout and
    /// classify its failure.
    pub(super) fn call<T, E, F>(
        &self,
        op: &'static str,
        bucket: &str,
        key: &str,
        fut: F,
    ) -> Result<T, S3Error>
    where
        F: Future<Output = Result<T, RusotoError<E>>> + Send,
        T: Send,
        E: ServiceError + Send,
    {
        tracing::trace!(operation = op, bucket, key, "request");
        let limit = self.inner.timeouts.request;
        let result = self.block_on(async move { timeout(limit, fut).await });
        match result {
            Err(_) => Err(request_timed_out(op, limit).with_object(bucket, key)),
            Ok(Err(e)) => Err(map_rusoto_error(op, e).with_object(bucket, key)),
            Ok(Ok(out)) => Ok(out),
        }
    }

    /// PutObject and UploadPart: `request` with `body` streamed as its payload
    /// (UNSIGNED-PAYLOAD, the length announced). Returns the answer's headers.
    pub(super) fn send_signed_body(
        &self,
        op: &'static str,
        bucket: &str,
        key: &str,
        mut request: SignedRequest,
        body: &mut RequestBody,
    ) -> Result<HeaderMap<String>, S3Error> {
        tracing::trace!(operation = op, bucket, key, bytes = body.len(), "request");
        let raw = self.inner.raw.clone();
        self.send_body(op, bucket, key, body, move |stream| {
            request.set_payload_stream(stream);
            tokio::spawn(async move { dispatch(&raw, request).await.map(|r| r.headers) })
        })
    }

    /// PutObject and UploadPart: stream `body` to the request `start` spawns.
    ///
    /// The chunks are pulled on the calling thread (progress, throttling, cancellation)
    /// and handed to the transport through a small bounded channel, without copying.
    fn send_body<T, E>(
        &self,
        op: &'static str,
        bucket: &str,
        key: &str,
        body: &mut RequestBody,
        start: impl FnOnce(ByteStream) -> JoinHandle<Result<T, RusotoError<E>>> + Send,
    ) -> Result<T, S3Error>
    where
        T: Send + 'static,
        E: ServiceError + Send + 'static,
    {
        // Always send the whole body, also when a failed attempt consumed part of it.
        body.rewind();
        let len = body.len();
        let len = usize::try_from(len).map_err(|_| {
            S3Error::new(S3ErrorKind::Other, op, "body too large for this platform")
                .with_object(bucket, key)
        })?;
        let handle = &self.inner.handle;
        let t = self.inner.timeouts;
        self.off_async(move || {
            let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(UPLOAD_CHANNEL_CAPACITY);
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (Ok::<_, io::Error>(chunk), rx))
            });
            // The size makes hyper send Content-Length; without it hyper would send
            // chunked encoding, which S3 rejects (411 MissingContentLength).
            let mut join = {
                let _enter = handle.enter();
                start(ByteStream::new_with_size(stream, len))
            };
            let request_ended_early = match feed_transport(body, &tx, handle, t.body_send) {
                Ok(ended_early) => ended_early,
                Err(stop) => {
                    // Kill the request so the server sees a broken upload, never a
                    // short one, and report why.
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
                Ok(Ok(Err(e))) => Err(map_rusoto_error(op, e).with_object(bucket, key)),
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

/// Sign and send a request built in [`super::signed`]; an error answer is buffered and
/// returned as rusoto_s3 returns it, for [`map_rusoto_error`].
pub(super) async fn dispatch(
    raw: &rusoto_core::Client,
    request: SignedRequest,
) -> Result<HttpResponse, RusotoError<Untyped>> {
    let mut response = raw.sign_and_dispatch(request).await?;
    if !response.status.is_success() {
        let buffered = response.buffer().await.map_err(RusotoError::HttpDispatch)?;
        return Err(RusotoError::Unknown(buffered));
    }
    Ok(response)
}

/// [`dispatch`] for calls whose answer is a small document, read whole.
pub(super) async fn dispatch_buffered(
    raw: &rusoto_core::Client,
    request: SignedRequest,
) -> Result<BufferedHttpResponse, RusotoError<Untyped>> {
    let mut response = dispatch(raw, request).await?;
    response.buffer().await.map_err(RusotoError::HttpDispatch)
}
