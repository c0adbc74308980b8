//! Answers of S3-compatible stores that the SDK would refuse but S3's own clients take:
//! a single-valued header sent twice with the same value (SeaweedFS 4.48 repeats
//! `x-amz-server-side-encryption-customer-key-MD5` on an SSE-C HeadObject). The SDK
//! fails such an answer ("Failed to parse ... from header"); rusoto and botocore read
//! the value. Headers repeated with different values are left alone: which one is
//! meant is not ours to guess.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_types::config_bag::ConfigBag;

/// Folds a header repeated with one value into one header, before the SDK reads the
/// answer.
#[derive(Debug)]
pub(super) struct RepeatedHeaders;

impl Intercept for RepeatedHeaders {
    fn name(&self) -> &'static str {
        "s3transfer::RepeatedHeaders"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        fold_repeated(context.response_mut().headers_mut());
        Ok(())
    }
}

/// Each header repeated with one value, as one header.
fn fold_repeated(headers: &mut Headers) {
    let mut folded: Vec<(String, String)> = Vec::new();
    for (name, _) in headers.iter() {
        let mut values = headers.get_all(name);
        let Some(first) = values.next() else { continue };
        let mut rest = values.peekable();
        if rest.peek().is_some()
            && rest.all(|v| v == first)
            && !folded.iter().any(|(n, _)| n == name)
        {
            folded.push((name.to_owned(), first.to_owned()));
        }
    }
    for (name, value) in folded {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_repeated_with_one_value_is_read_once_and_differing_ones_stay() {
        let mut h = Headers::new();
        h.append("x-amz-server-side-encryption-customer-key-md5", "abc");
        h.append("x-amz-server-side-encryption-customer-key-md5", "abc");
        h.append("x-amz-meta-a", "1");
        h.append("x-amz-meta-a", "2");
        h.append("etag", "\"e\"");
        fold_repeated(&mut h);
        let md5: Vec<_> = h
            .get_all("x-amz-server-side-encryption-customer-key-md5")
            .collect();
        assert_eq!(md5, ["abc"]);
        assert_eq!(h.get_all("x-amz-meta-a").count(), 2);
        assert_eq!(h.get("etag"), Some("\"e\""));
    }
}
