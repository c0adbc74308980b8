//! Checksum values from responses: base64 decoding, the composite of part checksums,
//! the `x-amz-checksum-*` headers, and CRC combination.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use s3transfer::__fuzz;
use s3transfer::checksum::{ALL, checksum};

fuzz_target!(|data: &[u8]| {
    let algorithm = ALL[usize::from(data.first().copied().unwrap_or(0)) % ALL.len()];
    let text = String::from_utf8_lossy(data);

    // Encode then decode is the identity; decoding accepts only what re-encodes to the
    // same text (padding aside).
    assert_eq!(
        __fuzz::base64_decode(&__fuzz::base64(data)).as_deref(),
        Some(data)
    );
    if let Some(bytes) = __fuzz::base64_decode(&text) {
        let again = __fuzz::base64(&bytes);
        assert_eq!(again.trim_end_matches('='), text.trim_end_matches('='));
    }

    // The composite: the checksum of the decoded parts, then `-<count>`; refused if a
    // part is not base64.
    let parts: Vec<&str> = text.split(',').collect();
    let all_decode = parts.iter().all(|p| __fuzz::base64_decode(p).is_some());
    let composite = __fuzz::composite_checksum(algorithm, &parts);
    assert_eq!(composite.is_some(), all_decode);
    if let Some(value) = composite {
        let (digest, count) = value.rsplit_once('-').unwrap();
        assert_eq!(count, parts.len().to_string());
        let decoded = __fuzz::base64_decode(digest).unwrap();
        assert_eq!(
            decoded.len(),
            checksum(algorithm, b"").to_base64().len() * 3 / 4 - digest.matches('=').count()
        );
    }

    // Checksum headers are taken as they came.
    let headers = common::header_lines(&text);
    let c = __fuzz::read_checksums(&headers);
    for a in ALL {
        let name = format!("x-amz-checksum-{}", a.as_str().to_ascii_lowercase());
        let sent = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name));
        if let Some(value) = c.get(a) {
            assert_eq!(Some(value), sent.map(|(_, v)| *v));
        }
    }

    // A CRC of two pieces combines into the CRC of the whole.
    if algorithm.is_crc() && !data.is_empty() {
        let split = usize::from(data[0]) % data.len();
        let (a, b) = data.split_at(split);
        let combined = checksum(algorithm, a).combine(&checksum(algorithm, b));
        assert_eq!(
            combined.map(|c| c.to_base64()),
            Some(checksum(algorithm, data).to_base64())
        );
    }
});
