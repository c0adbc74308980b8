//! How the rusoto backend classifies failures: rusoto's errors, HTTP statuses and S3's
//! XML error codes become [`S3ErrorKind`]s, and a 200 whose body is an `<Error>` document
//! (which S3 sends for Complete and copies) is turned into an error before rusoto sees it.

use std::fmt;
use std::time::Duration;

use rusoto_core::request::{BufferedHttpResponse, DispatchSignedRequestFuture, HttpResponse};
use rusoto_core::signature::SignedRequest;
use rusoto_core::{ByteStream, DispatchSignedRequest, RusotoError};

use super::connector::Transport;
use super::signed;
use crate::client::aws::redirect;
use crate::client::{S3Error, S3ErrorKind};

/// How the chain's adapter begins the message of a credential source it could not
/// reach (STS, SSO, the container endpoint, the instance metadata).
#[cfg_attr(not(feature = "aws-config"), allow(dead_code))]
pub(super) const CREDENTIALS_UNREACHABLE: &str = "credential source unreachable: ";
/// How it begins the message of a source that did not answer in time.
#[cfg_attr(not(feature = "aws-config"), allow(dead_code))]
pub(super) const CREDENTIALS_TIMED_OUT: &str = "credential source timed out: ";

/// Response header our dispatcher adds when it turned a 200 carrying an `<Error>` body
/// into an error response, so the error can still report the real status (200).
pub(super) const EMBEDDED_ERROR_HEADER: &str = "x-s3transfer-error-in-200";

/// The error type of the calls this backend builds itself (see [`super::signed`]): rusoto has
/// no typed errors for them, every failure is classified from the answer.
#[derive(Debug)]
pub(super) enum Untyped {}

/// The typed errors rusoto_s3 knows for an operation, as an S3 code and message.
pub(super) trait ServiceError: fmt::Debug {
    fn code_and_message(&self) -> (&'static str, String);
}

macro_rules! no_typed_errors {
    ($($t:ty),*) => {$(
        impl ServiceError for $t {
            fn code_and_message(&self) -> (&'static str, String) {
                match *self {}
            }
        }
    )*};
}

no_typed_errors!(
    Untyped,
    rusoto_s3::DeleteObjectError,
    rusoto_s3::ListMultipartUploadsError
);

impl ServiceError for rusoto_s3::ListObjectsV2Error {
    fn code_and_message(&self) -> (&'static str, String) {
        match self {
            rusoto_s3::ListObjectsV2Error::NoSuchBucket(m) => ("NoSuchBucket", m.clone()),
        }
    }
}

impl ServiceError for rusoto_s3::AbortMultipartUploadError {
    fn code_and_message(&self) -> (&'static str, String) {
        match self {
            rusoto_s3::AbortMultipartUploadError::NoSuchUpload(m) => ("NoSuchUpload", m.clone()),
        }
    }
}

/// Turn any rusoto failure into a classified [`S3Error`] (without bucket and key).
pub(super) fn map_rusoto_error<E: ServiceError>(op: &'static str, err: RusotoError<E>) -> S3Error {
    match err {
        RusotoError::Service(e) => {
            let (code, message) = e.code_and_message();
            S3Error::from_response(op, None, Some(code.to_owned()), message)
        }
        RusotoError::Unknown(response) => from_http_response(op, &response),
        RusotoError::HttpDispatch(e) => {
            let message = e.to_string();
            // rusoto reports a response body that broke off while being buffered as
            // "Error obtaining body"; anything else failed before a response arrived.
            let kind = if message.contains("Error obtaining body") {
                S3ErrorKind::TruncatedBody
            } else if message.contains(super::connector::TLS_REFUSED) {
                // The same certificate answers every retry.
                S3ErrorKind::Other
            } else {
                S3ErrorKind::Transient
            };
            S3Error::new(kind, op, message).with_source(e)
        }
        RusotoError::Credentials(e) => {
            // rusoto's credential error is a message; the chain's adapter
            // (credentials.rs) begins it with one of these when the source could not be
            // reached or did not answer in time, which a later attempt may get past.
            let kind = if e.message.starts_with(CREDENTIALS_UNREACHABLE) {
                S3ErrorKind::Transient
            } else if e.message.starts_with(CREDENTIALS_TIMED_OUT) {
                S3ErrorKind::Timeout
            } else {
                S3ErrorKind::AccessDenied
            };
            S3Error::new(kind, op, format!("credentials: {e}")).with_source(e)
        }
        RusotoError::ParseError(message) => {
            // A 200 whose body was an error document can surface here; classify it by
            // its code when the text shows one.
            match signed::xml_text(&message, "Code") {
                Some(code) => S3Error::from_response(
                    op,
                    Some(200),
                    Some(code),
                    signed::xml_text(&message, "Message").unwrap_or(message),
                ),
                None => S3Error::new(
                    S3ErrorKind::Other,
                    op,
                    format!("cannot parse the response: {message}"),
                ),
            }
        }
        RusotoError::Validation(message) => S3Error::new(
            S3ErrorKind::Other,
            op,
            format!("invalid request: {message}"),
        ),
        RusotoError::Blocking => S3Error::new(S3ErrorKind::Other, op, "rusoto blocking error"),
    }
}

pub(super) fn from_http_response(op: &'static str, response: &BufferedHttpResponse) -> S3Error {
    let embedded = response.headers.contains_key(EMBEDDED_ERROR_HEADER);
    let status = if embedded {
        200
    } else {
        response.status.as_u16()
    };
    let body = std::str::from_utf8(&response.body).unwrap_or("");
    let code = signed::xml_text(body, "Code");
    let message = signed::xml_text(body, "Message").unwrap_or_else(|| {
        match response.status.canonical_reason() {
            Some(reason) if !embedded => format!("HTTP {status} {reason}"),
            _ => format!("HTTP {status}"),
        }
    });
    let error = S3Error::from_response(op, Some(status), code, message);
    match response.headers.get("x-amz-bucket-region") {
        Some(region) if !embedded && redirect::is_redirect_status(status) => {
            error.with_source(redirect::BucketRegion(region.trim().to_owned()))
        }
        _ => error,
    }
}

/// Whether an XML document's root element is `<Error>`.
pub(super) fn is_error_document(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let mut text = text.trim_start();
    if text.starts_with("<?xml") {
        match text.find("?>") {
            Some(end) => text = text[end + 2..].trim_start(),
            None => return false,
        }
    }
    text.starts_with("<Error>") || text.starts_with("<Error ")
}

/// rusoto's HTTP client with one addition: a 2xx answer whose body is an `<Error>`
/// document becomes a 500 (marked with [`EMBEDDED_ERROR_HEADER`]), so rusoto reports it
/// as an error with the body instead of parsing it as an empty success. S3 documents
/// this for CompleteMultipartUpload, CopyObject and UploadPartCopy; every answer but an
/// object GET's (whose body is the object, never buffered) is checked, because a proxy
/// or another store may do it elsewhere, and an upload taken for stored when it was not
/// would lose the data.
pub(super) struct EmbeddedErrorDispatcher(pub(super) Transport);

impl DispatchSignedRequest for EmbeddedErrorDispatcher {
    fn dispatch(
        &self,
        request: SignedRequest,
        timeout: Option<Duration>,
    ) -> DispatchSignedRequestFuture {
        // A HEAD has no body; an object GET's body is the object. The listings' GETs
        // (ListObjectsV2, ListMultipartUploads, ListParts) answer documents: an error
        // inside their 200 must not read as an empty page (a sync would take the
        // source for empty).
        let listing = ["list-type", "uploads", "uploadId"]
            .iter()
            .any(|p| request.params.contains_key(*p));
        let may_embed = match request.method.as_str() {
            "HEAD" => false,
            "GET" => listing,
            _ => true,
        };
        let response = self.0.dispatch(request, timeout);
        if !may_embed {
            return response;
        }
        Box::pin(async move {
            let mut response = response.await?;
            if !response.status.is_success() {
                return Ok(response);
            }
            // These answers are small XML documents; rusoto buffers them anyway.
            let buffered = response.buffer().await?;
            let mut headers = buffered.headers;
            let status = if is_error_document(&buffered.body) {
                headers.insert(EMBEDDED_ERROR_HEADER, "true".to_owned());
                500u16.try_into().expect("500 is a valid status")
            } else {
                buffered.status
            };
            Ok(HttpResponse {
                status,
                body: ByteStream::from(buffered.body.to_vec()),
                headers,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn error_documents_are_recognised() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>oops</Message></Error>";
        assert!(is_error_document(doc));
        assert!(!is_error_document(
            b"<?xml version=\"1.0\"?><CopyObjectResult><ETag>x</ETag></CopyObjectResult>"
        ));
        let text = std::str::from_utf8(doc).unwrap();
        assert_eq!(
            signed::xml_text(text, "Code").as_deref(),
            Some("InternalError")
        );
        assert_eq!(signed::xml_text(text, "Message").as_deref(), Some("oops"));
    }

    #[test]
    fn parse_errors_with_an_error_body_are_classified_by_code() {
        let e = map_rusoto_error::<Untyped>(
            "CompleteMultipartUpload",
            RusotoError::ParseError(
                "unexpected <Error><Code>InternalError</Code><Message>x</Message></Error>".into(),
            ),
        );
        assert_eq!(e.kind(), S3ErrorKind::Transient);
        assert_eq!(e.code.as_deref(), Some("InternalError"));
    }

    #[test]
    fn bodiless_404_is_not_found() {
        let response = BufferedHttpResponse {
            status: 404u16.try_into().unwrap(),
            body: Bytes::new(),
            headers: Default::default(),
        };
        let e = map_rusoto_error::<Untyped>("HeadObject", RusotoError::Unknown(response));
        assert_eq!(e.kind(), S3ErrorKind::NotFound);
        assert_eq!(e.status, Some(404));
    }
}
