//! Transfers through a fault-injecting proxy in front of SeaweedFS (a real store that
//! lists open multipart uploads): within the retry budget every transfer succeeds with
//! identical bytes; past it, it fails with the right typed error and leaves nothing
//! behind (no object, no open multipart upload, no file or temporary file).

mod common;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use rusoto_s3::S3 as _;

use common::fault_proxy::{Fault, FaultProxy, Match, Rule};
use common::seaweed::SeaweedFs;
use common::{random_bytes, unique_bucket};
use s3transfer::S3ErrorKind;
use s3transfer::{
    CopyArgs, CopySource, DownloadArgs, DownloadTarget, ErrorKind, RetryConfig, RusotoS3,
    TransferConfig, TransferError, TransferManager, UploadArgs, UploadSource,
};

const MIB: usize = 1024 * 1024;

struct Env {
    proxy: FaultProxy,
    manager: TransferManager,
    bucket: String,
}

/// A manager talking to SeaweedFS through a fresh proxy. Backoff is shortened so the
/// retries cost milliseconds; 5 attempts per request (the default) and 8 per download
/// range.
fn env() -> Env {
    let server = SeaweedFs::shared();
    let bucket = unique_bucket("faults");
    server.create_bucket(&bucket);
    let proxy = FaultProxy::start(&server.endpoint());
    let client = RusotoS3::builder()
        .endpoint(proxy.endpoint())
        .region(server.region())
        .static_credentials(server.access_key(), server.secret_key())
        // Short enough to keep the stall tests quick, long enough that a busy 2-core
        // machine running ten of these tests at once does not time out by accident.
        .request_timeout(Duration::from_secs(3))
        .body_read_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let retry = RetryConfig::builder()
        .transient_backoff(Duration::from_millis(5))
        .throttle_backoff(Duration::from_millis(10))
        .build()
        .unwrap();
    let config = TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        .max_request_concurrency(4)
        // The default 5 leaves a single spare attempt for the download test's four
        // faults on one range; a spare few keep an accidental timeout from failing it.
        .num_download_attempts(8)
        .retry(retry)
        .build()
        .unwrap();
    Env {
        proxy,
        manager: TransferManager::new(Arc::new(client), config),
        bucket,
    }
}

impl Env {
    fn upload(&self, key: &str, data: &[u8]) -> Result<s3transfer::TransferOutput, TransferError> {
        self.manager
            .upload(
                UploadSource::stream(Cursor::new(data.to_vec())),
                &self.bucket,
                key,
                UploadArgs::default(),
                &[],
            )
            .unwrap()
            .result()
    }

    fn stored(&self, key: &str) -> Vec<u8> {
        SeaweedFs::shared().get_object(&self.bucket, key)
    }

    fn assert_nothing_left(&self, key: &str) {
        let open: Vec<_> = SeaweedFs::shared()
            .list_multipart_uploads(&self.bucket)
            .into_iter()
            .filter(|(k, _)| k == key)
            .collect();
        assert!(open.is_empty(), "multipart uploads left open: {open:?}");
        let mut head = s3transfer::client::HeadObjectRequest::default();
        head.bucket = self.bucket.clone();
        head.key = key.to_owned();
        let err = self.manager.client().head_object(&head).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::NotFound, "no object was created");
    }
}

#[test]
fn multipart_upload_survives_every_fault_within_the_budget() {
    let e = env();
    let create = e.proxy.add(Rule::new(
        Match::create_multipart_upload(),
        Fault::InternalError,
    ));
    // Each fault aimed at one part, so that no part meets more than its retry budget
    // (5 attempts) however the parts interleave: part 1 is throttled twice, part 2
    // stalls once.
    let parts = e.proxy.add(
        Rule::new(
            Match::upload_part().target_contains("partNumber=1&"),
            Fault::SlowDown,
        )
        .times(2),
    );
    let reset = e.proxy.add(Rule::new(
        Match::upload_part().target_contains("partNumber=2&"),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(5),
        },
    ));
    let complete = e.proxy.add(Rule::new(
        Match::complete_multipart_upload(),
        Fault::ErrorIn200,
    ));
    let data = random_bytes(11 * MIB + 5, 1);
    let out = e.upload("mp.bin", &data).unwrap();
    assert_eq!(out.parts, 3);
    for (id, n) in [(create, 1), (parts, 2), (reset, 1), (complete, 1)] {
        assert_eq!(e.proxy.fired(id), n, "every fault was injected");
    }
    assert!(e.stored("mp.bin") == data, "bytes identical");
    assert!(
        SeaweedFs::shared()
            .list_multipart_uploads(&e.bucket)
            .is_empty()
    );
}

#[test]
fn single_put_survives_throttling_within_the_budget() {
    let e = env();
    let rule = e
        .proxy
        .add(Rule::new(Match::put_object(), Fault::SlowDown).times(2));
    let data = random_bytes(100_000, 2);
    let out = e.upload("put.bin", &data).unwrap();
    assert_eq!(e.proxy.fired(rule), 2);
    assert_eq!(
        out.retries, 2,
        "each throttled attempt is reported as a retry"
    );
    assert!(e.stored("put.bin") == data);
}

#[test]
fn an_error_inside_a_200_to_a_put_or_a_part_is_a_failure_that_is_retried_never_a_success() {
    let e = env();
    // S3 documents errors inside a 200 only for Complete and the copies; a proxy or
    // another store may send one for anything, and taking it for success would report
    // an object that was never stored.
    let put = e
        .proxy
        .add(Rule::new(Match::put_object(), Fault::ErrorIn200).times(2));
    let data = random_bytes(100_000, 4);
    let out = e.upload("put-200.bin", &data).unwrap();
    assert_eq!(e.proxy.fired(put), 2);
    assert_eq!(out.retries, 2);
    assert!(e.stored("put-200.bin") == data);

    let part = e.proxy.add(Rule::new(
        Match::upload_part().target_contains("partNumber=2&"),
        Fault::ErrorIn200,
    ));
    let data = random_bytes(11 * MIB, 5);
    e.upload("part-200.bin", &data).unwrap();
    assert_eq!(e.proxy.fired(part), 1);
    assert!(e.stored("part-200.bin") == data);

    // Past the budget: a typed failure and no object.
    e.proxy
        .add(Rule::new(Match::put_object(), Fault::ErrorIn200).times(100));
    let err = e.upload("never.bin", &data[..1000]).unwrap_err();
    e.assert_nothing_left("never.bin");
    assert_eq!(err.kind(), ErrorKind::RetriesExceeded, "{err}");
    assert_eq!(
        err.s3_error().and_then(|s| s.code.as_deref()),
        Some("InternalError")
    );
}

#[test]
fn uploads_lost_create_answers_left_open_are_aborted_and_another_writers_is_not() {
    let e = env();
    let server = SeaweedFs::shared();
    let key = "lost-create.bin";
    // Another writer's upload of the same key, begun well before ours: not ours to
    // abort. (The wait separates the store's whole-second dates; it checks nothing.)
    let other = server
        .block_on(server.client().create_multipart_upload(
            rusoto_s3::CreateMultipartUploadRequest {
                bucket: e.bucket.clone(),
                key: key.to_owned(),
                ..Default::default()
            },
        ))
        .unwrap()
        .upload_id
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // The store makes an upload, then the connection dies before its id reaches us:
    // the retry makes a second one, and the first would stay open, unknown, billed.
    let lost = e
        .proxy
        .add(Rule::new(Match::create_multipart_upload(), Fault::ResetAfter(0)).after_upstream());
    let data = random_bytes(6 * MIB, 14);
    e.upload(key, &data).unwrap();
    assert_eq!(e.proxy.fired(lost), 1);
    assert!(e.stored(key) == data);
    let open: Vec<_> = server
        .list_multipart_uploads(&e.bucket)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(
        open,
        [other.clone()],
        "only the other writer's upload is open"
    );
    let aborts = e
        .proxy
        .exchanges()
        .into_iter()
        .filter(|x| x.method == "DELETE" && x.target.contains("uploadId="))
        .count();
    assert_eq!(aborts, 1, "the lost one was aborted, nothing else");

    // Every attempt makes an upload and loses its answer: the transfer fails, and the
    // uploads it made are aborted all the same.
    let every = e.proxy.add(
        Rule::new(Match::create_multipart_upload(), Fault::ResetAfter(0))
            .after_upstream()
            .times(100),
    );
    let err = e.upload("lost-creates.bin", &data).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetriesExceeded, "{err}");
    assert_eq!(e.proxy.fired(every), 5);
    e.assert_nothing_left("lost-creates.bin");
    server
        .block_on(
            server
                .client()
                .abort_multipart_upload(rusoto_s3::AbortMultipartUploadRequest {
                    bucket: e.bucket.clone(),
                    key: key.to_owned(),
                    upload_id: other,
                    ..Default::default()
                }),
        )
        .unwrap();
}

#[test]
fn an_error_inside_a_200_to_a_listing_is_an_error_never_an_empty_page() {
    // An empty page where the keys are would make a sync with --delete take the source
    // for empty.
    let e = env();
    for key in ["l/a", "l/b", "l/c"] {
        seed(&e, key, 10, 17);
    }
    let client = e.manager.client();
    let mut list = s3transfer::client::ListObjectsV2Request::default();
    list.bucket = e.bucket.clone();
    list.prefix = Some("l/".into());
    let page = e.proxy.add(Rule::new(
        Match::get_object().target_contains("list-type=2"),
        Fault::ErrorIn200,
    ));
    let err = client.list_objects_v2(&list).unwrap_err();
    assert_eq!(e.proxy.fired(page), 1);
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.code.as_deref(), Some("InternalError"), "{err}");
    let keys: Vec<_> = client
        .list_objects_v2(&list)
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, ["l/a", "l/b", "l/c"]);

    let mut uploads = s3transfer::client::ListMultipartUploadsRequest::default();
    uploads.bucket = e.bucket.clone();
    let rule = e.proxy.add(Rule::new(
        Match::get_object().target_contains("uploads"),
        Fault::ErrorIn200,
    ));
    let err = client.list_multipart_uploads(&uploads).unwrap_err();
    assert_eq!(e.proxy.fired(rule), 1);
    assert!(err.is_retryable(), "{err}");
}

#[test]
fn a_part_failing_past_the_budget_fails_typed_and_aborts() {
    let e = env();
    e.proxy
        .add(Rule::new(Match::upload_part(), Fault::InternalError).times(100));
    let err = e
        .upload("doomed.bin", &random_bytes(11 * MIB, 3))
        .unwrap_err();
    match &err {
        TransferError::RetriesExceeded {
            attempts,
            last_error,
        } => {
            assert_eq!(*attempts, 5);
            assert_eq!(last_error.kind(), S3ErrorKind::Transient);
            assert_eq!(last_error.status, Some(500));
        }
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    e.assert_nothing_left("doomed.bin");
}

#[test]
fn a_put_the_store_did_whose_retries_then_ran_out_is_recognised_as_done_and_another_object_is_not()
{
    let e = env();
    // Throttled three times, then stored twice with the answers lost (a 500 after the
    // store acted): the attempts run out, yet the object is ours.
    e.proxy
        .add(Rule::new(Match::put_object(), Fault::SlowDown).times(3));
    let lost = e.proxy.add(
        Rule::new(Match::put_object(), Fault::InternalError)
            .after_upstream()
            .times(2),
    );
    let data = random_bytes(100_000, 15);
    e.upload("lost-put.bin", &data).unwrap();
    assert_eq!(e.proxy.fired(lost), 2);
    assert!(e.stored("lost-put.bin") == data);

    // Another writer's object of the same size where ours failed to land: not ours.
    let theirs = seed(&e, "their-put.bin", 100_000, 16);
    e.proxy
        .add(Rule::new(Match::put_object(), Fault::InternalError).times(100));
    let err = e.upload("their-put.bin", &data).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetriesExceeded, "{err}");
    assert!(e.stored("their-put.bin") == theirs);
}

#[test]
fn a_put_throttled_past_the_budget_fails_typed() {
    let e = env();
    e.proxy
        .add(Rule::new(Match::put_object(), Fault::SlowDown).times(100));
    let err = e
        .upload("throttled.bin", &random_bytes(1000, 4))
        .unwrap_err();
    match &err {
        TransferError::RetriesExceeded { last_error, .. } => {
            assert_eq!(last_error.kind(), S3ErrorKind::Throttled)
        }
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    e.assert_nothing_left("throttled.bin");
}

#[test]
fn a_complete_failing_past_the_budget_aborts_the_upload() {
    let e = env();
    e.proxy
        .add(Rule::new(Match::complete_multipart_upload(), Fault::ErrorIn200).times(100));
    let err = e
        .upload("incomplete.bin", &random_bytes(6 * MIB, 5))
        .unwrap_err();
    assert!(
        matches!(err, TransferError::RetriesExceeded { .. }),
        "{err}"
    );
    e.assert_nothing_left("incomplete.bin");
}

fn seed(e: &Env, key: &str, len: usize, seed: u64) -> Vec<u8> {
    let data = random_bytes(len, seed);
    SeaweedFs::shared().put_object(&e.bucket, key, &data);
    data
}

#[test]
fn downloads_resume_through_resets_short_bodies_and_stalls_for_every_output() {
    let e = env();
    let data = seed(&e, "dl.bin", 11 * MIB + 9, 6);
    let dir = tempfile::tempdir().unwrap();
    for output in ["path", "seekable", "stream"] {
        let resets = e
            .proxy
            .add(Rule::new(Match::get_object(), Fault::ResetAfter(100_000)));
        let short = e
            .proxy
            .add(Rule::new(Match::get_object(), Fault::ShortBody(70_000)));
        let stall = e.proxy.add(Rule::new(
            Match::get_object(),
            Fault::Stall {
                after_body_bytes: Some(30_000),
                duration: Duration::from_secs(5),
            },
        ));
        let slow = e.proxy.add(Rule::new(Match::get_object(), Fault::SlowDown));
        let path = dir.path().join(output);
        let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let target = match output {
            "path" => DownloadTarget::path(&path),
            "seekable" => DownloadTarget::seekable(std::fs::File::create(&path).unwrap()),
            _ => DownloadTarget::stream(Collect(sink.clone())),
        };
        e.manager
            .download(&e.bucket, "dl.bin", target, DownloadArgs::default(), &[])
            .unwrap()
            .result()
            .unwrap_or_else(|err| panic!("{output}: {err}"));
        for id in [resets, short, stall, slow] {
            assert_eq!(e.proxy.fired(id), 1, "{output}: every fault was injected");
        }
        let got = if output == "stream" {
            sink.lock().clone()
        } else {
            std::fs::read(&path).unwrap()
        };
        assert!(got == data, "{output}: bytes identical");
    }
}

struct Collect(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Collect {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_page_answered_in_place_of_the_object_is_never_taken_for_it() {
    // A 200 whose body is an error document (or a captive portal's page) where the
    // HEAD and the GET of an empty object should be: the answers carry no ETag, so they
    // are retried, and the download gets the object (empty), not the page.
    let e = env();
    seed(&e, "empty.bin", 0, 8);
    let head = e
        .proxy
        .add(Rule::new(Match::head_object(), Fault::ErrorIn200));
    let get = e
        .proxy
        .add(Rule::new(Match::get_object(), Fault::ErrorIn200));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let download = |dest: &std::path::Path| {
        e.manager
            .download(&e.bucket, "empty.bin", dest, DownloadArgs::default(), &[])
            .unwrap()
            .result()
    };
    let out = download(&dest).unwrap();
    assert_eq!((e.proxy.fired(head), e.proxy.fired(get)), (1, 1));
    assert_eq!(out.bytes, 0);
    assert_eq!(std::fs::read(&dest).unwrap(), b"");

    // Every answer a page: a typed failure, and no file.
    e.proxy
        .add(Rule::new(Match::get_object(), Fault::ErrorIn200).times(100));
    e.proxy
        .add(Rule::new(Match::head_object(), Fault::ErrorIn200).times(100));
    let dest = dir.path().join("never");
    let err = download(&dest).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetriesExceeded, "{err}");
    assert!(err.to_string().contains("no ETag"), "{err}");
    assert!(!dest.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the first download's file: {left:?}");
}

#[test]
fn a_download_failing_past_the_budget_leaves_no_file() {
    let e = env();
    seed(&e, "broken.bin", 11 * MIB, 7);
    e.proxy
        .add(Rule::new(Match::get_object(), Fault::ResetAfter(1000)).times(1000));
    let dir = tempfile::tempdir().unwrap();
    let err = e
        .manager
        .download(
            &e.bucket,
            "broken.bin",
            dir.path().join("out").as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    match &err {
        TransferError::RetriesExceeded {
            attempts,
            last_error,
        } => {
            assert_eq!(*attempts, 8, "num_download_attempts");
            assert_eq!(last_error.kind(), S3ErrorKind::TruncatedBody);
        }
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no file, temporary or final: {left:?}");
}

#[test]
fn a_copy_survives_an_error_inside_a_200() {
    let e = env();
    let data = seed(&e, "copy-src", 1000, 8);
    let rule = e
        .proxy
        .add(Rule::new(Match::copy_object(), Fault::ErrorIn200));
    e.manager
        .copy(
            CopySource::new(&e.bucket, "copy-src"),
            &e.bucket,
            "copy-dst",
            CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(e.proxy.fired(rule), 1);
    assert!(e.stored("copy-dst") == data);
}

#[test]
fn a_complete_whose_answer_is_lost_is_recognised_as_done() {
    let e = env();
    // The store completes the upload, then the connection dies before the answer: the
    // retry finds no such upload, and the object shows it was completed.
    let lost = e.proxy.add(Rule::new(
        Match::complete_multipart_upload(),
        Fault::ResetAfter(0),
    ));
    let data = random_bytes(6 * MIB, 9);
    let out = e.upload("lost-answer.bin", &data).unwrap();
    assert_eq!(e.proxy.fired(lost), 1);
    assert_eq!(out.parts, 2);
    assert!(e.stored("lost-answer.bin") == data);
}

#[test]
fn a_complete_done_by_the_store_is_recognised_when_its_retries_fail_otherwise_than_no_such_upload()
{
    let e = env();
    // The first Complete is done by the store but answered 503 on the way back; the
    // retry reaches the store with its last byte damaged, which the store refuses as
    // MalformedXML before it looks for the upload (SeaweedFS does): not NoSuchUpload,
    // yet the object is ours.
    let lost = e
        .proxy
        .add(Rule::new(Match::complete_multipart_upload(), Fault::SlowDown).after_upstream());
    let damaged = e.proxy.add(Rule::new(
        Match::complete_multipart_upload(),
        Fault::CorruptRequestBody(1 << 20),
    ));
    let data = random_bytes(6 * MIB, 12);
    let out = e.upload("refused-retry.bin", &data).unwrap();
    assert_eq!((e.proxy.fired(lost), e.proxy.fired(damaged)), (1, 1));
    let statuses: Vec<_> = e
        .proxy
        .exchanges()
        .into_iter()
        .filter(|x| x.target.contains("refused-retry.bin?uploadId="))
        .filter(|x| x.method == "POST")
        .map(|x| x.upstream_status)
        .collect();
    assert_eq!(statuses, [Some(200), Some(400)], "the store's answers");
    assert_eq!(out.parts, 2);
    assert!(e.stored("refused-retry.bin") == data);

    // Done by the store, then every retry throttled until the attempts run out.
    e.proxy
        .add(Rule::new(Match::complete_multipart_upload(), Fault::SlowDown).after_upstream());
    let throttled = e
        .proxy
        .add(Rule::new(Match::complete_multipart_upload(), Fault::SlowDown).times(100));
    let data = random_bytes(6 * MIB, 13);
    e.upload("throttled-retry.bin", &data).unwrap();
    assert_eq!(
        e.proxy.fired(throttled),
        4,
        "the other four of five attempts"
    );
    assert!(e.stored("throttled-retry.bin") == data);
}

#[test]
fn a_multipart_copy_whose_complete_answer_is_lost_is_recognised_by_its_etag() {
    let e = env();
    // A copy computes no checksum: the object is known for ours by the ETag the store
    // made from our parts' MD5 ETags, which no other object of that size shares.
    let data = seed(&e, "copy-lost-src", 12 * MIB, 11);
    let lost = e.proxy.add(Rule::new(
        Match::complete_multipart_upload(),
        Fault::ResetAfter(0),
    ));
    let out = e
        .manager
        .copy(
            CopySource::new(&e.bucket, "copy-lost-src"),
            &e.bucket,
            "copy-lost-dst",
            CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .expect("the copy the store completed is reported as done");
    assert_eq!(e.proxy.fired(lost), 1);
    assert_eq!(out.parts, 3);
    assert!(
        out.etag
            .as_deref()
            .is_some_and(|etag| etag.ends_with("-3\""))
    );
    assert!(e.stored("copy-lost-dst") == data);
}

#[test]
fn a_small_download_survives_a_reset_and_a_throttle() {
    let e = env();
    let data = seed(&e, "small.bin", 300_000, 10);
    let reset = e
        .proxy
        .add(Rule::new(Match::get_object(), Fault::ResetAfter(1000)));
    let slow = e.proxy.add(Rule::new(Match::get_object(), Fault::SlowDown));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small");
    e.manager
        .download(
            &e.bucket,
            "small.bin",
            path.as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!((e.proxy.fired(reset), e.proxy.fired(slow)), (1, 1));
    assert!(std::fs::read(&path).unwrap() == data);
}
