//! The wire form of the calls the rusoto backend builds itself, because rusoto_s3 0.48's
//! model has no flexible-checksum fields: request headers and parameters for
//! rusoto_core's [`SignedRequest`], the CompleteMultipartUpload XML, and the answers'
//! headers and XML read back into this crate's types.
//!
//! Header names and query parameters are the ones the generated rusoto_s3 0.48 client
//! sends for the same calls, plus the checksum ones it does not know.

use hyper::HeaderMap;
use rusoto_core::Region;
use rusoto_core::signature::SignedRequest;

use crate::client::aws::addressing::Addressing;
use crate::client::{
    ChecksumAlgorithm, ChecksumType, Checksums, CompletedPart, CopySourceConditions,
    ObjectAttributes, RequestContext, SseCustomerKey,
};

/// A [`Checksums`] field, for tables that read and write them alike.
type ChecksumField = fn(&mut Checksums) -> &mut Option<String>;

/// S3's name of each algorithm a [`Checksums`] can carry: the header is
/// `x-amz-checksum-` and the name in lower case, the XML element `Checksum` and the name.
const CHECKSUM_FIELDS: &[(&str, ChecksumField)] = &[
    ("CRC32", |c| &mut c.crc32),
    ("CRC32C", |c| &mut c.crc32c),
    ("CRC64NVME", |c| &mut c.crc64nvme),
    ("SHA1", |c| &mut c.sha1),
    ("SHA256", |c| &mut c.sha256),
    ("MD5", |c| &mut c.md5),
    ("SHA512", |c| &mut c.sha512),
    ("XXHASH3", |c| &mut c.xxhash3),
    ("XXHASH64", |c| &mut c.xxhash64),
    ("XXHASH128", |c| &mut c.xxhash128),
];

const CHECKSUM_TYPE: &str = "x-amz-checksum-type";
const META_PREFIX: &str = "x-amz-meta-";
const BUCKET_KEY_ENABLED: &str = "x-amz-server-side-encryption-bucket-key-enabled";

/// An [`ObjectAttributes`] string field.
type AttributeField = fn(&mut ObjectAttributes) -> &mut Option<String>;

/// The string attributes with their headers, and whether HeadObject returns them (the
/// others are write-only: ACLs, grants, tagging, the KMS context).
const ATTRIBUTE_HEADERS: &[(&str, AttributeField, bool)] = &[
    ("x-amz-acl", |a| &mut a.acl, false),
    ("Cache-Control", |a| &mut a.cache_control, true),
    ("Content-Disposition", |a| &mut a.content_disposition, true),
    ("Content-Encoding", |a| &mut a.content_encoding, true),
    ("Content-Language", |a| &mut a.content_language, true),
    ("Content-Type", |a| &mut a.content_type, true),
    ("Expires", |a| &mut a.expires, true),
    ("x-amz-storage-class", |a| &mut a.storage_class, true),
    ("x-amz-tagging", |a| &mut a.tagging, false),
    (
        "x-amz-website-redirect-location",
        |a| &mut a.website_redirect_location,
        true,
    ),
    (
        "x-amz-server-side-encryption",
        |a| &mut a.server_side_encryption,
        true,
    ),
    (
        "x-amz-server-side-encryption-aws-kms-key-id",
        |a| &mut a.sse_kms_key_id,
        true,
    ),
    (
        "x-amz-server-side-encryption-context",
        |a| &mut a.sse_kms_encryption_context,
        false,
    ),
    ("x-amz-object-lock-mode", |a| &mut a.object_lock_mode, true),
    (
        "x-amz-object-lock-retain-until-date",
        |a| &mut a.object_lock_retain_until_date,
        true,
    ),
    (
        "x-amz-object-lock-legal-hold",
        |a| &mut a.object_lock_legal_hold_status,
        true,
    ),
    (
        "x-amz-grant-full-control",
        |a| &mut a.grant_full_control,
        false,
    ),
    ("x-amz-grant-read", |a| &mut a.grant_read, false),
    ("x-amz-grant-read-acp", |a| &mut a.grant_read_acp, false),
    ("x-amz-grant-write-acp", |a| &mut a.grant_write_acp, false),
];

/// Where the backend's requests go.
#[derive(Clone, Debug)]
pub(super) struct Endpoint {
    /// The signing region, with the endpoint URL (always `Region::Custom`: the URL is
    /// ours, from the caller or the partition table, not rusoto's region list).
    pub(super) region: Region,
    /// The endpoint is AWS's standard one (not a caller's).
    pub(super) aws: bool,
    /// The endpoint is `https://`.
    pub(super) https: bool,
    pub(super) addressing: Addressing,
}

impl Endpoint {
    /// The signing region's name.
    pub(super) fn region_name(&self) -> &str {
        self.region.name()
    }

    /// This endpoint for another region: AWS's standard endpoint of that region, or the
    /// same custom endpoint signing for it. `None` for a malformed region name (it came
    /// from a response header).
    pub(super) fn in_region(&self, region: &str) -> Option<Endpoint> {
        let custom = match &self.region {
            Region::Custom { endpoint, .. } if !self.aws => Some(endpoint.as_str()),
            _ => None,
        };
        super::builder::endpoint_for(region, custom, self.addressing).ok()
    }
}

/// A request for one object: virtual-hosted (`bucket.host`, path `/key`) or path-style
/// (`/bucket/key`) as `endpoint` decides for this bucket. The key is percent-encoded
/// when the request is signed; the host is signed too, so it is set here, never after.
pub(super) fn object_request(
    endpoint: &Endpoint,
    method: &str,
    bucket: &str,
    key: &str,
) -> SignedRequest {
    addressed_request(endpoint, method, bucket, &format!("/{key}"))
}

/// A request for a bucket itself (ListObjectsV2): `/` on `bucket.host`, or `/bucket`.
pub(super) fn bucket_request(endpoint: &Endpoint, method: &str, bucket: &str) -> SignedRequest {
    addressed_request(endpoint, method, bucket, "")
}

fn addressed_request(endpoint: &Endpoint, method: &str, bucket: &str, rest: &str) -> SignedRequest {
    let e = endpoint;
    if e.addressing.virtual_hosted(bucket, e.aws, e.https) {
        let path = if rest.is_empty() { "/" } else { rest };
        let mut request = SignedRequest::new(method, "s3", &e.region, path);
        let host = request.hostname();
        request.set_hostname(Some(format!("{bucket}.{host}")));
        request
    } else {
        SignedRequest::new(method, "s3", &e.region, &format!("/{bucket}{rest}"))
    }
}

fn add_optional(request: &mut SignedRequest, name: &str, value: Option<&String>) {
    if let Some(value) = value {
        request.add_header(name, value);
    }
}

/// The headers nearly every object call carries: the SSE-C key, the request payer and
/// the expected bucket owner.
pub(super) fn add_common(
    request: &mut SignedRequest,
    sse_customer: Option<&SseCustomerKey>,
    context: &RequestContext,
) {
    if let Some(k) = sse_customer {
        request.add_header(
            "x-amz-server-side-encryption-customer-algorithm",
            &k.algorithm,
        );
        request.add_header("x-amz-server-side-encryption-customer-key", &k.key);
        request.add_header("x-amz-server-side-encryption-customer-key-MD5", &k.key_md5);
    }
    add_optional(
        request,
        "x-amz-request-payer",
        context.request_payer.as_ref(),
    );
    add_optional(
        request,
        "x-amz-expected-bucket-owner",
        context.expected_bucket_owner.as_ref(),
    );
}

/// UploadPartCopy's source: `x-amz-copy-source` (already encoded), its conditions and
/// its SSE-C key.
pub(super) fn add_copy_source(
    request: &mut SignedRequest,
    source: &str,
    conditions: &CopySourceConditions,
    sse_customer: Option<&SseCustomerKey>,
) {
    request.add_header("x-amz-copy-source", source);
    let c = conditions;
    add_optional(request, "x-amz-copy-source-if-match", c.if_match.as_ref());
    add_optional(
        request,
        "x-amz-copy-source-if-none-match",
        c.if_none_match.as_ref(),
    );
    add_optional(
        request,
        "x-amz-copy-source-if-modified-since",
        c.if_modified_since.as_ref(),
    );
    add_optional(
        request,
        "x-amz-copy-source-if-unmodified-since",
        c.if_unmodified_since.as_ref(),
    );
    if let Some(k) = sse_customer {
        let prefix = "x-amz-copy-source-server-side-encryption-customer";
        request.add_header(format!("{prefix}-algorithm"), &k.algorithm);
        request.add_header(format!("{prefix}-key"), &k.key);
        request.add_header(format!("{prefix}-key-MD5"), &k.key_md5);
    }
}

/// The properties of a new object (PutObject, CreateMultipartUpload).
pub(super) fn add_attributes(request: &mut SignedRequest, attributes: &ObjectAttributes) {
    let mut a = attributes.clone();
    for (name, field, _) in ATTRIBUTE_HEADERS {
        add_optional(request, name, field(&mut a).as_ref());
    }
    if let Some(enabled) = a.bucket_key_enabled {
        request.add_header(BUCKET_KEY_ENABLED, if enabled { "true" } else { "false" });
    }
    for (name, value) in &a.metadata {
        request.add_header(format!("{META_PREFIX}{name}"), value);
    }
}

/// CreateMultipartUpload and CopyObject, which make an object without sending its
/// bytes: its properties, the SSE-C key, payer and owner, and the algorithm the store
/// is to checksum it with (`x-amz-checksum-algorithm`).
pub(super) fn add_new_object(
    request: &mut SignedRequest,
    attributes: &ObjectAttributes,
    sse_customer: Option<&SseCustomerKey>,
    context: &RequestContext,
    algorithm: Option<ChecksumAlgorithm>,
) {
    add_attributes(request, attributes);
    add_common(request, sse_customer, context);
    add_algorithm(request, "x-amz-checksum-algorithm", algorithm);
}

/// `x-amz-checksum-<algorithm>` for every value set, and `x-amz-checksum-type` when
/// `with_type` (only CompleteMultipartUpload takes the type beside values).
pub(super) fn add_checksums(request: &mut SignedRequest, checksums: &Checksums, with_type: bool) {
    let mut c = checksums.clone();
    for (name, field) in CHECKSUM_FIELDS {
        if let Some(value) = field(&mut c) {
            request.add_header(checksum_header(name), value);
        }
    }
    if with_type && let Some(t) = &c.checksum_type {
        request.add_header(CHECKSUM_TYPE, t.as_str());
    }
}

/// PutObject and UploadPart: the algorithm the body was checksummed with
/// (`x-amz-sdk-checksum-algorithm`), its checksum values, and `Content-MD5`.
pub(super) fn add_body_headers(
    request: &mut SignedRequest,
    algorithm: Option<ChecksumAlgorithm>,
    checksums: &Checksums,
    content_md5: Option<&String>,
) {
    add_algorithm(request, "x-amz-sdk-checksum-algorithm", algorithm);
    add_checksums(request, checksums, false);
    add_optional(request, "Content-MD5", content_md5);
}

/// An algorithm header (`x-amz-sdk-checksum-algorithm` on bodies,
/// `x-amz-checksum-algorithm` on CreateMultipartUpload and CopyObject).
fn add_algorithm(request: &mut SignedRequest, header: &str, algorithm: Option<ChecksumAlgorithm>) {
    if let Some(a) = algorithm {
        request.add_header(header, a.as_str());
    }
}

/// GetObject and HeadObject: `If-Match`, `x-amz-checksum-mode` and the `partNumber`
/// and `versionId` parameters.
pub(super) fn add_read_options(
    request: &mut SignedRequest,
    checksum_mode: bool,
    part_number: Option<u32>,
    version_id: Option<&String>,
    if_match: Option<&String>,
) {
    add_optional(request, "If-Match", if_match);
    if checksum_mode {
        request.add_header("x-amz-checksum-mode", "ENABLED");
    }
    if let Some(n) = part_number {
        request.add_param("partNumber".to_owned(), n.to_string());
    }
    if let Some(v) = version_id {
        request.add_param("versionId".to_owned(), v.clone());
    }
}

fn checksum_header(name: &str) -> String {
    format!("x-amz-checksum-{}", name.to_ascii_lowercase())
}

/// A response header as text.
pub(super) fn header(headers: &HeaderMap<String>, name: &str) -> Option<String> {
    headers.get(name).cloned()
}

/// A numeric response header; a value that does not parse counts as absent.
pub(super) fn header_number<T: std::str::FromStr>(
    headers: &HeaderMap<String>,
    name: &str,
) -> Option<T> {
    headers.get(name).and_then(|v| v.trim().parse().ok())
}

/// The `x-amz-checksum-*` headers of a response.
pub(super) fn read_checksums(headers: &HeaderMap<String>) -> Checksums {
    let mut c = Checksums::default();
    for (name, field) in CHECKSUM_FIELDS {
        *field(&mut c) = header(headers, &checksum_header(name));
    }
    c.checksum_type = header(headers, CHECKSUM_TYPE).map(|t| ChecksumType::from_name(&t));
    c
}

/// The object properties HeadObject returns.
pub(super) fn read_attributes(headers: &HeaderMap<String>) -> ObjectAttributes {
    let mut a = ObjectAttributes::default();
    for (name, field, returned) in ATTRIBUTE_HEADERS {
        if *returned {
            *field(&mut a) = header(headers, name);
        }
    }
    a.bucket_key_enabled = header(headers, BUCKET_KEY_ENABLED).map(|v| v.trim() == "true");
    a.metadata = headers
        .iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix(META_PREFIX)?;
            Some((key.to_owned(), value.clone()))
        })
        .collect();
    a
}

/// The CompleteMultipartUpload document: each part's checksums, ETag and number.
pub(super) fn complete_document(parts: &[CompletedPart]) -> Vec<u8> {
    let mut xml =
        String::from(r#"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>"#);
    for part in parts {
        xml.push_str("<Part>");
        let mut c = part.checksums.clone();
        for (name, field) in CHECKSUM_FIELDS {
            if let Some(value) = field(&mut c) {
                push_element(&mut xml, &format!("Checksum{name}"), value);
            }
        }
        push_element(&mut xml, "ETag", &part.etag);
        push_element(&mut xml, "PartNumber", &part.part_number.to_string());
        xml.push_str("</Part>");
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml.into_bytes()
}

fn push_element(xml: &mut String, tag: &str, text: &str) {
    xml.push_str(&format!("<{tag}>"));
    for c in text.chars() {
        match c {
            '&' => xml.push_str("&amp;"),
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            c => xml.push(c),
        }
    }
    xml.push_str(&format!("</{tag}>"));
}

/// The checksums a CompleteMultipartUploadResult names (`<ChecksumCRC32>`, ...,
/// `<ChecksumType>`); the headers are used where the body has none.
pub(super) fn read_result_checksums(xml: &str, headers: &HeaderMap<String>) -> Checksums {
    let mut c = read_checksums(headers);
    for (name, field) in CHECKSUM_FIELDS {
        if let Some(value) = xml_text(xml, &format!("Checksum{name}")) {
            *field(&mut c) = Some(value);
        }
    }
    if let Some(t) = xml_text(xml, "ChecksumType") {
        c.checksum_type = Some(ChecksumType::from_name(&t));
    }
    c
}

/// The unescaped text of the first `<tag>...</tag>` of a small flat document.
pub(super) fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(xml[start..end].trim()))
}

/// XML's predefined entities and numeric character references (S3 quotes ETags as
/// `&quot;`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').and_then(|semi| {
            let entity = &after[..semi];
            let c = match entity {
                "quot" => Some('"'),
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_document_lists_part_checksums_before_etag_and_number() {
        let mut part = CompletedPart::new(2, "\"abc\"");
        part.checksums.crc32 = Some("AAAAAA==".into());
        let xml = String::from_utf8(complete_document(&[part])).unwrap();
        assert!(xml.contains(
            "<Part><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ETag>&quot;abc&quot;</ETag><PartNumber>2</PartNumber></Part>"
        ));
    }

    #[test]
    fn result_text_is_unescaped_and_body_checksums_win_over_headers() {
        let xml = "<CompleteMultipartUploadResult><ETag>&quot;e-2&quot;</ETag>\
                   <ChecksumCRC64NVME>body</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType>\
                   </CompleteMultipartUploadResult>";
        assert_eq!(xml_text(xml, "ETag").as_deref(), Some("\"e-2\""));
        let mut headers = HeaderMap::<String>::default();
        headers.insert("x-amz-checksum-crc64nvme", "header".to_owned());
        headers.insert("x-amz-checksum-sha1", "sha".to_owned());
        let c = read_result_checksums(xml, &headers);
        assert_eq!(c.crc64nvme.as_deref(), Some("body"));
        assert_eq!(c.sha1.as_deref(), Some("sha"));
        assert_eq!(c.checksum_type, Some(ChecksumType::FullObject));
        assert_eq!(unescape("a&#65;&#x42;&bogus;&"), "aAB&bogus;&");
    }

    #[test]
    fn attributes_round_trip_through_headers_except_write_only_ones() {
        let mut a = ObjectAttributes {
            content_type: Some("text/plain".into()),
            acl: Some("private".into()),
            bucket_key_enabled: Some(true),
            ..Default::default()
        };
        a.metadata.insert("k".into(), "v".into());
        let endpoint =
            super::super::builder::endpoint_for("us-east-1", None, Addressing::Auto).unwrap();
        let mut request = object_request(&endpoint, "PUT", "bkt", "k");
        add_attributes(&mut request, &a);
        let mut headers = HeaderMap::<String>::default();
        for (name, values) in request.headers() {
            let value = String::from_utf8(values[0].clone()).unwrap();
            headers.insert(
                hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value,
            );
        }
        let back = read_attributes(&headers);
        assert_eq!(back.content_type, a.content_type);
        assert_eq!(back.metadata, a.metadata);
        assert_eq!(back.bucket_key_enabled, Some(true));
        assert_eq!(back.acl, None);
    }
}
