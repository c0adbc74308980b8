//! The verdicts both HTTP backends reach the same way about an answer or a failed
//! connection: a call that got no answer in time, a 2xx that is not the store's answer
//! about an object, a refused TLS certificate.

use std::time::Duration;

use crate::client::{S3Error, S3ErrorKind};

/// The call got no answer within the request timeout.
pub(crate) fn request_timed_out(op: &'static str, limit: Duration) -> S3Error {
    S3Error::new(
        S3ErrorKind::Timeout,
        op,
        format!("no response within {limit:?}"),
    )
}

/// A 2xx answer to HeadObject or GetObject without an ETag. S3 and every compatible
/// store send one with each object; an answer without it is something else in the way
/// (a captive portal's page, a proxy's error document inside a 200), and taking its body
/// for the object would "download" that page. Retryable: the next attempt may reach
/// the store.
pub(crate) fn not_an_object_answer(op: &'static str) -> S3Error {
    S3Error::new(
        S3ErrorKind::Transient,
        op,
        "the 2xx answer carried no ETag, so it is not the store's answer about an object",
    )
}

/// A 2xx answer to a call that stores something (PutObject, UploadPart, Complete, the
/// copies) without the ETag of what was stored.
pub(crate) fn missing_etag(op: &'static str) -> S3Error {
    // Retryable: S3 documents that these calls can fail inside a 200 response; an
    // answer without the result's ETag is treated as such a failure.
    S3Error::new(
        S3ErrorKind::Transient,
        op,
        "the 200 response carried no ETag (S3 may have sent an error inside a 200)",
    )
}

/// Whether a TLS failure will meet every retry the same way: the server's certificate
/// (or its absence, or a protocol the client refuses) does not change between attempts.
pub(crate) fn is_permanent_tls_refusal(err: &rustls::Error) -> bool {
    matches!(
        err,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::PeerIncompatible(_)
            | rustls::Error::InvalidCertRevocationList(_)
            | rustls::Error::UnsupportedNameType
    )
}
