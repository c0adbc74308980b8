//! S3's ETags as MD5s: the MD5 of a single-part object's (or a part's) bytes, and the
//! multipart ETag made from its parts' MD5s. Where an ETag is one, it proves which
//! bytes an object holds (a download's check, a lost Complete's recovery, the fake).

/// An ETag without its quotes.
pub(crate) fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

/// Whether two ETags name the same object: compared without their quotes, as stores
/// and callers differ in quoting them. The one comparison of ETags.
pub(crate) fn same(a: &str, b: &str) -> bool {
    unquote(a) == unquote(b)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of `data`, in hex: S3's ETag of an object or part stored without a KMS or
/// customer key.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&<md5::Md5 as md5::Digest>::digest(data))
}

/// The 16 bytes of an ETag that is a plain MD5 (32 hex digits, quoted or not); `None`
/// for a multipart ETag (`-N`) or anything else.
pub(crate) fn plain_md5(etag: &str) -> Option<[u8; 16]> {
    let hex = unquote(etag).as_bytes();
    if hex.len() != 32 {
        return None;
    }
    let mut md5 = [0u8; 16];
    for (byte, pair) in md5.iter_mut().zip(hex.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(md5)
}

/// The ETag (unquoted) S3 gives a multipart object of these parts: the MD5 of their
/// binary MD5s, then `-<count>`. `None` unless every part ETag is a plain MD5.
pub(crate) fn multipart_etag<'a>(part_etags: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut md5s = Vec::new();
    let mut count = 0;
    for etag in part_etags {
        md5s.extend_from_slice(&plain_md5(etag)?);
        count += 1;
    }
    Some(format!("{}-{count}", md5_hex(&md5s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_part_md5s() {
        // Parts "a"×10 and "b"×7; the value from Python's hashlib, as S3 makes it.
        assert_eq!(md5_hex(b"aaaaaaaaaa"), "e09c80c42fda55f9d992e59ca6b3307d");
        let ours = [
            "\"e09c80c42fda55f9d992e59ca6b3307d\"",
            "e1faffe9c3c801f2f8c3fbe7cb032cb2",
        ];
        assert_eq!(
            multipart_etag(ours.into_iter()).as_deref(),
            Some("30e57f64e284aca6fd268ecbac8a42dc-2")
        );
        let not_md5 = ["\"e09c80c42fda55f9d992e59ca6b3307d\"", "\"opaque-1\""];
        assert_eq!(multipart_etag(not_md5.into_iter()), None);
        assert_eq!(plain_md5("\"e09c80c42fda55f9d992e59ca6b3307z\""), None);
        assert_eq!(plain_md5("30e57f64e284aca6fd268ecbac8a42dc-2"), None);
    }
}
