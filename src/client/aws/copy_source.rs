//! The `x-amz-copy-source` header of CopyObject and UploadPartCopy, as S3 wants it
//! from any backend (both client libraries send the value as they get it).

use crate::client::CopySource;

/// The `x-amz-copy-source` value: `bucket/key`, percent-encoded except for unreserved
/// characters and `/`, plus `?versionId=` when a version is named. a backend sends
/// the string as given, and S3 decodes it, so a raw `+`, `%`, `?` or space would name a
/// different object.
pub(crate) fn copy_source_header(source: &CopySource) -> String {
    let mut out = percent_encode(&format!("{}/{}", source.bucket, source.key), true);
    if let Some(version) = &source.version_id {
        out.push_str("?versionId=");
        out.push_str(&percent_encode(version, false));
    }
    out
}

fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_is_percent_encoded_except_unreserved_and_slash() {
        let mut src = CopySource::new("bkt", "dir/a b+c%d~é?.txt");
        assert_eq!(
            copy_source_header(&src),
            "bkt/dir/a%20b%2Bc%25d~%C3%A9%3F.txt"
        );
        src.version_id = Some("v/1+2".into());
        assert!(copy_source_header(&src).ends_with("?versionId=v%2F1%2B2"));
    }
}
