//! ETags as S3 makes them (the MD5 of a single-part object's or a part's bytes; the
//! MD5 of the parts' binary MD5s and `-N` for a multipart object), and `If-Match`
//! matching against them.

use crate::client::etag;

/// The bare value of an ETag: quotes and a weak `W/` prefix removed.
pub(super) fn unquote(etag: &str) -> &str {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.trim_matches('"')
}

/// `If-Match` semantics: `*` or any listed ETag, quoted or not.
pub(super) fn etag_matches(condition: &str, etag: &str) -> bool {
    condition
        .split(',')
        .any(|c| c.trim() == "*" || unquote(c) == unquote(etag))
}

/// The ETag of a single-part object or a part: the quoted MD5 of its bytes, as S3's
/// for an object stored without a KMS or customer key.
pub(super) fn content_etag(data: &[u8]) -> String {
    format!("\"{}\"", etag::md5_hex(data))
}

/// The ETag of a completed multipart object: S3's (the MD5 of its parts' binary MD5s,
/// then `-N`). A part ETag that is not an MD5, which only a test could make, counts by
/// its text.
pub(super) fn multipart_etag<'a>(
    part_etags: impl Iterator<Item = &'a str> + Clone,
    count: usize,
) -> String {
    let value = etag::multipart_etag(part_etags.clone()).unwrap_or_else(|| {
        let joined: String = part_etags.map(unquote).collect();
        format!("{}-{count}", etag::md5_hex(joined.as_bytes()))
    });
    format!("\"{value}\"")
}
