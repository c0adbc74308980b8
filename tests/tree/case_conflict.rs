//! `TreeArgsBuilder::case_conflict` (the AWS CLI v2's `--case-conflict`): keys that
//! differ only by case (`A.txt`, `a.txt`) downloaded by one tree. The check is by name,
//! so it runs here on a case-sensitive file system: `A.txt` is held in flight (its GET
//! waits until `a.txt` has been decided) so that `a.txt` meets it there.

use std::sync::mpsc;

use super::*;
use s3transfer::{CaseConflict, ObjectResult};

/// Download `p/A.txt` and `p/a.txt` under `mode`, `A.txt`'s first request held until
/// `a.txt`'s result is known (or ten seconds passed, so a regression fails instead of
/// hanging).
fn download_both(mode: CaseConflict) -> (s3transfer::TreeReport, tempfile::TempDir) {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/A.txt", b"upper".to_vec());
    fake.put_object_bytes("b", "p/a.txt", b"lower".to_vec());
    let (decided_tx, decided_rx) = mpsc::channel::<()>();
    let decided_rx = Mutex::new(decided_rx);
    let held = std::sync::atomic::AtomicBool::new(false);
    fake.on_call(move |call| {
        if call.key() == "p/A.txt"
            && matches!(
                call.operation(),
                Operation::GetObject | Operation::HeadObject
            )
            && !held.swap(true, Ordering::SeqCst)
        {
            let _ = decided_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10));
        }
        None
    });
    let decided_tx = Mutex::new(decided_tx);
    let args = TreeArgs::builder()
        .case_conflict(mode)
        .on_result(move |result: &ObjectResult| {
            if result.relative == "a.txt" {
                let _ = decided_tx.lock().unwrap().send(());
            }
        })
        .build()
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), args)
        .unwrap()
        .wait();
    (report, dest)
}

fn result_of<'a>(report: &'a s3transfer::TreeReport, relative: &str) -> &'a ObjectResult {
    report
        .results
        .iter()
        .find(|r| r.relative == relative)
        .unwrap_or_else(|| panic!("no result for {relative}: {:?}", report.results))
}

fn assert_names_both(conflict: &TransferError) {
    match conflict {
        TransferError::CaseConflict {
            bucket, key, other, ..
        } => {
            assert_eq!(bucket, "b");
            assert_eq!(key, "p/a.txt");
            assert_eq!(other, "s3://b/p/A.txt");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conflict.kind(), ErrorKind::CaseConflict);
}

#[test]
fn by_default_a_key_differing_only_by_case_is_downloaded_with_a_warning_naming_both() {
    assert_eq!(TreeArgs::default().case_conflict, CaseConflict::Warn);
    let (report, dest) = download_both(CaseConflict::Warn);
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(report.downloaded, 2);
    let lower = result_of(&report, "a.txt");
    assert_names_both(lower.warning.as_ref().expect("a warning"));
    assert!(result_of(&report, "A.txt").warning.is_none());
    assert_eq!(files_under(dest.path()), ["A.txt", "a.txt"]);
}

#[test]
fn skip_leaves_the_second_key_out_with_the_conflict_as_its_warning() {
    let (report, dest) = download_both(CaseConflict::Skip);
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!((report.downloaded, report.skipped), (1, 1));
    let lower = result_of(&report, "a.txt");
    assert_eq!(lower.action, ObjectAction::Skip);
    assert_names_both(lower.warning.as_ref().expect("a warning"));
    assert_eq!(files_under(dest.path()), ["A.txt"]);
}

#[test]
fn error_fails_the_second_key_and_stops_the_tree() {
    let (report, dest) = download_both(CaseConflict::Error);
    assert!(!report.is_success());
    assert_names_both(report.stopped_by.as_ref().expect("stopped"));
    let lower = result_of(&report, "a.txt");
    assert_names_both(lower.outcome.as_ref().unwrap_err());
    assert!(!dest.path().join("a.txt").exists());
}

#[test]
fn ignore_checks_nothing() {
    let (report, dest) = download_both(CaseConflict::Ignore);
    assert!(report.is_success(), "{:?}", report.error());
    assert!(report.results.iter().all(|r| r.warning.is_none()));
    assert_eq!(files_under(dest.path()), ["A.txt", "a.txt"]);
}

/// Only the downloads in flight are remembered: once `A.txt` is done, a later
/// `a.txt` is no conflict by name (the file on disk is the check on a
/// case-insensitive file system), and keys that differ otherwise never are.
#[test]
fn names_are_remembered_only_while_their_download_runs() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/A.txt", b"upper".to_vec());
    fake.put_object_bytes("b", "p/a.txt", b"lower".to_vec());
    fake.put_object_bytes("b", "p/b.txt", b"b".to_vec());
    let args = TreeArgs::builder()
        .case_conflict(CaseConflict::Error)
        .max_objects_in_flight(1)
        .build()
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let report = manager
        .download_prefix("b", "p", dest.path(), args)
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    assert_eq!(report.downloaded, 3);
    // The same keys with `A.txt` still running when `a.txt` comes: a conflict.
    let (report, _dest) = download_both(CaseConflict::Error);
    assert_names_both(report.stopped_by.as_ref().expect("stopped by the conflict"));
}

/// Only a regular file whose name differs only by case is a conflict on disk: not a
/// directory (nor a file) of the very name the walk did not list.
#[test]
fn a_directory_of_the_same_name_on_disk_is_no_case_conflict() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "p/a.txt", b"lower".to_vec());
    fake.put_object_bytes("b", "p/c.txt", b"c".to_vec());
    let dest = tempfile::tempdir().unwrap();
    std::fs::create_dir(dest.path().join("a.txt")).unwrap();
    let report = manager
        .sync(
            TreeLocation::s3("b", "p"),
            TreeLocation::local(dest.path()),
            TreeArgs::default(),
        )
        .unwrap()
        .wait();
    assert!(
        report.results.iter().all(|r| r.warning.is_none()),
        "{:?}",
        report.results
    );
    assert_eq!(result_of(&report, "c.txt").action, ObjectAction::Download);
}
