//! Server-side copies: HeadObject on the source, then one CopyObject below the
//! threshold, or a multipart upload of UploadPartCopy ranges pinned to the source's
//! ETag above it, keeping what a plain CopyObject would keep.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::args::CopyArgs;
use crate::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadRequest, CompletedPart, CopyObjectRequest,
    CopySource, CreateMultipartUploadRequest, HeadObjectRequest, ObjectAttributes, S3Error,
    S3ErrorKind, UploadPartCopyRequest,
};
use crate::config::{MAX_PART_SIZE, adjust_part_size};
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::runtime::coordinator::{Coordinator, WorkGroup, run_job};
use crate::transfer::engine::Engine;

pub(crate) struct Copy {
    pub(crate) engine: Arc<Engine>,
    pub(crate) coordinator: Arc<Coordinator>,
    pub(crate) source: CopySource,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) args: CopyArgs,
}

struct MultipartCopy {
    upload_id: String,
    parts: Mutex<BTreeMap<u32, CompletedPart>>,
    expected: u32,
    size: u64,
}

/// Run on a submission thread: learn the source, then copy it.
pub(crate) fn submit(copy: Arc<Copy>) {
    let mpu: Arc<Mutex<Option<Arc<MultipartCopy>>>> = Arc::new(Mutex::new(None));
    let root = {
        let (copy, mpu) = (copy.clone(), mpu.clone());
        WorkGroup::start(move || {
            let taken = mpu.lock().take();
            if let Some(m) = taken {
                copy.complete(&m);
            }
            copy.coordinator.announce_done();
        })
    };
    if copy.coordinator.start().is_err() {
        return;
    }
    if let Err(e) = copy.plan(&root, &mpu) {
        copy.coordinator.fail(e);
    }
    drop(root);
}

impl Copy {
    fn failed(&self, source: S3Error) -> TransferError {
        TransferError::S3CopyFailed {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            source,
        }
    }

    fn plan(
        self: &Arc<Self>,
        root: &crate::runtime::coordinator::WorkGuard,
        slot: &Mutex<Option<Arc<MultipartCopy>>>,
    ) -> Result<(), TransferError> {
        let head = HeadObjectRequest {
            bucket: self.source.bucket.clone(),
            key: self.source.key.clone(),
            version_id: self.source.version_id.clone(),
            if_match: self.args.conditions.if_match.clone(),
            sse_customer: self.args.copy_source_sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let info = self.engine.call(
            &self.coordinator,
            |_| self.engine.client.head_object(&head),
            |e| self.failed(e),
        )?;
        let size = info.content_length;
        let etag = self.coordinator.meta.etag().or(info.etag.clone());
        self.coordinator.meta.provide_transfer_size(size);
        let threshold = self.engine.config.multipart_threshold.min(MAX_PART_SIZE);
        if size < threshold {
            let (copy, guard) = (self.clone(), root.hold());
            return self.engine.request.submit(Box::new(move || {
                let coordinator = copy.coordinator.clone();
                run_job(&coordinator, guard, |_| copy.copy_object(size));
            }));
        }
        // A multipart copy starts a new object: carry over what CopyObject would keep,
        // unless the caller replaces it (s3transfer PR #392). Tags are not among them:
        // HeadObject does not return tags, so a caller who wants them gives `Tagging`.
        let mut attributes = self.args.attributes.clone();
        if self.args.metadata_directive.as_deref() != Some("REPLACE") {
            inherit(&mut attributes, &info.attributes);
        }
        let create = CreateMultipartUploadRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            attributes,
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            // UploadPartCopy cannot name an algorithm: S3 computes each part's checksum
            // in the algorithm the upload was created with.
            checksum_algorithm: self.args.checksum_algorithm,
            // The directives and source conditions have no place on Create: they are
            // CopyObject's and UploadPartCopy's (s3transfer's CREATE_MULTIPART_ARGS_BLACKLIST).
            ..Default::default()
        };
        let upload_id = self
            .engine
            .call(
                &self.coordinator,
                |_| self.engine.client.create_multipart_upload(&create),
                |e| self.failed(e),
            )?
            .upload_id;
        let abort = AbortMultipartUploadRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: upload_id.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        crate::transfer::engine::abort_on_failure(&self.engine, &self.coordinator, abort);
        let part_size = adjust_part_size(self.engine.config.multipart_chunksize, Some(size));
        let parts = size.div_ceil(part_size) as u32;
        let mpu = Arc::new(MultipartCopy {
            upload_id,
            parts: Mutex::new(BTreeMap::new()),
            expected: parts,
            size,
        });
        *slot.lock() = Some(mpu.clone());
        for index in 0..parts {
            if self.coordinator.is_stopped() {
                break;
            }
            let start = index as u64 * part_size;
            let end = (start + part_size).min(size) - 1;
            let (copy, mpu, guard, etag) = (self.clone(), mpu.clone(), root.hold(), etag.clone());
            self.engine.request.submit(Box::new(move || {
                let coordinator = copy.coordinator.clone();
                run_job(&coordinator, guard, |_| {
                    copy.copy_part(&mpu, index + 1, start, end, etag)
                });
            }))?;
        }
        Ok(())
    }

    fn copy_object(&self, size: u64) {
        let request = CopyObjectRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            source: self.source.clone(),
            attributes: self.args.attributes.clone(),
            metadata_directive: self.args.metadata_directive.clone(),
            tagging_directive: self.args.tagging_directive.clone(),
            conditions: self.args.conditions.clone(),
            copy_source_sse_customer: self.args.copy_source_sse_customer.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_algorithm: self.args.checksum_algorithm,
        };
        let copied = self.engine.call(
            &self.coordinator,
            |_| self.engine.client.copy_object(&request),
            |e| self.failed(e),
        );
        match copied {
            Ok(out) => {
                self.coordinator.progress(size as i64);
                self.coordinator.succeed(TransferOutput {
                    bytes: size,
                    etag: out.etag,
                    version_id: out.version_id,
                    parts: 1,
                    ..Default::default()
                });
            }
            Err(e) => self.coordinator.fail(e),
        }
    }

    fn copy_part(
        &self,
        mpu: &MultipartCopy,
        part_number: u32,
        start: u64,
        end: u64,
        etag: Option<String>,
    ) {
        let mut request = UploadPartCopyRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: mpu.upload_id.clone(),
            part_number,
            source: self.source.clone(),
            source_range: Some((start, end)),
            conditions: self.args.conditions.clone(),
            ..Default::default()
        };
        // Every part pinned to the ETag read at the start: a source replaced mid-copy
        // fails with 412 instead of producing a mix of two objects.
        if etag.is_some() {
            request.conditions.if_match = etag;
        }
        request.copy_source_sse_customer = self.args.copy_source_sse_customer.clone();
        request.sse_customer = self.args.sse_customer.clone();
        request.context = self.args.context.clone();
        let copied = self.engine.call(
            &self.coordinator,
            |_| self.engine.client.upload_part_copy(&request),
            |e| self.failed(e),
        );
        match copied {
            Ok(out) => match out.etag {
                Some(etag) => {
                    let mut part = CompletedPart::new(part_number, etag);
                    part.checksums = out.checksums;
                    mpu.parts.lock().insert(part_number, part);
                    self.coordinator.progress((end - start + 1) as i64);
                }
                None => self.coordinator.fail(self.failed(S3Error::new(
                    S3ErrorKind::Other,
                    "UploadPartCopy",
                    format!("part {part_number} came back without an ETag"),
                ))),
            },
            Err(e) => self.coordinator.fail(e),
        }
    }

    fn complete(&self, mpu: &MultipartCopy) {
        if self.coordinator.is_stopped() {
            return;
        }
        let parts: Vec<CompletedPart> = mpu.parts.lock().values().cloned().collect();
        if parts.len() as u32 != mpu.expected {
            self.coordinator.fail(TransferError::Internal(format!(
                "{} of {} copy parts finished before completing",
                parts.len(),
                mpu.expected
            )));
            return;
        }
        let request = CompleteMultipartUploadRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: mpu.upload_id.clone(),
            parts,
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let completed = self.engine.call(
            &self.coordinator,
            |_| self.engine.client.complete_multipart_upload(&request),
            |e| self.failed(e),
        );
        match completed {
            Ok(out) => self.coordinator.succeed(TransferOutput {
                bytes: mpu.size,
                etag: out.etag,
                version_id: out.version_id,
                parts: mpu.expected,
                ..Default::default()
            }),
            Err(e) => self.coordinator.fail(e),
        }
    }
}

/// Fill what the caller did not set from the source: the fields CopyObject keeps.
fn inherit(into: &mut ObjectAttributes, from: &ObjectAttributes) {
    let fields: [(&mut Option<String>, &Option<String>); 6] = [
        (&mut into.content_type, &from.content_type),
        (&mut into.cache_control, &from.cache_control),
        (&mut into.content_disposition, &from.content_disposition),
        (&mut into.content_encoding, &from.content_encoding),
        (&mut into.content_language, &from.content_language),
        (&mut into.expires, &from.expires),
    ];
    for (to, source) in fields {
        if to.is_none() {
            to.clone_from(source);
        }
    }
    if into.metadata.is_empty() {
        into.metadata = from.metadata.clone();
    }
}
