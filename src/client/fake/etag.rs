//! Opaque ETags as the fake makes them (not MD5s, see `FakeS3`), and `If-Match`
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

/// 128-bit FNV-1a: not cryptographic, but deterministic, dependency-free and as wide as
/// an MD5, which is all an opaque ETag needs.
fn fnv1a_128(data: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    data.iter()
        .fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

/// The ETag of a single-part object or a part: the quoted hash of its bytes.
pub(super) fn content_etag(data: &[u8]) -> String {
    format!("\"{:032x}\"", fnv1a_128(data))
}

/// The ETag of a completed multipart object: the hash of its parts' ETags, then `-N`.
pub(super) fn multipart_etag<'a>(
    part_etags: impl Iterator<Item = &'a str>,
    count: usize,
) -> String {
    let mut joined = Vec::new();
    for etag in part_etags {
        joined.extend_from_slice(unquote(etag).as_bytes());
    }
    format!("\"{:032x}-{count}\"", fnv1a_128(&joined))
}
