//! Reads: which bytes of an object a GET or HEAD answers with, for a range or a
//! `partNumber`, and the checksums that come with them.

use super::FakeObject;
use super::multipart::MAX_PART_NUMBER;
use super::objects::Ctx;
use crate::client::{ByteRange, Checksums, ContentRange, S3Error};

/// Which bytes of an object a GET or HEAD answers with.
pub(super) struct Selection {
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) content_range: Option<ContentRange>,
    pub(super) parts_count: Option<u32>,
    pub(super) checksums: Checksums,
}

/// What a GET (or HEAD, without a range) of `object` answers with: the whole object, an
/// inclusive or open-ended range (clamped to the end; 416 when it starts past it), or one
/// part by `partNumber` (part 1 of a single-part object is all of it), with the stored
/// checksums only under `checksum_mode` and never for a range.
// Kept whole: it is one decision table (range, part number, neither) whose branches
// share the same two closures; split up, each piece would need them passed in.
pub(super) fn select(
    cx: Ctx<'_>,
    object: &FakeObject,
    range: Option<ByteRange>,
    part_number: Option<u32>,
    checksum_mode: bool,
) -> Result<Selection, S3Error> {
    let total = object.data.len() as u64;
    let content_range = |start: u64, len: u64| {
        (len > 0).then(|| ContentRange {
            start,
            end: start + len - 1,
            total,
        })
    };
    let checksums_if = |c: &Checksums| {
        if checksum_mode {
            c.clone()
        } else {
            Checksums::default()
        }
    };
    if range.is_some() && part_number.is_some() {
        return Err(cx.error(
            400,
            "InvalidRequest",
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    if let Some(p) = part_number {
        if p == 0 || p > MAX_PART_NUMBER {
            return Err(cx.error(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        let out_of_range = || {
            cx.error(
                416,
                "InvalidPartNumber",
                "The requested partnumber is not satisfiable",
            )
        };
        if !object.is_multipart() {
            if p != 1 {
                return Err(out_of_range());
            }
            return Ok(Selection {
                start: 0,
                len: total,
                content_range: content_range(0, total),
                parts_count: None,
                checksums: checksums_if(&object.checksums),
            });
        }
        let index = p as usize - 1;
        let part = object.parts.get(index).ok_or_else(out_of_range)?;
        let start: u64 = object.parts[..index].iter().map(|p| p.size).sum();
        return Ok(Selection {
            start,
            len: part.size,
            content_range: content_range(start, part.size),
            parts_count: object.parts_count(),
            checksums: checksums_if(&part.checksums),
        });
    }
    match range {
        // S3 ignores a syntactically invalid range and sends the whole object.
        Some(r) if r.end.is_none_or(|end| end >= r.start) => {
            if r.start >= total {
                return Err(cx.error(
                    416,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                ));
            }
            let end = r.end.map_or(total - 1, |e| e.min(total - 1));
            let len = end - r.start + 1;
            Ok(Selection {
                start: r.start,
                len,
                content_range: content_range(r.start, len),
                parts_count: None,
                // A ranged GET has no checksum of its own bytes to return.
                checksums: Checksums::default(),
            })
        }
        _ => Ok(Selection {
            start: 0,
            len: total,
            content_range: None,
            parts_count: None,
            checksums: checksums_if(&object.checksums),
        }),
    }
}
