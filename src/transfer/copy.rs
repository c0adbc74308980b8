//! Server-side copies: HeadObject on the source, then one CopyObject below the
//! threshold, or a multipart upload of UploadPartCopy ranges pinned to the source's
//! ETag above it, keeping what a plain CopyObject would keep.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::args::CopyArgs;
use crate::client::{
    CompleteMultipartUploadRequest, CopyObjectRequest, CopySource, CreateMultipartUploadRequest,
    Directive, HeadObjectRequest, ObjectAttributes, S3Error, UploadPartCopyRequest,
};
use crate::config::{MAX_PART_SIZE, adjust_part_size};
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::runtime::work_group::WorkGuard;
use crate::transfer::context::TransferContext;
use crate::transfer::multipart::MultipartUpload;

pub(crate) struct Copy {
    pub(crate) ctx: TransferContext,
    pub(crate) source: CopySource,
    pub(crate) args: CopyArgs,
}

/// Run on a submission thread: learn the source, then copy it.
pub(crate) fn submit(copy: Arc<Copy>) {
    let mpu: Arc<Mutex<Option<Arc<MultipartUpload>>>> = Arc::new(Mutex::new(None));
    let finish = {
        let (copy, mpu) = (copy.clone(), mpu.clone());
        move || {
            let taken = mpu.lock().take();
            if let Some(m) = taken {
                copy.complete(&m);
            }
        }
    };
    let Some(root) = copy.ctx.begin(finish) else {
        return;
    };
    if let Err(e) = copy.plan(&root, &mpu) {
        copy.ctx.coordinator.fail(e);
    }
}

impl Copy {
    fn failed(&self, source: S3Error) -> TransferError {
        TransferError::S3CopyFailed {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            source,
        }
    }

    fn plan(
        self: &Arc<Self>,
        root: &WorkGuard,
        slot: &Mutex<Option<Arc<MultipartUpload>>>,
    ) -> Result<(), TransferError> {
        let ctx = &self.ctx;
        let head = HeadObjectRequest {
            bucket: self.source.bucket.clone(),
            key: self.source.key.clone(),
            version_id: self.source.version_id.clone(),
            if_match: self.args.conditions.if_match.clone(),
            sse_customer: self.args.copy_source_sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let info = ctx.call(|_| ctx.engine.client.head_object(&head), |e| self.failed(e))?;
        let size = info.content_length;
        let etag = ctx.coordinator.meta.etag().or(info.etag.clone());
        ctx.coordinator.meta.provide_transfer_size(size);
        let threshold = ctx.engine.config.multipart_threshold.min(MAX_PART_SIZE);
        if size < threshold {
            let copy = self.clone();
            return ctx.submit(root, move |_| copy.copy_object(size));
        }
        // A multipart copy starts a new object: carry over what CopyObject would keep,
        // unless the caller replaces it (s3transfer PR #392). Tags are not among them:
        // HeadObject does not return tags, so a caller who wants them gives `Tagging`.
        let mut attributes = self.args.attributes.clone();
        if self.args.metadata_directive != Some(Directive::Replace) {
            inherit(&mut attributes, &info.attributes);
        }
        let create = CreateMultipartUploadRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
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
        let mpu = MultipartUpload::create(ctx, &create, |e| self.failed(e))?;
        let part_size = adjust_part_size(ctx.engine.config.multipart_chunksize, Some(size));
        let parts = size.div_ceil(part_size) as u32;
        mpu.set_expected(parts, size);
        *slot.lock() = Some(mpu.clone());
        for index in 0..parts {
            if ctx.coordinator.is_stopped() {
                break;
            }
            let start = index as u64 * part_size;
            let end = (start + part_size).min(size) - 1;
            let (copy, mpu, etag) = (self.clone(), mpu.clone(), etag.clone());
            ctx.submit(root, move |_| {
                copy.copy_part(&mpu, index + 1, start, end, etag)
            })?;
        }
        Ok(())
    }

    fn copy_object(&self, size: u64) {
        let ctx = &self.ctx;
        let request = CopyObjectRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
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
        let copied = ctx.call(
            |_| ctx.engine.client.copy_object(&request),
            |e| self.failed(e),
        );
        ctx.settle(copied, |out| {
            ctx.coordinator.progress(size as i64);
            ctx.coordinator.succeed(TransferOutput {
                bytes: size,
                etag: out.etag,
                version_id: out.version_id,
                parts: 1,
                ..Default::default()
            });
        });
    }

    fn copy_part(
        &self,
        mpu: &MultipartUpload,
        part_number: u32,
        start: u64,
        end: u64,
        etag: Option<String>,
    ) {
        let ctx = &self.ctx;
        let mut request = UploadPartCopyRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
            upload_id: mpu.upload_id.clone(),
            part_number,
            source: self.source.clone(),
            source_range: Some((start, end)),
            conditions: self.args.conditions.clone(),
            copy_source_sse_customer: self.args.copy_source_sse_customer.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
        };
        // Every part pinned to the ETag read at the start: a source replaced mid-copy
        // fails with 412 instead of producing a mix of two objects.
        if etag.is_some() {
            request.conditions.if_match = etag;
        }
        let copied = ctx
            .call(
                |_| ctx.engine.client.upload_part_copy(&request),
                |e| self.failed(e),
            )
            .and_then(|out| {
                mpu.record_part("UploadPartCopy", part_number, out.etag, out.checksums)
                    .map_err(|e| self.failed(e))
            });
        ctx.settle(copied, |()| {
            ctx.coordinator.progress((end - start + 1) as i64)
        });
    }

    fn complete(&self, mpu: &MultipartUpload) {
        let ctx = &self.ctx;
        if ctx.coordinator.is_stopped() {
            return;
        }
        let request = CompleteMultipartUploadRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let head = HeadObjectRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let completed = mpu.complete(ctx, request, &head, |e| self.failed(e));
        let (parts, size) = mpu.expected();
        ctx.settle(completed, |out| {
            ctx.coordinator.succeed(TransferOutput {
                bytes: size,
                etag: out.etag,
                version_id: out.version_id,
                parts,
                ..Default::default()
            })
        });
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
