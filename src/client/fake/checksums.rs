//! Flexible checksums as S3 treats them: values sent with a body are verified against
//! it (400 `BadDigest`), an algorithm sent without a value gets it computed, and a
//! completed multipart object gets its full-object or composite value.

use super::multipart::{StoredPart, Upload};
use super::objects::Ctx;
use crate::client::{ChecksumAlgorithm, ChecksumType, Checksums, S3Error};

/// Check every checksum value `given` against `data` (a composite `-N` value is not a
/// checksum of the bytes and is kept as is); with `algorithm` and no value, compute it.
/// Returns what to store.
pub(super) fn verify_checksums(
    cx: Ctx<'_>,
    algorithm: Option<ChecksumAlgorithm>,
    given: &Checksums,
    data: &[u8],
) -> Result<Checksums, S3Error> {
    let mut stored = given.clone();
    for (a, value) in given.values() {
        if value.contains('-') {
            continue;
        }
        let actual = crate::checksum::checksum(a, data).to_base64();
        if actual != value {
            return Err(cx.error(
                400,
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    a.as_str()
                ),
            ));
        }
    }
    if let Some(a) = algorithm
        && given.get(a).is_none()
    {
        stored.set(a, crate::checksum::checksum(a, data).to_base64());
    }
    Ok(stored)
}

/// Whether a Complete names a part with a checksum other than the one it was uploaded
/// with (S3 then refuses the part as invalid).
pub(super) fn checksums_conflict(stored: &Checksums, given: &Checksums) -> bool {
    let differ =
        |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
    differ(&stored.crc32, &given.crc32)
        || differ(&stored.crc32c, &given.crc32c)
        || differ(&stored.crc64nvme, &given.crc64nvme)
        || differ(&stored.sha1, &given.sha1)
        || differ(&stored.sha256, &given.sha256)
}

/// The checksums a completed multipart object stores. A FULL_OBJECT value (announced on
/// Create or sent on Complete) is checked against the assembled `data`, as S3 does,
/// before the upload is consumed (a refused Complete can be retried), and computed when
/// the upload announced FULL_OBJECT and Complete carries no value. A composite upload
/// gets, as on S3, the checksum of its parts' checksums, `-N`.
pub(super) fn completed_checksums(
    cx: Ctx<'_>,
    upload: &Upload,
    given: &Checksums,
    chosen: &[StoredPart],
    data: &[u8],
) -> Result<Checksums, S3Error> {
    let full_object = given.checksum_type == Some(ChecksumType::FullObject)
        || upload.checksum_type == Some(ChecksumType::FullObject);
    let mut checksums = given.clone();
    if full_object {
        let algorithm = upload
            .checksum_algorithm
            .filter(|_| checksums.values().is_empty());
        checksums = verify_checksums(cx, algorithm, &checksums, data)?;
    } else if let Some(algorithm) = upload.checksum_algorithm
        && checksums.get(algorithm).is_none()
    {
        let values: Option<Vec<&str>> = chosen.iter().map(|p| p.checksums.get(algorithm)).collect();
        if let Some(value) = values.and_then(|v| crate::checksum::composite_checksum(algorithm, &v))
        {
            checksums.set(algorithm, value);
            checksums.checksum_type = Some(ChecksumType::Composite);
        }
    }
    Ok(checksums)
}
