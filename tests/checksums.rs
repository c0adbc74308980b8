//! Flexible checksums end to end under the in-memory fake (which verifies them): round
//! trips with every algorithm, corruption caught on upload and on download, the
//! full-object CRC a multipart upload combines from its parts, composite objects
//! downloaded and checked part by part, `WhenRequired`, and backends without checksum
//! support. Then the rusoto backend against real stores (s3s-fs, SeaweedFS), with
//! bytes corrupted in flight by the fault proxy.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use s3transfer::checksum::{ALL, checksum};
use s3transfer::client::*;
use s3transfer::testing::{FakeS3, Operation, RecordedCall};
use s3transfer::{ChecksumAlgorithm, ChecksumType, Checksums, S3Api, S3Error};
use s3transfer::{
    ChecksumWhen, DownloadArgs, DownloadTarget, ErrorKind, TransferConfig, TransferError,
    TransferManager, TransferOutput, UploadArgs, UploadSource, Validation,
};

#[macro_use]
#[path = "common/mod.rs"]
mod common;
use common::misanswer::{HeadRewrite, Misanswer};
use common::random_bytes;

const MIB: usize = 1024 * 1024;
/// Three parts of 5 MiB, 5 MiB and 1 MiB; three ranges on download.
const LARGE: usize = 11 * MIB;
const SMALL: usize = 1000;

fn config() -> s3transfer::TransferConfigBuilder {
    TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        .max_request_concurrency(4)
        .io_chunksize(64 * 1024)
}

fn fake() -> FakeS3 {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake
}

fn upload(
    manager: &TransferManager,
    key: &str,
    data: &[u8],
    args: UploadArgs,
) -> Result<TransferOutput, TransferError> {
    upload_to(manager, "b", key, data, args)
}

fn upload_to(
    manager: &TransferManager,
    bucket: &str,
    key: &str,
    data: &[u8],
    args: UploadArgs,
) -> Result<TransferOutput, TransferError> {
    manager
        .upload(
            UploadSource::seekable(Cursor::new(data.to_vec())),
            bucket,
            key,
            args,
            &[],
        )
        .unwrap()
        .result()
}

fn download(
    manager: &TransferManager,
    key: &str,
    dest: &Path,
) -> Result<TransferOutput, TransferError> {
    download_from(manager, "b", key, dest)
}

fn download_from(
    manager: &TransferManager,
    bucket: &str,
    key: &str,
    dest: &Path,
) -> Result<TransferOutput, TransferError> {
    manager
        .download(
            bucket,
            key,
            DownloadTarget::path(dest),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
}

fn b64(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
    checksum(algorithm, data).to_base64()
}

#[test]
fn every_algorithm_round_trips_single_and_multipart() {
    let dir = tempfile::tempdir().unwrap();
    for algorithm in ALL {
        let fake = fake();
        let manager = TransferManager::new(
            Arc::new(fake.clone()),
            config().checksum_algorithm(algorithm).build().unwrap(),
        );
        for (size, seed) in [(SMALL, 1), (LARGE, 2), (0, 3)] {
            let data = random_bytes(size, seed);
            let key = format!("{}-{size}", algorithm.as_str());
            let up = upload(&manager, &key, &data, UploadArgs::default()).unwrap();
            let multipart = size >= 5 * MIB;
            let whole = !multipart || algorithm.is_crc();
            let expect_up = if whole {
                Validation::WholeObject(algorithm)
            } else {
                Validation::PerPart(algorithm)
            };
            assert_eq!(up.validated, expect_up, "{key} upload");
            let stored = fake.object("b", &key).unwrap();
            if whole {
                assert_eq!(
                    stored.checksums.get(algorithm),
                    Some(b64(algorithm, &data).as_str()),
                    "{key}: the stored value is the whole object's"
                );
                assert_eq!(
                    stored.checksums.checksum_type,
                    Some(ChecksumType::FullObject)
                );
            }
            let dest = dir.path().join(&key);
            let down = download(&manager, &key, &dest).unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), data, "{key}");
            // A multipart SHA upload has only per-part checksums (and their composite):
            // the download checks each part.
            let expect_down = if whole {
                Validation::WholeObject(algorithm)
            } else {
                Validation::PerPart(algorithm)
            };
            assert_eq!(down.validated, expect_down, "{key} download");
        }
        manager.shutdown(false, "");
    }
}

#[test]
fn a_multipart_upload_sends_the_full_object_crc_combined_from_its_parts() {
    let fake = fake();
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    let data = random_bytes(LARGE, 7);
    let out = upload(&manager, "k", &data, UploadArgs::default()).unwrap();
    assert_eq!(
        out.validated,
        Validation::WholeObject(ChecksumAlgorithm::Crc32)
    );
    let creates = fake.calls_of(Operation::CreateMultipartUpload);
    let RecordedCall::CreateMultipartUpload(create) = &creates[0] else {
        unreachable!()
    };
    assert_eq!(create.checksum_algorithm, Some(ChecksumAlgorithm::Crc32));
    assert_eq!(create.checksum_type, Some(ChecksumType::FullObject));
    let mut part_values = Vec::new();
    for call in fake.calls_of(Operation::UploadPart) {
        let RecordedCall::UploadPart { request, .. } = call else {
            unreachable!()
        };
        assert_eq!(request.checksum_algorithm, Some(ChecksumAlgorithm::Crc32));
        let n = request.part_number as usize - 1;
        let part = &data[n * 5 * MIB..((n + 1) * 5 * MIB).min(LARGE)];
        assert_eq!(
            request.checksums.crc32,
            Some(b64(ChecksumAlgorithm::Crc32, part))
        );
        part_values.push((request.part_number, request.checksums.crc32.clone()));
    }
    assert_eq!(part_values.len(), 3);
    let completes = fake.calls_of(Operation::CompleteMultipartUpload);
    let RecordedCall::CompleteMultipartUpload(complete) = &completes[0] else {
        unreachable!()
    };
    assert_eq!(
        complete.checksums.crc32,
        Some(b64(ChecksumAlgorithm::Crc32, &data)),
        "the combined value is the CRC of the whole object"
    );
    assert_eq!(
        complete.checksums.checksum_type,
        Some(ChecksumType::FullObject)
    );
    // Complete lists each part with its own checksum.
    for part in &complete.parts {
        let sent = part_values
            .iter()
            .find(|(n, _)| *n == part.part_number)
            .unwrap();
        assert_eq!(part.checksums.crc32, sent.1);
    }
    manager.shutdown(false, "");
}

#[test]
fn a_caller_full_object_value_is_sent_instead_and_checked_by_the_store() {
    let fake = fake();
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    let data = random_bytes(LARGE, 8);
    let mut args = UploadArgs::default();
    args.full_object_checksums.crc32c = Some(b64(ChecksumAlgorithm::Crc32c, &data));
    let out = upload(&manager, "theirs", &data, args.clone()).unwrap();
    assert_eq!(
        out.validated,
        Validation::WholeObject(ChecksumAlgorithm::Crc32c)
    );
    let completes = fake.calls_of(Operation::CompleteMultipartUpload);
    let RecordedCall::CompleteMultipartUpload(complete) = &completes[0] else {
        unreachable!()
    };
    assert_eq!(complete.checksums.crc32c, args.full_object_checksums.crc32c);
    assert_eq!(complete.checksums.crc32, None);
    // A wrong value is refused by the store, typed, and the upload aborted.
    args.full_object_checksums.crc32c = Some(b64(ChecksumAlgorithm::Crc32c, b"other"));
    let err = upload(&manager, "wrong", &data, args).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::S3UploadFailed, "{err}");
    assert_eq!(err.s3_error().unwrap().code.as_deref(), Some("BadDigest"));
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(fake.object("b", "wrong").is_none());
    manager.shutdown(false, "");
}

/// Passes every call to the fake, flipping one byte of part 2's body (or of a PUT
/// body) on the way: what a bad NIC or proxy would do.
struct CorruptUpload {
    inner: FakeS3,
}

fn flip(mut data: Vec<u8>, at: usize) -> Vec<u8> {
    data[at] ^= 0x01;
    data
}

/// Passes every call to the fake, flipping one byte of the first body chunk of the
/// first GET that `at` picks (once).
struct CorruptDownload {
    inner: FakeS3,
    at: Box<dyn Fn(&GetObjectRequest) -> bool + Send + Sync>,
    done: AtomicBool,
}

impl CorruptDownload {
    fn new(inner: &FakeS3, at: impl Fn(&GetObjectRequest) -> bool + Send + Sync + 'static) -> Self {
        CorruptDownload {
            inner: inner.clone(),
            at: Box::new(at),
            done: AtomicBool::new(false),
        }
    }

    /// The first GET whose range starts at `start` (a partNumber GET starts at 0).
    fn at_range(inner: &FakeS3, start: u64) -> Self {
        Self::new(inner, move |r| r.range.map_or(0, |r| r.start) == start)
    }
}

struct FlipSink<'a> {
    inner: &'a mut dyn ResponseSink,
    pending: bool,
}

impl ResponseSink for FlipSink<'_> {
    fn on_response(&mut self, head: &GetObjectOutput) -> Result<(), S3Error> {
        self.inner.on_response(head)
    }
    fn write_chunk(&mut self, data: &[u8]) -> Result<(), S3Error> {
        if self.pending && !data.is_empty() {
            self.pending = false;
            return self.inner.write_chunk(&flip(data.to_vec(), data.len() / 2));
        }
        self.inner.write_chunk(data)
    }
}

impl S3Api for CorruptUpload {
    fn put_object(
        &self,
        r: &PutObjectRequest,
        b: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        let data = flip(b.collect()?, 10);
        self.inner.put_object(r, &mut RequestBody::new(data))
    }
    fn upload_part(
        &self,
        r: &UploadPartRequest,
        b: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        if r.part_number != 2 {
            return self.inner.upload_part(r, b);
        }
        let data = flip(b.collect()?, 12345);
        self.inner.upload_part(r, &mut RequestBody::new(data))
    }
    delegate_to_inner!(
        head_object,
        get_object,
        create_multipart_upload,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
        supports_checksums,
    );
}

impl S3Api for CorruptDownload {
    fn get_object(
        &self,
        r: &GetObjectRequest,
        s: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let pending = (self.at)(r) && !self.done.swap(true, Ordering::SeqCst);
        let mut sink = FlipSink { inner: s, pending };
        self.inner.get_object(r, &mut sink)
    }
    delegate_to_inner!(
        head_object,
        put_object,
        upload_part,
        create_multipart_upload,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
        supports_checksums,
    );
}

#[test]
fn a_byte_corrupted_on_the_way_up_is_refused_and_the_upload_aborted() {
    let fake = fake();
    let client = Arc::new(CorruptUpload {
        inner: fake.clone(),
    });
    let manager = TransferManager::new(client, config().build().unwrap());
    for (key, size) in [("multi", LARGE), ("single", SMALL)] {
        let err = upload(&manager, key, &random_bytes(size, 9), UploadArgs::default()).unwrap_err();
        let TransferError::S3UploadFailed { source, .. } = &err else {
            panic!("{key}: {err}")
        };
        assert_eq!(source.code.as_deref(), Some("BadDigest"), "{key}");
        assert_eq!(source.status, Some(400));
        assert!(fake.object("b", key).is_none(), "{key}: nothing stored");
    }
    // BadDigest is not retried: one UploadPart for part 2.
    let part2 = fake
        .calls_of(Operation::UploadPart)
        .into_iter()
        .filter(
            |c| matches!(c, RecordedCall::UploadPart { request, .. } if request.part_number == 2),
        )
        .count();
    assert_eq!(part2, 1);
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 1);
    assert!(fake.list_multipart_uploads("b").is_empty());
    manager.shutdown(false, "");
}

#[test]
fn a_byte_corrupted_on_the_way_down_fails_typed_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    for (size, at_range, algorithm) in [
        (LARGE, 5 * MIB as u64, ChecksumAlgorithm::Crc32),
        (LARGE, 10 * MIB as u64, ChecksumAlgorithm::Crc64Nvme),
        (SMALL, 0, ChecksumAlgorithm::Sha256),
    ] {
        let fake = fake();
        let data = random_bytes(size, 10);
        {
            let manager = TransferManager::new(
                Arc::new(fake.clone()),
                config().checksum_algorithm(algorithm).build().unwrap(),
            );
            upload(&manager, "k", &data, UploadArgs::default()).unwrap();
            manager.shutdown(false, "");
        }
        let client = Arc::new(CorruptDownload::at_range(&fake, at_range));
        let manager = TransferManager::new(client, config().build().unwrap());
        let dest = dir.path().join(format!("out-{size}"));
        let err = download(&manager, "k", &dest).unwrap_err();
        let TransferError::IntegrityFailed {
            algorithm: name,
            expected,
            actual,
            ..
        } = &err
        else {
            panic!("{size}: {err}")
        };
        assert_eq!(err.kind(), ErrorKind::IntegrityFailed);
        assert_eq!(name, algorithm.as_str());
        assert_eq!(expected, &b64(algorithm, &data));
        assert_ne!(actual, expected);
        assert!(!dest.exists(), "no file at the destination");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "no temporary file left: {left:?}");
        manager.shutdown(false, "");
    }
}

#[test]
fn when_required_sends_and_asks_for_nothing() {
    let fake = fake();
    let manager = TransferManager::new(
        Arc::new(fake.clone()),
        config()
            .request_checksum_calculation(ChecksumWhen::WhenRequired)
            .response_checksum_validation(ChecksumWhen::WhenRequired)
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    for (key, size) in [("single", SMALL), ("multi", LARGE)] {
        let data = random_bytes(size, 11);
        let up = upload(&manager, key, &data, UploadArgs::default()).unwrap();
        assert_eq!(up.validated, Validation::Nothing);
        let down = download(&manager, key, &dir.path().join(key)).unwrap();
        assert_eq!(down.validated, Validation::Nothing);
    }
    for call in fake.calls() {
        let (algorithm, values) = match &call {
            RecordedCall::PutObject { request, .. } => {
                (request.checksum_algorithm, request.checksums.clone())
            }
            RecordedCall::UploadPart { request, .. } => {
                (request.checksum_algorithm, request.checksums.clone())
            }
            RecordedCall::CreateMultipartUpload(r) => (r.checksum_algorithm, Checksums::default()),
            RecordedCall::CompleteMultipartUpload(r) => (None, r.checksums.clone()),
            RecordedCall::GetObject(r) => {
                assert!(!r.checksum_mode);
                (None, Checksums::default())
            }
            other => panic!("unexpected call {:?}", other.operation()),
        };
        assert_eq!(algorithm, None, "{:?}", call.operation());
        assert!(values.is_empty(), "{:?}", call.operation());
    }
    // The caller can still ask: then it is computed.
    let up = upload(
        &manager,
        "asked",
        &random_bytes(SMALL, 12),
        UploadArgs::default().checksum_algorithm(ChecksumAlgorithm::Crc32c),
    )
    .unwrap();
    assert_eq!(
        up.validated,
        Validation::WholeObject(ChecksumAlgorithm::Crc32c)
    );
    let down = manager
        .download(
            "b",
            "asked",
            dir.path().join("asked"),
            DownloadArgs::default().checksum_mode(true),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(
        down.validated,
        Validation::WholeObject(ChecksumAlgorithm::Crc32c)
    );
    manager.shutdown(false, "");
}

/// The fake with its checksum support hidden: `supports_checksums` keeps the default.
struct NoChecksums {
    inner: FakeS3,
}

impl S3Api for NoChecksums {
    // Everything but `supports_checksums`, which keeps the trait's default (false).
    delegate_to_inner!(
        head_object,
        get_object,
        put_object,
        create_multipart_upload,
        upload_part,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
    );
}

#[test]
fn a_backend_without_checksum_support_transfers_as_before() {
    let fake = fake();
    let manager = TransferManager::new(
        Arc::new(NoChecksums {
            inner: fake.clone(),
        }),
        config().build().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    for (key, size) in [("single", SMALL), ("multi", LARGE)] {
        let data = random_bytes(size, 13);
        let up = upload(&manager, key, &data, UploadArgs::default()).unwrap();
        assert_eq!(up.validated, Validation::Nothing);
        let dest = dir.path().join(key);
        let down = download(&manager, key, &dest).unwrap();
        assert_eq!(down.validated, Validation::Nothing);
        assert_eq!(std::fs::read(&dest).unwrap(), data);
    }
    assert_eq!(
        fake.count(Operation::HeadObject),
        0,
        "no HeadObject for checksums"
    );
    assert!(fake.calls().iter().all(|c| match c {
        RecordedCall::PutObject { request, .. } => request.checksums.is_empty(),
        RecordedCall::UploadPart { request, .. } => request.checksums.is_empty(),
        RecordedCall::CompleteMultipartUpload(r) => r.checksums.is_empty(),
        _ => true,
    }));
    manager.shutdown(false, "");
}

// --- composite objects: validated part by part -----------------------------------------

/// A writer the test reads back after the download consumed its handle: seekable, and
/// written in order when used as a stream.
#[derive(Clone, Default)]
struct SharedCursor(Arc<parking_lot::Mutex<Cursor<Vec<u8>>>>);

impl std::io::Write for SharedCursor {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for SharedCursor {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.lock().seek(pos)
    }
}

#[derive(Clone, Copy, Debug)]
enum Out {
    Path,
    Seekable,
    Stream,
}

const OUTPUTS: [Out; 3] = [Out::Path, Out::Seekable, Out::Stream];

/// Download `key` into a fresh output of kind `out` under `dir`; returns the result
/// and what the output holds afterwards (`None`: no file at the destination).
fn download_to(
    manager: &TransferManager,
    key: &str,
    out: Out,
    dir: &Path,
    args: DownloadArgs,
) -> (Result<TransferOutput, TransferError>, Option<Vec<u8>>) {
    let dest = dir.join(format!("{key}-{out:?}"));
    let buffer = SharedCursor::default();
    let target = match out {
        Out::Path => DownloadTarget::path(&dest),
        Out::Seekable => DownloadTarget::seekable(buffer.clone()),
        Out::Stream => DownloadTarget::stream(buffer.clone()),
    };
    let result = manager
        .download("b", key, target, args, &[])
        .unwrap()
        .result();
    let held = match out {
        Out::Path => std::fs::read(&dest).ok(),
        Out::Seekable | Out::Stream => Some(buffer.0.lock().get_ref().clone()),
    };
    (result, held)
}

/// Upload through the manager with `algorithm` and checksum type COMPOSITE: multipart
/// objects get a `-N` value.
fn upload_composite(fake: &FakeS3, key: &str, data: &[u8], algorithm: ChecksumAlgorithm) {
    let manager = TransferManager::new(
        Arc::new(fake.clone()),
        config().checksum_algorithm(algorithm).build().unwrap(),
    );
    let mut args = UploadArgs::default();
    args.checksum_type = Some(ChecksumType::Composite);
    upload(&manager, key, data, args).unwrap();
    manager.shutdown(false, "");
}

/// A multipart object made of `parts` as given (any sizes the fake accepts), each with
/// an `algorithm` checksum, and the composite value S3 computes on Complete.
fn put_multipart(fake: &FakeS3, key: &str, parts: &[&[u8]], algorithm: ChecksumAlgorithm) {
    let mut create = CreateMultipartUploadRequest::default();
    create.bucket = "b".into();
    create.key = key.into();
    create.checksum_algorithm = Some(algorithm);
    create.checksum_type = Some(ChecksumType::Composite);
    let upload_id = fake.create_multipart_upload(&create).unwrap().upload_id;
    let mut completed = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let mut request = UploadPartRequest::default();
        request.bucket = "b".into();
        request.key = key.into();
        request.upload_id = upload_id.clone();
        request.part_number = i as u32 + 1;
        request.checksum_algorithm = Some(algorithm);
        let out = fake
            .upload_part(&request, &mut RequestBody::new(data.to_vec()))
            .unwrap();
        let mut part = CompletedPart::new(i as u32 + 1, out.etag.unwrap());
        part.checksums = out.checksums;
        completed.push(part);
    }
    let mut complete = CompleteMultipartUploadRequest::default();
    complete.bucket = "b".into();
    complete.key = key.into();
    complete.upload_id = upload_id;
    complete.parts = completed;
    complete.checksums.checksum_type = Some(ChecksumType::Composite);
    fake.complete_multipart_upload(&complete).unwrap();
}

/// The GETs sent: (partNumber, range start), in the order sent.
fn gets(fake: &FakeS3) -> Vec<(Option<u32>, Option<u64>)> {
    fake.calls_of(Operation::GetObject)
        .into_iter()
        .map(|c| match c {
            RecordedCall::GetObject(r) => (r.part_number, r.range.map(|r| r.start)),
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn composite_objects_are_validated_part_by_part_into_every_output_kind() {
    let dir = tempfile::tempdir().unwrap();
    for algorithm in [
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Crc32c,
    ] {
        let fake = fake();
        let data = random_bytes(LARGE, 20);
        let key = algorithm.as_str();
        upload_composite(&fake, key, &data, algorithm);
        let stored = fake.object("b", key).unwrap().checksums;
        assert!(stored.get(algorithm).unwrap().ends_with("-3"), "{stored:?}");
        let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
        for out in OUTPUTS {
            fake.clear_calls();
            let (result, held) = download_to(&manager, key, out, dir.path(), Default::default());
            let result = result.unwrap_or_else(|e| panic!("{key} {out:?}: {e}"));
            assert_eq!(
                result.validated,
                Validation::PerPart(algorithm),
                "{key} {out:?}"
            );
            assert!(
                held.unwrap() == data,
                "{key} {out:?}: the bytes arrived in place"
            );
            let mut sent = gets(&fake);
            sent.sort();
            assert_eq!(
                sent,
                [(Some(1), None), (Some(2), None), (Some(3), None)],
                "{key} {out:?}: one partNumber GET per part"
            );
            for call in fake.calls_of(Operation::GetObject) {
                let RecordedCall::GetObject(r) = call else {
                    unreachable!()
                };
                assert!(r.checksum_mode, "{key} {out:?}");
                assert!(r.if_match.is_some(), "{key} {out:?}: pinned to the ETag");
            }
        }
        manager.shutdown(false, "");
    }
}

#[test]
fn a_corrupted_part_fails_naming_the_part_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let data = random_bytes(LARGE, 21);
    upload_composite(&fake, "k", &data, ChecksumAlgorithm::Sha256);
    let client = Arc::new(CorruptDownload::new(&fake, |r| r.part_number == Some(2)));
    let manager = TransferManager::new(client.clone(), config().build().unwrap());
    for out in OUTPUTS {
        client.done.store(false, Ordering::SeqCst);
        let (result, held) = download_to(&manager, "k", out, dir.path(), Default::default());
        let err = result.unwrap_err();
        let TransferError::IntegrityFailed {
            algorithm,
            expected,
            actual,
            part_or_range,
            ..
        } = &err
        else {
            panic!("{out:?}: {err}")
        };
        assert_eq!(algorithm, "SHA256");
        assert_eq!(
            part_or_range, "part 2 of 3, bytes 5242880-10485759",
            "{out:?}"
        );
        let part2 = &data[5 * MIB..10 * MIB];
        assert_eq!(expected, &b64(ChecksumAlgorithm::Sha256, part2));
        assert_ne!(actual, expected);
        if let Out::Path = out {
            assert!(held.is_none(), "no file at the destination");
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
    manager.shutdown(false, "");
}

#[test]
fn parts_of_unequal_size_are_placed_where_each_response_says() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let data = random_bytes(12 * MIB + 123, 22);
    // 5 MiB + 7, 7 MiB - 7, 123 bytes: not the equal parts a planner would infer.
    let (a, rest) = data.split_at(5 * MIB + 7);
    let (b, c) = rest.split_at(7 * MIB - 7);
    put_multipart(&fake, "uneven", &[a, b, c], ChecksumAlgorithm::Sha1);
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    for out in OUTPUTS {
        let (result, held) = download_to(&manager, "uneven", out, dir.path(), Default::default());
        let result = result.unwrap_or_else(|e| panic!("{out:?}: {e}"));
        assert_eq!(
            result.validated,
            Validation::PerPart(ChecksumAlgorithm::Sha1)
        );
        assert_eq!(result.parts, 3);
        assert!(held.unwrap() == data, "{out:?}");
    }
    manager.shutdown(false, "");
}

#[test]
fn a_single_part_object_keeps_whole_object_validation_and_ranged_gets() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let data = random_bytes(SMALL, 23);
    upload_composite(&fake, "small", &data, ChecksumAlgorithm::Sha256);
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    let (result, held) = download_to(&manager, "small", Out::Path, dir.path(), Default::default());
    assert_eq!(
        result.unwrap().validated,
        Validation::WholeObject(ChecksumAlgorithm::Sha256)
    );
    assert!(held.unwrap() == data);
    assert_eq!(
        gets(&fake),
        [(None, Some(0))],
        "one ranged GET, no partNumber"
    );
    manager.shutdown(false, "");
}

#[test]
fn when_required_fetches_a_composite_object_by_range_unless_the_caller_asks() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let data = random_bytes(LARGE, 24);
    upload_composite(&fake, "k", &data, ChecksumAlgorithm::Sha256);
    let manager = TransferManager::new(
        Arc::new(fake.clone()),
        config()
            .response_checksum_validation(ChecksumWhen::WhenRequired)
            .build()
            .unwrap(),
    );
    fake.clear_calls();
    let (result, held) = download_to(&manager, "k", Out::Path, dir.path(), Default::default());
    assert_eq!(result.unwrap().validated, Validation::Nothing);
    assert!(held.unwrap() == data);
    assert_eq!(fake.count(Operation::HeadObject), 0);
    assert!(
        gets(&fake).iter().all(|(part, _)| part.is_none()),
        "ranges only"
    );
    // Asked for by the caller, the checksum is checked.
    let args = DownloadArgs::default().checksum_mode(true);
    let (result, held) = download_to(&manager, "k", Out::Stream, dir.path(), args);
    assert_eq!(
        result.unwrap().validated,
        Validation::PerPart(ChecksumAlgorithm::Sha256)
    );
    assert!(held.unwrap() == data);
    manager.shutdown(false, "");
}

#[test]
fn a_part_resumed_in_the_middle_is_still_validated_across_both_responses() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let data = random_bytes(LARGE, 25);
    upload_composite(&fake, "k", &data, ChecksumAlgorithm::Crc32c);
    let cut = 1_000_000u64;
    // Part 1 goes alone first: its body breaks off after `cut` bytes.
    fake.truncate_body(cut, 1);
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    let (result, held) = download_to(&manager, "k", Out::Path, dir.path(), Default::default());
    assert_eq!(
        result.unwrap().validated,
        Validation::PerPart(ChecksumAlgorithm::Crc32c)
    );
    assert!(held.unwrap() == data);
    let sent = gets(&fake);
    assert_eq!(sent[..2], [(Some(1), None), (None, Some(cut))], "{sent:?}");
    manager.shutdown(false, "");

    // A byte flipped in the resumed (ranged) response is caught against the checksum
    // the first response carried.
    let client = Arc::new(CorruptDownload::at_range(&fake, cut));
    fake.truncate_body(cut, 1);
    let manager = TransferManager::new(client, config().build().unwrap());
    let again = tempfile::tempdir().unwrap();
    let (result, held) = download_to(&manager, "k", Out::Path, again.path(), Default::default());
    let err = result.unwrap_err();
    let TransferError::IntegrityFailed { part_or_range, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(part_or_range, "part 1 of 3, bytes 0-5242879");
    assert!(held.is_none());
    let left: Vec<_> = std::fs::read_dir(again.path()).unwrap().collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
    manager.shutdown(false, "");
}

/// Changes a GET's response headers before the engine sees them.
#[test]
fn parts_that_do_not_make_up_the_object_fail_the_download_and_leave_no_file() {
    let fake = fake();
    let data = random_bytes(LARGE, 26);
    upload_composite(&fake, "k", &data, ChecksumAlgorithm::Sha256);
    let cases: [(Box<HeadRewrite>, &str); 2] = [
        (
            Box::new(|_, head| head.parts_count = head.parts_count.map(|n| n + 1)),
            "the object has 4 parts, not the 3 its checksum names",
        ),
        (
            // Part 3 claims to start one byte early: its bytes and checksum are right,
            // but the parts no longer lie end to end.
            Box::new(|r, head| {
                if r.part_number == Some(3)
                    && let Some(cr) = head.content_range.as_mut()
                {
                    cr.start -= 1;
                    cr.end -= 1;
                }
            }),
            "part 3 of 3 starts at byte 10485759, not 10485760 where part 2 ended",
        ),
    ];
    for (rewrite, reason) in cases {
        let client = Arc::new(Misanswer::heads(Arc::new(fake.clone()), rewrite));
        let manager = TransferManager::new(client, config().build().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let (result, held) = download_to(&manager, "k", Out::Path, dir.path(), Default::default());
        let err = result.unwrap_err();
        let TransferError::S3DownloadFailed { reason: got, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(got, reason);
        assert!(held.is_none());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "no temporary file left: {left:?}");
        manager.shutdown(false, "");
    }
}

#[test]
fn a_store_without_part_checksums_has_composite_objects_checked_from_the_bytes() {
    // SeaweedFS keeps a composite value but returns no checksum on a partNumber GET:
    // the parts, fetched by number, give their checksums from their bytes, and those
    // make up the composite value to compare.
    let fake = fake();
    let data = random_bytes(LARGE, 27);
    upload_composite(&fake, "k", &data, ChecksumAlgorithm::Sha256);
    let no_part_checksums = |inner: Arc<dyn S3Api>| {
        Arc::new(Misanswer::heads(
            inner,
            Box::new(|_, head| head.checksums = Default::default()),
        ))
    };
    let manager = TransferManager::new(
        no_part_checksums(Arc::new(fake.clone())),
        config().build().unwrap(),
    );
    for out in OUTPUTS {
        let dir = tempfile::tempdir().unwrap();
        let (result, held) = download_to(&manager, "k", out, dir.path(), Default::default());
        let output = result.unwrap();
        assert_eq!(
            output.validated,
            Validation::PerPart(ChecksumAlgorithm::Sha256)
        );
        let bytes = held.unwrap();
        assert!(bytes == data, "{out:?}: bytes differ");
    }
    manager.shutdown(false, "");

    // One byte of part 2 flipped on the way: the composite of the parts' bytes is not
    // the stored value, and no file is left.
    let corrupt = CorruptDownload::new(&fake, |r| r.part_number == Some(2));
    let manager = TransferManager::new(
        no_part_checksums(Arc::new(corrupt)),
        config().build().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (result, held) = download_to(&manager, "k", Out::Path, dir.path(), Default::default());
    match result.unwrap_err() {
        TransferError::IntegrityFailed { part_or_range, .. } => assert_eq!(
            part_or_range,
            "composite of the 3 part checksums of the bytes received"
        ),
        other => panic!("expected IntegrityFailed, got {other}"),
    }
    assert!(held.is_none());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
    manager.shutdown(false, "");
}

#[test]
fn a_part_without_the_checksum_part_one_had_fails_the_download() {
    let fake = fake();
    let data = random_bytes(LARGE, 28);
    upload_composite(&fake, "k", &data, ChecksumAlgorithm::Sha256);
    let client = Arc::new(Misanswer::heads(
        Arc::new(fake.clone()),
        Box::new(|r, head| {
            if r.part_number == Some(2) {
                head.checksums = Default::default();
            }
        }),
    ));
    let manager = TransferManager::new(client, config().build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let (result, held) = download_to(&manager, "k", Out::Path, dir.path(), Default::default());
    let err = result.unwrap_err();
    let TransferError::S3DownloadFailed { reason, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        reason,
        "part 2 of 3 came back without its SHA256 checksum, which part 1 had"
    );
    assert!(held.is_none());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
    manager.shutdown(false, "");
}

/// The rusoto backend against s3s-fs, a store with partial checksum support, with the
/// default config (CRC32 sent on every upload, validation asked on every download):
/// transfers work and say what was actually validated.
#[cfg(feature = "rusoto")]
#[test]
fn rusoto_against_s3s_fs_round_trips_with_the_default_checksums() {
    let server = common::s3s_server::LocalS3::shared();
    let bucket = common::unique_bucket("checksums");
    server.create_bucket(&bucket);
    let manager = TransferManager::new(server.client(), config().build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    // s3s-fs 0.14 checks and keeps a PutObject's CRC32 and returns it on GET; it keeps
    // no checksum for a multipart upload, so that download has nothing to compare.
    let crc32 = Validation::WholeObject(ChecksumAlgorithm::Crc32);
    for (key, size, downloaded) in [
        ("single", SMALL, crc32),
        ("multi", LARGE, Validation::Nothing),
    ] {
        let data = random_bytes(size, 14);
        let up = manager
            .upload(
                UploadSource::seekable(Cursor::new(data.clone())),
                &bucket,
                key,
                UploadArgs::default(),
                &[],
            )
            .unwrap()
            .result()
            .unwrap();
        assert_eq!(up.validated, crc32, "{key}");
        let dest = dir.path().join(key);
        let down = manager
            .download(
                &bucket,
                key,
                DownloadTarget::path(&dest),
                DownloadArgs::default(),
                &[],
            )
            .unwrap()
            .result()
            .unwrap();
        assert_eq!(down.validated, downloaded, "{key}");
        assert_eq!(std::fs::read(&dest).unwrap(), data);
    }
    manager.shutdown(false, "");
}

/// The rusoto backend against SeaweedFS, a store that verifies body checksums, keeps a
/// single PUT's value and the full-object CRC of a multipart upload and returns them on
/// HEAD and GET; and, through the fault proxy, bytes damaged in flight.
#[cfg(feature = "rusoto")]
mod seaweedfs {
    use std::sync::Arc;

    use s3transfer::checksum::{ALL, checksum};
    use s3transfer::client::*;
    use s3transfer::{ChecksumAlgorithm, ChecksumType, S3Error, S3ErrorKind};
    use s3transfer::{
        CopyArgs, CopySource, RusotoS3, TransferError, TransferManager, TransferOutput, UploadArgs,
        Validation,
    };

    use super::common::fault_proxy::{Fault, FaultProxy, Match, Rule};
    use super::common::seaweed::SeaweedFs;
    use super::common::{random_bytes, unique_bucket};
    use super::{LARGE, MIB};

    /// 1 MiB: one PutObject, one GET.
    const SINGLE: usize = MIB;

    fn client(endpoint: &str) -> Arc<RusotoS3> {
        let server = SeaweedFs::shared();
        Arc::new(
            RusotoS3::builder()
                .endpoint(endpoint)
                .region(server.region())
                .static_credentials(server.access_key(), server.secret_key())
                .build()
                .unwrap(),
        )
    }

    /// A manager using `algorithm`, talking to `endpoint` (SeaweedFS or a proxy in
    /// front of it), and a fresh bucket.
    fn manager(endpoint: &str, algorithm: ChecksumAlgorithm) -> (TransferManager, String) {
        let bucket = unique_bucket("cksum");
        SeaweedFs::shared().create_bucket(&bucket);
        let config = super::config()
            .checksum_algorithm(algorithm)
            .build()
            .unwrap();
        (TransferManager::new(client(endpoint), config), bucket)
    }

    fn upload(
        m: &TransferManager,
        bucket: &str,
        key: &str,
        data: &[u8],
    ) -> Result<TransferOutput, TransferError> {
        super::upload_to(m, bucket, key, data, UploadArgs::default())
    }

    fn head(m: &TransferManager, bucket: &str, key: &str) -> Result<HeadObjectOutput, S3Error> {
        let mut h = HeadObjectRequest::default();
        h.bucket = bucket.into();
        h.key = key.into();
        h.checksum_mode = true;
        m.client().head_object(&h)
    }

    #[test]
    fn every_algorithm_round_trips_single_and_multipart_and_says_what_was_validated() {
        let server = SeaweedFs::shared();
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        for (i, algorithm) in ALL.into_iter().enumerate() {
            let (m, bucket) = manager(&server.endpoint(), algorithm);
            for (key, size) in [("single", SINGLE), ("multi", LARGE)] {
                let data = random_bytes(size, 30 + i as u64);
                let up = upload(&m, &bucket, key, &data).unwrap();
                let dest = dir.path().join(format!("{}-{key}", algorithm.as_str()));
                let down = super::download_from(&m, &bucket, key, &dest).unwrap();
                assert_eq!(std::fs::read(&dest).unwrap(), data);
                seen.push((algorithm, key, up.validated, down.validated));
            }
            m.shutdown(false, "");
        }
        let expected: Vec<_> = ALL
            .into_iter()
            .flat_map(|a| {
                // SeaweedFS keeps a single PUT's value and a multipart upload's
                // full-object CRC. A multipart SHA cannot be combined: each part is
                // checked on its own on upload; on download the parts, fetched by
                // number, give the part checksums whose composite is the stored value
                // (SeaweedFS returns none per part, so they are computed).
                let multi = if a.is_crc() {
                    (Validation::WholeObject(a), Validation::WholeObject(a))
                } else {
                    (Validation::PerPart(a), Validation::PerPart(a))
                };
                let whole = Validation::WholeObject(a);
                [(a, "single", whole, whole), (a, "multi", multi.0, multi.1)]
            })
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_store_reports_back_the_checksums_we_computed() {
        let server = SeaweedFs::shared();
        for algorithm in ALL.into_iter().filter(|a| a.is_crc()) {
            let (m, bucket) = manager(&server.endpoint(), algorithm);
            for (key, size) in [("single", SINGLE), ("multi", LARGE)] {
                let data = random_bytes(size, 40);
                upload(&m, &bucket, key, &data).unwrap();
                let stored = head(&m, &bucket, key).unwrap().checksums;
                let ours = checksum(algorithm, &data).to_base64();
                assert_eq!(
                    stored.get(algorithm),
                    Some(ours.as_str()),
                    "{algorithm:?} {key}"
                );
                if size == LARGE {
                    assert_eq!(stored.checksum_type, Some(ChecksumType::FullObject));
                }
            }
            m.shutdown(false, "");
        }
    }

    #[test]
    fn a_multipart_copy_with_a_named_algorithm_gets_that_algorithm_composite_checksum() {
        let server = SeaweedFs::shared();
        let (m, bucket) = manager(&server.endpoint(), ChecksumAlgorithm::Crc32);
        let data = random_bytes(LARGE, 45);
        upload(&m, &bucket, "src", &data).unwrap();
        let mut args = CopyArgs::default();
        args.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
        let out = m
            .copy(CopySource::new(&bucket, "src"), &bucket, "dst", args, &[])
            .unwrap()
            .result()
            .unwrap();
        assert_eq!(out.parts, 3);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dst");
        super::download_from(&m, &bucket, "dst", &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        // The algorithm reached Create: the store checksummed each copied part with
        // it and keeps the composite, a CRC32C of the parts' CRC32Cs.
        let parts: Vec<u8> = data
            .chunks(5 * MIB)
            .flat_map(|p| {
                let crc = checksum(ChecksumAlgorithm::Crc32c, p).crc().unwrap();
                (crc as u32).to_be_bytes()
            })
            .collect();
        let composite = format!(
            "{}-3",
            checksum(ChecksumAlgorithm::Crc32c, &parts).to_base64()
        );
        let stored = head(&m, &bucket, "dst").unwrap().checksums;
        assert_eq!(stored.crc32c, Some(composite));
        assert_eq!(stored.checksum_type, Some(ChecksumType::Composite));
        m.shutdown(false, "");
    }

    /// Nothing of `key` is left: no object, no open multipart upload.
    fn assert_nothing_stored(m: &TransferManager, bucket: &str, key: &str) {
        let open: Vec<_> = SeaweedFs::shared()
            .list_multipart_uploads(bucket)
            .into_iter()
            .filter(|(k, _)| k == key)
            .collect();
        assert!(open.is_empty(), "multipart uploads left open: {open:?}");
        let err = head(m, bucket, key).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::NotFound, "no object was created");
    }

    fn assert_bad_digest(err: &TransferError) {
        let s3 = err
            .s3_error()
            .unwrap_or_else(|| panic!("not an S3 error: {err}"));
        assert_eq!(s3.code.as_deref(), Some("BadDigest"), "{err}");
    }

    #[test]
    fn a_body_byte_corrupted_on_the_way_up_is_rejected_and_leaves_nothing() {
        let server = SeaweedFs::shared();
        let proxy = FaultProxy::start(&server.endpoint());
        let (m, bucket) = manager(&proxy.endpoint(), ChecksumAlgorithm::Crc32);
        // Every attempt is damaged, so a retry cannot hide the rejection.
        let put =
            proxy.add(Rule::new(Match::put_object(), Fault::CorruptRequestBody(100)).times(9));
        let err = upload(&m, &bucket, "single", &random_bytes(SINGLE, 50)).unwrap_err();
        assert_bad_digest(&err);
        assert!(proxy.fired(put) >= 1);
        assert_nothing_stored(&m, &bucket, "single");

        let part = proxy.add(
            Rule::new(
                Match::upload_part().target_contains("partNumber=2&"),
                Fault::CorruptRequestBody(MIB),
            )
            .times(9),
        );
        let err = upload(&m, &bucket, "multi", &random_bytes(LARGE, 51)).unwrap_err();
        assert_bad_digest(&err);
        assert!(proxy.fired(part) >= 1);
        assert_nothing_stored(&m, &bucket, "multi");
        m.shutdown(false, "");
    }

    #[test]
    fn a_body_byte_corrupted_on_the_way_down_fails_the_download_and_leaves_no_file() {
        let server = SeaweedFs::shared();
        let proxy = FaultProxy::start(&server.endpoint());
        let (m, bucket) = manager(&proxy.endpoint(), ChecksumAlgorithm::Crc32);
        let dir = tempfile::tempdir().unwrap();
        for (key, size) in [("single", SINGLE), ("multi", LARGE)] {
            let data = random_bytes(size, 52);
            upload(&m, &bucket, key, &data).unwrap();
            // One range of the download is damaged; the length is not.
            let rule = proxy.add(Rule::new(
                Match::get_object(),
                Fault::CorruptResponseBody(12_345),
            ));
            let dest = dir.path().join(key);
            let err = super::download_from(&m, &bucket, key, &dest).unwrap_err();
            assert!(
                matches!(err, TransferError::IntegrityFailed { .. }),
                "{key}: {err}"
            );
            assert_eq!(proxy.fired(rule), 1);
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert!(left.is_empty(), "{key}: files left: {left:?}");
        }
        m.shutdown(false, "");
    }
}

#[test]
fn an_object_without_a_stored_checksum_is_checked_against_its_md5_etag() {
    let fake = fake();
    let data = random_bytes(SMALL * 7, 41);
    // Stored as another client would without checksums: only its ETag, the MD5.
    fake.put_object_bytes("b", "plain", data.clone());
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    for out in OUTPUTS {
        let dir = tempfile::tempdir().unwrap();
        let (result, held) = download_to(&manager, "plain", out, dir.path(), Default::default());
        assert_eq!(result.unwrap().validated, Validation::Etag, "{out:?}");
        assert!(held.unwrap() == data, "{out:?}: bytes differ");
    }
    manager.shutdown(false, "");

    // One byte flipped on the way: the MD5 is not the ETag, and no file is left.
    let corrupt = CorruptDownload::new(&fake, |_| true);
    let manager = TransferManager::new(Arc::new(corrupt), config().build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let (result, held) = download_to(&manager, "plain", Out::Path, dir.path(), Default::default());
    match result.unwrap_err() {
        TransferError::IntegrityFailed { algorithm, .. } => assert_eq!(algorithm, "MD5"),
        other => panic!("expected IntegrityFailed, got {other}"),
    }
    assert!(held.is_none());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    manager.shutdown(false, "");
}

#[test]
fn an_md5_etag_checks_an_object_that_comes_in_several_gets_where_its_bytes_can_be_hashed_in_order()
{
    let fake = fake();
    let data = random_bytes(LARGE, 42);
    fake.put_object_bytes("b", "large-plain", data.clone());
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    for out in OUTPUTS {
        let dir = tempfile::tempdir().unwrap();
        let (result, held) =
            download_to(&manager, "large-plain", out, dir.path(), Default::default());
        let output = result.unwrap();
        assert!(output.parts > 1, "{out:?}: came in one GET");
        // A file is read back, a stream hashed as it writes in order; a caller's
        // seekable writer can be neither, so nothing is claimed for it.
        let expected = match out {
            Out::Seekable => Validation::Nothing,
            Out::Path | Out::Stream => Validation::Etag,
        };
        assert_eq!(output.validated, expected, "{out:?}");
        assert!(held.unwrap() == data, "{out:?}: bytes differ");
    }
    manager.shutdown(false, "");

    // One byte flipped in the second range: the MD5 is not the ETag, and no file is
    // left.
    let corrupt = || CorruptDownload::at_range(&fake, 5 * MIB as u64);
    for out in [Out::Path, Out::Stream] {
        let manager = TransferManager::new(Arc::new(corrupt()), config().build().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let (result, held) =
            download_to(&manager, "large-plain", out, dir.path(), Default::default());
        match result.unwrap_err() {
            TransferError::IntegrityFailed { algorithm, .. } => assert_eq!(algorithm, "MD5"),
            other => panic!("{out:?}: expected IntegrityFailed, got {other}"),
        }
        if let Out::Path = out {
            assert!(held.is_none());
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
        manager.shutdown(false, "");
    }
}
