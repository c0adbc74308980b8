//! The error every `S3Api` call returns, classified so that retry logic can branch on it.

use std::fmt;
use std::sync::Arc;

/// What kind of failure an S3 call hit. Retry logic branches on this, never on strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum S3ErrorKind {
    /// 404: NoSuchKey, NoSuchBucket, NoSuchUpload, NotFound.
    NotFound,
    /// 412: an If-Match / CopySourceIfMatch precondition failed (the object changed).
    PreconditionFailed,
    /// 416: the requested range is not satisfiable.
    InvalidRange,
    /// 401 / 403: access denied, bad signature, expired or missing credentials.
    AccessDenied,
    /// The store asks us to slow down (503 SlowDown, the throttling codes).
    Throttled,
    /// A fault that may pass: 5xx, RequestTimeout, a reset or refused connection.
    Transient,
    /// A client-side timeout (connect, response headers, or a stalled body).
    Timeout,
    /// The body ended before the length the server announced.
    TruncatedBody,
    /// The caller stopped the request: the transfer was cancelled, or the caller's own
    /// body source or sink failed. Never retried.
    Cancelled,
    /// The request was rejected as invalid or unsupported (4xx not listed above), or
    /// the backend cannot express it.
    Other,
}

impl S3ErrorKind {
    /// Whether a request that failed this way may succeed if sent again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            S3ErrorKind::Throttled
                | S3ErrorKind::Transient
                | S3ErrorKind::Timeout
                | S3ErrorKind::TruncatedBody
        )
    }

    /// Classify an S3 error from its HTTP status and XML `<Code>`; the code wins where
    /// it is known, because S3 puts some errors under surprising statuses (RequestTimeout
    /// is a 400; InternalError can come inside a 200).
    pub fn classify(status: Option<u16>, code: Option<&str>) -> S3ErrorKind {
        if let Some(code) = code {
            match code {
                "NoSuchKey" | "NoSuchBucket" | "NoSuchUpload" | "NotFound" | "NoSuchVersion" => {
                    return S3ErrorKind::NotFound;
                }
                "PreconditionFailed" => return S3ErrorKind::PreconditionFailed,
                "InvalidRange" => return S3ErrorKind::InvalidRange,
                "AccessDenied"
                | "SignatureDoesNotMatch"
                | "InvalidAccessKeyId"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"
                | "AllAccessDisabled"
                | "AccountProblem" => return S3ErrorKind::AccessDenied,
                "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestThrottledException"
                | "TooManyRequestsException"
                | "ProvisionedThroughputExceededException"
                | "TransactionInProgressException"
                | "RequestLimitExceeded"
                | "BandwidthLimitExceeded"
                | "LimitExceededException"
                | "RequestThrottled"
                | "EC2ThrottledException" => return S3ErrorKind::Throttled,
                "InternalError"
                | "ServiceUnavailable"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "PriorRequestNotComplete" => return S3ErrorKind::Transient,
                _ => {}
            }
        }
        match status {
            Some(404) => S3ErrorKind::NotFound,
            Some(412) => S3ErrorKind::PreconditionFailed,
            Some(416) => S3ErrorKind::InvalidRange,
            Some(401) | Some(403) => S3ErrorKind::AccessDenied,
            Some(429) => S3ErrorKind::Throttled,
            Some(503) => S3ErrorKind::Throttled,
            // "Not implemented" will not pass by asking again.
            Some(501) => S3ErrorKind::Other,
            Some(s) if s >= 500 => S3ErrorKind::Transient,
            _ => S3ErrorKind::Other,
        }
    }
}

impl fmt::Display for S3ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            S3ErrorKind::NotFound => "not found",
            S3ErrorKind::PreconditionFailed => "precondition failed",
            S3ErrorKind::InvalidRange => "invalid range",
            S3ErrorKind::AccessDenied => "access denied",
            S3ErrorKind::Throttled => "throttled",
            S3ErrorKind::Transient => "transient failure",
            S3ErrorKind::Timeout => "timed out",
            S3ErrorKind::TruncatedBody => "truncated body",
            S3ErrorKind::Cancelled => "cancelled",
            S3ErrorKind::Other => "failed",
        };
        f.write_str(s)
    }
}

/// A failed S3 call: which operation, on which object, what the server (or the
/// transport) said, and how to treat it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct S3Error {
    /// The classification retry logic uses.
    pub kind: S3ErrorKind,
    /// The S3 operation, as named in the API reference (`"UploadPart"`).
    pub operation: &'static str,
    /// The bucket of the request, where it had one.
    pub bucket: String,
    /// The key of the request, where it had one.
    pub key: String,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The S3 error code from the XML body (`NoSuchKey`), when there was one.
    pub code: Option<String>,
    /// The S3 error message, or a description of a transport failure.
    pub message: String,
    /// The underlying transport or I/O error, when there was one (shared, so that the
    /// error can be handed to every waiter of a transfer).
    pub source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl S3Error {
    /// A new error of `kind` for `operation`; add context with the `with_*` methods.
    pub fn new(kind: S3ErrorKind, operation: &'static str, message: impl Into<String>) -> Self {
        S3Error {
            kind,
            operation,
            bucket: String::new(),
            key: String::new(),
            status: None,
            code: None,
            message: message.into(),
            source: None,
        }
    }

    /// An error built from an HTTP status and S3 `<Code>`, classified by [`S3ErrorKind::classify`].
    pub fn from_response(
        operation: &'static str,
        status: Option<u16>,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        let kind = S3ErrorKind::classify(status, code.as_deref());
        S3Error {
            status,
            code,
            ..S3Error::new(kind, operation, message)
        }
    }

    /// Set the bucket and key this error is about.
    pub fn with_object(mut self, bucket: &str, key: &str) -> Self {
        self.bucket = bucket.to_owned();
        self.key = key.to_owned();
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The classification.
    pub fn kind(&self) -> S3ErrorKind {
        self.kind
    }

    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

/// Written out rather than derived: the source is shared in an `Arc`, and the chain
/// must lead to the transport's own error (so a caller can downcast it), not to the
/// `Arc` around it.
impl std::error::Error for S3Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.operation, self.kind)?;
        if !self.bucket.is_empty() {
            write!(f, " for s3://{}/{}", self.bucket, self.key)?;
        }
        match (self.status, &self.code) {
            (Some(s), Some(c)) => write!(f, " (HTTP {s}, {c})")?,
            (Some(s), None) => write!(f, " (HTTP {s})")?,
            (None, Some(c)) => write!(f, " ({c})")?,
            (None, None) => {}
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_wins_over_status_for_known_codes() {
        assert_eq!(
            S3ErrorKind::classify(Some(400), Some("RequestTimeout")),
            S3ErrorKind::Transient
        );
        assert_eq!(
            S3ErrorKind::classify(Some(200), Some("InternalError")),
            S3ErrorKind::Transient
        );
        assert_eq!(
            S3ErrorKind::classify(Some(503), Some("SlowDown")),
            S3ErrorKind::Throttled
        );
        assert_eq!(
            S3ErrorKind::classify(Some(403), Some("SignatureDoesNotMatch")),
            S3ErrorKind::AccessDenied
        );
    }

    #[test]
    fn not_implemented_is_not_retried() {
        let kind = S3ErrorKind::classify(Some(501), Some("NotImplemented"));
        assert_eq!(kind, S3ErrorKind::Other);
        assert!(!kind.is_retryable());
    }

    #[test]
    fn status_classifies_bodiless_errors() {
        assert_eq!(
            S3ErrorKind::classify(Some(404), None),
            S3ErrorKind::NotFound
        );
        assert_eq!(
            S3ErrorKind::classify(Some(412), None),
            S3ErrorKind::PreconditionFailed
        );
        assert_eq!(
            S3ErrorKind::classify(Some(416), None),
            S3ErrorKind::InvalidRange
        );
        assert_eq!(
            S3ErrorKind::classify(Some(403), None),
            S3ErrorKind::AccessDenied
        );
        assert_eq!(
            S3ErrorKind::classify(Some(502), None),
            S3ErrorKind::Transient
        );
        assert_eq!(
            S3ErrorKind::classify(Some(400), Some("Weird")),
            S3ErrorKind::Other
        );
    }

    #[test]
    fn only_transient_kinds_are_retryable() {
        assert!(S3ErrorKind::Throttled.is_retryable());
        assert!(S3ErrorKind::TruncatedBody.is_retryable());
        assert!(!S3ErrorKind::Cancelled.is_retryable());
        assert!(!S3ErrorKind::PreconditionFailed.is_retryable());
        assert!(!S3ErrorKind::AccessDenied.is_retryable());
    }

    #[test]
    fn display_names_operation_object_and_code() {
        let e = S3Error::from_response("GetObject", Some(404), Some("NoSuchKey".into()), "gone")
            .with_object("b", "k");
        assert_eq!(
            e.to_string(),
            "GetObject not found for s3://b/k (HTTP 404, NoSuchKey): gone"
        );
    }
}
