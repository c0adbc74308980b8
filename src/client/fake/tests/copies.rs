//! Copies: metadata and tagging directives, source date preconditions, copies onto
//! themselves, SSE-C sources and part-copy ranges.

use super::*;
use crate::client::Directive;

#[test]
fn copy_with_copy_directive_keeps_the_source_metadata() {
    let s3 = fake();
    let source = seed_with_metadata(&s3, "src");
    let mut req = copy_req("src", "dst");
    req.attributes.content_type = Some("ignored/type".into());
    req.attributes.storage_class = Some("GLACIER".into());
    let out = s3.copy_object(&req).unwrap();
    let dst = s3.object(B, "dst").unwrap();
    assert_eq!(dst.bytes(), b"payload");
    assert_eq!(out.etag.as_deref(), Some(source.etag.as_str()));
    assert_eq!(dst.attributes.content_type.as_deref(), Some("image/png"));
    assert_eq!(dst.metadata()["from"], "source");
    assert_eq!(dst.attributes.tagging.as_deref(), Some("t=1"));
    // Storage class is never copied: it comes from the request.
    assert_eq!(dst.attributes.storage_class.as_deref(), Some("GLACIER"));
}

#[test]
fn copy_with_replace_directive_takes_the_request_metadata() {
    let s3 = fake();
    seed_with_metadata(&s3, "src");
    let mut req = copy_req("src", "dst");
    req.metadata_directive = Some(Directive::Replace);
    req.attributes.content_type = Some("text/plain".into());
    req.attributes.metadata.insert("new".into(), "yes".into());
    s3.copy_object(&req).unwrap();
    let dst = s3.object(B, "dst").unwrap();
    assert_eq!(dst.attributes.content_type.as_deref(), Some("text/plain"));
    assert_eq!(dst.metadata().len(), 1);
    assert_eq!(dst.metadata()["new"], "yes");
    // Tags follow their own directive (COPY by default).
    assert_eq!(dst.attributes.tagging.as_deref(), Some("t=1"));
}

#[test]
fn copy_rejects_an_unknown_directive() {
    let s3 = fake();
    seed_with_metadata(&s3, "src");
    let mut req = copy_req("src", "dst");
    req.metadata_directive = Some(Directive::from_name("MERGE"));
    assert_eq!(code(&s3.copy_object(&req).unwrap_err()), "InvalidArgument");
}

#[test]
fn copy_source_date_and_none_match_conditions_follow_s3() {
    let s3 = fake();
    let source = seed_with_metadata(&s3, "src");
    let modified = parse_http_date(&source.last_modified).unwrap();
    let mut req = copy_req("src", "dst");
    req.conditions.if_unmodified_since = Some(http_date(modified - 1));
    assert_eq!(
        s3.copy_object(&req).unwrap_err().kind(),
        S3ErrorKind::PreconditionFailed
    );
    // If-Match wins over If-Unmodified-Since.
    req.conditions.if_match = Some(source.etag.clone());
    s3.copy_object(&req).unwrap();

    let mut req = copy_req("src", "dst");
    req.conditions.if_modified_since = Some(http_date(modified));
    assert_eq!(
        s3.copy_object(&req).unwrap_err().kind(),
        S3ErrorKind::PreconditionFailed
    );
    req.conditions.if_modified_since = Some(http_date(modified - 1));
    s3.copy_object(&req).unwrap();

    let mut req = copy_req("src", "dst");
    req.conditions.if_none_match = Some(source.etag);
    assert_eq!(
        s3.copy_object(&req).unwrap_err().kind(),
        S3ErrorKind::PreconditionFailed
    );
}

#[test]
fn copying_an_object_onto_itself_unchanged_is_rejected() {
    let s3 = fake();
    seed_with_metadata(&s3, "k");
    let mut req = copy_req("k", "k");
    let err = s3.copy_object(&req).unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(400), "InvalidRequest"));
    req.metadata_directive = Some(Directive::Replace);
    s3.copy_object(&req).unwrap();
}

#[test]
fn copy_of_an_sse_c_source_needs_its_key() {
    let s3 = fake();
    let key = SseCustomerKey::new("AES256", "a2V5", "bWQ1");
    let mut put = put_req("src");
    put.sse_customer = Some(key.clone());
    s3.put_object(&put, &mut RequestBody::new(b"x".to_vec()))
        .unwrap();
    let mut req = copy_req("src", "dst");
    assert_eq!(code(&s3.copy_object(&req).unwrap_err()), "InvalidRequest");
    req.copy_source_sse_customer = Some(key);
    s3.copy_object(&req).unwrap();
    assert_eq!(s3.object(B, "dst").unwrap().sse_customer, None);
}

#[test]
fn upload_part_copy_rejects_a_range_outside_the_source() {
    let s3 = fake();
    put(&s3, "src", b"0123456789");
    let id = create(&s3, "dst");
    let mut req = part_copy_req(&id, 1, "src");
    req.source_range = Some((5, 10));
    let err = s3.upload_part_copy(&req).unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(400), "InvalidArgument"));
}
