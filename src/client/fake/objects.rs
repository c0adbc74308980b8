//! What the fake stores: objects ([`FakeObject`], [`FakePart`]), each key's history of
//! versions and delete markers, the store logic that looks them up and writes them, and
//! the context ([`Ctx`]) every S3 error the store answers with is built from.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::dates::{CLOCK_BASE_SECS, http_date};
use super::etag::content_etag;
use super::{Operation, State};
use crate::client::{Checksums, ObjectAttributes, S3Error, SseCustomerKey};

/// One part of an object made by CompleteMultipartUpload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakePart {
    /// Size in bytes.
    pub size: u64,
    /// The part's ETag, quoted.
    pub etag: String,
    /// Checksums the UploadPart request carried.
    pub checksums: Checksums,
}

/// A stored object (one version of it), as [`FakeS3::object`](super::FakeS3::object) returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeObject {
    /// The content.
    pub data: Bytes,
    /// ETag, quoted; multipart objects' end in `-N`.
    pub etag: String,
    /// `Last-Modified`, an HTTP date from the fake clock.
    pub last_modified: String,
    /// Version id, in versioned buckets only.
    pub version_id: Option<String>,
    /// Properties set by PutObject, CreateMultipartUpload or CopyObject.
    pub attributes: ObjectAttributes,
    /// Checksums the creating request carried, returned with `checksum_mode`.
    pub checksums: Checksums,
    /// The SSE-C key the object was written with: reads must present the same key.
    pub sse_customer: Option<SseCustomerKey>,
    /// The parts of a multipart object, in order; empty otherwise.
    pub parts: Vec<FakePart>,
}

impl FakeObject {
    /// The content as a slice.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// User metadata (`x-amz-meta-*`, without the prefix).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.attributes.metadata
    }

    /// Whether CompleteMultipartUpload made this object.
    pub fn is_multipart(&self) -> bool {
        !self.parts.is_empty()
    }

    /// `x-amz-mp-parts-count` for a multipart object.
    pub fn parts_count(&self) -> Option<u32> {
        self.is_multipart().then_some(self.parts.len() as u32)
    }

    pub(super) fn new(data: Bytes) -> Self {
        FakeObject {
            etag: content_etag(&data),
            data,
            last_modified: String::new(),
            version_id: None,
            attributes: ObjectAttributes::default(),
            checksums: Checksums::default(),
            sse_customer: None,
            parts: Vec::new(),
        }
    }
}

/// One entry in a key's history; `object: None` is a delete marker.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) version_id: Option<String>,
    pub(super) object: Option<FakeObject>,
}

/// A bucket: whether it keeps versions, and every key's history.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    pub(super) versioned: bool,
    /// Oldest entry first. Unversioned buckets keep at most one entry per key.
    pub(super) keys: BTreeMap<String, Vec<Entry>>,
}

/// The operation and object an error is about.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) op: Operation,
    pub(super) bucket: &'a str,
    pub(super) key: &'a str,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(op: Operation, bucket: &'a str, key: &'a str) -> Self {
        Ctx { op, bucket, key }
    }

    pub(super) fn error(&self, status: u16, code: &str, message: impl Into<String>) -> S3Error {
        S3Error::from_response(
            self.op.as_str(),
            Some(status),
            Some(code.to_owned()),
            message,
        )
        .with_object(self.bucket, self.key)
    }

    pub(super) fn no_such_upload(&self) -> S3Error {
        self.error(
            404,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
    }

    pub(super) fn precondition_failed(&self) -> S3Error {
        self.error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
    }
}

impl State {
    pub(super) fn bucket(&self, cx: Ctx<'_>, name: &str) -> Result<&Bucket, S3Error> {
        self.buckets
            .get(name)
            .ok_or_else(|| cx.error(404, "NoSuchBucket", "The specified bucket does not exist"))
    }

    pub(super) fn current(&self, bucket: &str, key: &str) -> Option<&FakeObject> {
        self.buckets
            .get(bucket)?
            .keys
            .get(key)?
            .last()?
            .object
            .as_ref()
    }

    /// The object a read names: latest, or a given version. HEAD answers a missing key
    /// with `NotFound` (it has no body to carry `NoSuchKey`).
    pub(super) fn lookup(
        &self,
        cx: Ctx<'_>,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<&FakeObject, S3Error> {
        let b = self.bucket(cx, bucket)?;
        let entries = b.keys.get(key).map(Vec::as_slice).unwrap_or_default();
        let missing = || {
            if cx.op == Operation::HeadObject {
                cx.error(404, "NotFound", "Not Found")
            } else {
                cx.error(404, "NoSuchKey", "The specified key does not exist.")
            }
        };
        match version_id {
            None => entries
                .last()
                .and_then(|e| e.object.as_ref())
                .ok_or_else(missing),
            Some("null") if !b.versioned => entries
                .last()
                .and_then(|e| e.object.as_ref())
                .ok_or_else(missing),
            Some(_) if !b.versioned => {
                Err(cx.error(400, "InvalidArgument", "Invalid version id specified"))
            }
            Some(v) => {
                let entry = entries
                    .iter()
                    .find(|e| e.version_id.as_deref() == Some(v))
                    .ok_or_else(|| {
                        cx.error(
                            404,
                            "NoSuchVersion",
                            "The specified version does not exist.",
                        )
                    })?;
                entry.object.as_ref().ok_or_else(|| {
                    cx.error(
                        405,
                        "MethodNotAllowed",
                        "The specified method is not allowed against this resource.",
                    )
                })
            }
        }
    }

    pub(super) fn tick(&mut self) -> String {
        self.clock += 1;
        http_date(CLOCK_BASE_SECS + self.clock)
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Make `object` the current version of `bucket`/`key` (the bucket must exist),
    /// stamping its Last-Modified and version id.
    pub(super) fn store(&mut self, bucket: &str, key: &str, mut object: FakeObject) -> FakeObject {
        object.last_modified = self.tick();
        let versioned = self.buckets.get(bucket).is_some_and(|b| b.versioned);
        object.version_id = if versioned {
            Some(format!("v{:08}", self.next_id()))
        } else {
            None
        };
        let entry = Entry {
            version_id: object.version_id.clone(),
            object: Some(object.clone()),
        };
        let entries = self
            .buckets
            .get_mut(bucket)
            .expect("store: bucket checked by the caller")
            .keys
            .entry(key.to_owned())
            .or_default();
        if !versioned {
            entries.clear();
        }
        entries.push(entry);
        object
    }
}

/// SSE-C: an object written with a customer key is read only with that same key, and a
/// key on an object written without one is refused, as S3 does.
pub(super) fn check_sse(
    cx: Ctx<'_>,
    stored: Option<&SseCustomerKey>,
    given: Option<&SseCustomerKey>,
) -> Result<(), S3Error> {
    match (stored, given) {
        (None, None) => Ok(()),
        (Some(s), Some(g)) if s == g => Ok(()),
        (Some(_), None) => Err(cx.error(
            400,
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        )),
        (Some(_), Some(_)) => Err(cx.error(
            400,
            "InvalidRequest",
            "The SSE-C key provided does not match the key the object was stored with.",
        )),
        (None, Some(_)) => Err(cx.error(
            400,
            "InvalidRequest",
            "The encryption parameters are not applicable to this object.",
        )),
    }
}
