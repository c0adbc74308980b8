//! The one multipart lifecycle, shared by uploads and copies: create (registering the
//! abort before any part is sent), record each part, complete (recovering from a lost
//! answer), and abort on failure.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadOutput, CompleteMultipartUploadRequest,
    CompletedPart, CreateMultipartUploadRequest, HeadObjectRequest, S3Error, S3ErrorKind,
};
use crate::error::TransferError;
use crate::runtime::retry::with_retries;
use crate::transfer::context::TransferContext;

/// A multipart upload in progress: its id, the parts finished so far and, once
/// planning has ended, how many parts and bytes it must hold.
pub(crate) struct MultipartUpload {
    pub(crate) upload_id: String,
    /// Parts finished so far, by number. Written by the job that finished each part,
    /// read once by Complete.
    parts: Mutex<BTreeMap<u32, CompletedPart>>,
    /// Parts and bytes the object will have, set when the last part is planned.
    expected: Mutex<(u32, u64)>,
}

impl MultipartUpload {
    /// CreateMultipartUpload for `ctx`'s object, under the retry policy. From the moment
    /// it answers, the transfer's failure cleanup aborts the upload (retried under the
    /// policy): whatever fails later, no parts are left stored, billed and invisible.
    pub(crate) fn create(
        ctx: &TransferContext,
        request: &CreateMultipartUploadRequest,
        wrap: impl FnOnce(S3Error) -> TransferError,
    ) -> Result<Arc<MultipartUpload>, TransferError> {
        let upload_id = ctx
            .call(|_| ctx.engine.client.create_multipart_upload(request), wrap)?
            .upload_id;
        let abort = AbortMultipartUploadRequest {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            upload_id: upload_id.clone(),
            context: request.context.clone(),
            ..Default::default()
        };
        let client = ctx.engine.client.clone();
        let policy = ctx.engine.retry.unmetered();
        ctx.coordinator.add_cleanup(move || {
            tracing::debug!(
                bucket = %abort.bucket,
                key = %abort.key,
                upload_id = %abort.upload_id,
                "aborting the multipart upload"
            );
            // Never "stopped": cleanups run precisely because the transfer stopped. Its
            // retries ignore the quota (see `RetryPolicy::unmetered`); the backoff is
            // bounded by `RetryConfigBuilder::build`, so this always ends.
            let aborted = with_retries(&policy, &|| false, &mut |_| {
                client.abort_multipart_upload(&abort)
            });
            if let Err(e) = aborted {
                // Left open, its parts stay stored and billed: say so loudly.
                tracing::warn!(
                    bucket = %abort.bucket,
                    key = %abort.key,
                    upload_id = %abort.upload_id,
                    error = %e.last_error(),
                    "the multipart upload could not be aborted"
                );
            }
        });
        Ok(Arc::new(MultipartUpload {
            upload_id,
            parts: Mutex::new(BTreeMap::new()),
            expected: Mutex::new((0, 0)),
        }))
    }

    /// The upload will hold `parts` parts and `bytes` bytes: known once planning ends.
    pub(crate) fn set_expected(&self, parts: u32, bytes: u64) {
        *self.expected.lock() = (parts, bytes);
    }

    /// Parts and bytes the upload will hold.
    pub(crate) fn expected(&self) -> (u32, u64) {
        *self.expected.lock()
    }

    /// Record part `part_number` from its answer: its ETag and checksums go into
    /// Complete's part list. A part answered without an ETag cannot be listed.
    pub(crate) fn record_part(
        &self,
        operation: &'static str,
        part_number: u32,
        etag: Option<String>,
        checksums: crate::client::Checksums,
    ) -> Result<(), S3Error> {
        let Some(etag) = etag else {
            return Err(S3Error::new(
                S3ErrorKind::Other,
                operation,
                format!("part {part_number} came back without an ETag"),
            ));
        };
        let mut part = CompletedPart::new(part_number, etag);
        part.checksums = checksums;
        self.parts.lock().insert(part_number, part);
        Ok(())
    }

    /// Complete the upload with every part, in order. `request` carries what the
    /// operation adds (SSE-C, request context, whole-object checksums); the id and the
    /// part list are filled in here. `head` describes the destination object, for
    /// recovering a lost answer: when a retried Complete finds no upload, the store
    /// completed it and the first answer was lost, and the object says whether it was
    /// ours.
    pub(crate) fn complete(
        &self,
        ctx: &TransferContext,
        mut request: CompleteMultipartUploadRequest,
        head: &HeadObjectRequest,
        wrap: impl FnOnce(S3Error) -> TransferError,
    ) -> Result<CompleteMultipartUploadOutput, TransferError> {
        let (expected, total) = self.expected();
        let parts: Vec<CompletedPart> = self.parts.lock().values().cloned().collect();
        if parts.len() as u32 != expected || parts.is_empty() {
            return Err(TransferError::Internal(format!(
                "{} of {expected} parts finished before completing the upload",
                parts.len()
            )));
        }
        request.upload_id = self.upload_id.clone();
        request.parts = parts;
        ctx.call(
            |attempt| match ctx.engine.client.complete_multipart_upload(&request) {
                Err(e) if attempt > 1 && e.kind() == S3ErrorKind::NotFound => {
                    completed_already(ctx, head, total, expected).ok_or(e)
                }
                other => other,
            },
            wrap,
        )
    }
}

/// The object as a completed upload of ours would be: `parts` parts (its ETag ends in
/// `-parts`) and `total` bytes. Anything else, or no object, is `None`.
fn completed_already(
    ctx: &TransferContext,
    head: &HeadObjectRequest,
    total: u64,
    parts: u32,
) -> Option<CompleteMultipartUploadOutput> {
    let found = ctx.engine.client.head_object(head).ok()?;
    let etag = found.etag?;
    let suffix = etag
        .trim_matches('"')
        .rsplit_once('-')?
        .1
        .parse::<u32>()
        .ok()?;
    (suffix == parts && found.content_length == total).then(|| CompleteMultipartUploadOutput {
        etag: Some(etag),
        version_id: found.version_id,
        ..Default::default()
    })
}
