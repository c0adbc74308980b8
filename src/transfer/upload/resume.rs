//! A file upload that outlives its process: what it records as parts are stored (the
//! token, kept in the journal), the pause at a part boundary, and the resume that
//! re-checks the source and the store before it trusts any recorded part.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use super::source::crc32c_at;
use super::{Slot, Upload};
use crate::checksum::{Checksum, base64_decode};
use crate::client::{
    AbortMultipartUploadRequest, ChecksumAlgorithm, Checksums, CompletedPart, ListPartsRequest,
    etag,
};
use crate::error::TransferError;
use crate::resume::{
    IfChanged, JournalWriter, PartDone, ResumeError, ResumeOptions, ResumeToken, SourceIdentity,
    UploadToken,
};
use crate::runtime::work_group::WorkGuard;
use crate::transfer::multipart::MultipartUpload;

/// What a multipart file upload records for a pause or a later process.
pub(super) struct Resumable {
    /// The token's fixed fields (its `parts` left empty).
    base: UploadToken,
    /// The parts stored, by number: inserted by each part's job as it finishes, read
    /// whenever a token is made.
    parts: Mutex<BTreeMap<u32, PartDone>>,
    journal: Option<Arc<JournalWriter>>,
}

impl Resumable {
    fn token(&self) -> ResumeToken {
        let mut token = self.base.clone();
        token.parts = self.parts.lock().values().cloned().collect();
        ResumeToken::Upload(token)
    }

    /// Bring the journal up to date: now (`flush`), or when the coalescing says a
    /// write is due.
    fn write_journal(&self, flush: bool) {
        let Some(journal) = &self.journal else {
            return;
        };
        let snapshot = || Some(self.token());
        let written = if flush {
            journal.flush(snapshot)
        } else {
            journal.record(snapshot)
        };
        if let Err(e) = written {
            // The upload itself is fine; only a later resume would start from an older
            // journal (or none), which is safe.
            tracing::warn!(error = %e, "the upload journal could not be written");
        }
    }
}

fn modified_unix_ns(metadata: &Metadata) -> Option<u64> {
    let since = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    u64::try_from(since.as_nanos()).ok()
}

fn checksum_map(checksums: &Checksums) -> BTreeMap<String, String> {
    checksums
        .values()
        .into_iter()
        .map(|(a, v)| (a.as_str().to_owned(), v.to_owned()))
        .collect()
}

fn checksums_of(map: &BTreeMap<String, String>) -> Checksums {
    let mut checksums = Checksums::default();
    for (name, value) in map {
        if let Some(algorithm) = ChecksumAlgorithm::parse(name) {
            checksums.set(algorithm, value.clone());
        }
    }
    checksums
}

impl Upload {
    /// The upload `mpu` of the file at `path` can now be paused: record what a token
    /// needs, write the journal (if asked for) and remove it again if the upload fails.
    pub(super) fn make_resumable(
        &self,
        mpu: &MultipartUpload,
        path: &Path,
        metadata: &Metadata,
        part_size: u64,
        parts: Vec<PartDone>,
    ) {
        let plan = self.checksum_plan();
        let base = UploadToken {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            upload_id: mpu.upload_id.clone(),
            part_size,
            size: metadata.len(),
            checksum_algorithm: plan.map(|p| p.algorithm.as_str().to_owned()),
            full_object_crc: plan.is_some_and(|p| p.combine_full_object),
            source: SourceIdentity {
                path: path.to_path_buf(),
                size: metadata.len(),
                modified_unix_ns: modified_unix_ns(metadata),
            },
            parts: Vec::new(),
        };
        let journal = JournalWriter::for_transfer(&self.ctx.coordinator, self.args.journal.clone());
        let resumable = Resumable {
            base,
            parts: Mutex::new(parts.into_iter().map(|p| (p.number, p)).collect()),
            journal,
        };
        resumable.write_journal(true);
        if self.resumable.set(resumable).is_ok() {
            self.ctx.coordinator.allow_pause();
            // Without a journal nothing would record what was kept.
            if self.args.keep_for_resume && self.args.journal.is_some() {
                self.ctx.coordinator.keep_on_transient_failure();
            }
        }
    }

    /// Part `number` is stored: record it and bring the journal up to date.
    pub(super) fn part_stored(
        &self,
        number: u32,
        size: u64,
        etag: String,
        checksums: &Checksums,
        crc32c: u32,
    ) {
        let Some(resumable) = self.resumable.get() else {
            return;
        };
        let part = PartDone {
            number,
            size,
            etag,
            checksums: checksum_map(checksums),
            crc32c,
        };
        resumable.parts.lock().insert(number, part);
        resumable.write_journal(false);
    }

    /// The finalizer of a pausing upload: the token instead of Complete.
    pub(super) fn pause_here(&self) {
        let token = self.resumable.get().map(|r| {
            r.write_journal(true);
            r.token()
        });
        self.ctx.coordinator.finish_paused(token);
    }

    /// The upload stopped (failed or cancelled): a journal kept for a resume gets the
    /// parts its coalesced writes had not carried yet (a cancelled one is removed by
    /// the failure cleanup, which runs after this).
    pub(super) fn flush_journal(&self) {
        if let Some(resumable) = self.resumable.get() {
            resumable.write_journal(true);
        }
    }

    /// The upload completed: its journal has nothing left to continue.
    pub(super) fn forget_journal(&self) {
        if let Some(journal) = self.resumable.get().and_then(|r| r.journal.as_ref()) {
            journal.remove();
        }
    }

    /// Continue the upload `token` describes: check the source is the file the stored
    /// parts were read from, list the parts the store holds, and send only the rest.
    pub(super) fn plan_resumed(
        self: &Arc<Self>,
        root: &WorkGuard,
        multipart: &Slot,
        token: UploadToken,
        options: &ResumeOptions,
    ) -> Result<(), TransferError> {
        let path = token.source.path.clone();
        let file = File::open(&path).map_err(|e| TransferError::io("opening", Some(&path), e))?;
        let metadata = file
            .metadata()
            .map_err(|e| TransferError::io("reading metadata of", Some(&path), e))?;
        let abort = AbortMultipartUploadRequest {
            bucket: token.bucket.clone(),
            key: token.key.clone(),
            upload_id: token.upload_id.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let start_over = |upload: &Arc<Self>, error: ResumeError| {
            if options.if_changed == IfChanged::Fail {
                return Err(TransferError::Resume(error));
            }
            tracing::info!(reason = %error, "starting the upload over");
            MultipartUpload::abort_now(&upload.ctx, &abort, |e| {
                upload.s3_failed(e, Some(&abort.upload_id))
            })?;
            // The fresh upload writes its own journal, if it is multipart; one that is
            // not must not leave the old one behind.
            if let Some(journal) = &upload.args.journal {
                crate::resume::remove_journal(journal)?;
            }
            upload.plan_file(root, multipart, &path)
        };
        // Before any recorded number is used to read the source: a tampered token is
        // refused here, not turned into an enormous read or an overflow.
        check_shape(&token).map_err(|reason| ResumeError::Corrupt { path: None, reason })?;
        if let Some(reason) = source_change(&file, &metadata, &token) {
            return start_over(
                self,
                ResumeError::SourceChanged {
                    path: path.clone(),
                    reason,
                },
            );
        }
        self.same_settings(&token)?;
        let listed = MultipartUpload::list_all_parts(
            &self.ctx,
            &ListPartsRequest {
                bucket: token.bucket.clone(),
                key: token.key.clone(),
                upload_id: token.upload_id.clone(),
                sse_customer: self.args.sse_customer.clone(),
                context: self.args.context.clone(),
                ..Default::default()
            },
            |e| self.s3_failed(e, Some(&token.upload_id)),
        );
        let listed = match listed {
            Ok(listed) => listed,
            Err(e) if e.is_not_found() => {
                return start_over(
                    self,
                    ResumeError::UploadGone {
                        bucket: token.bucket.clone(),
                        key: token.key.clone(),
                        upload_id: token.upload_id.clone(),
                    },
                );
            }
            Err(e) => return Err(e),
        };
        let size = token.size;
        let part_size = token.part_size;
        let count = size.div_ceil(part_size) as u32;
        let plan = self.checksum_plan();
        // A part is trusted only where the store confirms it: listed, with the size and
        // the ETag recorded. A store that lists no ETag (s3s-fs) cannot confirm, so the
        // part is sent again rather than completed blind; so is a part whose CRC the
        // full-object value needs but the token lacks.
        let trusted: Vec<PartDone> = token
            .parts
            .iter()
            .filter(|p| {
                // Numbers are 1..=count and count * part_size fits (check_shape).
                let expected_size =
                    part_size.min(size.saturating_sub(u64::from(p.number - 1) * part_size));
                let confirmed = listed.get(&p.number).is_some_and(|l| {
                    l.size == p.size && l.etag.as_deref().is_some_and(|e| etag::same(e, &p.etag))
                });
                let crc_known = match plan {
                    Some(plan) if plan.combine_full_object => {
                        p.checksums.contains_key(plan.algorithm.as_str())
                    }
                    _ => true,
                };
                if !confirmed {
                    tracing::info!(
                        part = p.number,
                        "the store does not confirm this part; sending it again"
                    );
                }
                p.number >= 1
                    && p.number <= count
                    && p.size == expected_size
                    && confirmed
                    && crc_known
            })
            .cloned()
            .collect();
        let completed = trusted
            .iter()
            .map(|p| {
                let mut part = CompletedPart::new(p.number, p.etag.clone());
                part.checksums = checksums_of(&p.checksums);
                part
            })
            .collect();
        let mpu = MultipartUpload::resume(&self.ctx, abort.clone(), completed);
        *multipart.lock() = Some(mpu.clone());
        mpu.set_expected(count, size);
        if let Some(plan) = plan.filter(|p| p.combine_full_object) {
            let mut crcs = self.part_crcs.lock();
            for p in &trusted {
                let value = p
                    .checksums
                    .get(plan.algorithm.as_str())
                    .and_then(|v| base64_decode(v));
                if let Some(bytes) = value {
                    crcs.insert(
                        p.number,
                        Checksum {
                            algorithm: plan.algorithm,
                            bytes,
                            len: p.size,
                        },
                    );
                }
            }
        }
        let skip: BTreeSet<u32> = trusted.iter().map(|p| p.number).collect();
        let done_bytes: u64 = trusted.iter().map(|p| p.size).sum();
        tracing::info!(
            parts_stored = skip.len(),
            parts = count,
            bytes_stored = done_bytes,
            "resuming the upload"
        );
        self.ctx.coordinator.meta.provide_transfer_size(size);
        self.ctx.coordinator.progress(done_bytes as i64);
        self.make_resumable(&mpu, &path, &metadata, part_size, trusted);
        let path: Arc<Path> = Arc::from(path.as_path());
        self.submit_parts(root, &mpu, Arc::new(file), path, size, part_size, &skip)
    }

    /// The settings that shape the object must be those the parts were sent with.
    fn same_settings(&self, token: &UploadToken) -> Result<(), TransferError> {
        let plan = self.checksum_plan();
        let now = plan.map(|p| p.algorithm.as_str().to_owned());
        if now != token.checksum_algorithm {
            return Err(ResumeError::SettingChanged {
                what: "the checksum algorithm",
                in_token: token
                    .checksum_algorithm
                    .clone()
                    .unwrap_or_else(|| "none".into()),
                now: now.unwrap_or_else(|| "none".into()),
            }
            .into());
        }
        let combine = plan.is_some_and(|p| p.combine_full_object);
        if combine != token.full_object_crc {
            return Err(ResumeError::SettingChanged {
                what: "the full-object checksum",
                in_token: token.full_object_crc.to_string(),
                now: combine.to_string(),
            }
            .into());
        }
        check_shape(token).map_err(|reason| ResumeError::Corrupt { path: None, reason }.into())
    }
}

/// Why the numbers of `token` cannot describe a multipart upload, if they cannot: a part
/// size of 0 or above S3's 5 GiB, more than 10,000 parts, a part numbered outside
/// `1..=count` or longer than the part size. Checked before any is used to read the
/// source or to compute an offset.
fn check_shape(token: &UploadToken) -> Result<(), String> {
    let part_size = token.part_size;
    if part_size == 0 || part_size > crate::config::MAX_PART_SIZE {
        return Err(format!("its part size {part_size} is impossible"));
    }
    if token.size != token.source.size {
        return Err("its object size is not its source's".into());
    }
    let count = token.size.div_ceil(part_size);
    if count > crate::config::MAX_PARTS {
        return Err("its part size makes more than 10,000 parts".into());
    }
    for part in &token.parts {
        if part.number < 1 || u64::from(part.number) > count.max(1) || part.size > part_size {
            return Err(format!(
                "its part {} (of {} bytes) cannot be",
                part.number, part.size
            ));
        }
    }
    Ok(())
}

/// Why `file` is not the source `token` was made from, if it is not: another size or
/// modification time, or a stored part whose bytes read back differently (the CRC32C
/// of every part the token lists is compared, so an edit that kept the size and reset
/// the time is caught too).
fn source_change(file: &File, metadata: &Metadata, token: &UploadToken) -> Option<String> {
    let source = &token.source;
    if metadata.len() != source.size {
        return Some(format!(
            "it was {} bytes and is now {}",
            source.size,
            metadata.len()
        ));
    }
    if source.modified_unix_ns.is_some() && modified_unix_ns(metadata) != source.modified_unix_ns {
        return Some("its modification time changed".into());
    }
    for part in &token.parts {
        // The shape was checked, but a failure here is a difference, never a panic.
        let offset = u64::from(part.number.saturating_sub(1)).checked_mul(token.part_size);
        let end = offset.and_then(|o| o.checked_add(part.size));
        let same = end.is_some_and(|end| end <= metadata.len())
            && offset.is_some_and(|offset| {
                crc32c_at(file, offset, part.size, |_| {}).is_ok_and(|crc| crc == part.crc32c)
            });
        if !same {
            return Some(format!(
                "the bytes of part {} (already uploaded) differ",
                part.number
            ));
        }
    }
    None
}
