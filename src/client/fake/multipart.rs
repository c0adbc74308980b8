//! Multipart uploads: open uploads and their parts, and S3's rules for them (part
//! numbers, part order and ETags, the minimum part size, the object size announced on
//! Complete).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::State;
use super::checksums::checksums_conflict;
use super::etag::unquote;
use super::objects::Ctx;
use crate::client::{
    ChecksumAlgorithm, ChecksumType, Checksums, CompleteMultipartUploadRequest, ListPartsOutput,
    ListPartsRequest, ListedPart, ObjectAttributes, S3Error, SseCustomerKey,
};

/// S3's highest part number.
pub(super) const MAX_PART_NUMBER: u32 = 10_000;

/// A part uploaded (or copied) into an open upload.
#[derive(Clone, Debug)]
pub(super) struct StoredPart {
    pub(super) data: Bytes,
    pub(super) etag: String,
    pub(super) checksums: Checksums,
}

/// An open multipart upload: what Create announced, and the parts so far.
#[derive(Debug)]
pub(super) struct Upload {
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) attributes: ObjectAttributes,
    pub(super) sse_customer: Option<SseCustomerKey>,
    pub(super) checksum_algorithm: Option<ChecksumAlgorithm>,
    pub(super) checksum_type: Option<ChecksumType>,
    pub(super) parts: BTreeMap<u32, StoredPart>,
    /// When Create answered, for ListMultipartUploads.
    pub(super) initiated: std::time::SystemTime,
}

impl State {
    /// The open upload `upload_id`, which must be for the object `cx` names.
    pub(super) fn upload(&self, cx: Ctx<'_>, upload_id: &str) -> Result<&Upload, S3Error> {
        self.uploads
            .get(upload_id)
            .filter(|u| u.bucket == cx.bucket && u.key == cx.key)
            .ok_or_else(|| cx.no_such_upload())
    }
}

/// One page of the uploads open in `request`'s bucket, by key then by when they began,
/// after `request`'s markers.
pub(super) fn list_uploads_page(
    uploads: &BTreeMap<String, Upload>,
    request: &crate::client::ListMultipartUploadsRequest,
) -> crate::client::ListMultipartUploadsOutput {
    use crate::client::{ListMultipartUploadsOutput, ListedUpload};
    let max = request.max_uploads.unwrap_or(1000).clamp(1, 1000) as usize;
    let prefix = request.prefix.as_deref().unwrap_or("");
    let mut open: Vec<(&String, &Upload)> = uploads
        .iter()
        .filter(|(_, u)| u.bucket == request.bucket && u.key.starts_with(prefix))
        .collect();
    open.sort_by(|a, b| (&a.1.key, a.1.initiated, a.0).cmp(&(&b.1.key, b.1.initiated, b.0)));
    let start = match (&request.key_marker, &request.upload_id_marker) {
        (Some(key), Some(id)) => open
            .iter()
            .position(|(i, u)| &u.key == key && *i == id)
            .map_or(0, |p| p + 1),
        (Some(key), None) => open
            .iter()
            .position(|(_, u)| &u.key > key)
            .unwrap_or(open.len()),
        _ => 0,
    };
    let rest = &open[start.min(open.len())..];
    let page: Vec<ListedUpload> = rest
        .iter()
        .take(max)
        .map(|(id, u)| ListedUpload {
            key: u.key.clone(),
            upload_id: (*id).clone(),
            initiated: Some(u.initiated),
        })
        .collect();
    let more = rest.len() > max;
    ListMultipartUploadsOutput {
        next_key_marker: more.then(|| page.last().map(|u| u.key.clone())).flatten(),
        next_upload_id_marker: more
            .then(|| page.last().map(|u| u.upload_id.clone()))
            .flatten(),
        uploads: page,
    }
}

/// One page of `upload`'s parts after `request`'s marker.
pub(super) fn list_parts_page(upload: &Upload, request: &ListPartsRequest) -> ListPartsOutput {
    let max = request.max_parts.unwrap_or(1000).clamp(1, 1000) as usize;
    let after = request.part_number_marker.unwrap_or(0);
    let mut page = ListPartsOutput::default();
    let mut rest = upload.parts.range(after + 1..);
    for (number, part) in rest.by_ref().take(max) {
        page.parts.push(ListedPart {
            part_number: *number,
            size: part.data.len() as u64,
            etag: Some(part.etag.clone()),
            checksums: part.checksums.clone(),
        });
    }
    if rest.next().is_some() {
        page.next_part_number_marker = page.parts.last().map(|p| p.part_number);
    }
    page
}

/// Part numbers run from 1 to 10,000, as on S3.
pub(super) fn check_part_number(cx: Ctx<'_>, part_number: u32) -> Result<(), S3Error> {
    if (1..=MAX_PART_NUMBER).contains(&part_number) {
        Ok(())
    } else {
        Err(cx.error(
            400,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
        ))
    }
}

/// The stored parts a CompleteMultipartUpload names, checked in S3's order: a non-empty
/// list in ascending part order, each part uploaded with that ETag (quoted or not) and
/// no conflicting checksum, every part but the last at least `min_part_size`, and their
/// total equal to `x-amz-mp-object-size` when sent. The upload itself is left open, so a
/// refused Complete can be retried.
pub(super) fn chosen_parts(
    cx: Ctx<'_>,
    upload: &Upload,
    request: &CompleteMultipartUploadRequest,
    min_part_size: u64,
) -> Result<Vec<StoredPart>, S3Error> {
    if request.parts.is_empty() {
        return Err(cx.error(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ));
    }
    if request
        .parts
        .windows(2)
        .any(|w| w[0].part_number >= w[1].part_number)
    {
        return Err(cx.error(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
        ));
    }
    let mut chosen = Vec::with_capacity(request.parts.len());
    for given in &request.parts {
        match upload.parts.get(&given.part_number) {
            Some(stored)
                if unquote(&stored.etag) == unquote(&given.etag)
                    && !checksums_conflict(&stored.checksums, &given.checksums) =>
            {
                chosen.push(stored.clone());
            }
            _ => {
                return Err(cx.error(
                    400,
                    "InvalidPart",
                    format!(
                        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {})",
                        given.part_number
                    ),
                ));
            }
        }
    }
    let min = min_part_size;
    if let Some(small) = chosen[..chosen.len() - 1]
        .iter()
        .position(|p| (p.data.len() as u64) < min)
    {
        return Err(cx.error(
            400,
            "EntityTooSmall",
            format!(
                "Your proposed upload is smaller than the minimum allowed object size. (part {} is {} bytes, minimum {min})",
                request.parts[small].part_number,
                chosen[small].data.len()
            ),
        ));
    }
    let total: u64 = chosen.iter().map(|p| p.data.len() as u64).sum();
    if let Some(expected) = request.mpu_object_size
        && expected != total
    {
        return Err(cx.error(
            400,
            "InvalidRequest",
            format!("x-amz-mp-object-size {expected} does not match the parts' total {total}"),
        ));
    }
    Ok(chosen)
}
