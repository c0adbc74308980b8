//! ETags as S3 makes them (the MD5 of a single-part object's or a part's bytes; the
//! MD5 of the parts' binary MD5s and `-N` for a multipart object), and `If-Match`
//! matching against them.

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

fn md5(data: &[u8]) -> Vec<u8> {
    <md5::Md5 as md5::Digest>::digest(data).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The ETag of a single-part object or a part: the quoted MD5 of its bytes, as S3's
/// for an object stored without a KMS or customer key.
pub(super) fn content_etag(data: &[u8]) -> String {
    format!("\"{}\"", hex(&md5(data)))
}

/// The ETag of a completed multipart object: the MD5 of its parts' binary MD5s, then
/// `-N`, as S3's. (A part ETag that is not hex, which only a test could make, counts by
/// its text.)
pub(super) fn multipart_etag<'a>(
    part_etags: impl Iterator<Item = &'a str>,
    count: usize,
) -> String {
    let mut joined = Vec::new();
    for etag in part_etags {
        let etag = unquote(etag);
        match unhex(etag) {
            Some(binary) => joined.extend_from_slice(&binary),
            None => joined.extend_from_slice(etag.as_bytes()),
        }
    }
    format!("\"{}-{count}\"", hex(&md5(&joined)))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
