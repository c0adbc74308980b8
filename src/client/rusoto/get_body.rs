//! The GetObject answer of the rusoto backend: the request sent under the request
//! timeout, its headers read into a [`GetObjectOutput`]; the body then goes to the
//! caller's sink through the shared `transport::download`.

use hyper::HeaderMap;
use rusoto_core::signature::SignedRequest;
use tokio::time::timeout;

use super::errors::map_rusoto_error;
use super::send::dispatch;
use super::{RusotoS3, signed};
use crate::client::transport::answers::request_timed_out;
use crate::client::transport::download::{Opened, get_into_sink};
use crate::client::{ContentRange, GetObjectOutput, GetObjectRequest, ResponseSink, S3Error};

const OP: &str = "GetObject";

impl RusotoS3 {
    /// Send the GetObject `req` (built from `request`) and stream its body into `sink`.
    pub(super) fn get(
        &self,
        req: SignedRequest,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        tracing::trace!(
            operation = "GetObject",
            bucket = %request.bucket,
            key = %request.key,
            range = ?request.range,
            part_number = request.part_number,
            "request"
        );
        let raw = self.inner.raw.clone();
        let t = self.inner.timeouts;
        let (bucket, key) = (request.bucket.clone(), request.key.clone());
        let open = async move {
            let out = match timeout(t.request, dispatch(&raw, req)).await {
                Err(_) => return Err(request_timed_out(OP, t.request).with_object(&bucket, &key)),
                Ok(Err(e)) => return Err(map_rusoto_error(OP, e).with_object(&bucket, &key)),
                Ok(Ok(out)) => out,
            };
            let (head, expected) = response_head(&out.headers);
            Ok(Opened {
                head,
                expected,
                body: out.body,
            })
        };
        get_into_sink(
            &self.inner.handle,
            t,
            (&request.bucket, &request.key),
            open,
            sink,
        )
    }
}

/// The response headers as a [`GetObjectOutput`] (nothing received yet), with the body
/// length they announce (`Content-Length`, else the `Content-Range` span).
pub(super) fn response_head(h: &HeaderMap<String>) -> (GetObjectOutput, Option<u64>) {
    let content_range = signed::header(h, "content-range")
        .as_deref()
        .and_then(ContentRange::parse);
    let expected =
        signed::header_number::<u64>(h, "content-length").or(content_range.map(|r| r.len()));
    let head = GetObjectOutput {
        content_length: expected.unwrap_or(0),
        content_range,
        etag: signed::header(h, "etag"),
        version_id: signed::header(h, "x-amz-version-id"),
        last_modified: signed::header(h, "last-modified"),
        parts_count: signed::header_number(h, "x-amz-mp-parts-count"),
        checksums: signed::read_checksums(h),
        bytes_received: 0,
    };
    (head, expected)
}
