//! How the aws-sdk-s3 backend classifies failures: the SDK's error cases (a service
//! error with its status and code, a timeout, a dispatch or I/O failure, a request that
//! could not be built, an answer that could not be read) become [`S3ErrorKind`]s with
//! the status/code table every backend shares ([`S3ErrorKind::classify`]).
//!
//! The SDK itself turns a 200 whose body is an `<Error>` document into a service error
//! for every call whose answer it parses (CompleteMultipartUpload, CopyObject and
//! UploadPartCopy among them), so such an answer arrives here as the error it is.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::client::aws::redirect::{BucketRegion, is_redirect_status};
use crate::client::transport::answers::is_permanent_tls_refusal;
use crate::client::{S3Error, S3ErrorKind};

/// Turn any SDK failure into a classified [`S3Error`] (without bucket and key).
pub(super) fn map_sdk_error<E>(op: &'static str, err: SdkError<E, HttpResponse>) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let described = DisplayErrorContext(&err).to_string();
    // A failure of the credential provider arrives as a construction or a dispatch
    // failure (the SDK resolves the identity while sending): the provider's kind decides
    // whether a retry can help, not the wrapper's.
    if let Some(credentials) = credentials_error(&err) {
        let kind = crate::client::aws::chain::credentials_failure_kind(credentials);
        return S3Error::new(kind, op, described).with_source(err);
    }
    let error = match &err {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let status = raw.status().as_u16();
            let code = service.err().code().map(str::to_owned);
            let message = service
                .err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {status}"));
            let error = S3Error::from_response(op, Some(status), code, message);
            // The bucket's region, for the redirect to follow (`client/aws/redirect.rs`).
            match raw.headers().get("x-amz-bucket-region") {
                Some(region) if is_redirect_status(status) => {
                    return error.with_source(BucketRegion(region.trim().to_owned()));
                }
                _ => error,
            }
        }
        SdkError::TimeoutError(_) => S3Error::new(S3ErrorKind::Timeout, op, described),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                S3ErrorKind::Timeout
            } else if chain_has_tls_refusal(&err) {
                // The same certificate answers every retry.
                S3ErrorKind::Other
            } else if failure.is_user() {
                S3ErrorKind::Other
            } else {
                // I/O (a reset, a refused connection) and the connector's other
                // failures may pass.
                S3ErrorKind::Transient
            };
            S3Error::new(kind, op, described)
        }
        SdkError::ResponseError(response) => {
            // An answer that arrived but could not be read or parsed (a body that broke
            // off, a document that is not the one asked for): the next attempt may get
            // the real one.
            let status = response.raw().status().as_u16();
            S3Error {
                status: Some(status),
                ..S3Error::new(S3ErrorKind::Transient, op, described)
            }
        }
        // ConstructionFailure (the request could not be built) and what later versions
        // of the SDK add: sending it again would not help.
        _ => S3Error::new(S3ErrorKind::Other, op, described),
    };
    error.with_source(err)
}

/// The credential provider's failure inside `err`, if that is what it is (classified by
/// `chain::credentials_failure_kind`, the rusoto backend's rule too).
fn credentials_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialsError> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(c);
        }
        next = e.source();
    }
    None
}

/// Whether `err` or anything in its chain is a permanent TLS refusal. `io::Error`s are
/// looked into (`get_ref`): their `source()` skips the error they wrap, which is where
/// tokio-rustls puts the `rustls::Error`.
fn chain_has_tls_refusal(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<rustls::Error>()
            .is_some_and(is_permanent_tls_refusal)
        {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && chain_has_tls_refusal(inner)
        {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn response(status: u16, headers: &[(&'static str, &'static str)]) -> HttpResponse {
        let mut r = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        for (name, value) in headers {
            r.headers_mut().insert(*name, *value);
        }
        r
    }

    fn service(status: u16, code: Option<&str>) -> SdkError<GetObjectError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message("m");
        if let Some(code) = code {
            meta = meta.code(code);
        }
        SdkError::service_error(GetObjectError::generic(meta.build()), response(status, &[]))
    }

    #[test]
    fn service_errors_are_classified_by_code_then_status() {
        let cases = [
            (503, Some("SlowDown"), S3ErrorKind::Throttled),
            (500, Some("InternalError"), S3ErrorKind::Transient),
            (502, None, S3ErrorKind::Transient),
            (404, Some("NoSuchKey"), S3ErrorKind::NotFound),
            (404, Some("NoSuchUpload"), S3ErrorKind::NotFound),
            (412, None, S3ErrorKind::PreconditionFailed),
            (403, Some("AccessDenied"), S3ErrorKind::AccessDenied),
            (400, Some("RequestTimeout"), S3ErrorKind::Transient),
            (416, Some("InvalidRange"), S3ErrorKind::InvalidRange),
            (501, Some("NotImplemented"), S3ErrorKind::Other),
            // An error document inside a 200, as the SDK reports it.
            (200, Some("InternalError"), S3ErrorKind::Transient),
        ];
        for (status, code, kind) in cases {
            let e = map_sdk_error("GetObject", service(status, code));
            assert_eq!(e.kind(), kind, "{status} {code:?}");
            assert_eq!(e.status, Some(status));
            assert_eq!(e.code.as_deref(), code);
        }
    }

    #[test]
    fn a_bodiless_head_404_is_not_found() {
        let err = SdkError::service_error(
            HeadObjectError::generic(ErrorMetadata::builder().build()),
            response(404, &[]),
        );
        assert_eq!(
            map_sdk_error("HeadObject", err).kind(),
            S3ErrorKind::NotFound
        );
    }

    #[test]
    fn a_redirect_carries_the_buckets_region() {
        let err = SdkError::service_error(
            HeadObjectError::generic(ErrorMetadata::builder().build()),
            response(301, &[("x-amz-bucket-region", "eu-west-2")]),
        );
        let e = map_sdk_error("HeadObject", err);
        let region = e
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<BucketRegion>())
            .map(|r| r.0.clone());
        assert_eq!(region.as_deref(), Some("eu-west-2"));
    }

    #[test]
    fn dispatch_failures_are_transient_timeouts_time_out_and_tls_refusals_are_final() {
        let io = SdkError::<GetObjectError, HttpResponse>::dispatch_failure(ConnectorError::io(
            Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ));
        assert_eq!(
            map_sdk_error("GetObject", io).kind(),
            S3ErrorKind::Transient
        );
        let slow = SdkError::<GetObjectError, HttpResponse>::dispatch_failure(
            ConnectorError::timeout(Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut))),
        );
        assert_eq!(
            map_sdk_error("GetObject", slow).kind(),
            S3ErrorKind::Timeout
        );
        let refused = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let tls = SdkError::<GetObjectError, HttpResponse>::dispatch_failure(
            ConnectorError::other(Box::new(refused), None),
        );
        let e = map_sdk_error("GetObject", tls);
        assert_eq!(e.kind(), S3ErrorKind::Other);
        assert!(!e.is_retryable());
        let timeout = SdkError::<GetObjectError, HttpResponse>::timeout_error(Box::new(
            std::io::Error::from(std::io::ErrorKind::TimedOut),
        ));
        assert_eq!(
            map_sdk_error("GetObject", timeout).kind(),
            S3ErrorKind::Timeout
        );
    }

    #[test]
    fn a_missing_credential_is_access_denied() {
        let err = SdkError::<GetObjectError, HttpResponse>::construction_failure(
            CredentialsError::not_loaded("no keys anywhere"),
        );
        assert_eq!(
            map_sdk_error("GetObject", err).kind(),
            S3ErrorKind::AccessDenied
        );
    }
}
