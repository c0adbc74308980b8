//! What a download checks its bytes against: the stored checksum found by HeadObject
//! (whole-object or composite), each part's checksum as it completes, and the
//! combination of range or part checksums after the last byte.

use std::fs::File;
use std::io::{self, Read};
use std::sync::atomic::Ordering;

use super::target::Output;
use super::{Download, PartFetch};
use crate::checksum::{Checksum, Checksummer};
use crate::client::etag;
use crate::client::{ChecksumAlgorithm, ChecksumType, Checksums, HeadObjectRequest};
use crate::config::ChecksumWhen;
use crate::error::TransferError;
use crate::future::Validation;

/// The stored checksum a download checks its bytes against.
#[derive(Clone, Debug)]
pub(super) enum Stored {
    /// Of the whole object: the ranges' CRCs (or a single range's digest) give it.
    Whole {
        algorithm: ChecksumAlgorithm,
        value: String,
    },
    /// A composite `<checksum of the part checksums>-<parts>` value, which no checksum
    /// of the bytes can give: the object is fetched part by part (`partNumber` GETs),
    /// each part checked against the checksum its response carries, and those part
    /// checksums against `value`.
    Composite {
        algorithm: ChecksumAlgorithm,
        value: String,
        parts: u32,
    },
    /// No stored checksum, but the ETag of a single-part object not encrypted with a
    /// KMS or customer key is the MD5 of its bytes (hex). MD5 cannot be combined from
    /// the digests of ranges, so the bytes are hashed in order: as they pass when the
    /// object comes in one GET (`one_get`); otherwise by the stream output as it writes
    /// them in order, or read back from the finished temporary file.
    EtagMd5 { hex: String, one_get: bool },
}

impl Stored {
    /// The S3 checksum algorithm the bytes are hashed with; `None` for the ETag's MD5.
    pub(super) fn algorithm(&self) -> Option<ChecksumAlgorithm> {
        match self {
            Stored::Whole { algorithm, .. } | Stored::Composite { algorithm, .. } => {
                Some(*algorithm)
            }
            Stored::EtagMd5 { .. } => None,
        }
    }
}

/// A part whose bytes matched its stored checksum.
#[derive(Debug)]
pub(super) struct CheckedPart {
    start: u64,
    len: u64,
    /// The part's checksum (base64), for the composite check: the stored one, which
    /// its bytes matched, or, where the store keeps none, the one of its bytes.
    value: String,
}

impl Download {
    /// Whether this download asks for the stored checksum and checks the bytes against
    /// it: only with a backend that returns checksums.
    pub(super) fn validating(&self) -> bool {
        self.ctx.engine.client.supports_checksums()
            && (self.args.checksum_mode
                || self.ctx.engine.config.response_checksum_validation
                    == ChecksumWhen::WhenSupported)
    }
    /// HeadObject with `checksum_mode`: record the size, ETag, version and the stored
    /// checksum this download can check. Returns the size.
    pub(super) fn head_for_checksum(&self) -> Result<u64, TransferError> {
        let request = HeadObjectRequest {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            version_id: self.args.version_id.clone(),
            if_match: self.etag.lock().clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_mode: true,
            ..Default::default()
        };
        let head = self.ctx.call(
            |_| self.ctx.engine.client.head_object(&request),
            |e| self.s3_failed(e),
        )?;
        let size = head.content_length;
        self.size.store(size, Ordering::Release);
        self.ctx.coordinator.meta.provide_transfer_size(size);
        *self.version_id.lock() = head.version_id.clone();
        if let Some(etag) = head.etag.clone() {
            let mut pinned = self.etag.lock();
            if pinned.is_none() {
                *pinned = Some(etag.clone());
                self.ctx.coordinator.meta.provide_object_etag(etag);
            }
        }
        let stored = self
            .stored_checksum(&head.checksums, size)
            .or_else(|| self.etag_md5(&head, size));
        if let Some(Stored::EtagMd5 { one_get: false, .. }) = stored
            && let Some(Output::Stream { md5, .. }) = &mut *self.output.lock()
        {
            // No GET has been sent yet: the stream hashes every byte it writes.
            *md5 = Some(<md5::Md5 as md5::Digest>::new());
        }
        *self.expected.lock() = stored;
        Ok(size)
    }

    /// The ETag as the MD5 of the object, when it is one: a single-part ETag (no `-N`)
    /// of 32 hex digits, not under SSE-KMS or SSE-C (whose ETags are not the MD5 of the
    /// plaintext); and when the bytes can be hashed in order: one GET, or an output that
    /// sees them in order or can be read back (not a caller's seekable writer).
    fn etag_md5(&self, head: &crate::client::HeadObjectOutput, size: u64) -> Option<Stored> {
        let md5 = etag::plain_md5(head.etag.as_deref()?)?;
        let encrypted = self.args.sse_customer.is_some()
            || head
                .attributes
                .server_side_encryption
                .as_deref()
                .is_some_and(|sse| sse.starts_with("aws:kms"));
        let one_get = size <= self.ctx.engine.config.multipart_chunksize;
        let in_order = one_get || !matches!(&*self.output.lock(), Some(Output::Seekable { .. }));
        (in_order && !encrypted).then(|| Stored::EtagMd5 {
            hex: etag::hex(&md5),
            one_get,
        })
    }

    /// After the last write, the MD5 of an object that came in several GETs: from the
    /// stream output's in-order hash, or read back from the temporary file (the page
    /// cache still holds it; one pass at MD5's speed, and only for objects that offer
    /// nothing else to check against).
    pub(super) fn md5_from_output(&self, output: &mut Output) -> Result<(), TransferError> {
        if !matches!(
            &*self.expected.lock(),
            Some(Stored::EtagMd5 { one_get: false, .. })
        ) {
            return Ok(());
        }
        let digest = match output {
            Output::Stream { md5, .. } => md5.take().map(md5::Digest::finalize),
            Output::File { temp, .. } => {
                // The output's own handle is write-only.
                let hash = || -> io::Result<md5::digest::Output<md5::Md5>> {
                    let mut hasher = <md5::Md5 as md5::Digest>::new();
                    let mut reader = File::open(&*temp)?;
                    let mut buf = vec![0u8; 1 << 20];
                    loop {
                        match reader.read(&mut buf) {
                            Ok(0) => return Ok(md5::Digest::finalize(hasher)),
                            Ok(n) => md5::Digest::update(&mut hasher, &buf[..n]),
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                };
                Some(hash().map_err(|e| TransferError::io("reading back", Some(temp), e))?)
            }
            Output::Seekable { .. } => None,
        };
        *self.md5_seen.lock() = digest.map(|d| etag::hex(&d));
        Ok(())
    }
    /// What the bytes can be checked against, given the stored checksums.
    fn stored_checksum(&self, stored: &Checksums, size: u64) -> Option<Stored> {
        let values = stored.values();
        let composite = values.iter().find_map(|&(algorithm, value)| {
            let (_, parts) = value.rsplit_once('-')?;
            Some((algorithm, value, parts.parse::<u32>().ok()))
        });
        match composite {
            // An empty object has no part to fetch by number.
            Some((algorithm, value, Some(parts))) if parts > 0 && size > 0 => {
                Some(Stored::Composite {
                    algorithm,
                    value: value.to_owned(),
                    parts,
                })
            }
            Some(_) => None,
            // A composite type without a `-N` value names no part count to check.
            None if stored.checksum_type == Some(ChecksumType::Composite) => None,
            None => {
                // The first GET covers the object whole when it is at most one chunk;
                // a SHA of the whole object can only be computed over one range, in
                // order.
                let single_range = size <= self.ctx.engine.config.multipart_chunksize;
                values
                    .into_iter()
                    .find(|(a, _)| a.is_crc() || single_range)
                    .map(|(algorithm, value)| Stored::Whole {
                        algorithm,
                        value: value.to_owned(),
                    })
            }
        }
    }
    /// After the last byte: compare the ranges' combined checksum with the stored
    /// whole-object one, or check that the parts (each checked as it arrived) made up
    /// the object and its composite checksum.
    pub(super) fn check_integrity(&self) -> Result<Validation, TransferError> {
        let stored = self.expected.lock().clone();
        match stored {
            None => Ok(Validation::Nothing),
            Some(Stored::Whole { algorithm, value }) => self.check_whole(algorithm, value),
            Some(Stored::EtagMd5 { hex, .. }) => self.check_md5(hex),
            Some(Stored::Composite {
                algorithm,
                value,
                parts,
            }) => self.check_composite(algorithm, value, parts),
        }
    }
    fn check_whole(
        &self,
        algorithm: ChecksumAlgorithm,
        expected: String,
    ) -> Result<Validation, TransferError> {
        let sums = std::mem::take(&mut *self.range_sums.lock());
        let ranges = sums.len();
        let mut next = 0u64;
        let mut whole: Option<Checksum> = None;
        for (start, sum) in sums {
            if start != next {
                return Err(TransferError::Internal(format!(
                    "no checksum for bytes {next}..{start}"
                )));
            }
            next += sum.len;
            whole = match whole {
                None => Some(sum),
                Some(acc) => acc.combine(&sum),
            };
        }
        let actual = whole
            .map(|w| w.to_base64())
            .unwrap_or_else(|| Checksummer::new(algorithm).finish().to_base64());
        if actual != expected {
            return Err(self.integrity_failed(
                algorithm,
                expected,
                actual,
                format!(
                    "whole object, {ranges} range{}",
                    if ranges == 1 { "" } else { "s" }
                ),
            ));
        }
        Ok(Validation::WholeObject(algorithm))
    }
    fn check_composite(
        &self,
        algorithm: ChecksumAlgorithm,
        expected: String,
        parts: u32,
    ) -> Result<Validation, TransferError> {
        let sums = std::mem::take(&mut *self.part_sums.lock());
        let size = self.size.load(Ordering::Acquire);
        // Each part's bytes matched its checksum on arrival; the parts must also lie
        // end to end in number order over the whole object, as a store's parts do.
        let mut next = 0u64;
        for number in 1..=parts {
            let Some(part) = sums.get(&number) else {
                return Err(TransferError::Internal(format!(
                    "part {number} of {parts} was not checked"
                )));
            };
            if part.start != next {
                return Err(self.failed(
                    format!(
                        "part {number} of {parts} starts at byte {}, not {next} where part {} ended",
                        part.start,
                        number - 1
                    ),
                    None,
                ));
            }
            next += part.len;
        }
        if next != size {
            return Err(self.failed(
                format!("the {parts} parts hold {next} bytes of {size}"),
                None,
            ));
        }
        // Each part's checksum is the one its bytes have (equal to the stored one where
        // the store gave it): their composite must be the object's value. Where the
        // store keeps no part checksums (SeaweedFS), this is the whole check, and it
        // is enough: the parts' exact boundaries came from their partNumber GETs.
        let values: Vec<&str> = sums.values().map(|p| p.value.as_str()).collect();
        let actual = crate::checksum::composite_checksum(algorithm, &values)
            .unwrap_or_else(|| "(a part checksum is not base64)".to_owned());
        if actual != expected {
            let computed = self.parts_unchecked.load(Ordering::Acquire);
            return Err(self.integrity_failed(
                algorithm,
                expected,
                actual,
                if computed {
                    format!("composite of the {parts} part checksums of the bytes received")
                } else {
                    // The parts' bytes matched the checksums their responses carried,
                    // but those are not the checksums the object's value was made of.
                    format!("composite of the {parts} part checksums")
                },
            ));
        }
        Ok(Validation::PerPart(algorithm))
    }
    /// The object's bytes, hashed in order, against its ETag's MD5.
    fn check_md5(&self, expected: String) -> Result<Validation, TransferError> {
        let Some(actual) = self.md5_seen.lock().take() else {
            return Err(TransferError::Internal(
                "no MD5 of the object's bytes".into(),
            ));
        };
        if actual != expected {
            return Err(TransferError::IntegrityFailed {
                bucket: self.ctx.bucket.clone(),
                key: self.ctx.key.clone(),
                algorithm: "MD5".to_owned(),
                expected,
                actual,
                part_or_range: "whole object, its ETag".to_owned(),
            });
        }
        Ok(Validation::Etag)
    }

    /// A part's bytes against the checksum its first response carried: recorded for
    /// the final check when they match.
    pub(super) fn check_part(&self, part: PartFetch, sum: Checksum) -> Result<(), TransferError> {
        let Some((start, end)) = part.span else {
            return Err(TransferError::Internal(format!(
                "part {} finished without its headers",
                part.number
            )));
        };
        let actual = sum.to_base64();
        let Some(stored) = part.stored else {
            // Only where the store keeps no part checksums (see `parts_unchecked`):
            // the part is checked in the composite after the last one.
            self.part_sums.lock().insert(
                part.number,
                CheckedPart {
                    start,
                    len: sum.len,
                    value: actual,
                },
            );
            return Ok(());
        };
        if actual != stored {
            return Err(self.integrity_failed(
                part.algorithm,
                stored,
                actual,
                format!("part {} of {}, bytes {start}-{end}", part.number, part.of),
            ));
        }
        self.part_sums.lock().insert(
            part.number,
            CheckedPart {
                start,
                len: sum.len,
                value: stored,
            },
        );
        Ok(())
    }
    fn integrity_failed(
        &self,
        algorithm: ChecksumAlgorithm,
        expected: String,
        actual: String,
        part_or_range: String,
    ) -> TransferError {
        TransferError::IntegrityFailed {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            algorithm: algorithm.as_str().to_owned(),
            expected,
            actual,
            part_or_range,
        }
    }
}
