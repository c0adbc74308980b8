//! `delete_prefix` (`rm --recursive`) and `list_objects` (`ls`): streamed through the
//! tree's listing, so keys are deleted or printed while later pages are still unread;
//! and a tree download pinned to the ETag its listing saw.

use super::*;
use s3transfer::{ListedItem, RequestContext};

fn deleted_sources(report: &s3transfer::TreeReport) -> Vec<String> {
    let mut sources: Vec<String> = report
        .results
        .iter()
        .map(|r| {
            assert_eq!(r.action, ObjectAction::Delete);
            r.source.clone()
        })
        .collect();
    sources.sort();
    sources
}

#[test]
fn delete_prefix_deletes_every_object_under_the_directory_markers_included_and_nothing_beside() {
    let (fake, manager) = setup();
    for key in ["p/a.txt", "p/sub/b.txt", "p/dir/", "pother/x", "q"] {
        fake.put_object_bytes(
            "b",
            key,
            if key.ends_with('/') {
                vec![]
            } else {
                vec![1u8]
            },
        );
    }
    let report = manager
        .delete_prefix("b", "p", TreeArgs::default())
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(report.deleted, 3);
    assert_eq!(
        deleted_sources(&report),
        ["s3://b/p/a.txt", "s3://b/p/dir/", "s3://b/p/sub/b.txt"]
    );
    assert_eq!(fake.keys("b"), ["pother/x", "q"]);
}

#[test]
fn delete_prefix_keeps_what_the_filters_exclude_and_a_dry_run_deletes_nothing() {
    let (fake, manager) = setup();
    for key in ["p/a.txt", "p/b.log", "p/logs/c.log"] {
        fake.put_object_bytes("b", key, vec![1u8]);
    }
    let dry = TreeArgs::builder()
        .exclude("*.log")
        .dry_run(true)
        .build()
        .unwrap();
    let report = manager.delete_prefix("b", "p/", dry).unwrap().wait();
    assert!(report.results.iter().all(|r| r.dry_run));
    assert_eq!(deleted_sources(&report), ["s3://b/p/a.txt"]);
    assert_eq!(fake.keys("b").len(), 3, "a dry run deletes nothing");
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.operation() == Operation::DeleteObject)
    );

    let args = TreeArgs::builder().exclude("*.log").build().unwrap();
    let report = manager.delete_prefix("b", "p", args).unwrap().wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(fake.keys("b"), ["p/b.log", "p/logs/c.log"]);
}

#[test]
fn a_failed_delete_is_a_result_naming_the_key_and_the_rest_go_on() {
    let (fake, manager) = setup();
    for key in ["p/a", "p/b", "p/c"] {
        fake.put_object_bytes("b", key, vec![1u8]);
    }
    fake.on_call(|call| {
        (call.operation() == Operation::DeleteObject && call.key() == "p/b")
            .then(|| InjectedError::access_denied().to_s3_error(call.operation(), "b", "p/b"))
    });
    let report = manager
        .delete_prefix("b", "p", TreeArgs::default())
        .unwrap()
        .wait();
    assert_eq!((report.deleted, report.failed), (2, 1));
    assert_eq!(report.failures[0].source, "s3://b/p/b");
    assert_eq!(fake.keys("b"), ["p/b"]);
}

/// Deletes start while the listing is still being read, and the listing never runs
/// more than the channel's bound ahead of them: memory holds a bounded number of keys.
#[test]
fn deleting_twenty_thousand_keys_lists_page_by_page_as_it_deletes() {
    let (fake, manager) = setup();
    for i in 0..20_000 {
        fake.put_object_bytes("b", &synthetic_key(i), vec![1u8]);
    }
    fake.clear_calls();
    let seen = Arc::new(AtomicUsize::new(0));
    let worst = Arc::new(AtomicUsize::new(0));
    let (seen2, worst2, counter) = (seen.clone(), worst.clone(), fake.clone());
    let args = TreeArgs::builder()
        .keep_results(false)
        .filter(move |_| {
            let n = seen2.fetch_add(1, Ordering::SeqCst) + 1;
            let allowed = (n + LISTING_QUEUE_BOUND) / 1000 + 1;
            let asked = counter.count(Operation::ListObjectsV2);
            worst2.fetch_max(asked.saturating_sub(allowed), Ordering::SeqCst);
            true
        })
        .build()
        .unwrap();
    let report = manager.delete_prefix("b", "p", args).unwrap().wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(report.deleted, 20_000);
    assert_eq!(seen.load(Ordering::SeqCst), 20_000);
    assert_eq!(worst.load(Ordering::SeqCst), 0, "the listing ran ahead");
    assert!(fake.keys("b").is_empty());
    // The first delete went out before the last page was asked for.
    let calls = fake.calls();
    let first_delete = calls
        .iter()
        .position(|c| c.operation() == Operation::DeleteObject)
        .unwrap();
    let last_list = calls
        .iter()
        .rposition(|c| c.operation() == Operation::ListObjectsV2)
        .unwrap();
    assert!(
        first_delete < last_list,
        "every page was read before deleting"
    );
}

#[test]
fn list_objects_gives_one_level_with_prefixes_in_key_order() {
    let (fake, manager) = setup();
    for key in ["p/a.txt", "p/b/1", "p/b/2", "p/c.txt", "p/d/x", "q"] {
        fake.put_object_bytes("b", key, vec![1u8]);
    }
    let items: Vec<ListedItem> = manager
        .list_objects("b", "p/", Some("/"), RequestContext::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<String> = items
        .iter()
        .map(|item| match item {
            ListedItem::Object(o) => o.key.clone(),
            ListedItem::Prefix(p) => format!("PRE {p}"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["p/a.txt", "PRE p/b/", "p/c.txt", "PRE p/d/"]);

    let all: Vec<_> = manager
        .list_objects("b", "", None, RequestContext::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(all.len(), 6);
}

#[test]
fn list_objects_asks_for_pages_only_as_they_are_consumed_and_reports_a_failure() {
    let store = Arc::new(Synthetic {
        total: 50_000,
        pages: AtomicUsize::new(0),
    });
    let manager = TransferManager::new(store.clone(), TransferConfig::default());
    let mut listing = manager
        .list_objects("b", "p/", None, RequestContext::default())
        .unwrap();
    for n in 1..=3_000 {
        listing.next().unwrap().unwrap();
        let allowed = (n + LISTING_QUEUE_BOUND) / 1000 + 1;
        assert!(store.pages.load(Ordering::SeqCst) <= allowed, "ran ahead");
    }
    drop(listing);
    assert!(
        store.pages.load(Ordering::SeqCst) < 50,
        "the listing went on"
    );

    let (fake, manager) = setup();
    fake.fail_always(Operation::ListObjectsV2, InjectedError::access_denied());
    let mut listing = manager
        .list_objects("b", "", None, RequestContext::default())
        .unwrap();
    match listing.next() {
        Some(Err(TransferError::S3ListFailed { bucket, .. })) => assert_eq!(bucket, "b"),
        other => panic!("{other:?}"),
    }
    assert!(listing.next().is_none());
}

#[test]
fn list_objects_gives_each_page_apart_when_asked() {
    let store = Arc::new(Synthetic {
        total: 2_500,
        pages: AtomicUsize::new(0),
    });
    let manager = TransferManager::new(store, TransferConfig::default());
    let mut listing = manager
        .list_objects("b", "p/", None, RequestContext::default())
        .unwrap();
    let mut sizes = Vec::new();
    while let Some(page) = listing.next_page() {
        sizes.push(page.unwrap().len());
    }
    assert_eq!(sizes, [1000, 1000, 500]);
    // Read item by item, the page ends are not items.
    let listing = manager
        .list_objects("b", "p/", None, RequestContext::default())
        .unwrap();
    assert_eq!(listing.map(Result::unwrap).count(), 2_500);
}

/// Replace `p/b.txt` with new bytes before each of its GETs (`times`: at most that
/// many times): the listing is over, the decision made.
fn replace_b_before_its_gets(
    fake: &FakeS3,
    times: usize,
    data: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) {
    let replacer = fake.clone();
    let generation = AtomicUsize::new(0);
    fake.on_call(move |call| {
        if call.operation() == Operation::GetObject && call.key() == "p/b.txt" {
            let n = generation.fetch_add(1, Ordering::SeqCst);
            if n < times {
                replacer.replace_object("b", "p/b.txt", data(n));
            }
        }
        None
    });
}

/// An object replaced between the listing and its download is not written with bytes
/// the decision was not made on: its GET is pinned to the listed ETag and the store
/// answers 412; looked at again, it is fetched once more pinned to its new ETag, and
/// replaced once more it is a failure naming the key; the others go on.
#[test]
fn a_tree_download_of_an_object_replaced_again_and_again_fails_naming_it() {
    for journals in [false, true] {
        let (fake, manager) = setup();
        fake.put_object_bytes("b", "p/a.txt", b"old a".to_vec());
        fake.put_object_bytes("b", "p/b.txt", b"old b".to_vec());
        // New bytes each time: the same bytes would keep the same ETag.
        replace_b_before_its_gets(&fake, usize::MAX, |n| {
            format!("new b {n}, not what was listed").into_bytes()
        });
        let dest = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut builder = TreeArgs::builder();
        if journals {
            builder = builder.resumable(state.path());
        }
        let report = manager
            .download_prefix("b", "p", dest.path(), builder.build().unwrap())
            .unwrap()
            .wait();
        assert_eq!((report.downloaded, report.failed), (1, 1), "{journals}");
        let failure = report.failures[0].outcome.as_ref().unwrap_err();
        assert!(failure.is_precondition_failed(), "{failure:?}");
        match failure {
            TransferError::S3DownloadFailed { key, .. } => assert_eq!(key, "p/b.txt"),
            other => panic!("{other:?}"),
        }
        let gets = fake
            .calls_of(Operation::GetObject)
            .iter()
            .filter(|call| call.key() == "p/b.txt")
            .count();
        assert_eq!(gets, 2, "fetched once more, pinned to the new ETag");
        assert_eq!(
            files_under(dest.path()),
            ["a.txt"],
            "no b.txt, no leftovers"
        );
    }
}

/// Replaced once after the listing (a busy bucket), the object is fetched as it now
/// is, pinned to its new ETag, and the file gets the new object's LastModified.
#[test]
fn a_tree_download_of_an_object_replaced_once_fetches_the_new_one_dated_as_it() {
    for journals in [false, true] {
        let (fake, manager) = setup();
        fake.put_object_bytes("b", "p/a.txt", b"old a".to_vec());
        fake.put_object_bytes("b", "p/b.txt", b"old b".to_vec());
        replace_b_before_its_gets(&fake, 1, |_| b"the new b".to_vec());
        let dest = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut builder = TreeArgs::builder();
        if journals {
            builder = builder.resumable(state.path());
        }
        let report = manager
            .download_prefix("b", "p", dest.path(), builder.build().unwrap())
            .unwrap()
            .wait();
        assert!(report.is_success(), "{journals}: {:?}", report.error());
        assert_eq!(report.downloaded, 2);
        assert_eq!(
            std::fs::read(dest.path().join("b.txt")).unwrap(),
            b"the new b"
        );
        let stored = fake.object("b", "p/b.txt").unwrap();
        let dated = httpdate::parse_http_date(&stored.last_modified).unwrap();
        let mtime = std::fs::metadata(dest.path().join("b.txt"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(mtime, dated);
        assert_eq!(files_under(dest.path()), ["a.txt", "b.txt"]);
    }
}

/// A sync decides again on the object as it now is: replaced after the listing by
/// one the destination file already matches, it is skipped, the file untouched.
#[test]
fn a_sync_whose_object_was_replaced_by_one_already_up_to_date_skips_it() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/b.txt", b"old, longer b".to_vec());
    let dest = tempfile::tempdir().unwrap();
    let file = dest.path().join("b.txt");
    std::fs::write(&file, b"mine!").unwrap();
    // Older than anything the fake stores (its clock is its own).
    let long_ago = UNIX_EPOCH + Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    // The same size as the file, and newer: what a sync leaves alone.
    replace_b_before_its_gets(&fake, 1, |_| b"new b".to_vec());
    let report = manager
        .sync(
            TreeLocation::s3("b", "p"),
            TreeLocation::local(dest.path()),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(
        (report.downloaded, report.skipped),
        (0, 1),
        "{:?}",
        report.results
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"mine!");
    assert_eq!(fake.count(Operation::GetObject), 1, "only the GET refused");
}

/// A listing that keeps failing until the retries run out stops the tree as any
/// failed listing does: it is not a local entry that could not be read.
#[test]
fn a_listing_whose_retries_run_out_stops_the_tree() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/a", vec![1u8]);
    fake.fail_always(Operation::ListObjectsV2, InjectedError::internal_error());
    let report = manager
        .delete_prefix("b", "p", TreeArgs::default())
        .unwrap()
        .wait();
    assert!(
        matches!(
            report.stopped_by,
            Some(TransferError::RetriesExceeded { .. })
        ),
        "{:?}",
        report.stopped_by
    );
    assert!(report.results.is_empty(), "{:?}", report.results);
    assert_eq!(fake.keys("b"), ["p/a"]);
}
