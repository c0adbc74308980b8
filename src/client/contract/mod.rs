//! The backend contract suite: one check per behaviour of [`S3Api`] that the engine
//! relies on, run against any backend and store, with the [`Fixture`] saying which
//! optional behaviours the store has. Users reach it as `s3transfer::testing::contract`,
//! whose module docs say how to run it.

mod bodies;
mod checksums;
mod copies;
mod errors;
mod listing;
mod multipart;
mod objects;
mod support;

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use crate::client::S3Api;

pub use bodies::{a_failing_body_observer_stops_the_upload, a_failing_sink_stops_the_get};
pub use checksums::{
    part_checksums_come_back_on_part_number_reads, sent_checksums_are_validated,
    sent_part_checksums_are_validated, stored_checksums_come_back_with_checksum_mode,
};
pub use copies::{
    copy_object_copies_bytes_and_metadata, copy_source_if_match_is_enforced,
    upload_part_copy_copies_source_ranges,
};
pub use errors::errors_are_classified;
pub use listing::listing_pages_prefixes_and_delimiters;
pub use multipart::{
    abort_ends_the_upload, list_multipart_uploads_names_the_open_uploads,
    list_parts_names_every_part, list_parts_shows_each_parts_current_etag,
    multipart_upload_round_trips, part_number_reads_return_one_part,
};
pub use objects::{
    awkward_keys_round_trip, delete_removes_the_object, empty_objects_round_trip,
    if_match_is_enforced, missing_keys_are_not_found, put_head_get_round_trip,
    ranged_gets_return_the_range, unsatisfiable_range_is_invalid_range,
    versions_stay_readable_by_id,
};

/// A behaviour of S3 that some stores lack. A check that needs one the [`Fixture`] does
/// not grant is skipped, and says so in its [`Outcome`] and in the [`Report`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// `If-Match` on GetObject and HeadObject is honoured (412 when the ETag differs).
    IfMatch,
    /// `x-amz-copy-source-if-match` on CopyObject and UploadPartCopy is honoured.
    CopySourceIfMatch,
    /// `partNumber` on GetObject and HeadObject answers with that part of a multipart
    /// object.
    PartNumberReads,
    /// Checksum values sent with a body are checked against it (400 `BadDigest`). Needs
    /// a backend whose `supports_checksums()` is true.
    ChecksumValidation,
    /// A PutObject's checksum is stored and returned by HeadObject and GetObject with
    /// `checksum_mode`. Needs a backend whose `supports_checksums()` is true.
    StoredChecksums,
    /// A checksum value sent with UploadPart is checked against the part (400
    /// `BadDigest`). Needs a backend whose `supports_checksums()` is true.
    PartChecksumValidation,
    /// A `partNumber` read with `checksum_mode` returns that part's own checksum (with
    /// [`Capability::PartNumberReads`]). Needs a backend whose `supports_checksums()` is
    /// true.
    PartChecksumReads,
    /// A versioned bucket ([`Fixture::with_versioned_bucket`]): every write gets a
    /// version id, older versions stay readable by id, a delete leaves a marker.
    Versioning,
    /// ListParts names each part's ETag (s3s-fs 0.14 leaves it out).
    PartEtagsInListings,
    /// A part uploaded again under the same number is listed once, as the new part
    /// (SeaweedFS 4.48 lists both).
    ReuploadedPartsListedOnce,
    /// ListMultipartUploads lists the uploads open in a bucket (s3s-fs 0.14 cannot).
    UploadListings,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 11] = [
        Capability::IfMatch,
        Capability::CopySourceIfMatch,
        Capability::PartNumberReads,
        Capability::ChecksumValidation,
        Capability::StoredChecksums,
        Capability::PartChecksumValidation,
        Capability::PartChecksumReads,
        Capability::Versioning,
        Capability::PartEtagsInListings,
        Capability::ReuploadedPartsListedOnce,
        Capability::UploadListings,
    ];

    /// Whether the backend itself must send flexible checksums for this to be checked.
    fn needs_backend_checksums(self) -> bool {
        matches!(
            self,
            Capability::ChecksumValidation
                | Capability::StoredChecksums
                | Capability::PartChecksumValidation
                | Capability::PartChecksumReads
        )
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Capability::IfMatch => "If-Match on GET and HEAD",
            Capability::CopySourceIfMatch => "copy-source If-Match",
            Capability::PartNumberReads => "partNumber reads",
            Capability::ChecksumValidation => "checksum validation",
            Capability::StoredChecksums => "stored checksums",
            Capability::PartChecksumValidation => "per-part checksum validation",
            Capability::PartChecksumReads => "per-part checksums on partNumber reads",
            Capability::Versioning => "versioning",
            Capability::PartEtagsInListings => "part ETags in ListParts",
            Capability::ReuploadedPartsListedOnce => "a re-uploaded part listed once",
            Capability::UploadListings => "ListMultipartUploads",
        };
        f.write_str(name)
    }
}

/// Where the checks write and what the store can do.
///
/// [`Fixture::new`] assumes a store that behaves like AWS S3 in everything but
/// versioning, which needs a versioned bucket of its own
/// ([`Fixture::with_versioned_bucket`]). Take away what the store lacks with
/// [`Fixture::without`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Fixture {
    /// An existing bucket the checks write into (under [`Fixture::prefix`]).
    pub bucket: String,
    /// An existing bucket with versioning enabled, for [`Capability::Versioning`].
    pub versioned_bucket: Option<String>,
    /// Prefix of every key the checks write; each check adds its own name.
    pub prefix: String,
    /// The size of the first part of every multipart upload the checks make: the
    /// smallest the store accepts for a part that is not the last (5 MiB on S3).
    pub min_part_size: u64,
    /// A bucket that does not exist, for the not-found checks.
    pub absent_bucket: String,
    missing: Vec<Capability>,
}

impl Fixture {
    /// Checks in `bucket`, with S3's 5 MiB minimum part size and every capability but
    /// versioning.
    pub fn new(bucket: impl Into<String>) -> Self {
        Fixture {
            bucket: bucket.into(),
            versioned_bucket: None,
            prefix: "s3transfer-contract/".to_owned(),
            min_part_size: 5 * 1024 * 1024,
            absent_bucket: "s3transfer-contract-absent-bucket".to_owned(),
            missing: Vec::new(),
        }
    }

    /// Run the versioning checks in `bucket`, which must have versioning enabled.
    pub fn with_versioned_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.versioned_bucket = Some(bucket.into());
        self
    }

    /// Make the first part of every multipart upload `bytes` long (a store, such as
    /// the fake with `FakeS3::with_min_part_size`, that accepts smaller parts than S3
    /// runs the checks faster).
    pub fn with_min_part_size(mut self, bytes: u64) -> Self {
        self.min_part_size = bytes.max(1);
        self
    }

    /// Write every key under `prefix` instead of `s3transfer-contract/`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Use `bucket` as the bucket that does not exist.
    pub fn with_absent_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.absent_bucket = bucket.into();
        self
    }

    /// The store lacks `capability`: the checks that need it are skipped (and reported
    /// as skipped).
    pub fn without(mut self, capability: Capability) -> Self {
        if !self.missing.contains(&capability) {
            self.missing.push(capability);
        }
        self
    }

    /// Whether the checks may count on `capability` with `s3`: granted by the fixture
    /// and, for checksums, sent by the backend.
    pub fn supports(&self, s3: &dyn S3Api, capability: Capability) -> bool {
        !self.missing.contains(&capability)
            && (capability != Capability::Versioning || self.versioned_bucket.is_some())
            && (!capability.needs_backend_checksums() || s3.supports_checksums())
    }

    /// `Some(Skipped)` naming what of `needs` is missing, or `None` to go ahead.
    fn lacking(&self, s3: &dyn S3Api, needs: &[Capability]) -> Option<Outcome> {
        let missing: Vec<Capability> = needs
            .iter()
            .copied()
            .filter(|c| !self.supports(s3, *c))
            .collect();
        (!missing.is_empty()).then_some(Outcome::Skipped(missing))
    }

    /// The key `name` of check `check`.
    fn key(&self, check: &str, name: &str) -> String {
        format!("{}{check}/{name}", self.prefix)
    }
}

/// What one check did. A violation is a panic, not an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a skipped check checked nothing"]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// Not run: the store lacks these capabilities.
    Skipped(Vec<Capability>),
}

/// One check of the suite: its name and the function that runs it.
pub type Check = fn(&dyn S3Api, &Fixture) -> Outcome;

/// Every check, in the order [`run_all`] runs them.
pub const CHECKS: &[(&str, Check)] = &[
    ("put_head_get_round_trip", put_head_get_round_trip),
    ("empty_objects_round_trip", empty_objects_round_trip),
    ("ranged_gets_return_the_range", ranged_gets_return_the_range),
    (
        "unsatisfiable_range_is_invalid_range",
        unsatisfiable_range_is_invalid_range,
    ),
    ("missing_keys_are_not_found", missing_keys_are_not_found),
    ("if_match_is_enforced", if_match_is_enforced),
    ("delete_removes_the_object", delete_removes_the_object),
    ("awkward_keys_round_trip", awkward_keys_round_trip),
    ("versions_stay_readable_by_id", versions_stay_readable_by_id),
    ("multipart_upload_round_trips", multipart_upload_round_trips),
    ("abort_ends_the_upload", abort_ends_the_upload),
    (
        "part_number_reads_return_one_part",
        part_number_reads_return_one_part,
    ),
    (
        "copy_object_copies_bytes_and_metadata",
        copy_object_copies_bytes_and_metadata,
    ),
    (
        "upload_part_copy_copies_source_ranges",
        upload_part_copy_copies_source_ranges,
    ),
    (
        "copy_source_if_match_is_enforced",
        copy_source_if_match_is_enforced,
    ),
    ("sent_checksums_are_validated", sent_checksums_are_validated),
    (
        "sent_part_checksums_are_validated",
        sent_part_checksums_are_validated,
    ),
    (
        "stored_checksums_come_back_with_checksum_mode",
        stored_checksums_come_back_with_checksum_mode,
    ),
    (
        "part_checksums_come_back_on_part_number_reads",
        part_checksums_come_back_on_part_number_reads,
    ),
    ("a_failing_sink_stops_the_get", a_failing_sink_stops_the_get),
    (
        "a_failing_body_observer_stops_the_upload",
        a_failing_body_observer_stops_the_upload,
    ),
    ("errors_are_classified", errors_are_classified),
    ("list_parts_names_every_part", list_parts_names_every_part),
    (
        "list_parts_shows_each_parts_current_etag",
        list_parts_shows_each_parts_current_etag,
    ),
    (
        "list_multipart_uploads_names_the_open_uploads",
        list_multipart_uploads_names_the_open_uploads,
    ),
    (
        "listing_pages_prefixes_and_delimiters",
        listing_pages_prefixes_and_delimiters,
    ),
];

/// What [`run_all`] ran and what it skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The checks that passed.
    pub passed: Vec<&'static str>,
    /// The checks skipped, each with the capabilities the store lacks.
    pub skipped: Vec<(&'static str, Vec<Capability>)>,
}

impl Report {
    /// The names of the skipped checks, in run order.
    pub fn skipped_checks(&self) -> Vec<&'static str> {
        self.skipped.iter().map(|(name, _)| *name).collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} checks passed, {} skipped",
            self.passed.len(),
            self.skipped.len()
        )?;
        for (name, missing) in &self.skipped {
            let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
            write!(f, "\n  skipped {name}: no {}", missing.join(", no "))?;
        }
        Ok(())
    }
}

/// Run every check in [`CHECKS`] against `s3`, stopping at the first violation with a
/// panic that names the check. Skipped checks are printed to stderr and listed in the
/// returned [`Report`], so a test can assert that only the expected ones were skipped.
pub fn run_all(s3: &dyn S3Api, fixture: &Fixture) -> Report {
    let mut report = Report::default();
    for &(name, check) in CHECKS {
        // The panic is caught only to name the check it came from; it is raised again.
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| check(s3, fixture))) {
            Ok(outcome) => outcome,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                panic!("contract check `{name}` failed: {message}");
            }
        };
        match outcome {
            Outcome::Passed => report.passed.push(name),
            Outcome::Skipped(missing) => report.skipped.push((name, missing)),
        }
    }
    if !report.skipped.is_empty() {
        eprintln!("s3transfer contract: {report}");
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::fake::FakeS3;

    fn fake() -> (FakeS3, Fixture) {
        let s3 = FakeS3::new().with_min_part_size(1024);
        s3.create_bucket("contract");
        s3.create_versioned_bucket("contract-versions");
        let fixture = Fixture::new("contract")
            .with_min_part_size(1024)
            .with_versioned_bucket("contract-versions");
        (s3, fixture)
    }

    #[test]
    fn the_fake_passes_every_check_and_skips_none() {
        let (s3, fixture) = fake();
        let report = run_all(&s3, &fixture);
        assert_eq!(report.skipped, []);
        assert_eq!(report.passed.len(), CHECKS.len());
        assert!(s3.list_multipart_uploads("contract").is_empty());
    }

    #[test]
    fn the_fake_passes_at_s3s_own_minimum_part_size() {
        let s3 = FakeS3::new();
        s3.create_bucket("contract");
        let report = run_all(&s3, &Fixture::new("contract"));
        assert_eq!(report.skipped_checks(), ["versions_stay_readable_by_id"]);
    }

    #[test]
    fn a_missing_capability_skips_its_checks_and_the_report_names_them() {
        let (s3, fixture) = fake();
        let fixture = fixture
            .without(Capability::IfMatch)
            .without(Capability::CopySourceIfMatch);
        let report = run_all(&s3, &fixture);
        assert_eq!(
            report.skipped_checks(),
            ["if_match_is_enforced", "copy_source_if_match_is_enforced"]
        );
        assert!(
            report
                .to_string()
                .contains("skipped if_match_is_enforced: no If-Match on GET and HEAD"),
            "{report}"
        );
    }

    #[test]
    fn a_check_run_alone_says_when_it_was_skipped() {
        let (s3, fixture) = fake();
        assert_eq!(
            if_match_is_enforced(&s3, &fixture.clone().without(Capability::IfMatch)),
            Outcome::Skipped(vec![Capability::IfMatch])
        );
        assert_eq!(if_match_is_enforced(&s3, &fixture), Outcome::Passed);
    }

    /// A backend that answers every call with the fake's but loses If-Match: the suite
    /// must catch it and name the check. (Long only because a wrapper backend spells
    /// out every `S3Api` method; the test is the one line that calls `run_all`.)
    #[test]
    #[should_panic(expected = "contract check `if_match_is_enforced` failed")]
    fn a_violation_panics_naming_the_check() {
        use crate::client::{
            AbortMultipartUploadRequest, CompleteMultipartUploadOutput,
            CompleteMultipartUploadRequest, CopyObjectOutput, CopyObjectRequest,
            CreateMultipartUploadOutput, CreateMultipartUploadRequest, DeleteObjectOutput,
            DeleteObjectRequest, GetObjectOutput, GetObjectRequest, HeadObjectOutput,
            HeadObjectRequest, ListObjectsV2Output, ListObjectsV2Request, ListPartsOutput,
            ListPartsRequest, PutObjectOutput, PutObjectRequest, RequestBody, ResponseSink,
            S3Error, UploadPartCopyOutput, UploadPartCopyRequest, UploadPartOutput,
            UploadPartRequest,
        };
        struct DropsIfMatch(FakeS3);
        impl S3Api for DropsIfMatch {
            fn head_object(&self, r: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
                let mut r = r.clone();
                r.if_match = None;
                self.0.head_object(&r)
            }
            fn get_object(
                &self,
                r: &GetObjectRequest,
                s: &mut dyn ResponseSink,
            ) -> Result<GetObjectOutput, S3Error> {
                let mut r = r.clone();
                r.if_match = None;
                self.0.get_object(&r, s)
            }
            fn put_object(
                &self,
                r: &PutObjectRequest,
                b: &mut RequestBody,
            ) -> Result<PutObjectOutput, S3Error> {
                self.0.put_object(r, b)
            }
            fn create_multipart_upload(
                &self,
                r: &CreateMultipartUploadRequest,
            ) -> Result<CreateMultipartUploadOutput, S3Error> {
                self.0.create_multipart_upload(r)
            }
            fn upload_part(
                &self,
                r: &UploadPartRequest,
                b: &mut RequestBody,
            ) -> Result<UploadPartOutput, S3Error> {
                self.0.upload_part(r, b)
            }
            fn complete_multipart_upload(
                &self,
                r: &CompleteMultipartUploadRequest,
            ) -> Result<CompleteMultipartUploadOutput, S3Error> {
                self.0.complete_multipart_upload(r)
            }
            fn abort_multipart_upload(
                &self,
                r: &AbortMultipartUploadRequest,
            ) -> Result<(), S3Error> {
                self.0.abort_multipart_upload(r)
            }
            fn copy_object(&self, r: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
                self.0.copy_object(r)
            }
            fn upload_part_copy(
                &self,
                r: &UploadPartCopyRequest,
            ) -> Result<UploadPartCopyOutput, S3Error> {
                self.0.upload_part_copy(r)
            }
            fn delete_object(
                &self,
                r: &DeleteObjectRequest,
            ) -> Result<DeleteObjectOutput, S3Error> {
                self.0.delete_object(r)
            }
            fn list_objects_v2(
                &self,
                r: &ListObjectsV2Request,
            ) -> Result<ListObjectsV2Output, S3Error> {
                self.0.list_objects_v2(r)
            }
            fn list_parts(&self, r: &ListPartsRequest) -> Result<ListPartsOutput, S3Error> {
                self.0.list_parts(r)
            }
            fn list_multipart_uploads(
                &self,
                r: &crate::client::ListMultipartUploadsRequest,
            ) -> Result<crate::client::ListMultipartUploadsOutput, S3Error> {
                S3Api::list_multipart_uploads(&self.0, r)
            }
            fn supports_checksums(&self) -> bool {
                self.0.supports_checksums()
            }
        }
        let (s3, fixture) = fake();
        let _ = run_all(&DropsIfMatch(s3), &fixture);
    }
}
