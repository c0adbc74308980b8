//! The S3 seam: the blocking [`S3Api`] trait the engine calls, its request and response
//! types, its error, and the backends that implement it.
//!
//! The engine never talks HTTP itself. Everything above this module (retries, ranges,
//! progress, cancellation) works against the trait, so a backend only has to turn one
//! request into one S3 call, report what came back, and classify what went wrong.

//! The seam's vocabulary that transfer users meet too ([`S3Api`],
//! [`S3Error`], copy sources, checksum algorithms, object attributes,
//! SSE-C keys) is re-exported at the crate root and lives there only; this module holds
//! what a backend implementer needs beyond it: the request and response types, request
//! bodies and response sinks.

pub(crate) mod api;
#[cfg(feature = "rusoto")]
pub(crate) mod aws;
#[cfg(feature = "aws-sdk")]
pub(crate) mod aws_sdk;
mod body;
pub(crate) mod error;
pub(crate) mod etag;
pub(crate) mod model;
#[cfg(feature = "rusoto")]
pub(crate) mod rusoto;
#[cfg(feature = "rusoto")]
pub(crate) mod transport;
mod types;

#[cfg(feature = "testing")]
pub(crate) mod contract;
#[cfg(feature = "testing")]
pub(crate) mod fake;

pub(crate) use api::S3Api;
pub(crate) use body::stopped_by_caller;
pub use body::{BodyObserver, RequestBody, ResponseSink};
pub(crate) use error::{S3Error, S3ErrorKind};
pub(crate) use model::*;
pub use types::*;
