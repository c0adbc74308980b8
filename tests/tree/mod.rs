//! Directory operations (`upload_dir`, `download_prefix`, `copy_prefix`, `sync`) on the
//! in-memory fake: filters, key safety, the failure policies, cancel, the sync rules,
//! dry runs, directory markers, and the bounded listing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use s3transfer::client::{ListObjectsV2Output, ListObjectsV2Request, ListedObject};
use s3transfer::testing::{FakeS3, InjectedError, Operation, RecordedCall};
use s3transfer::{
    ErrorKind, FailurePolicy, LISTING_QUEUE_BOUND, ObjectAction, S3Api, TransferConfig,
    TransferError, TransferManager, TreeArgs, TreeLocation, UploadArgs,
};

mod bounded;
mod case_conflict;
mod prefix_ops;

fn setup() -> (FakeS3, Arc<TransferManager>) {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake.create_bucket("c");
    let config = TransferConfig::builder()
        .max_request_concurrency(4)
        .build()
        .unwrap();
    (
        fake.clone(),
        Arc::new(TransferManager::new(Arc::new(fake), config)),
    )
}

/// An old time for local files: the fake's clock starts in 2024, and a file newer
/// than its object would be sent again by a sync.
fn old_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_600_000_000)
}

fn write(root: &Path, relative: &str, data: &[u8]) -> PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    set_time(&path, old_time());
    path
}

fn set_time(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// A tree with nested and empty folders, unicode names and an empty file.
fn sample_tree(root: &Path) {
    write(root, "a.txt", b"alpha");
    write(root, "data/b.json", b"{\"b\":1}");
    write(root, "data/deep/c.bin", &[7u8; 3000]);
    write(root, "ünïcødé/ñ file+plus.txt", b"unicode");
    write(root, "empty.txt", b"");
    std::fs::create_dir_all(root.join("empty-dir/inner")).unwrap();
}

fn mutating(calls: &[RecordedCall]) -> Vec<Operation> {
    calls
        .iter()
        .map(RecordedCall::operation)
        .filter(|op| {
            !matches!(
                op,
                Operation::ListObjectsV2 | Operation::HeadObject | Operation::GetObject
            )
        })
        .collect()
}

/// Every file under `root`, relative, sorted.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

#[test]
fn upload_dir_sends_every_file_with_its_type_and_the_callers_attributes() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let args = TreeArgs::builder()
        .upload_args(
            UploadArgs::default()
                .metadata("team", "data")
                .cache_control("max-age=60"),
        )
        .build()
        .unwrap();
    let handle = manager.upload_dir(dir.path(), "b", "up", args).unwrap();
    let report = handle.wait();
    assert!(report.is_success(), "{:?}", report.failures);
    assert_eq!(report.uploaded, 5);
    // The aggregate progress: every entry planned and finished, every byte moved.
    let progress = handle.progress();
    let bytes = 5 + 7 + 3000 + 7;
    assert_eq!(
        (progress.planned, progress.finished, progress.failed),
        (5, 5, 0)
    );
    assert_eq!(
        (progress.bytes_planned, progress.bytes_transferred),
        (bytes, bytes)
    );
    assert_eq!((progress.in_flight, report.bytes), (0, bytes));
    assert!(handle.is_done());
    assert_eq!(
        fake.keys("b"),
        [
            "up/a.txt",
            "up/data/b.json",
            "up/data/deep/c.bin",
            "up/empty.txt",
            "up/ünïcødé/ñ file+plus.txt"
        ]
    );
    let json = fake.object("b", "up/data/b.json").unwrap();
    assert_eq!(
        json.attributes.content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(json.metadata()["team"], "data");
    assert_eq!(json.attributes.cache_control.as_deref(), Some("max-age=60"));
    let text = fake.object("b", "up/a.txt").unwrap();
    assert_eq!(text.attributes.content_type.as_deref(), Some("text/plain"));
    assert_eq!(fake.object("b", "up/empty.txt").unwrap().bytes(), b"");
    assert_eq!(report.results.len(), 5);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.action == ObjectAction::Upload)
    );
}

#[test]
fn filters_apply_in_order_and_the_last_match_wins() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let only_txt = TreeArgs::builder()
        .exclude("*")
        .include("*.txt")
        .build()
        .unwrap();
    manager
        .upload_dir(dir.path(), "b", "one", only_txt)
        .unwrap()
        .wait();
    let nothing = TreeArgs::builder()
        .include("*.txt")
        .exclude("*")
        .build()
        .unwrap();
    let report = manager
        .upload_dir(dir.path(), "b", "two", nothing)
        .unwrap()
        .wait();
    assert_eq!(report.uploaded, 0);
    // `*` crosses `/`, and the caller's predicate comes after the rules.
    let not_data = TreeArgs::builder()
        .exclude("data/*")
        .filter(|entry| entry.size > 0)
        .build()
        .unwrap();
    manager
        .upload_dir(dir.path(), "b", "three", not_data)
        .unwrap()
        .wait();
    assert_eq!(
        fake.keys("b"),
        [
            "one/a.txt",
            "one/empty.txt",
            "one/ünïcødé/ñ file+plus.txt",
            "three/a.txt",
            "three/ünïcødé/ñ file+plus.txt"
        ]
    );
}

#[test]
fn unsafe_keys_are_refused_by_name_and_the_rest_is_written_inside() {
    let (fake, manager) = setup();
    let bad = [
        "p/a/../inside",
        "p/../x",
        "p/a/../../x",
        "p//abs",
        "p/nul\0x",
        "p/C:x",
        "p/..\\..\\win",
        "p/data/",
        "p/a//b",
        "p/./dot",
    ];
    for key in bad {
        fake.put_object_bytes("b", key, b"evil".to_vec());
    }
    fake.put_object_bytes("b", "p/ok/a.txt", b"fine".to_vec());
    let parent = tempfile::tempdir().unwrap();
    let dest = parent.path().join("dest");
    let report = manager
        .download_prefix("b", "p", &dest, TreeArgs::default())
        .unwrap()
        .wait();
    assert_eq!(report.downloaded, 1, "{:?}", report.failures);
    assert_eq!(report.failed, bad.len() as u64);
    let mut refused: Vec<String> = report
        .failures
        .iter()
        .map(|r| match r.outcome.as_ref().unwrap_err() {
            TransferError::UnsafeKey { key, bucket, .. } => {
                assert_eq!(bucket, "b");
                assert_eq!(r.outcome.as_ref().unwrap_err().kind(), ErrorKind::UnsafeKey);
                key.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    refused.sort();
    let mut expected: Vec<String> = bad.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(refused, expected);
    // Nothing beside the destination, and inside it only the two safe keys.
    let beside: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["dest"]);
    assert_eq!(files_under(&dest), ["ok/a.txt"]);
    // Not one GET was sent for a refused key.
    for call in fake.calls_of(Operation::GetObject) {
        assert!(!bad.contains(&call.key()), "{} was fetched", call.key());
    }
}

#[test]
#[cfg(unix)]
fn a_download_never_writes_through_a_link_in_the_destination() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/link/escaped", b"x".to_vec());
    let outside = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dest.path().join("link")).unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), TreeArgs::default())
        .unwrap()
        .wait();
    assert_eq!(report.failed, 1);
    assert_eq!(report.error().unwrap().kind(), ErrorKind::UnsafeKey);
    assert!(files_under(outside.path()).is_empty());
}

fn fail_gets_of(fake: &FakeS3, keys: &'static [&'static str]) {
    fake.on_call(move |call| match call {
        RecordedCall::GetObject(request) if keys.contains(&request.key.as_str()) => {
            Some(InjectedError::access_denied().to_s3_error(
                Operation::GetObject,
                &request.bucket,
                &request.key,
            ))
        }
        _ => None,
    });
}

#[test]
fn continue_on_failure_reports_each_failure_and_writes_the_rest() {
    let (fake, manager) = setup();
    for i in 0..10 {
        fake.put_object_bytes("b", &format!("p/{i}"), vec![i as u8; 100]);
    }
    fail_gets_of(&fake, &["p/3", "p/7"]);
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), TreeArgs::default())
        .unwrap()
        .wait();
    assert_eq!(report.downloaded, 8);
    assert_eq!(report.failed, 2);
    assert!(report.stopped_by.is_none());
    let mut failed: Vec<_> = report.failures.iter().map(|r| r.relative.clone()).collect();
    failed.sort();
    assert_eq!(failed, ["3", "7"]);
    assert!(
        report
            .failures
            .iter()
            .all(|r| r.outcome.as_ref().unwrap_err().s3_error().is_some())
    );
    assert_eq!(files_under(dest.path()).len(), 8);
}

#[test]
fn stop_on_first_failure_starts_nothing_after_it() {
    let (fake, manager) = setup();
    for i in 0..10 {
        fake.put_object_bytes("b", &format!("p/{i}"), vec![i as u8; 100]);
    }
    fail_gets_of(&fake, &["p/2"]);
    let dest = tempfile::tempdir().unwrap();
    // One transfer at a time, so "after the failure" is well defined.
    let args = TreeArgs::builder()
        .failure_policy(FailurePolicy::StopOnFirst)
        .max_objects_in_flight(1)
        .build()
        .unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), args)
        .unwrap()
        .wait();
    assert_eq!(report.downloaded, 2);
    assert_eq!(report.failed, 1);
    let stopped = report.stopped_by.as_ref().expect("stopped");
    assert!(stopped.s3_error().is_some(), "{stopped}");
    assert_eq!(files_under(dest.path()), ["0", "1"]);
    let fetched: Vec<String> = fake
        .calls_of(Operation::GetObject)
        .iter()
        .map(|c| c.key().to_owned())
        .collect();
    assert!(!fetched.iter().any(|k| k.as_str() > "p/2"), "{fetched:?}");
}

#[test]
fn cancel_stops_the_tree_and_leaves_no_partial_file_or_upload() {
    let (fake, manager) = setup();
    let fake = fake.with_min_part_size(1024);
    for i in 0..6 {
        fake.put_object_bytes("b", &format!("p/{i}"), vec![1u8; 1000]);
    }
    // The GET of p/3 waits until the test has cancelled.
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let started_tx = Mutex::new(started_tx);
    fake.on_call(move |call| {
        if let RecordedCall::GetObject(request) = call
            && request.key == "p/3"
        {
            let _ = started_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv();
        }
        None
    });
    let dest = tempfile::tempdir().unwrap();
    let args = TreeArgs::builder()
        .max_objects_in_flight(1)
        .build()
        .unwrap();
    let handle = manager
        .download_prefix("b", "p", dest.path(), args)
        .unwrap();
    started_rx.recv().unwrap();
    handle.cancel();
    release_tx.send(()).unwrap();
    let report = handle.wait();
    assert!(
        report
            .stopped_by
            .as_ref()
            .is_some_and(TransferError::is_cancelled),
        "{:?}",
        report.stopped_by
    );
    assert_eq!(files_under(dest.path()), ["0", "1", "2"]);
    assert!(fake.list_multipart_uploads("b").is_empty());

    // An upload cancelled in the middle of a multipart file aborts it.
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "big", &vec![3u8; 12 * 1024 * 1024]);
    let (fake2, manager2) = setup();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (tx, go_rx) = (Mutex::new(tx), Mutex::new(go_rx));
    fake2.on_call(move |call| {
        if call.operation() == Operation::UploadPart {
            let _ = tx.lock().unwrap().send(());
            let _ = go_rx.lock().unwrap().recv_timeout(Duration::from_secs(5));
        }
        None
    });
    let handle = manager2
        .upload_dir(src.path(), "b", "", TreeArgs::default())
        .unwrap();
    rx.recv().unwrap();
    handle.cancel();
    drop(go_tx);
    let report = handle.wait();
    assert!(
        report
            .stopped_by
            .as_ref()
            .is_some_and(TransferError::is_cancelled)
    );
    assert!(fake2.keys("b").is_empty());
    assert!(fake2.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_second_sync_moves_nothing_both_ways() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let up = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "s"),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert_eq!((up.uploaded, up.skipped), (5, 0), "{:?}", up.failures);
    fake.clear_calls();
    let again = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "s"),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert_eq!((again.uploaded, again.skipped), (0, 5));
    assert!(mutating(&fake.calls()).is_empty());

    let down_dir = tempfile::tempdir().unwrap();
    let down = manager
        .sync(
            TreeLocation::s3("b", "s"),
            TreeLocation::local(down_dir.path()),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert_eq!(down.downloaded, 5, "{:?}", down.failures);
    assert_eq!(
        std::fs::read(down_dir.path().join("data/deep/c.bin")).unwrap(),
        vec![7u8; 3000]
    );
    fake.clear_calls();
    let again = manager
        .sync(
            TreeLocation::s3("b", "s"),
            TreeLocation::local(down_dir.path()),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert_eq!((again.downloaded, again.skipped), (0, 5));
    assert_eq!(fake.count(Operation::GetObject), 0);

    // A file changed locally (new size) goes up again, alone.
    write(dir.path(), "a.txt", b"alpha, longer");
    fake.clear_calls();
    let changed = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "s"),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert_eq!((changed.uploaded, changed.skipped), (1, 4));
    assert_eq!(
        fake.object("b", "s/a.txt").unwrap().bytes(),
        b"alpha, longer"
    );
}

#[test]
fn delete_removes_only_what_the_filters_keep() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    fake.put_object_bytes("b", "s/gone.txt", b"old".to_vec());
    fake.put_object_bytes("b", "s/keep/old.txt", b"old".to_vec());
    let args = TreeArgs::builder()
        .delete(true)
        .exclude("keep/*")
        .build()
        .unwrap();
    let report = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "s"),
            args,
        )
        .unwrap()
        .wait();
    assert_eq!(
        (report.uploaded, report.deleted),
        (1, 1),
        "{:?}",
        report.failures
    );
    assert_eq!(fake.keys("b"), ["s/a.txt", "s/keep/old.txt"]);

    // Without --delete nothing is deleted; S3 to local deletes local files.
    let local = tempfile::tempdir().unwrap();
    write(local.path(), "stray.txt", b"x");
    write(local.path(), "keep/mine.txt", b"x");
    let args = TreeArgs::builder()
        .delete(true)
        .exclude("keep/*")
        .build()
        .unwrap();
    manager
        .sync(
            TreeLocation::s3("b", "s"),
            TreeLocation::local(local.path()),
            args,
        )
        .unwrap()
        .wait();
    assert_eq!(files_under(local.path()), ["a.txt", "keep/mine.txt"]);
}

#[test]
fn size_only_and_exact_timestamps_decide_as_the_aws_cli() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "s/f", b"12345".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let sync = |args: TreeArgs| {
        manager
            .sync(
                TreeLocation::s3("b", "s"),
                TreeLocation::local(dir.path()),
                args,
            )
            .unwrap()
            .wait()
    };
    assert_eq!(sync(TreeArgs::default()).downloaded, 1);
    let path = dir.path().join("f");
    let object_time = std::fs::metadata(&path).unwrap().modified().unwrap();
    // The local file is newer with the same size: sent again, unless --size-only.
    set_time(&path, object_time + Duration::from_secs(3600));
    assert_eq!(
        sync(TreeArgs::builder().size_only(true).build().unwrap()).skipped,
        1
    );
    assert_eq!(sync(TreeArgs::default()).downloaded, 1);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        object_time
    );
    // Older with the same size: left alone, unless --exact-timestamps.
    set_time(&path, object_time - Duration::from_secs(3600));
    assert_eq!(sync(TreeArgs::default()).skipped, 1);
    let exact = sync(TreeArgs::builder().exact_timestamps(true).build().unwrap());
    assert_eq!(exact.downloaded, 1);
    assert!(
        TreeArgs::builder()
            .size_only(true)
            .exact_timestamps(true)
            .build()
            .is_err()
    );
}

#[test]
fn a_dry_run_sends_no_request_that_changes_anything() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    fake.put_object_bytes("b", "s/extra", b"x".to_vec());
    let args = TreeArgs::builder()
        .dry_run(true)
        .delete(true)
        .build()
        .unwrap();
    let report = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "s"),
            args,
        )
        .unwrap()
        .wait();
    assert_eq!((report.uploaded, report.deleted), (5, 1));
    assert!(report.results.iter().all(|r| r.dry_run));
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.operation() == Operation::ListObjectsV2),
        "{:?}",
        fake.calls()
    );
    assert_eq!(fake.keys("b"), ["s/extra"]);
    // Downloads: no file, no directory.
    let dest = tempfile::tempdir().unwrap();
    let args = TreeArgs::builder().dry_run(true).build().unwrap();
    let report = manager
        .download_prefix("b", "s", dest.path().join("new"), args)
        .unwrap()
        .wait();
    assert_eq!(report.downloaded, 1);
    assert!(!dest.path().join("new").exists());
}

#[test]
fn directory_markers_are_left_out_and_a_key_beside_its_marker_downloads() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/dir/", Vec::new());
    fake.put_object_bytes("b", "p/dir/a", b"a".to_vec());
    fake.put_object_bytes("b", "p/empty/", Vec::new());
    fake.put_object_bytes("b", "p/x", b"x".to_vec());
    fake.put_object_bytes("b", "p/x/", Vec::new());
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), TreeArgs::default())
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.failures);
    assert_eq!(report.downloaded, 2);
    assert_eq!(files_under(dest.path()), ["dir/a", "x"]);
    // A copy leaves markers out too, and a sync's --delete never deletes them.
    let report = manager
        .copy_prefix("b", "p", "c", "q", TreeArgs::default())
        .unwrap()
        .wait();
    assert_eq!(report.copied, 2);
    assert_eq!(fake.keys("c"), ["q/dir/a", "q/x"]);
    fake.put_object_bytes("c", "q/marker/", Vec::new());
    let args = TreeArgs::builder().delete(true).build().unwrap();
    manager
        .sync(TreeLocation::s3("b", "p"), TreeLocation::s3("c", "q"), args)
        .unwrap()
        .wait();
    assert!(fake.object("c", "q/marker/").is_some());
}

#[test]
fn s3_to_s3_sync_copies_new_and_changed_objects_only() {
    let (fake, manager) = setup();
    for key in ["p/1", "p/2", "p/sub/3"] {
        fake.put_object_bytes("b", key, key.as_bytes().to_vec());
    }
    let sync = || {
        manager
            .sync(
                TreeLocation::s3("b", "p"),
                TreeLocation::s3("c", "q/"),
                TreeArgs::default(),
            )
            .unwrap()
            .wait()
    };
    assert_eq!(sync().copied, 3);
    assert_eq!(fake.keys("c"), ["q/1", "q/2", "q/sub/3"]);
    fake.clear_calls();
    let again = sync();
    assert_eq!((again.copied, again.skipped), (0, 3));
    assert!(mutating(&fake.calls()).is_empty());
    // Rewritten at the source (same size, newer): copied again.
    fake.replace_object("b", "p/2", b"P/2".to_vec());
    let changed = sync();
    assert_eq!((changed.copied, changed.skipped), (1, 2));
    assert_eq!(fake.object("c", "q/2").unwrap().bytes(), b"P/2");
}

#[test]
fn a_missing_source_directory_is_refused_before_anything_starts() {
    let (_fake, manager) = setup();
    let err = manager
        .upload_dir("/nonexistent/s3transfer-tree", "b", "", TreeArgs::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    let err = manager
        .sync(
            TreeLocation::local("/tmp"),
            TreeLocation::local("/tmp"),
            TreeArgs::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_listing_that_fails_stops_the_tree_with_a_typed_error() {
    let (fake, manager) = setup();
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .download_prefix("no-such-bucket", "p", dest.path(), TreeArgs::default())
        .unwrap()
        .wait();
    let error = report.stopped_by.expect("stopped");
    assert_eq!(error.kind(), ErrorKind::S3ListFailed);
    assert!(error.is_not_found());
    let _ = fake;
}

/// An `S3Api` that lists `total` keys from a counter, storing nothing: a listing of a
/// million keys without a million objects in memory. Other calls are not used.
pub(crate) struct Synthetic {
    pub(crate) total: usize,
    pub(crate) pages: AtomicUsize,
}

fn synthetic_key(i: usize) -> String {
    format!("p/{i:08}")
}

impl S3Api for Synthetic {
    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, s3transfer::S3Error> {
        self.pages.fetch_add(1, Ordering::SeqCst);
        let start: usize = request
            .continuation_token
            .as_deref()
            .map_or(0, |t| t.parse().unwrap());
        let end = (start + 1000).min(self.total);
        let mut page = ListObjectsV2Output::default();
        for i in start..end {
            let mut object = ListedObject::default();
            object.key = synthetic_key(i);
            object.size = 1;
            page.objects.push(object);
        }
        page.next_continuation_token = (end < self.total).then(|| end.to_string());
        Ok(page)
    }
    fn head_object(
        &self,
        _: &s3transfer::client::HeadObjectRequest,
    ) -> Result<s3transfer::client::HeadObjectOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn get_object(
        &self,
        _: &s3transfer::client::GetObjectRequest,
        _: &mut dyn s3transfer::client::ResponseSink,
    ) -> Result<s3transfer::client::GetObjectOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn put_object(
        &self,
        _: &s3transfer::client::PutObjectRequest,
        _: &mut s3transfer::client::RequestBody,
    ) -> Result<s3transfer::client::PutObjectOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn create_multipart_upload(
        &self,
        _: &s3transfer::client::CreateMultipartUploadRequest,
    ) -> Result<s3transfer::client::CreateMultipartUploadOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn upload_part(
        &self,
        _: &s3transfer::client::UploadPartRequest,
        _: &mut s3transfer::client::RequestBody,
    ) -> Result<s3transfer::client::UploadPartOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn complete_multipart_upload(
        &self,
        _: &s3transfer::client::CompleteMultipartUploadRequest,
    ) -> Result<s3transfer::client::CompleteMultipartUploadOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn abort_multipart_upload(
        &self,
        _: &s3transfer::client::AbortMultipartUploadRequest,
    ) -> Result<(), s3transfer::S3Error> {
        unimplemented!()
    }
    fn copy_object(
        &self,
        _: &s3transfer::client::CopyObjectRequest,
    ) -> Result<s3transfer::client::CopyObjectOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn upload_part_copy(
        &self,
        _: &s3transfer::client::UploadPartCopyRequest,
    ) -> Result<s3transfer::client::UploadPartCopyOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn delete_object(
        &self,
        _: &s3transfer::client::DeleteObjectRequest,
    ) -> Result<s3transfer::client::DeleteObjectOutput, s3transfer::S3Error> {
        unimplemented!()
    }
    fn list_parts(
        &self,
        _: &s3transfer::client::ListPartsRequest,
    ) -> Result<s3transfer::client::ListPartsOutput, s3transfer::S3Error> {
        unimplemented!()
    }
}

/// Entries taken by the tree so far and pages asked for: the listing may be ahead by
/// at most the channel's bound plus the page in hand, so when the tree has taken `n`
/// entries no more than `(n + LISTING_QUEUE_BOUND) / 1000 + 1` pages were requested.
pub(crate) fn assert_listing_stays_bounded(
    manager: &Arc<TransferManager>,
    pages: impl Fn() -> usize + Send + Sync + 'static,
    total: usize,
) {
    let seen = Arc::new(AtomicUsize::new(0));
    let worst = Arc::new(AtomicUsize::new(0));
    let (seen2, worst2) = (seen.clone(), worst.clone());
    let args = TreeArgs::builder()
        .dry_run(true)
        .keep_results(false)
        .filter(move |_| {
            let n = seen2.fetch_add(1, Ordering::SeqCst) + 1;
            let allowed = (n + LISTING_QUEUE_BOUND) / 1000 + 1;
            let asked = pages();
            worst2.fetch_max(asked.saturating_sub(allowed), Ordering::SeqCst);
            true
        })
        .build()
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), args)
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(report.downloaded as usize, total);
    assert_eq!(seen.load(Ordering::SeqCst), total);
    assert_eq!(
        worst.load(Ordering::SeqCst),
        0,
        "the listing ran ahead of the consumer"
    );
    assert!(report.results.is_empty());
}

#[test]
#[cfg(unix)]
fn symlinks_are_followed_by_default_and_left_out_on_request() {
    let (fake, manager) = setup();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "linked-dir/inner.txt", b"inner");
    write(outside.path(), "target.txt", b"target");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "plain.txt", b"plain");
    std::os::unix::fs::symlink(
        outside.path().join("linked-dir"),
        dir.path().join("dir-link"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("target.txt"),
        dir.path().join("file-link"),
    )
    .unwrap();
    let report = manager
        .upload_dir(dir.path(), "b", "follow", TreeArgs::default())
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.failures);
    let no_follow = TreeArgs::builder().follow_symlinks(false).build().unwrap();
    manager
        .upload_dir(dir.path(), "b", "nofollow", no_follow)
        .unwrap()
        .wait();
    assert_eq!(
        fake.keys("b"),
        [
            "follow/dir-link/inner.txt",
            "follow/file-link",
            "follow/plain.txt",
            "nofollow/plain.txt"
        ]
    );
    assert_eq!(
        fake.object("b", "follow/file-link").unwrap().bytes(),
        b"target"
    );
}

/// A local link to a directory sorts as the directory it is (`photos/`), as S3 lists
/// its keys: a sync with `--delete` pairs each file with its object and deletes none.
#[test]
#[cfg(unix)]
fn a_linked_directory_pairs_with_its_objects_and_delete_removes_nothing() {
    let (fake, manager) = setup();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "x.jpg", b"jpeg");
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("photos")).unwrap();
    write(dir.path(), "photos-2023.zip", b"zip");
    write(dir.path(), "photos.txt", b"txt");
    for (key, data) in [
        ("p/photos-2023.zip", &b"zip"[..]),
        ("p/photos.txt", b"txt"),
        ("p/photos/x.jpg", b"jpeg"),
    ] {
        fake.put_object_bytes("b", key, data.to_vec());
    }
    fake.clear_calls();
    let args = TreeArgs::builder().delete(true).build().unwrap();
    let report = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "p"),
            args,
        )
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!((report.uploaded, report.deleted, report.skipped), (0, 0, 3));
    assert!(mutating(&fake.calls()).is_empty(), "{:?}", fake.calls());
    assert_eq!(
        fake.keys("b"),
        ["p/photos-2023.zip", "p/photos.txt", "p/photos/x.jpg"]
    );
}

/// `--delete` into a local directory deletes only what is inside it: a link there (to
/// a directory or a file elsewhere) is not followed, so nothing behind it is listed or
/// removed.
#[test]
#[cfg(unix)]
fn delete_never_removes_files_behind_a_link_in_the_local_destination() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/a.txt", b"a".to_vec());
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "victim.txt", b"precious");
    write(outside.path(), "single.txt", b"precious too");
    let dest = tempfile::tempdir().unwrap();
    write(dest.path(), "stray.txt", b"x");
    std::os::unix::fs::symlink(outside.path(), dest.path().join("linked-dir")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("single.txt"),
        dest.path().join("linked-file"),
    )
    .unwrap();
    let args = TreeArgs::builder().delete(true).build().unwrap();
    let report = manager
        .sync(
            TreeLocation::s3("b", "p"),
            TreeLocation::local(dest.path()),
            args,
        )
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!((report.downloaded, report.deleted), (1, 1));
    assert_eq!(files_under(outside.path()), ["single.txt", "victim.txt"]);
    assert!(!dest.path().join("stray.txt").exists());
    assert!(dest.path().join("a.txt").exists());
}

/// A source that cannot be read in full makes no deletes after the failure: what it
/// failed to list (here everything after a broken link) may still exist. Each delete
/// left undone is reported with a typed error.
#[test]
#[cfg(unix)]
fn after_a_walk_error_delete_deletes_nothing_and_reports_each_skipped() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("b-broken")).unwrap();
    for key in [
        "p/a.txt",
        "p/b-broken",
        "p/c-gone.txt",
        "p/private/secret.txt",
    ] {
        fake.put_object_bytes("b", key, b"a".to_vec());
    }
    fake.clear_calls();
    let args = TreeArgs::builder().delete(true).build().unwrap();
    let report = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "p"),
            args,
        )
        .unwrap()
        .wait();
    assert_eq!(report.deleted, 0);
    assert!(fake.calls_of(Operation::DeleteObject).is_empty());
    assert_eq!(fake.keys("b").len(), 4);
    let mut skipped: Vec<&str> = report
        .failures
        .iter()
        .filter(|r| r.action == ObjectAction::Delete)
        .map(|r| {
            let error = r.outcome.as_ref().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::DeleteSkipped, "{error}");
            r.source.as_str()
        })
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "s3://b/p/b-broken",
            "s3://b/p/c-gone.txt",
            "s3://b/p/private/secret.txt"
        ]
    );
    assert!(
        report
            .failures
            .iter()
            .any(|r| r.action == ObjectAction::Walk)
    );
}

/// A predicate that turns away the source side of an entry present on both sides does
/// not make it a delete: `--delete` removes only what the source lacks.
#[test]
fn delete_never_removes_an_entry_the_source_has_whatever_the_predicate_says() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    fake.put_object_bytes("b", "p/a.txt", b"a".to_vec());
    fake.put_object_bytes("b", "p/gone.txt", b"g".to_vec());
    let args = TreeArgs::builder()
        .delete(true)
        .filter(|entry| !matches!(entry.origin, s3transfer::EntryOrigin::Local(_)))
        .build()
        .unwrap();
    let report = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "p"),
            args,
        )
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!((report.uploaded, report.deleted), (0, 1));
    assert_eq!(fake.keys("b"), ["p/a.txt"]);
}

/// A key holding `\` is refused by name: on Unix it would otherwise be written to the
/// path of the key with `/` (`a\b` onto `a/b`), two keys racing for one file.
#[test]
fn a_key_with_a_backslash_is_refused_and_never_lands_on_the_slash_path() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/a/b", b"slash".to_vec());
    fake.put_object_bytes("b", "p/a\\b", b"backslash".to_vec());
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .sync(
            TreeLocation::s3("b", "p"),
            TreeLocation::local(dest.path()),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert_eq!((report.downloaded, report.failed), (1, 1));
    match report.error().unwrap() {
        TransferError::UnsafeKey { key, reason, .. } => {
            assert_eq!(key, "p/a\\b");
            assert!(reason.contains('\\'), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(dest.path().join("a/b")).unwrap(), b"slash");
    for call in fake.calls_of(Operation::GetObject) {
        assert_ne!(call.key(), "p/a\\b");
    }
}

/// A location built directly, with a prefix lacking its `/`, still means the
/// "directory": a sync with delete into `photos` leaves `photos-old/` alone.
#[test]
fn a_prefix_without_its_slash_built_directly_is_still_a_directory() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "photos-old/x", b"old".to_vec());
    fake.put_object_bytes("b", "photos/gone", b"gone".to_vec());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    let args = TreeArgs::builder().delete(true).build().unwrap();
    let destination = TreeLocation::S3 {
        bucket: "b".into(),
        prefix: "photos".into(),
    };
    let report = manager
        .sync(TreeLocation::local(dir.path()), destination, args)
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!((report.uploaded, report.deleted), (1, 1));
    assert_eq!(fake.keys("b"), ["photos-old/x", "photos/a.txt"]);
}

/// A tree from a prefix into one inside it (or the other way round) would read its
/// own copies without end: refused before anything is listed or sent.
#[test]
fn overlapping_source_and_destination_prefixes_are_refused() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "a/x", b"x".to_vec());
    fake.clear_calls();
    let pairs = [("a/", "a/sub/"), ("a/sub", "a"), ("", "a/"), ("a", "a/")];
    for (from, to) in pairs {
        let error = manager
            .sync(
                TreeLocation::s3("b", from),
                TreeLocation::s3("b", to),
                TreeArgs::default(),
            )
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{from} {to}");
        assert!(error.to_string().contains("overlap"), "{error}");
        let error = manager
            .copy_prefix("b", from, "b", to, TreeArgs::default())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{from} {to}");
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    // Beside each other, or in another bucket, is fine.
    for (bucket, to) in [("b", "ab/"), ("c", "a/sub/")] {
        let report = manager
            .copy_prefix("b", "a", bucket, to, TreeArgs::default())
            .unwrap()
            .wait();
        assert_eq!(report.copied, 1, "{bucket} {to}");
    }
}

/// A caller's predicate that panics stops the tree with a typed error naming the
/// entry and the panic's message, and the tree still ends.
#[test]
fn a_panicking_predicate_stops_the_tree_with_a_typed_error() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "b.txt", b"b");
    let stored = fake.clone();
    let args = TreeArgs::builder()
        .filter(move |entry| {
            if entry.relative == "b.txt" {
                // a.txt's upload runs beside the walk; let it land first, so the stop
                // this panic causes does not cancel it (the check below is then exact).
                let deadline = Instant::now() + Duration::from_secs(30);
                while stored.object("b", "p/a.txt").is_none() && Instant::now() < deadline {
                    std::thread::yield_now();
                }
            }
            assert_ne!(entry.relative, "b.txt", "no b here");
            true
        })
        .build()
        .unwrap();
    let report = manager
        .upload_dir(dir.path(), "b", "p", args)
        .unwrap()
        .wait();
    let error = report.stopped_by.expect("stopped");
    assert_eq!(error.kind(), ErrorKind::PredicatePanicked, "{error}");
    match &error {
        TransferError::PredicatePanicked { relative, message } => {
            assert_eq!(relative, "b.txt");
            assert!(message.contains("no b here"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.keys("b"), ["p/a.txt"]);
}

/// A download's temporary file and journal in a destination are its, not the user's:
/// a download sync with --delete leaves them, an upload of that directory sends none.
#[test]
fn a_downloads_working_files_are_neither_deleted_nor_uploaded() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/a.txt", b"a".to_vec());
    let dest = tempfile::tempdir().unwrap();
    let working = [
        ".big.bin.0123456789abcdef.s3tmp",
        ".big.bin.s3resume",
        ".big.bin.s3resume.4242.0.tmp",
        ".big.bin.s3resume.unusable",
    ];
    for name in working {
        write(dest.path(), name, b"kept for a resume");
    }
    write(dest.path(), ".hidden-but-mine.txt", b"mine");
    let args = TreeArgs::builder().delete(true).build().unwrap();
    let report = manager
        .sync(
            TreeLocation::s3("b", "p"),
            TreeLocation::local(dest.path()),
            args,
        )
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    // The user's own dot file is theirs to lose under --delete, as with the AWS CLI.
    assert_eq!((report.downloaded, report.deleted), (1, 1));
    for name in working {
        assert!(dest.path().join(name).exists(), "{name} was deleted");
    }

    let report = manager
        .upload_dir(dest.path(), "b", "up", TreeArgs::default())
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    let keys: Vec<_> = fake
        .keys("b")
        .into_iter()
        .filter(|k| k.starts_with("up/"))
        .collect();
    assert_eq!(keys, ["up/a.txt"]);
}

/// A tree whose run was cut off resumes each file that was under way: the rerun sends
/// only the parts the store does not have, and moves nothing for the finished files.
#[test]
fn a_resumable_tree_rerun_continues_the_interrupted_file_from_its_journal() {
    let (fake, manager) = setup();
    let src = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..21 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    write(src.path(), "big.bin", &big);
    write(src.path(), "small.txt", b"small");
    set_time(&src.path().join("small.txt"), old_time());
    let args = || {
        TreeArgs::builder()
            .upload_args(UploadArgs::default().keep_for_resume(true))
            .resumable(state.path())
            .build()
            .unwrap()
    };
    // The network goes at part 3 of 3 (8 MiB parts): the upload is kept, journaled.
    fake.on_call(|call| match call {
        RecordedCall::UploadPart { request, .. } if request.part_number == 3 => {
            Some(s3transfer::S3Error::new(
                s3transfer::S3ErrorKind::Transient,
                "UploadPart",
                "connection reset",
            ))
        }
        _ => None,
    });
    let report = manager
        .sync(
            TreeLocation::local(src.path()),
            TreeLocation::s3("b", "t"),
            args(),
        )
        .unwrap()
        .wait();
    assert_eq!((report.uploaded, report.failed), (1, 1), "{report:?}");
    assert_eq!(
        fake.list_multipart_uploads("b").len(),
        1,
        "kept for the rerun"
    );

    fake.clear_faults();
    fake.clear_calls();
    let report = manager
        .sync(
            TreeLocation::local(src.path()),
            TreeLocation::s3("b", "t"),
            args(),
        )
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(report.uploaded, 1, "only the interrupted file");
    let parts: Vec<u32> = fake
        .calls_of(Operation::UploadPart)
        .into_iter()
        .filter_map(|c| match c {
            RecordedCall::UploadPart { request, .. } => Some(request.part_number),
            _ => None,
        })
        .collect();
    assert_eq!(parts, [3], "parts 1 and 2 were not sent again");
    assert_eq!(fake.count(Operation::CreateMultipartUpload), 0);
    assert_eq!(fake.object("b", "t/big.bin").unwrap().bytes(), &big[..]);
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(
        files_under(state.path()).is_empty(),
        "the journal is removed once the file is done"
    );
}
