//! Sending one request and waiting for its answer from a blocking caller: whole-response
//! calls under the request timeout, the signed requests this backend builds, and upload
//! bodies (pulled on the calling thread by the shared `transport::upload`).

use std::future::Future;
use std::io;

use hyper::HeaderMap;
use rusoto_core::request::{BufferedHttpResponse, HttpResponse};
use rusoto_core::signature::SignedRequest;
use rusoto_core::{ByteStream, RusotoError};
use tokio::time::timeout;

use super::RusotoS3;
use super::errors::{ServiceError, Untyped, map_rusoto_error};
use crate::client::transport::answers::request_timed_out;
use crate::client::transport::upload::{BodyChunks, send_body};
use crate::client::{RequestBody, S3Error, S3ErrorKind};

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
        let len = usize::try_from(body.len()).map_err(|_| {
            S3Error::new(S3ErrorKind::Other, op, "body too large for this platform")
                .with_object(bucket, key)
        })?;
        let raw = self.inner.raw.clone();
        let start = move |chunks: BodyChunks, _| {
            let stream = futures_util::stream::unfold(chunks, |mut rx| async move {
                rx.recv().await.map(|chunk| (Ok::<_, io::Error>(chunk), rx))
            });
            // The size makes hyper send Content-Length; without it hyper would send
            // chunked encoding, which S3 rejects (411 MissingContentLength).
            request.set_payload_stream(ByteStream::new_with_size(stream, len));
            tokio::spawn(async move {
                dispatch(&raw, request)
                    .await
                    .map(|r| r.headers)
                    .map_err(|e| map_rusoto_error(op, e))
            })
        };
        send_body(
            &self.inner.handle,
            self.inner.timeouts,
            (op, bucket, key),
            body,
            start,
        )
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
