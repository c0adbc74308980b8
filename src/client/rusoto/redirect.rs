//! A bucket in another region than the backend's: S3 answers 301 PermanentRedirect (400
//! AuthorizationHeaderMalformed for a request signed for the wrong region, 307 while a
//! new bucket's DNS settles) with the bucket's region in `x-amz-bucket-region`. The
//! request is sent once more there, and the region is remembered for the bucket, as the
//! SDKs' and the AWS CLI's redirect handling do.
//!
//! Every call can be sent again: the ones without a body are rebuilt from their
//! request, and upload bodies are rewound before each send (`send::send_body`).

use std::fmt;

use super::RusotoS3;
use super::signed::Endpoint;
use crate::client::S3Error;

/// The region an error answer named for its bucket, carried as the [`S3Error`]'s source
/// from the response to [`RusotoS3::in_bucket_region`].
#[derive(Debug)]
pub(super) struct BucketRegion(pub(super) String);

impl fmt::Display for BucketRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the bucket is in region {}", self.0)
    }
}

impl std::error::Error for BucketRegion {}

/// The statuses under which S3 names a bucket's region instead of serving it.
pub(super) fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 307 | 400)
}

impl RusotoS3 {
    /// The endpoint for `bucket`: the one its region was found at, else the backend's.
    fn endpoint_of(&self, bucket: &str) -> Endpoint {
        let remembered = self.inner.bucket_endpoints.lock().get(bucket).cloned();
        remembered.unwrap_or_else(|| self.inner.endpoint.clone())
    }

    /// Run `attempt` against `bucket`'s endpoint; when the answer names another region
    /// for the bucket, remember it and run `attempt` once more there.
    pub(super) fn in_bucket_region<T>(
        &self,
        bucket: &str,
        mut attempt: impl FnMut(&Endpoint) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        let endpoint = self.endpoint_of(bucket);
        let error = match attempt(&endpoint) {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        let named = error
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<BucketRegion>())
            .map(|r| r.0.clone());
        let Some(region) = named.filter(|r| *r != endpoint.region_name()) else {
            return Err(error);
        };
        let Some(moved) = endpoint.in_region(&region) else {
            return Err(error);
        };
        tracing::debug!(bucket, region = %region, "the bucket is in another region; sending there");
        self.inner
            .bucket_endpoints
            .lock()
            .insert(bucket.to_owned(), moved.clone());
        attempt(&moved)
    }
}
