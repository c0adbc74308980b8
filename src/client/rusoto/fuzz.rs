//! The rusoto backend's parsers with plain inputs, for `crate::__fuzz` (built only
//! under `--cfg fuzzing`): the fuzz targets cannot name the private items.

use std::time::SystemTime;

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::HeaderName;
use rusoto_core::request::BufferedHttpResponse;

use super::{errors, get_body, listing, signed};
use crate::client::{Checksums, GetObjectOutput, ListPartsOutput, S3Error};

/// A response's header map; pairs whose name is not a valid header name are dropped,
/// as hyper would never deliver them.
fn header_map(pairs: &[(&str, &str)]) -> HeaderMap<String> {
    let mut map = HeaderMap::default();
    for (name, value) in pairs {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            map.append(name, (*value).to_owned());
        }
    }
    map
}

/// `signed::xml_text`.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    signed::xml_text(xml, tag)
}

/// `errors::is_error_document`.
pub fn is_error_document(body: &[u8]) -> bool {
    errors::is_error_document(body)
}

/// What the backend reports for an answer: a 2xx with an `<Error>` body becomes the
/// embedded-error 500 as in `EmbeddedErrorDispatcher`, then `from_http_response`.
pub fn error_from_response(
    op: &'static str,
    status: u16,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Option<S3Error> {
    let mut status = hyper::StatusCode::from_u16(status).ok()?;
    let mut headers = header_map(headers);
    if status.is_success() && errors::is_error_document(body) {
        headers.insert(errors::EMBEDDED_ERROR_HEADER, "true".to_owned());
        status = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    }
    let response = BufferedHttpResponse {
        status,
        body: Bytes::copy_from_slice(body),
        headers,
    };
    Some(errors::from_http_response(op, &response))
}

/// `signed::read_result_checksums` over these headers.
pub fn read_result_checksums(xml: &str, headers: &[(&str, &str)]) -> Checksums {
    signed::read_result_checksums(xml, &header_map(headers))
}

/// `signed::read_checksums` over these headers.
pub fn read_checksums(headers: &[(&str, &str)]) -> Checksums {
    signed::read_checksums(&header_map(headers))
}

/// `signed::header_number` as a `u64`.
pub fn header_u64(headers: &[(&str, &str)], name: &str) -> Option<u64> {
    signed::header_number(&header_map(headers), name)
}

/// `listing::parse_list_parts`.
pub fn parse_list_parts(body: &str) -> Result<ListPartsOutput, String> {
    listing::parse_list_parts(body)
}

/// `listing::parse_listing_date`.
pub fn parse_listing_date(value: &str) -> Option<SystemTime> {
    listing::parse_listing_date(value)
}

/// `get_body::response_head` over these headers.
pub fn response_head(headers: &[(&str, &str)]) -> (GetObjectOutput, Option<u64>) {
    get_body::response_head(&header_map(headers))
}
