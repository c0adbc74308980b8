//! `TransferManager::upload_file_journaled` / `download_file_journaled`: the one
//! journaled file transfer behind the CLI's `cp` and every resumable tree, saying what
//! it found (nothing, a journal it continues, one it set aside, one it discarded); and
//! `abort_multipart_upload`, the retried abort behind `uploads abort`.

use s3transfer::client::{AbortMultipartUploadRequest, CreateMultipartUploadRequest};
use s3transfer::resume::{JournalStart, download_journal_path, upload_journal_path};
use s3transfer::testing::InjectedError;
use s3transfer::{S3Api, TransferError};

use super::*;

#[test]
fn a_journaled_upload_starts_fresh_resumes_its_journal_or_discards_it_on_request() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let data = random_bytes(26 * MIB, 2);
    let path = write_file(dir.path(), "src", &data);
    let start = |start_over: bool| {
        manager
            .upload_file_journaled(
                &path,
                ("b", "k"),
                UploadArgs::default(),
                state.path(),
                start_over,
                &[],
            )
            .unwrap()
    };
    pause_at(&fake, Operation::UploadPart, 3, || {
        let journaled = start(false);
        assert!(
            matches!(journaled.start, JournalStart::Fresh),
            "{journaled:?}"
        );
        journaled.future
    });
    assert!(upload_journal_path(state.path(), &path, "b", "k").exists());

    fake.clear_calls();
    let resumed = start(false);
    assert!(
        matches!(resumed.start, JournalStart::Resumed { done: 3, total: 6 }),
        "{:?}",
        resumed.start
    );
    resumed.future.result().unwrap();
    assert_eq!(part_numbers(&fake), [4, 5, 6]);
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);

    // Paused again, then started over: the kept upload is aborted, not orphaned.
    pause_at(&fake, Operation::UploadPart, 2, || start(false).future);
    assert_eq!(fake.list_multipart_uploads("b").len(), 1);
    let over = start(true);
    assert!(
        matches!(over.start, JournalStart::Discarded),
        "{:?}",
        over.start
    );
    over.future.result().unwrap();
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(!upload_journal_path(state.path(), &path, "b", "k").exists());
}

/// `--no-resume` on an upload whose abort fails: the journal, the only record of the
/// upload's id, is kept aside and the start says the upload was orphaned.
#[test]
fn a_start_over_whose_abort_fails_keeps_the_journal_aside_and_says_orphaned() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let data = random_bytes(26 * MIB, 7);
    let path = write_file(dir.path(), "src", &data);
    let start = |start_over: bool| {
        manager
            .upload_file_journaled(
                &path,
                ("b", "k"),
                UploadArgs::default(),
                state.path(),
                start_over,
                &[],
            )
            .unwrap()
    };
    pause_at(&fake, Operation::UploadPart, 2, || start(false).future);
    let journal = upload_journal_path(state.path(), &path, "b", "k");
    let kept = std::fs::read(&journal).unwrap();
    let open_id = fake.list_multipart_uploads("b")[0].1.clone();
    fake.fail_always(
        Operation::AbortMultipartUpload,
        InjectedError::access_denied(),
    );
    let over = start(true);
    let JournalStart::Orphaned {
        aside, upload_id, ..
    } = &over.start
    else {
        panic!("{:?}", over.start);
    };
    assert_eq!(upload_id, &open_id);
    assert_eq!(
        std::fs::read(aside).unwrap(),
        kept,
        "the journal is kept aside"
    );
    over.future.result().unwrap();
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
    let open: Vec<_> = fake
        .list_multipart_uploads("b")
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(open, [open_id], "the old upload is still open, and said so");
}

#[test]
fn an_unusable_journal_is_set_aside_never_trusted_and_the_upload_starts_afresh() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "src", b"small");
    let journal = upload_journal_path(state.path(), &path, "b", "k");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    std::fs::write(&journal, b"{ cut sho").unwrap();
    let journaled = manager
        .upload_file_journaled(
            &path,
            ("b", "k"),
            UploadArgs::default(),
            state.path(),
            false,
            &[],
        )
        .unwrap();
    let JournalStart::SetAside { aside, .. } = &journaled.start else {
        panic!("{:?}", journaled.start);
    };
    assert_eq!(std::fs::read(aside).unwrap(), b"{ cut sho");
    journaled.future.result().unwrap();
    assert_eq!(fake.object("b", "k").unwrap().bytes(), b"small");
}

/// A tree pins each download to the ETag it listed: a journal of another ETag (the
/// object was overwritten since the interrupted run) is discarded, its partial file
/// removed, and the object fetched afresh, never a mix of two versions.
#[test]
fn a_download_journal_of_another_etag_than_the_one_asked_for_is_discarded() {
    let fake = fake();
    let manager = manager(&fake);
    fake.put_object_bytes("b", "k", random_bytes(26 * MIB, 3));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let old = fake.object("b", "k").unwrap().etag.clone();
    pause_at(&fake, Operation::GetObject, 3, || {
        manager
            .download_file_journaled(
                ("b", "k"),
                &dest,
                DownloadArgs::default(),
                Some(&old),
                false,
                &[],
            )
            .unwrap()
            .future
    });
    assert!(download_journal_path(&dest).exists());
    let new_data = random_bytes(26 * MIB, 4);
    fake.replace_object("b", "k", new_data.clone());
    let new = fake.object("b", "k").unwrap().etag.clone();
    let journaled = manager
        .download_file_journaled(
            ("b", "k"),
            &dest,
            DownloadArgs::default(),
            Some(&new),
            false,
            &[],
        )
        .unwrap();
    assert!(
        matches!(journaled.start, JournalStart::Discarded),
        "{:?}",
        journaled.start
    );
    journaled.future.result().unwrap();
    assert!(std::fs::read(&dest).unwrap() == new_data);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["out.bin"], "no temporary file or journal is left");
}

/// A pin given without the quotes a store puts around ETags is the same ETag: the
/// download neither fails as "changed" nor discards a journal of it.
#[test]
fn a_pinned_etag_is_compared_without_its_quotes() {
    let fake = fake();
    let manager = manager(&fake);
    let data = random_bytes(26 * MIB, 8);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let quoted = fake.object("b", "k").unwrap().etag.clone();
    assert!(quoted.starts_with('"'), "{quoted}");
    let bare = quoted.trim_matches('"').to_owned();
    let start = |etag: &str| {
        manager
            .download_file_journaled(
                ("b", "k"),
                &dest,
                DownloadArgs::default(),
                Some(etag),
                false,
                &[],
            )
            .unwrap()
    };
    pause_at(&fake, Operation::GetObject, 3, || start(&quoted).future);
    let journaled = start(&bare);
    assert!(
        matches!(journaled.start, JournalStart::Resumed { .. }),
        "{:?}",
        journaled.start
    );
    journaled.future.result().unwrap();
    assert!(std::fs::read(&dest).unwrap() == data);
    std::fs::remove_file(&dest).unwrap();
    start(&bare).future.result().unwrap();
    assert!(std::fs::read(&dest).unwrap() == data);
}

/// The tree listed the object with the ETag of the interrupted run's journal, and the
/// object was replaced after the listing: the resume keeps the pin and fails naming
/// the key, never fetching the new object under a decision made on the old one.
#[test]
fn a_resumed_download_keeps_the_listed_etag_pin_when_the_object_changed_since() {
    let fake = fake();
    let manager = manager(&fake);
    fake.put_object_bytes("b", "k", random_bytes(26 * MIB, 5));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let listed = fake.object("b", "k").unwrap().etag.clone();
    let start = || {
        manager
            .download_file_journaled(
                ("b", "k"),
                &dest,
                DownloadArgs::default(),
                Some(&listed),
                false,
                &[],
            )
            .unwrap()
    };
    pause_at(&fake, Operation::GetObject, 3, || start().future);
    assert!(download_journal_path(&dest).exists());
    fake.replace_object("b", "k", random_bytes(26 * MIB, 6));
    fake.clear_calls();
    let journaled = start();
    assert!(
        matches!(journaled.start, JournalStart::Resumed { .. }),
        "{:?}",
        journaled.start
    );
    let error = journaled.future.result().unwrap_err();
    assert!(error.to_string().contains("k"), "{error}");
    assert!(!dest.exists(), "nothing is written at the destination");
    assert_eq!(
        fake.count(Operation::GetObject),
        0,
        "no GET once the resume found the object changed"
    );
}

/// In a resumable tree, a download journal left beside the file by a download of
/// another object to it is set aside, its partial download removed with it, and the
/// result says so as its warning.
#[test]
fn a_tree_sets_aside_another_objects_journal_with_its_partial_file_and_warns() {
    let fake = fake();
    let manager = Arc::new(manager(&fake));
    fake.put_object_bytes("b", "p/x.bin", random_bytes(26 * MIB, 9));
    let data = random_bytes(MIB, 10);
    fake.put_object_bytes("b", "q/x.bin", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.bin");
    pause_at(&fake, Operation::GetObject, 3, || {
        manager
            .download_file_journaled(
                ("b", "p/x.bin"),
                &dest,
                DownloadArgs::default(),
                None,
                false,
                &[],
            )
            .unwrap()
            .future
    });
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert!(
        names().iter().any(|n| n.ends_with(".s3tmp")),
        "{:?}",
        names()
    );
    let state = tempfile::tempdir().unwrap();
    let args = s3transfer::TreeArgs::builder()
        .resumable(state.path())
        .build()
        .unwrap();
    let report = manager
        .download_prefix("b", "q", dir.path(), args)
        .unwrap()
        .wait();
    assert!(report.is_success(), "{:?}", report.error());
    let result = &report.results[0];
    match &result.warning {
        Some(TransferError::Resume(ResumeError::JournalNotContinued { journal, what })) => {
            assert_eq!(journal, &download_journal_path(&dest));
            assert!(what.contains("set aside"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert!(std::fs::read(&dest).unwrap() == data);
    assert_eq!(
        names(),
        [".x.bin.s3resume.unusable".to_owned(), "x.bin".to_owned()],
        "the partial file went with its journal"
    );
}

#[test]
fn aborting_an_upload_retries_a_transient_failure_and_one_already_gone_is_no_failure() {
    let fake = fake();
    let manager = manager(&fake);
    let mut create = CreateMultipartUploadRequest::default();
    create.bucket = "b".into();
    create.key = "k".into();
    let upload_id = fake.create_multipart_upload(&create).unwrap().upload_id;
    fake.fail_nth(
        Operation::AbortMultipartUpload,
        1,
        InjectedError::internal_error(),
    );
    let mut abort = AbortMultipartUploadRequest::default();
    abort.bucket = "b".into();
    abort.key = "k".into();
    abort.upload_id = upload_id;
    manager.abort_multipart_upload(&abort).unwrap();
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 2);
    assert!(fake.list_multipart_uploads("b").is_empty());
    manager.abort_multipart_upload(&abort).unwrap();

    // Only NoSuchUpload says the upload is gone: another 404 says nothing of it.
    for code in ["NoSuchBucket", "NoSuchKey", "NotFound"] {
        fake.fail_nth(
            Operation::AbortMultipartUpload,
            1,
            InjectedError::new(404, code),
        );
        let error = manager.abort_multipart_upload(&abort).unwrap_err();
        assert!(error.to_string().contains(code), "{code}: {error}");
        fake.clear_faults();
    }
    fake.fail_nth(
        Operation::AbortMultipartUpload,
        1,
        InjectedError::new(404, "NoSuchUpload"),
    );
    manager.abort_multipart_upload(&abort).unwrap();

    fake.fail_always(
        Operation::AbortMultipartUpload,
        InjectedError::access_denied(),
    );
    match manager.abort_multipart_upload(&abort) {
        Err(TransferError::S3UploadFailed { upload_id, .. }) => {
            assert_eq!(upload_id.as_deref(), Some(abort.upload_id.as_str()));
        }
        other => panic!("{other:?}"),
    }
}
