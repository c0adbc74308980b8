//! Copies: the copy-source preconditions and which attributes a copy takes from its
//! source and which from the request.

use super::FakeObject;
use super::State;
use super::dates::parse_http_date;
use super::etag::etag_matches;
use super::objects::{Ctx, check_sse};
use crate::client::{
    CopyObjectRequest, CopySource, CopySourceConditions, Directive, ObjectAttributes, S3Error,
    SseCustomerKey,
};

/// The source of a copy (CopyObject or UploadPartCopy), once its SSE-C key and
/// preconditions passed.
pub(super) fn copy_source(
    cx: Ctx<'_>,
    st: &State,
    source: &CopySource,
    sse: Option<&SseCustomerKey>,
    conditions: &CopySourceConditions,
) -> Result<FakeObject, S3Error> {
    let object = st
        .lookup(
            cx,
            &source.bucket,
            &source.key,
            source.version_id.as_deref(),
        )?
        .clone();
    check_sse(cx, object.sse_customer.as_ref(), sse)?;
    check_copy_conditions(cx, &object, conditions)?;
    Ok(object)
}

/// Copy-source preconditions as S3 evaluates them: if-match wins over
/// if-unmodified-since, if-none-match over if-modified-since; unparseable dates are
/// ignored.
pub(super) fn check_copy_conditions(
    cx: Ctx<'_>,
    source: &FakeObject,
    conditions: &CopySourceConditions,
) -> Result<(), S3Error> {
    let modified = parse_http_date(&source.last_modified);
    if let Some(m) = &conditions.if_match {
        if !etag_matches(m, &source.etag) {
            return Err(cx.precondition_failed());
        }
    } else if let (Some(since), Some(modified)) = (
        conditions
            .if_unmodified_since
            .as_deref()
            .and_then(parse_http_date),
        modified,
    ) && modified > since
    {
        return Err(cx.precondition_failed());
    }
    if let Some(m) = &conditions.if_none_match {
        if etag_matches(m, &source.etag) {
            return Err(cx.precondition_failed());
        }
    } else if let (Some(since), Some(modified)) = (
        conditions
            .if_modified_since
            .as_deref()
            .and_then(parse_http_date),
        modified,
    ) && modified <= since
    {
        return Err(cx.precondition_failed());
    }
    Ok(())
}

/// The attributes of a copy: the content headers and metadata from the source under
/// `COPY`, from the request under `REPLACE`; tags likewise by the tagging directive;
/// everything else (ACL, storage class, encryption, lock) always from the request.
pub(super) fn copy_attributes(
    cx: Ctx<'_>,
    source: &ObjectAttributes,
    request: &CopyObjectRequest,
) -> Result<ObjectAttributes, S3Error> {
    let replace = |directive: &Option<Directive>, name: &str| match directive {
        None | Some(Directive::Copy) => Ok(false),
        Some(Directive::Replace) => Ok(true),
        Some(other) => Err(cx.error(
            400,
            "InvalidArgument",
            format!("Unknown {name} directive: {other}"),
        )),
    };
    let mut attrs = request.attributes.clone();
    if !replace(&request.metadata_directive, "metadata")? {
        attrs.cache_control = source.cache_control.clone();
        attrs.content_disposition = source.content_disposition.clone();
        attrs.content_encoding = source.content_encoding.clone();
        attrs.content_language = source.content_language.clone();
        attrs.content_type = source.content_type.clone();
        attrs.expires = source.expires.clone();
        attrs.metadata = source.metadata.clone();
    }
    if !replace(&request.tagging_directive, "tagging")? {
        attrs.tagging = source.tagging.clone();
    }
    Ok(attrs)
}
