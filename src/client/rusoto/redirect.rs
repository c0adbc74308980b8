//! The rusoto backend's places for the shared bucket-region redirect
//! (`client/aws/redirect.rs`): an [`Endpoint`], moved to another region by
//! [`Endpoint::in_region`] (for a custom endpoint: the same URL, signed for that
//! region).
//!
//! Every call can be sent again: the ones without a body are rebuilt from their
//! request, and upload bodies are rewound before each send (`transport::upload`).

use super::RusotoS3;
use super::signed::Endpoint;
use crate::client::S3Error;

impl RusotoS3 {
    /// Run `attempt` against `bucket`'s endpoint; when the answer names another region
    /// for the bucket, remember it and run `attempt` once more there.
    pub(super) fn in_bucket_region<T>(
        &self,
        bucket: &str,
        attempt: impl FnMut(&Endpoint) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        self.inner.bucket_endpoints.in_bucket_region(
            bucket,
            &self.inner.endpoint,
            |e| e.region_name(),
            |e, region| e.in_region(region),
            attempt,
        )
    }
}
