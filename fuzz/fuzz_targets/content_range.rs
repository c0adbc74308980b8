//! `Content-Range` and the other GET response headers the download trusts
//! (`Content-Length`, `x-amz-mp-parts-count`, ETag, checksums).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use s3transfer::__fuzz;
use s3transfer::client::ContentRange;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // A range that parses is one `accept_head` and `learn_part` can do arithmetic on:
    // start <= end < total, so `len()` and `total - 1` cannot overflow.
    if let Some(cr) = ContentRange::parse(&text) {
        assert!(
            cr.start <= cr.end && cr.end < cr.total,
            "{cr:?} from {text:?}"
        );
        assert_eq!(cr.len(), cr.end - cr.start + 1);
        let again = format!("bytes {}-{}/{}", cr.start, cr.end, cr.total);
        assert_eq!(ContentRange::parse(&again), Some(cr));
    }
    if data.len() >= 24 {
        let n = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap());
        let (start, end, total) = (n(0), n(8), n(16));
        let parsed = ContentRange::parse(&format!("bytes {start}-{end}/{total}"));
        assert_eq!(parsed.is_some(), start <= end && end < total);
    }

    // The response head built from `name: value` lines.
    let headers = common::header_lines(&text);
    let first = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let (head, expected) = __fuzz::response_head(&headers);
    let length = __fuzz::header_u64(&headers, "content-length");
    if let (Some(n), Some(v)) = (length, first("content-length")) {
        assert_eq!(v.trim().parse::<u64>().ok(), Some(n));
    }
    let range = first("content-range").and_then(ContentRange::parse);
    // Header names that hyper refuses are dropped, so the range may be absent there.
    if head.content_range.is_some() {
        assert_eq!(head.content_range, range);
    }
    if let Some(cr) = head.content_range {
        assert!(cr.start <= cr.end && cr.end < cr.total);
    }
    assert_eq!(expected, length.or(head.content_range.map(|r| r.len())));
    assert_eq!(head.content_length, expected.unwrap_or(0));
    assert_eq!(head.bytes_received, 0);
});
