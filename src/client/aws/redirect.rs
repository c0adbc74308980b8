//! A bucket in another region than the backend's: S3 answers 301 PermanentRedirect (400
//! AuthorizationHeaderMalformed for a request signed for the wrong region, 307 while a
//! new bucket's DNS settles) with the bucket's region in `x-amz-bucket-region`. The
//! request is sent once more there, and the place is remembered for the bucket, as the
//! SDKs' and the AWS CLI's redirect handling do. A backend says what "a place" is (the
//! rusoto backend: an endpoint; the aws-sdk-s3 backend: a region to sign for) and
//! attaches the named region to its error as a [`BucketRegion`] source.

use std::collections::HashMap;
use std::fmt;

use parking_lot::Mutex;

use crate::client::S3Error;

/// The region an error answer named for its bucket, carried as the [`S3Error`]'s source
/// from the response to [`BucketPlaces::in_bucket_region`].
#[derive(Debug)]
pub(crate) struct BucketRegion(pub(crate) String);

impl fmt::Display for BucketRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the bucket is in region {}", self.0)
    }
}

impl std::error::Error for BucketRegion {}

/// The statuses under which S3 names a bucket's region instead of serving it.
pub(crate) fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 307 | 400)
}

/// Where each bucket found in another region than the backend's is served.
#[derive(Debug)]
pub(crate) struct BucketPlaces<P> {
    /// Protects only the map; never held across a request.
    places: Mutex<HashMap<String, P>>,
}

impl<P> Default for BucketPlaces<P> {
    fn default() -> Self {
        BucketPlaces {
            places: Mutex::new(HashMap::new()),
        }
    }
}

impl<P: Clone> BucketPlaces<P> {
    /// Run `attempt` at `bucket`'s place (the remembered one, else `default`); when the
    /// answer names another region for the bucket than `region_of` that place, and
    /// `move_to` has a place in that region, remember it and run `attempt` once more
    /// there. A redirect naming the region already used is returned as the error it is.
    pub(crate) fn in_bucket_region<T>(
        &self,
        bucket: &str,
        default: &P,
        region_of: impl Fn(&P) -> &str,
        move_to: impl Fn(&P, &str) -> Option<P>,
        mut attempt: impl FnMut(&P) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        let remembered = self.places.lock().get(bucket).cloned();
        let place = remembered.unwrap_or_else(|| default.clone());
        let error = match attempt(&place) {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        let named = error
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<BucketRegion>())
            .map(|r| r.0.clone());
        let Some(region) = named.filter(|r| r != region_of(&place)) else {
            return Err(error);
        };
        let Some(moved) = move_to(&place, &region) else {
            return Err(error);
        };
        tracing::debug!(bucket, region = %region, "the bucket is in another region; sending there");
        self.places.lock().insert(bucket.to_owned(), moved.clone());
        attempt(&moved)
    }
}
