//! Directory operations against real stores (s3s-fs in-process, SeaweedFS): trees with
//! nested and empty folders, unicode names and empty files, round trips and re-syncs,
//! traversal keys put by another client, a failure in the middle under each policy,
//! and a cancel in the middle.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use s3transfer::client::{PutObjectRequest, RequestBody};
use s3transfer::{
    ErrorKind, FailurePolicy, ObjectAction, S3Api, Subscriber, TransferConfig, TransferError,
    TransferFuture, TransferManager, TreeArgs, TreeHandle, TreeLocation,
};

use super::common::s3s_server::LocalS3;
use super::common::seaweed::SeaweedFs;
use super::common::{random_bytes, unique_bucket};

struct Store {
    name: &'static str,
    client: Arc<dyn S3Api>,
    create_bucket: Box<dyn Fn(&str)>,
}

fn stores() -> Vec<Store> {
    let local = LocalS3::shared();
    let weed = SeaweedFs::shared();
    vec![
        Store {
            name: "s3s-fs",
            client: local.client(),
            create_bucket: Box::new(|b| LocalS3::shared().create_bucket(b)),
        },
        Store {
            name: "seaweedfs",
            client: super::seaweed_shared(weed).clone(),
            create_bucket: Box::new(|b| SeaweedFs::shared().create_bucket(b)),
        },
    ]
}

impl Store {
    fn bucket(&self, what: &str) -> String {
        let bucket = unique_bucket(what);
        (self.create_bucket)(&bucket);
        bucket
    }

    fn manager(&self, config: TransferConfig) -> Arc<TransferManager> {
        Arc::new(TransferManager::new(self.client.clone(), config))
    }
}

/// Write a file an hour old: a file written in the second of its upload is newer than
/// its object (S3 keeps whole seconds) and a sync would rightly send it once more.
fn write(root: &Path, relative: &str, data: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(hour_ago).unwrap();
}

/// Every file under `root` with its bytes, sorted by relative path.
fn tree_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

fn sync(
    manager: &Arc<TransferManager>,
    from: TreeLocation,
    to: TreeLocation,
    args: TreeArgs,
) -> s3transfer::TreeReport {
    let report = manager.sync(from, to, args).unwrap().wait();
    assert!(
        report.is_success(),
        "{:?} {:?}",
        report.stopped_by,
        report.failures
    );
    report
}

#[test]
fn trees_round_trip_and_resync_on_real_stores() {
    for store in stores() {
        let bucket = store.bucket("tree");
        let manager = store.manager(TransferConfig::default());
        let src = tempfile::tempdir().unwrap();
        write(src.path(), "top.txt", b"top");
        write(
            src.path(),
            "nested/deeper/file.bin",
            &random_bytes(70_000, 1),
        );
        write(src.path(), "nested/empty.dat", b"");
        write(src.path(), "ünï cødé/fïle + plus.txt", b"unicode");
        write(src.path(), "logs/a.log", b"log");
        std::fs::create_dir_all(src.path().join("empty-folder")).unwrap();
        let local = || TreeLocation::local(src.path());
        let remote = || TreeLocation::s3(&bucket, "root");

        let first = sync(&manager, local(), remote(), TreeArgs::default());
        assert_eq!(first.uploaded, 5, "{}", store.name);
        let again = sync(&manager, local(), remote(), TreeArgs::default());
        assert_eq!(
            (again.uploaded, again.skipped),
            (0, 5),
            "{}: a second sync moved data",
            store.name
        );

        // Back down, with the same bytes; then a second sync moves nothing.
        let down = tempfile::tempdir().unwrap();
        let report = sync(
            &manager,
            remote(),
            TreeLocation::local(down.path()),
            TreeArgs::default(),
        );
        assert_eq!(report.downloaded, 5, "{}", store.name);
        assert_eq!(tree_of(down.path()), tree_of(src.path()), "{}", store.name);
        let again = sync(
            &manager,
            remote(),
            TreeLocation::local(down.path()),
            TreeArgs::default(),
        );
        assert_eq!(
            (again.downloaded, again.skipped),
            (0, 5),
            "{}: a second download sync moved data",
            store.name
        );

        // Change a file (its size), remove one, add one: --delete follows, within the
        // filters (logs/ is excluded, so its object stays although the file is gone).
        write(src.path(), "top.txt", b"top, changed");
        std::fs::remove_file(src.path().join("nested/empty.dat")).unwrap();
        std::fs::remove_file(src.path().join("logs/a.log")).unwrap();
        write(src.path(), "new.txt", b"new");
        let args = TreeArgs::builder()
            .delete(true)
            .exclude("logs/*")
            .build()
            .unwrap();
        let report = sync(&manager, local(), remote(), args);
        assert_eq!(
            (report.uploaded, report.deleted, report.skipped),
            (2, 1, 2),
            "{}",
            store.name
        );

        // Filters in both orders on the way down.
        let only_txt = tempfile::tempdir().unwrap();
        let args = TreeArgs::builder()
            .exclude("*")
            .include("*.txt")
            .build()
            .unwrap();
        manager
            .download_prefix(&bucket, "root", only_txt.path(), args)
            .unwrap()
            .wait();
        let names: Vec<String> = tree_of(only_txt.path())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            ["new.txt", "top.txt", "ünï cødé/fïle + plus.txt"],
            "{}",
            store.name
        );
        let none = tempfile::tempdir().unwrap();
        let args = TreeArgs::builder()
            .include("*.txt")
            .exclude("*")
            .build()
            .unwrap();
        let report = manager
            .download_prefix(&bucket, "root", none.path(), args)
            .unwrap()
            .wait();
        assert_eq!(report.downloaded, 0, "{}", store.name);
        assert!(tree_of(none.path()).is_empty());

        // S3 to S3, then nothing more to do.
        let copy = sync(
            &manager,
            remote(),
            TreeLocation::s3(&bucket, "copy"),
            TreeArgs::default(),
        );
        assert_eq!(copy.copied, 5, "{}", store.name);
        let again = sync(
            &manager,
            remote(),
            TreeLocation::s3(&bucket, "copy"),
            TreeArgs::default(),
        );
        assert_eq!((again.copied, again.skipped), (0, 5), "{}", store.name);
        manager.shutdown(false, "");
    }
}

#[test]
fn traversal_keys_put_by_another_client_are_refused_on_real_stores() {
    let bad = [
        "p/../x",
        "p/a/../../x",
        "p//abs",
        "p/C:x",
        "p/..\\..\\win",
        "p/a/../b",
    ];
    for store in stores() {
        let bucket = store.bucket("traversal");
        let mut stored = Vec::new();
        for key in bad.iter().chain(&["p/ok/a.txt"]) {
            let mut request = PutObjectRequest::default();
            request.bucket = bucket.clone();
            request.key = key.to_string();
            // A store may refuse or rewrite such a key itself; what it lists is what
            // the download sees.
            if store
                .client
                .put_object(&request, &mut RequestBody::new(b"data".to_vec()))
                .is_ok()
            {
                stored.push(*key);
            }
        }
        let manager = store.manager(TransferConfig::default());
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("dest");
        let report = manager
            .download_prefix(&bucket, "p", &dest, TreeArgs::default())
            .unwrap()
            .wait();
        // Each key listed is refused if it is one of the traversal keys as stored, and
        // written otherwise (a store may have rewritten `p//abs` as `p/abs`).
        let mut written_expected = Vec::new();
        for result in report.results.iter() {
            let key = result.source.rsplit_once(&format!("{bucket}/")).unwrap().1;
            if bad.contains(&key) {
                let error = result.outcome.as_ref().unwrap_err();
                assert_eq!(
                    error.kind(),
                    ErrorKind::UnsafeKey,
                    "{}: {key}: {error}",
                    store.name
                );
                assert!(
                    error.to_string().contains(key),
                    "{error} does not name {key}"
                );
            } else {
                assert!(
                    result.outcome.is_ok(),
                    "{}: {key}: {:?}",
                    store.name,
                    result.outcome
                );
                written_expected.push(result.relative.replace("//", "/"));
            }
        }
        assert!(written_expected.contains(&"ok/a.txt".to_owned()));
        assert!(
            report.failed > 0,
            "{} kept none of the traversal keys: {stored:?}",
            store.name
        );
        let beside: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, ["dest"], "{}", store.name);
        let written: Vec<String> = tree_of(&dest).into_iter().map(|(n, _)| n).collect();
        written_expected.sort();
        assert_eq!(
            written, written_expected,
            "{} stored {stored:?}",
            store.name
        );
    }
}

#[test]
#[cfg(unix)]
fn a_failure_in_the_middle_of_a_tree_under_each_policy() {
    for store in stores() {
        let src = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c", "x", "y", "z"] {
            write(src.path(), name, name.as_bytes());
        }
        // A link to nothing: the walk cannot read it.
        std::os::unix::fs::symlink(src.path().join("missing"), src.path().join("m-broken"))
            .unwrap();
        let manager = store.manager(TransferConfig::default());

        let bucket = store.bucket("policy");
        let report = manager
            .upload_dir(src.path(), &bucket, "", TreeArgs::default())
            .unwrap()
            .wait();
        assert_eq!((report.uploaded, report.failed), (6, 1), "{}", store.name);
        assert_eq!(report.failures[0].action, ObjectAction::Walk);
        assert_eq!(report.error().unwrap().kind(), ErrorKind::Io);
        assert!(report.stopped_by.is_none());

        let bucket = store.bucket("policy-stop");
        let args = TreeArgs::builder()
            .failure_policy(FailurePolicy::StopOnFirst)
            .max_objects_in_flight(1)
            .build()
            .unwrap();
        let report = manager
            .upload_dir(src.path(), &bucket, "", args)
            .unwrap()
            .wait();
        assert_eq!(
            report.stopped_by.as_ref().unwrap().kind(),
            ErrorKind::Io,
            "{}",
            store.name
        );
        let listing = manager
            .download_prefix(
                &bucket,
                "",
                tempfile::tempdir().unwrap().path(),
                TreeArgs::builder().dry_run(true).build().unwrap(),
            )
            .unwrap()
            .wait();
        let keys: Vec<&str> = listing
            .results
            .iter()
            .map(|r| r.relative.as_str())
            .collect();
        assert!(
            keys.iter().all(|k| *k < "m"),
            "{}: {keys:?} uploaded after the failure",
            store.name
        );
    }
}

/// Cancels the tree from its first bytes, once the test has handed over the handle.
struct CancelOnProgress {
    handle: Arc<OnceLock<TreeHandle>>,
    fired: AtomicBool,
}

impl Subscriber for CancelOnProgress {
    fn on_progress(&self, _future: &TransferFuture, _bytes: i64) {
        if !self.fired.swap(true, Ordering::SeqCst) {
            // The handle is set right after the call returns; wait for it here (a
            // worker thread, not the tree's).
            let handle = loop {
                if let Some(handle) = self.handle.get() {
                    break handle;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            handle.cancel();
        }
    }
}

fn cancelling() -> (Arc<OnceLock<TreeHandle>>, Arc<dyn Subscriber>) {
    let slot = Arc::new(OnceLock::new());
    let subscriber = Arc::new(CancelOnProgress {
        handle: slot.clone(),
        fired: AtomicBool::new(false),
    });
    (slot, subscriber)
}

#[test]
fn a_cancel_in_the_middle_leaves_no_open_upload_and_no_partial_file_on_seaweedfs() {
    let weed = SeaweedFs::shared();
    let store = &stores()[1];
    let bucket = store.bucket("cancel");
    let config = TransferConfig::builder()
        .multipart_threshold(5 * 1024 * 1024)
        .multipart_chunksize(5 * 1024 * 1024)
        .build()
        .unwrap();
    let manager = store.manager(config);
    let src = tempfile::tempdir().unwrap();
    for (i, name) in ["one", "two", "three"].iter().enumerate() {
        write(src.path(), name, &random_bytes(6 * 1024 * 1024, i as u64));
    }
    let (slot, subscriber) = cancelling();
    let handle = manager
        .upload_dir(
            src.path(),
            &bucket,
            "up",
            TreeArgs::builder().subscriber(subscriber).build().unwrap(),
        )
        .unwrap();
    slot.set(handle.clone()).ok();
    let report = handle.wait();
    assert!(
        report
            .stopped_by
            .as_ref()
            .is_some_and(TransferError::is_cancelled)
    );
    assert!(report.uploaded < 3);
    assert_eq!(weed.list_multipart_uploads(&bucket), []);

    // Downloads: whatever was cancelled left nothing behind, not even a temporary file.
    let full = store.bucket("cancel-down");
    manager
        .upload_dir(src.path(), &full, "", TreeArgs::default())
        .unwrap()
        .wait();
    let dest = tempfile::tempdir().unwrap();
    let (slot, subscriber) = cancelling();
    let handle = manager
        .download_prefix(
            &full,
            "",
            dest.path(),
            TreeArgs::builder().subscriber(subscriber).build().unwrap(),
        )
        .unwrap();
    slot.set(handle.clone()).ok();
    let report = handle.wait();
    assert!(
        report
            .stopped_by
            .as_ref()
            .is_some_and(TransferError::is_cancelled)
    );
    for (name, bytes) in tree_of(dest.path()) {
        let original = std::fs::read(src.path().join(&name))
            .unwrap_or_else(|_| panic!("{name} is not a file of the tree"));
        assert_eq!(bytes, original, "{name} is partial");
    }
}

/// Replaces `key` when its download is queued (after the listing, before its first
/// GET), `times` times at most, with new bytes each time.
struct ReplaceWhenQueued {
    client: Arc<dyn S3Api>,
    bucket: String,
    key: String,
    times: AtomicUsize,
}

impl Subscriber for ReplaceWhenQueued {
    fn on_queued(&self, future: &TransferFuture) {
        if future.meta().call_args().key != self.key {
            return;
        }
        let Ok(before) = self
            .times
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        else {
            return;
        };
        let mut put = PutObjectRequest::default();
        put.bucket = self.bucket.clone();
        put.key = self.key.clone();
        let body = format!("replaced after the listing ({} more)", before - 1).into_bytes();
        self.client
            .put_object(&put, &mut RequestBody::new(body))
            .expect("replace the object");
    }
}

/// A tree download is pinned to the ETag its listing saw: SeaweedFS answers the
/// If-Match with 412; the object is looked at again and fetched once more pinned to
/// its new ETag, and replaced again it is a failure naming its key, no file written.
/// SeaweedFS only: s3s-fs lists no ETags, so there is nothing to pin a download to.
#[test]
fn an_object_replaced_between_the_listing_and_its_download_is_not_written_on_seaweedfs() {
    for store in stores().into_iter().filter(|s| s.name == "seaweedfs") {
        for times in [1usize, 2] {
            let bucket = store.bucket("pinned");
            let manager = store.manager(TransferConfig::default());
            for (key, data) in [("p/a.txt", &b"a"[..]), ("p/b.txt", b"listed b")] {
                let mut put = PutObjectRequest::default();
                put.bucket = bucket.clone();
                put.key = key.into();
                store
                    .client
                    .put_object(&put, &mut RequestBody::new(data.to_vec()))
                    .unwrap();
            }
            let replace = Arc::new(ReplaceWhenQueued {
                client: store.client.clone(),
                bucket: bucket.clone(),
                key: "p/b.txt".into(),
                times: AtomicUsize::new(times),
            });
            let args = TreeArgs::builder().subscriber(replace).build().unwrap();
            let dest = tempfile::tempdir().unwrap();
            let report = manager
                .download_prefix(&bucket, "p", dest.path(), args)
                .unwrap()
                .wait();
            if times == 1 {
                // Replaced once: the object as it now is.
                assert!(report.is_success(), "{:?}", report.error());
                let files = tree_of(dest.path());
                assert_eq!(files.len(), 2);
                assert!(files.iter().any(|(name, bytes)| name == "b.txt"
                    && bytes.as_slice() == b"replaced after the listing (0 more)"));
                continue;
            }
            assert_eq!((report.downloaded, report.failed), (1, 1), "{}", store.name);
            match report.failures[0].outcome.as_ref().unwrap_err() {
                TransferError::S3DownloadFailed { key, reason, .. } => {
                    assert_eq!(key, "p/b.txt", "{}", store.name);
                    assert!(reason.contains("changed"), "{}: {reason}", store.name);
                }
                other => panic!("{}: {other:?}", store.name),
            }
            let files: Vec<_> = tree_of(dest.path())
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(files, ["a.txt"], "{}", store.name);
        }
    }
}
