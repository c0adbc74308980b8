//! The one multipart lifecycle, shared by uploads and copies: create (registering the
//! abort before any part is sent, and aborting what a lost Create answer left open) or
//! resume an existing upload (listing its parts),
//! record each part, complete (recovering from a lost answer), and abort on failure.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::client::etag;
use crate::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadOutput, CompleteMultipartUploadRequest,
    CompletedPart, CreateMultipartUploadRequest, HeadObjectRequest, ListMultipartUploadsRequest,
    ListPartsRequest, ListedPart, S3Api, S3Error, S3ErrorKind,
};
use crate::error::TransferError;
use crate::runtime::retry::with_retries;
use crate::transfer::context::TransferContext;
use crate::transfer::recognise;

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
        let began = (Instant::now(), SystemTime::now());
        // Whether an attempt failed: its upload may exist with its answer lost.
        let failed = Cell::new(false);
        let created = ctx.call(
            |_| {
                let answer = ctx.engine.client.create_multipart_upload(request);
                failed.set(failed.get() || answer.is_err());
                answer
            },
            wrap,
        );
        let upload_id = match created {
            Ok(out) => {
                if failed.get() {
                    abort_unanswered_creates(ctx, request, Some(&out.upload_id), began);
                }
                out.upload_id
            }
            Err(e) => {
                // Also when cancelled during the backoff after a failed attempt: the
                // sweep is the only place that upload's id could come from.
                if failed.get() {
                    abort_unanswered_creates(ctx, request, None, began);
                }
                return Err(e);
            }
        };
        let abort = AbortMultipartUploadRequest {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            upload_id,
            context: request.context.clone(),
            ..Default::default()
        };
        Ok(MultipartUpload::adopt(ctx, abort, Vec::new()))
    }

    /// Continue the upload `abort` names, whose `parts` are stored and trusted (a
    /// resumed upload): from here it is this transfer's, aborted by its failure
    /// cleanup like one it created.
    pub(crate) fn resume(
        ctx: &TransferContext,
        abort: AbortMultipartUploadRequest,
        parts: Vec<CompletedPart>,
    ) -> Arc<MultipartUpload> {
        MultipartUpload::adopt(ctx, abort, parts)
    }

    fn adopt(
        ctx: &TransferContext,
        abort: AbortMultipartUploadRequest,
        parts: Vec<CompletedPart>,
    ) -> Arc<MultipartUpload> {
        let upload_id = abort.upload_id.clone();
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
        Arc::new(MultipartUpload {
            upload_id,
            parts: Mutex::new(parts.into_iter().map(|p| (p.part_number, p)).collect()),
            expected: Mutex::new((0, 0)),
        })
    }

    /// Every part the store lists for the upload `request` names, by number, under the
    /// retry policy: all pages, sorted, and one entry per number. A store may list a
    /// part sent twice twice (SeaweedFS) or out of order (s3s-fs); the entry listed
    /// last for a number is the latest upload of it and wins.
    pub(crate) fn list_all_parts(
        ctx: &TransferContext,
        request: &ListPartsRequest,
        wrap: impl Fn(S3Error) -> TransferError,
    ) -> Result<BTreeMap<u32, ListedPart>, TransferError> {
        let mut parts = BTreeMap::new();
        let mut request = request.clone();
        // A store that ignores the marker would list the same page for ever: at most
        // one page per possible part (S3 allows 10,000).
        for _ in 0..=crate::config::MAX_PARTS {
            let page = ctx.call(|_| ctx.engine.client.list_parts(&request), &wrap)?;
            for part in page.parts {
                parts.insert(part.part_number, part);
            }
            match page.next_part_number_marker {
                Some(next) if request.part_number_marker != Some(next) => {
                    request.part_number_marker = Some(next);
                }
                _ => break,
            }
        }
        Ok(parts)
    }

    /// Abort the upload `abort` names now, under the retry policy (a resume that starts
    /// over). One already gone is fine.
    pub(crate) fn abort_now(
        ctx: &TransferContext,
        abort: &AbortMultipartUploadRequest,
        wrap: impl FnOnce(S3Error) -> TransferError,
    ) -> Result<(), TransferError> {
        ctx.call(|_| abort_once(ctx.engine.client.as_ref(), abort), wrap)
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
    /// ours (see `completed_already`).
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
        let attempts = std::cell::Cell::new(0);
        let result = ctx.call(
            |attempt| {
                attempts.set(attempt);
                match ctx.engine.client.complete_multipart_upload(&request) {
                    Err(e) if attempt > 1 && e.kind() == S3ErrorKind::NotFound => {
                        completed_already(ctx, head, &request, total, expected).ok_or(e)
                    }
                    other => other,
                }
            },
            wrap,
        );
        match result {
            // An earlier attempt may have completed the upload with its answer lost, and
            // a later one failed some other way than NoSuchUpload (a store that checks
            // the request before the upload answers MalformedXML to a damaged retry;
            // the attempts ran out on throttling): the object says whether it is ours,
            // so the caller is never told "failed" about an object we did write.
            Err(e) if attempts.get() > 1 && !e.is_cancelled() => {
                completed_already(ctx, head, &request, total, expected).ok_or(e)
            }
            other => other,
        }
    }
}

/// One AbortMultipartUpload. An upload already gone (NoSuchUpload: aborted or
/// completed by another run) is what an abort wants, so it is no failure; any other
/// 404 (NoSuchBucket, NoSuchKey from a store that routes the request elsewhere) says
/// nothing of the upload, which may still be open, and is one.
pub(crate) fn abort_once(
    client: &dyn S3Api,
    abort: &AbortMultipartUploadRequest,
) -> Result<(), S3Error> {
    match client.abort_multipart_upload(abort) {
        Err(e)
            if e.kind() == S3ErrorKind::NotFound && e.code.as_deref() == Some("NoSuchUpload") =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Uploads of one key listed at most, when looking for those a lost Create answer left
/// open: a key with more open uploads than this is not ours to tidy.
const SWEEP_LISTED_MAX: usize = 10_000;

/// Store timestamps are whole seconds: an upload begun in the same second as ours, or
/// the one before, may show a time up to a second earlier than the instant it began.
const SWEEP_ROUNDING: Duration = Duration::from_secs(1);

/// How far this machine's clock may be from the store's when no upload of ours dates
/// the window (every attempt failed). A clock further off makes the sweep miss, which
/// leaves the uploads as every SDK would.
const SWEEP_CLOCK_SLACK: Duration = Duration::from_secs(2);

/// Abort the uploads of `request`'s key that earlier attempts of our Create may have
/// made: an attempt whose answer was lost (a reset after the store acted, a timeout,
/// a proxy's error) leaves an upload nobody knows the id of, stored and billed until a
/// lifecycle rule removes it. Such an upload began between our first attempt (`began`)
/// and our last. When one attempt succeeded (`ours`), an upload of the same key that
/// the store dates within that span before ours (plus the rounding of its whole-second
/// dates) is taken for one; when none did, the span is read on this machine's clock,
/// with some slack for the store's. Another writer's upload of the same key begun
/// within those seconds would be aborted too (its own Complete then fails, typed;
/// nothing is corrupted), which is why this runs only after a failed Create attempt. A backend
/// that cannot list uploads, or a store that gives no dates, leaves them (see
/// `s3transfer uploads ls`).
fn abort_unanswered_creates(
    ctx: &TransferContext,
    request: &CreateMultipartUploadRequest,
    ours: Option<&str>,
    began: (Instant, SystemTime),
) {
    let window = began.0.elapsed();
    let client = &ctx.engine.client;
    let policy = ctx.engine.retry.unmetered();
    let mut list = ListMultipartUploadsRequest {
        bucket: request.bucket.clone(),
        prefix: Some(request.key.clone()),
        context: request.context.clone(),
        ..Default::default()
    };
    let mut same_key = Vec::new();
    loop {
        let page = match with_retries(&policy, &|| false, &mut |_| {
            client.list_multipart_uploads(&list)
        }) {
            Ok(page) => page,
            Err(e) => {
                tracing::debug!(
                    key = %request.key,
                    error = %e.last_error(),
                    "cannot list uploads to find those a lost Create answer left open"
                );
                return;
            }
        };
        same_key.extend(page.uploads.into_iter().filter(|u| u.key == request.key));
        let more = page.next_key_marker.as_deref() == Some(request.key.as_str())
            || page.next_upload_id_marker.is_some();
        if !more || same_key.len() >= SWEEP_LISTED_MAX {
            break;
        }
        list.key_marker = page.next_key_marker;
        list.upload_id_marker = page.next_upload_id_marker;
    }
    let (earliest, latest) = match ours {
        Some(ours) => {
            let Some(our_time) = same_key
                .iter()
                .find(|u| u.upload_id == ours)
                .and_then(|u| u.initiated)
            else {
                return;
            };
            (our_time.checked_sub(window + SWEEP_ROUNDING), our_time)
        }
        None => (
            began.1.checked_sub(SWEEP_CLOCK_SLACK + SWEEP_ROUNDING),
            SystemTime::now() + SWEEP_CLOCK_SLACK,
        ),
    };
    let earliest = earliest.unwrap_or(UNIX_EPOCH);
    for upload in same_key {
        let Some(initiated) = upload.initiated else {
            continue;
        };
        if Some(upload.upload_id.as_str()) == ours || initiated < earliest || initiated > latest {
            continue;
        }
        let abort = AbortMultipartUploadRequest {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            upload_id: upload.upload_id.clone(),
            context: request.context.clone(),
            ..Default::default()
        };
        let aborted = with_retries(&policy, &|| false, &mut |_| {
            client.abort_multipart_upload(&abort)
        });
        match aborted {
            Ok(_) => tracing::info!(
                key = %request.key,
                upload_id = %upload.upload_id,
                "aborted a multipart upload that a lost CreateMultipartUpload answer left open"
            ),
            Err(e) => tracing::warn!(
                key = %request.key,
                upload_id = %upload.upload_id,
                error = %e.last_error(),
                "a multipart upload a lost CreateMultipartUpload answer left open could not be aborted"
            ),
        }
    }
}

/// The object, if it is the one our Complete made (see `recognise::written_by_us`):
/// `total` bytes with the full-object checksum `request` sent, or, where the store
/// returns none, the multipart ETag S3 computes from our parts' ETags (the MD5 of their
/// binary MD5s, then `-parts`), when every part ETag is a plain MD5.
fn completed_already(
    ctx: &TransferContext,
    head: &HeadObjectRequest,
    request: &CompleteMultipartUploadRequest,
    total: u64,
    parts: u32,
) -> Option<CompleteMultipartUploadOutput> {
    let found = recognise::written_by_us(ctx, head, total, &request.checksums, || {
        multipart_etag(&request.parts, parts)
    })?;
    Some(CompleteMultipartUploadOutput {
        etag: found.etag,
        version_id: found.version_id,
        checksums: found.checksums,
        ..Default::default()
    })
}

/// The ETag S3 gives a multipart object made of `parts` (see [`etag::multipart_etag`]);
/// `None` unless there are `count` of them and each ETag is a plain MD5.
fn multipart_etag(parts: &[CompletedPart], count: u32) -> Option<String> {
    if parts.len() as u32 != count {
        return None;
    }
    etag::multipart_etag(parts.iter().map(|p| p.etag.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(etags: &[&str]) -> Vec<CompletedPart> {
        (1..)
            .zip(etags)
            .map(|(n, etag)| CompletedPart::new(n, *etag))
            .collect()
    }

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_part_md5s() {
        // Parts "a"×10 and "b"×7; the value from Python's hashlib, as S3 makes it.
        let ours = parts(&[
            "\"e09c80c42fda55f9d992e59ca6b3307d\"",
            "e1faffe9c3c801f2f8c3fbe7cb032cb2",
        ]);
        assert_eq!(
            multipart_etag(&ours, 2).as_deref(),
            Some("30e57f64e284aca6fd268ecbac8a42dc-2")
        );
        assert_eq!(multipart_etag(&ours, 3), None, "a part is missing");
        let not_md5 = parts(&["\"e09c80c42fda55f9d992e59ca6b3307d\"", "\"opaque-1\""]);
        assert_eq!(multipart_etag(&not_md5, 2), None);
        let not_hex = parts(&["\"e09c80c42fda55f9d992e59ca6b3307z\""]);
        assert_eq!(multipart_etag(&not_hex, 1), None);
    }
}
