//! S3's XML bodies: error documents (and the 200-with-an-error detection), the
//! CompleteMultipartUploadResult's checksums, ListPartsResult pages, listing dates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3transfer::__fuzz;
use s3transfer::checksum::ALL;

/// The escaping `complete_document` applies, written again here.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let is_error = __fuzz::is_error_document(data);
    let text = String::from_utf8_lossy(data);
    if is_error {
        assert!(std::str::from_utf8(data).is_ok());
        assert!(text.contains("<Error"));
    }

    // Error classification of any status with this body.
    let status = data.first().map_or(200, |b| 100 + u16::from(*b) * 2);
    if let Some(e) = __fuzz::error_from_response("CompleteMultipartUpload", status, data, &[]) {
        let embedded = (200..300).contains(&status) && is_error;
        assert_eq!(e.status, Some(if embedded { 200 } else { status }));
    }

    // xml_text: unescaping never grows the text, and escaped text comes back.
    for tag in ["Code", "Message", "ETag", "PartNumber", "ChecksumCRC32"] {
        if let Some(value) = __fuzz::xml_text(&text, tag) {
            assert!(value.len() <= text.len());
        }
    }
    let doc = format!("<Message>{}</Message>", escape(&text));
    assert_eq!(
        __fuzz::xml_text(&doc, "Message").as_deref(),
        Some(text.trim())
    );

    // CompleteMultipartUploadResult: the body's checksums win.
    let c = __fuzz::read_result_checksums(&text, &[]);
    for algorithm in ALL {
        let tag = format!("Checksum{}", algorithm.as_str());
        assert_eq!(
            c.get(algorithm).map(str::to_owned),
            __fuzz::xml_text(&text, &tag)
        );
    }

    // ListPartsResult: every <Part> is a part or the page is refused.
    if let Ok(page) = __fuzz::parse_list_parts(&text) {
        assert_eq!(page.parts.len(), text.split("<Part>").count() - 1);
        if __fuzz::xml_text(&text, "IsTruncated").as_deref() == Some("true") {
            assert!(page.next_part_number_marker.is_some());
        }
    }

    let _ = __fuzz::parse_listing_date(&text);
});
