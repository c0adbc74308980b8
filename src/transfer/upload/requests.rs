//! An upload's requests: PutObject, CreateMultipartUpload, UploadPart and Complete,
//! each body checksummed once, before its first attempt.

use std::sync::Arc;

use bytes::Bytes;

use super::Upload;
use crate::checksum::checksum;
use crate::client::etag;
use crate::client::{
    ChecksumAlgorithm, ChecksumType, Checksums, CompleteMultipartUploadRequest,
    CreateMultipartUploadRequest, HeadObjectRequest, PutObjectOutput, PutObjectRequest,
    RequestBody, S3Error, UploadPartRequest,
};
use crate::config::ChecksumWhen;
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::future::Validation;
use crate::transfer::engine::TransferObserver;
use crate::transfer::multipart::MultipartUpload;
use crate::transfer::recognise;

/// What an upload does about checksums, decided once from the backend, the config and
/// the caller's arguments.
#[derive(Clone, Copy, Debug)]
pub(super) struct ChecksumPlan {
    /// The algorithm every body (PutObject, each part) is checksummed with.
    pub(super) algorithm: ChecksumAlgorithm,
    /// Whether Complete carries a FULL_OBJECT value combined from the part CRCs.
    pub(super) combine_full_object: bool,
}

impl Upload {
    pub(super) fn s3_failed(&self, source: S3Error, upload_id: Option<&str>) -> TransferError {
        TransferError::S3UploadFailed {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            upload_id: upload_id.map(str::to_owned),
            source,
        }
    }

    /// Checksums are computed only for a backend that can send them (otherwise the
    /// caller's arguments pass as before, and a backend that cannot send them refuses
    /// them); then with the caller's algorithm, or the configured one unless
    /// `request_checksum_calculation` is `WhenRequired`.
    pub(super) fn checksum_plan(&self) -> Option<ChecksumPlan> {
        if !self.ctx.engine.client.supports_checksums() {
            return None;
        }
        let config = &self.ctx.engine.config;
        let algorithm = self.args.multipart_checksum_algorithm().or(
            match config.request_checksum_calculation {
                ChecksumWhen::WhenSupported => Some(config.checksum_algorithm),
                ChecksumWhen::WhenRequired => None,
            },
        )?;
        let composite = self.args.checksum_type == Some(ChecksumType::Composite);
        Some(ChecksumPlan {
            algorithm,
            // A value the caller gave is theirs to vouch for: it is sent instead.
            combine_full_object: algorithm.is_crc()
                && !composite
                && self.args.full_object_checksums.is_empty(),
        })
    }

    fn observer(&self, operation: &'static str, body_len: usize) -> Arc<TransferObserver> {
        Arc::new(TransferObserver::new(
            &self.ctx.engine,
            &self.ctx.coordinator,
            operation,
            body_len as u64,
        ))
    }

    pub(super) fn put_object(&self, data: Bytes) {
        let size = data.len() as u64;
        let request = PutObjectRequest {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            attributes: self.args.attributes.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_algorithm: self.args.checksum_algorithm,
            // A full-object value is the whole object's checksum: on a single PUT it
            // is simply the body's.
            checksums: self.args.checksum_values(),
            ..Default::default()
        };
        let mut validated = Validation::Nothing;
        let mut request = request;
        if let Some(plan) = self.checksum_plan() {
            if request.checksums.values().is_empty() {
                // Hashed once, before the first attempt: a retry resends the same bytes.
                request
                    .checksums
                    .set(plan.algorithm, checksum(plan.algorithm, &data).to_base64());
            }
            let sent = request.checksums.values()[0].0;
            request.checksum_algorithm = Some(request.checksum_algorithm.unwrap_or(sent));
            validated = Validation::WholeObject(sent);
        }
        let body_len = data.len();
        let mut body = RequestBody::new(data).with_observer(self.observer("PutObject", body_len));
        let attempts = std::cell::Cell::new(0);
        let sent = self.ctx.call(
            |attempt| {
                attempts.set(attempt);
                if attempt > 1 {
                    body.rewind();
                }
                self.ctx.engine.client.put_object(&request, &mut body)
            },
            |e| self.s3_failed(e, None),
        );
        let sent = match sent {
            // An earlier attempt may have stored the object with its answer lost (an
            // error after the store acted, then attempts ran out): the object says
            // whether it is ours, so the caller is never told "failed" about it.
            Err(e) if attempts.get() > 1 && !e.is_cancelled() => {
                let head = self.destination_head();
                recognise::written_by_us(&self.ctx, &head, size, &request.checksums, || {
                    Some(etag::md5_hex(body.data()))
                })
                .map(|found| PutObjectOutput {
                    etag: found.etag,
                    version_id: found.version_id,
                    checksums: found.checksums,
                })
                .ok_or(e)
            }
            other => other,
        };
        self.ctx.settle(sent, |out| {
            self.ctx.coordinator.succeed(TransferOutput {
                bytes: size,
                etag: out.etag,
                version_id: out.version_id,
                parts: 1,
                validated,
                ..Default::default()
            })
        });
    }

    /// The HeadObject that describes the object this upload writes.
    fn destination_head(&self) -> HeadObjectRequest {
        HeadObjectRequest {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        }
    }

    pub(super) fn create_multipart(
        &self,
        slot: &parking_lot::Mutex<Option<Arc<MultipartUpload>>>,
    ) -> Result<Arc<MultipartUpload>, TransferError> {
        let mut request = CreateMultipartUploadRequest {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            attributes: self.args.attributes.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_algorithm: self.args.multipart_checksum_algorithm(),
            checksum_type: self.args.multipart_checksum_type(),
        };
        if let Some(plan) = self.checksum_plan() {
            request.checksum_algorithm = Some(plan.algorithm);
            if plan.combine_full_object {
                // Announced here so Complete may carry the whole object's CRC.
                request.checksum_type = Some(ChecksumType::FullObject);
            }
        }
        let mpu = MultipartUpload::create(&self.ctx, &request, |e| self.s3_failed(e, None))?;
        *slot.lock() = Some(mpu.clone());
        Ok(mpu)
    }

    pub(super) fn upload_part(&self, mpu: &MultipartUpload, part_number: u32, data: Bytes) {
        let mut request = UploadPartRequest {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            upload_id: mpu.upload_id.clone(),
            part_number,
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            // Each part carries the algorithm the upload was created with; the values
            // come back in the response and go into Complete's part list.
            checksum_algorithm: self.args.multipart_checksum_algorithm(),
            ..Default::default()
        };
        if let Some(plan) = self.checksum_plan() {
            // One pass over the part, before the first attempt; its CRC is kept for the
            // whole-object value, so the object is never read a second time.
            let sum = checksum(plan.algorithm, &data);
            request.checksum_algorithm = Some(plan.algorithm);
            request.checksums.set(plan.algorithm, sum.to_base64());
            if plan.combine_full_object {
                self.part_crcs.lock().insert(part_number, sum);
            }
        }
        let sent_checksums = request.checksums.clone();
        // What a resume reads the part again to compare with.
        let crc32c = self.resumable.get().map(|_| crc32c::crc32c(&data));
        let body_len = data.len();
        let mut body = RequestBody::new(data).with_observer(self.observer("UploadPart", body_len));
        let failed = |e| self.s3_failed(e, Some(&mpu.upload_id));
        let sent = self
            .ctx
            .call(
                |attempt| {
                    if attempt > 1 {
                        body.rewind();
                    }
                    self.ctx.engine.client.upload_part(&request, &mut body)
                },
                failed,
            )
            .and_then(|out| {
                // Complete lists each part's checksum: the store's answer, or what was
                // sent when the answer left it out.
                let checksums = if out.checksums.is_empty() {
                    sent_checksums
                } else {
                    out.checksums
                };
                let etag = out.etag.clone();
                mpu.record_part("UploadPart", part_number, out.etag, checksums.clone())
                    .map_err(failed)?;
                if let (Some(crc32c), Some(etag)) = (crc32c, etag) {
                    self.part_stored(part_number, body_len as u64, etag, &checksums, crc32c);
                }
                Ok(())
            });
        self.ctx.settle(sent, |()| {});
    }

    /// Runs after the last part: complete the upload, unless anything failed (then the
    /// abort cleanup runs when the transfer is announced done).
    pub(super) fn complete(&self, mpu: &MultipartUpload) {
        if self.ctx.coordinator.is_stopped() {
            if self.args.keep_for_resume {
                self.flush_journal();
            }
            return;
        }
        if self.ctx.coordinator.is_pausing() {
            self.pause_here();
            return;
        }
        let (expected, total) = mpu.expected();
        let mut request = CompleteMultipartUploadRequest {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksums: Checksums {
                checksum_type: self.args.checksum_type.clone().or_else(|| {
                    // Announced on Create: Complete must name the same type.
                    (!self.args.full_object_checksums.is_empty())
                        .then_some(ChecksumType::FullObject)
                }),
                ..self.args.checksum_values()
            },
            mpu_object_size: self.args.mpu_object_size,
            ..Default::default()
        };
        let mut validated = Validation::Nothing;
        if let Some(plan) = self.checksum_plan() {
            validated = Validation::PerPart(plan.algorithm);
            if plan.combine_full_object {
                let crcs = self.part_crcs.lock().clone();
                let mut sums = crcs.values();
                let whole = sums
                    .next()
                    .and_then(|first| sums.try_fold(first.clone(), |acc, s| acc.combine(s)));
                match whole {
                    Some(whole) if crcs.len() as u32 == expected => {
                        request.checksums.set(plan.algorithm, whole.to_base64());
                        request.checksums.checksum_type = Some(ChecksumType::FullObject);
                        validated = Validation::WholeObject(plan.algorithm);
                    }
                    _ => {
                        self.ctx.coordinator.fail(TransferError::Internal(format!(
                            "{} of {expected} part checksums known before completing",
                            crcs.len()
                        )));
                        return;
                    }
                }
            } else if let Some((algorithm, _)) = request.checksums.values().first() {
                // The caller's own full-object value: the store checks it against the
                // whole object.
                validated = Validation::WholeObject(*algorithm);
            }
        }
        let head = self.destination_head();
        let completed = mpu.complete(&self.ctx, request, &head, |e| {
            self.s3_failed(e, Some(&mpu.upload_id))
        });
        self.ctx.settle(completed, |out| {
            self.forget_journal();
            self.ctx.coordinator.succeed(TransferOutput {
                bytes: total,
                etag: out.etag,
                version_id: out.version_id,
                parts: expected,
                validated,
                ..Default::default()
            })
        });
    }
}
