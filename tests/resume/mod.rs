//! Pause and resume through the library, under the fake: in one process and across
//! "processes" (a serialised token or a journal read by a new manager), and every way
//! the recorded state can stop being true (the source edited, the object overwritten,
//! the store disagreeing, an unknown token version, a cut journal, another transfer's
//! journal): a typed error with nothing lost, or a fresh start, never mixed bytes.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use s3transfer::resume::{self, IfChanged, ResumeError, ResumeOptions, ResumeToken, read_journal};
use s3transfer::testing::{FakeS3, Operation, RecordedCall};
use s3transfer::{
    DownloadArgs, TransferConfig, TransferError, TransferFuture, TransferManager, UploadArgs,
    Validation,
};

use super::common::random_bytes;

mod journaled;

const MIB: usize = 1024 * 1024;

/// 5 MiB parts, one request thread: parts go one after the other, so which are done
/// when the pause lands is decided by the gate alone.
fn manager(fake: &FakeS3) -> TransferManager {
    let config = TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        .max_request_concurrency(1)
        .io_chunksize(64 * 1024)
        .build()
        .unwrap();
    TransferManager::new(Arc::new(fake.clone()), config)
}

fn fake() -> FakeS3 {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake
}

/// Hold the `n`th call of `operation` until the returned sender is used; the receiver
/// says it arrived.
fn gate(fake: &FakeS3, operation: Operation, n: usize) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (arrived_tx, arrived) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let go_rx = parking_lot::Mutex::new(Some(go_rx));
    fake.on_call(move |call| {
        if call.operation() == operation
            && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == n
        {
            let _ = arrived_tx.send(());
            if let Some(rx) = go_rx.lock().take() {
                let _ = rx.recv();
            }
        }
        None
    });
    (arrived, go)
}

/// Pause `future` while its `n`th `operation` call is held: that call finishes (the
/// pause lands at a part boundary), nothing after it starts.
fn pause_at(
    fake: &FakeS3,
    operation: Operation,
    n: usize,
    start: impl FnOnce() -> TransferFuture,
) -> ResumeToken {
    let (arrived, go) = gate(fake, operation, n);
    let future = start();
    arrived.recv().unwrap();
    future.request_pause().unwrap();
    go.send(()).unwrap();
    let token = future.pause().unwrap();
    assert!(future.result().unwrap_err().is_paused());
    fake.clear_faults();
    token
}

fn part_numbers(fake: &FakeS3) -> Vec<u32> {
    fake.calls_of(Operation::UploadPart)
        .into_iter()
        .filter_map(|c| match c {
            RecordedCall::UploadPart { request, .. } => Some(request.part_number),
            _ => None,
        })
        .collect()
}

fn write_file(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn start_upload(manager: &TransferManager, path: &Path, args: UploadArgs) -> TransferFuture {
    manager.upload(path, "b", "k", args, &[]).unwrap()
}

#[test]
fn a_paused_upload_keeps_its_parts_and_its_resume_sends_only_the_rest() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(26 * MIB, 1);
    let path = write_file(dir.path(), "src", &data);
    let token = pause_at(&fake, Operation::UploadPart, 3, || {
        start_upload(&manager, &path, UploadArgs::default())
    });
    let upload = token.as_upload().unwrap();
    assert_eq!(
        upload.parts.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        fake.list_multipart_uploads("b").len(),
        1,
        "the pause aborted nothing"
    );
    assert!(fake.object("b", "k").is_none());

    fake.clear_calls();
    let out = manager
        .resume_upload(&token, UploadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(
        part_numbers(&fake),
        [4, 5, 6],
        "only the missing parts are sent"
    );
    assert_eq!(fake.count(Operation::CreateMultipartUpload), 0);
    assert_eq!(out.parts, 6);
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_journal_resumes_the_upload_in_another_manager_and_is_removed_when_it_completes() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(17 * MIB, 2);
    let path = write_file(dir.path(), "src", &data);
    let journal = dir.path().join("state/upload.json");
    {
        let first = manager(&fake);
        pause_at(&fake, Operation::UploadPart, 2, || {
            start_upload(&first, &path, UploadArgs::default().journal(&journal))
        });
        // The manager goes away as a process would: the paused upload is not aborted.
    }
    assert_eq!(fake.list_multipart_uploads("b").len(), 1);
    let token = read_journal(&journal).unwrap();
    let json = token.to_json();
    let token = ResumeToken::from_json(json.as_bytes()).unwrap();
    assert_eq!(token.progress(), (2, 4));

    fake.clear_calls();
    let second = manager(&fake);
    second
        .resume_upload(
            &token,
            UploadArgs::default().journal(&journal),
            ResumeOptions::new(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(part_numbers(&fake), [3, 4]);
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
    assert!(!journal.exists(), "a completed upload leaves no journal");
}

#[test]
fn a_cancelled_upload_with_a_journal_is_aborted_and_leaves_no_journal() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "src", &random_bytes(11 * MIB, 3));
    let journal = dir.path().join("upload.json");
    let (arrived, go) = gate(&fake, Operation::UploadPart, 2);
    let future = start_upload(&manager, &path, UploadArgs::default().journal(&journal));
    arrived.recv().unwrap();
    assert!(
        journal.exists(),
        "the journal is kept while the upload runs"
    );
    future.cancel();
    go.send(()).unwrap();
    assert!(future.result().unwrap_err().is_cancelled());
    assert!(!journal.exists());
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn an_edited_source_is_refused_typed_and_starts_over_only_when_asked() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(16 * MIB, 4);
    let path = write_file(dir.path(), "src", &data);
    let token = pause_at(&fake, Operation::UploadPart, 2, || {
        start_upload(&manager, &path, UploadArgs::default())
    });

    // Same size, one byte of an uploaded part changed, and the modification time put
    // back: only the part's CRC can tell.
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut edited = data.clone();
    edited[MIB] ^= 0xff;
    std::fs::write(&path, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let err = manager
        .resume_upload(&token, UploadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap_err();
    match err.resume_error() {
        Some(ResumeError::SourceChanged { reason, .. }) => {
            assert!(reason.contains("part 1"), "{reason}")
        }
        other => panic!("expected SourceChanged, got {other:?} ({err})"),
    }
    assert!(err.resume_error().unwrap().should_start_over());
    assert_eq!(
        fake.list_multipart_uploads("b").len(),
        1,
        "a refusal aborts nothing"
    );
    assert!(fake.object("b", "k").is_none());

    // Another size.
    std::fs::write(&path, &edited[..15 * MIB]).unwrap();
    let err = manager
        .resume_upload(&token, UploadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err.resume_error(), Some(ResumeError::SourceChanged { .. })),
        "{err}"
    );

    // Asked to start over: the old upload is aborted and the file as it is now is sent.
    let options = ResumeOptions::new().if_changed(IfChanged::StartOver);
    manager
        .resume_upload(&token, UploadArgs::default(), options, &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &edited[..15 * MIB]);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn parts_the_store_does_not_confirm_are_sent_again_and_a_vanished_upload_is_typed() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(16 * MIB, 5);
    let path = write_file(dir.path(), "src", &data);
    let token = pause_at(&fake, Operation::UploadPart, 3, || {
        start_upload(&manager, &path, UploadArgs::default())
    });
    // The token says part 2 has an ETag the store does not list for it.
    let mut disagreeing = token.clone();
    if let ResumeToken::Upload(upload) = &mut disagreeing {
        upload.parts[1].etag = "\"0123456789abcdef0123456789abcdef\"".into();
    }
    fake.clear_calls();
    manager
        .resume_upload(
            &disagreeing,
            UploadArgs::default(),
            ResumeOptions::new(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(fake.count(Operation::ListParts), 1);
    assert_eq!(part_numbers(&fake), [2, 4]);
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);

    // The same token again: its upload was completed, so it is gone.
    let err = manager
        .resume_upload(&token, UploadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err.resume_error(), Some(ResumeError::UploadGone { .. })),
        "{err}"
    );
    assert_eq!(
        fake.object("b", "k").unwrap().bytes(),
        &data[..],
        "the object is untouched"
    );
}

#[test]
fn an_unknown_version_a_cut_journal_or_another_transfers_token_is_refused_and_nothing_is_lost() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "src", &random_bytes(11 * MIB, 6));
    let journal = dir.path().join("upload.json");
    pause_at(&fake, Operation::UploadPart, 1, || {
        start_upload(&manager, &path, UploadArgs::default().journal(&journal))
    });
    let text = std::fs::read_to_string(&journal).unwrap();

    let older = dir.path().join("older.json");
    std::fs::write(&older, text.replace("\"version\":1", "\"version\":0")).unwrap();
    assert!(matches!(
        read_journal(&older),
        Err(ResumeError::UnsupportedVersion {
            found: 0,
            supported: 1
        })
    ));
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 3]).unwrap();
    match read_journal(&cut) {
        Err(ResumeError::Corrupt { path: Some(p), .. }) => assert_eq!(p, cut),
        other => panic!("expected Corrupt naming the journal, got {other:?}"),
    }

    let token = read_journal(&journal).unwrap();
    let err = manager
        .resume_download(&token, DownloadArgs::default(), ResumeOptions::new(), &[])
        .unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::Resume(ResumeError::WrongTransfer { .. })
        ),
        "{err}"
    );
    let other = token.expect_upload(&dir.path().join("another"), "b", "k");
    assert!(matches!(other, Err(ResumeError::WrongTransfer { .. })));
    let other = token.expect_upload(&path, "b", "another-key");
    assert!(matches!(other, Err(ResumeError::WrongTransfer { .. })));
    assert!(token.expect_upload(&path, "b", "k").is_ok());

    assert_eq!(
        fake.list_multipart_uploads("b").len(),
        1,
        "nothing was aborted"
    );
    assert!(journal.exists(), "nothing was removed");
}

fn start_download(manager: &TransferManager, dest: &Path, args: DownloadArgs) -> TransferFuture {
    manager.download("b", "k", dest, args, &[]).unwrap()
}

fn get_ranges(fake: &FakeS3) -> Vec<u64> {
    let mut starts: Vec<u64> = fake
        .calls_of(Operation::GetObject)
        .into_iter()
        .filter_map(|c| match c {
            RecordedCall::GetObject(r) => Some(r.range.map_or(0, |r| r.start)),
            _ => None,
        })
        .collect();
    starts.sort();
    starts
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".s3tmp"))
        .collect()
}

#[test]
fn a_paused_download_keeps_its_temporary_file_and_its_resume_fetches_only_the_rest() {
    let fake = fake();
    let data = random_bytes(26 * MIB, 7);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let journal = resume::download_journal_path(&dest);
    let token = {
        let first = manager(&fake);
        pause_at(&fake, Operation::GetObject, 3, || {
            start_download(&first, &dest, DownloadArgs::default().journal(&journal))
        })
    };
    let download = token.as_download().unwrap();
    assert_eq!(download.ranges.len(), 3);
    assert!(!dest.exists(), "nothing at the destination while paused");
    assert_eq!(temp_files(dir.path()).len(), 1);
    assert_eq!(read_journal(&journal).unwrap(), token);

    fake.clear_calls();
    let token = ResumeToken::from_json(token.to_json().as_bytes()).unwrap();
    let second = manager(&fake);
    let out = second
        .resume_download(
            &token,
            DownloadArgs::default().journal(&journal),
            ResumeOptions::new(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    let five = 5 * MIB as u64;
    assert_eq!(get_ranges(&fake), [3 * five, 4 * five, 5 * five]);
    // The object offers only its ETag's MD5: the finished file is read back, the
    // reused ranges with the fetched ones.
    assert_eq!(out.validated, Validation::Etag);
    for call in fake.calls_of(Operation::GetObject) {
        if let RecordedCall::GetObject(r) = call {
            assert_eq!(
                r.if_match.as_deref(),
                Some(download.etag.as_str()),
                "every GET is pinned"
            );
        }
    }
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert!(temp_files(dir.path()).is_empty() && !journal.exists());
}

#[test]
fn a_damaged_temporary_file_has_its_damaged_range_fetched_again() {
    let fake = fake();
    let data = random_bytes(16 * MIB, 8);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let manager = manager(&fake);
    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default())
    });
    let temp = token.as_download().unwrap().temp_path.clone();
    let mut bytes = std::fs::read(&temp).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&temp, &bytes).unwrap();
    fake.clear_calls();
    manager
        .resume_download(&token, DownloadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap();
    let five = 5 * MIB as u64;
    assert_eq!(get_ranges(&fake), [0, 2 * five, 3 * five]);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
}

#[test]
fn an_object_overwritten_between_runs_fails_typed_or_starts_over_never_mixing() {
    let fake = fake();
    let old = random_bytes(16 * MIB, 9);
    fake.put_object_bytes("b", "k", old);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let manager = manager(&fake);
    let journal = resume::download_journal_path(&dest);
    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default().journal(&journal))
    });
    let new = random_bytes(16 * MIB, 10);
    fake.replace_object("b", "k", new.clone());

    let err = manager
        .resume_download(&token, DownloadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err.resume_error(), Some(ResumeError::ObjectChanged { .. })),
        "{err}"
    );
    assert!(!dest.exists());
    assert!(
        temp_files(dir.path()).is_empty(),
        "the old version's bytes are thrown away"
    );

    let token = {
        let pause_again = pause_at(&fake, Operation::GetObject, 2, || {
            start_download(&manager, &dest, DownloadArgs::default())
        });
        fake.replace_object("b", "k", random_bytes(16 * MIB, 11));
        pause_again
    };
    let newest = fake.object("b", "k").unwrap().bytes().to_vec();
    let options = ResumeOptions::new().if_changed(IfChanged::StartOver);
    manager
        .resume_download(&token, DownloadArgs::default(), options, &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), newest);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn a_stream_upload_cannot_be_paused_and_keeps_running() {
    let fake = fake();
    let manager = manager(&fake);
    let data = random_bytes(11 * MIB, 12);
    let (arrived, go) = gate(&fake, Operation::UploadPart, 1);
    let future = manager
        .upload(
            s3transfer::UploadSource::stream(std::io::Cursor::new(data.clone())),
            "b",
            "k",
            UploadArgs::default(),
            &[],
        )
        .unwrap();
    arrived.recv().unwrap();
    let err = future.request_pause().unwrap_err();
    assert!(
        matches!(err.resume_error(), Some(ResumeError::NotResumable { .. })),
        "{err}"
    );
    go.send(()).unwrap();
    future.result().unwrap();
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
}

/// Part 3 fails with a retryable error on every attempt: the network is gone.
fn lose_the_network_at_part_3(fake: &FakeS3) {
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
}

#[test]
fn a_transient_failure_keeps_the_upload_for_a_resume_only_when_asked() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(21 * MIB, 13);
    let path = write_file(dir.path(), "src", &data);
    let journal = dir.path().join("upload.json");

    lose_the_network_at_part_3(&fake);
    let err = start_upload(&manager, &path, UploadArgs::default().journal(&journal))
        .result()
        .unwrap_err();
    assert_eq!(err.kind(), s3transfer::ErrorKind::RetriesExceeded, "{err}");
    assert!(
        fake.list_multipart_uploads("b").is_empty(),
        "by default a failure leaves nothing"
    );
    assert!(!journal.exists());

    let args = UploadArgs::default()
        .journal(&journal)
        .keep_for_resume(true);
    let err = start_upload(&manager, &path, args.clone())
        .result()
        .unwrap_err();
    assert_eq!(err.kind(), s3transfer::ErrorKind::RetriesExceeded, "{err}");
    assert_eq!(
        fake.list_multipart_uploads("b").len(),
        1,
        "kept for the resume"
    );
    let token = read_journal(&journal).unwrap();
    assert_eq!(token.progress(), (2, 5));

    fake.clear_faults();
    fake.clear_calls();
    manager
        .resume_upload(&token, args, ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(part_numbers(&fake), [3, 4, 5]);
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
    assert!(!journal.exists());
}

#[test]
fn a_transient_download_failure_keeps_the_temporary_file_for_a_resume_when_asked() {
    let fake = fake();
    let data = random_bytes(21 * MIB, 14);
    fake.put_object_bytes("b", "k", data.clone());
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let journal = resume::download_journal_path(&dest);
    let third = 2 * 5 * MIB as u64;
    fake.on_call(move |call| match call {
        RecordedCall::GetObject(r) if r.range.is_some_and(|r| r.start == third) => {
            Some(s3transfer::S3Error::new(
                s3transfer::S3ErrorKind::Transient,
                "GetObject",
                "connection reset",
            ))
        }
        _ => None,
    });
    let args = DownloadArgs::default()
        .journal(&journal)
        .keep_for_resume(true);
    let err = start_download(&manager, &dest, args.clone())
        .result()
        .unwrap_err();
    assert_eq!(err.kind(), s3transfer::ErrorKind::RetriesExceeded, "{err}");
    assert!(!dest.exists());
    let token = read_journal(&journal).unwrap();
    assert_eq!(
        token.progress().0,
        2,
        "the two ranges before the failure are kept"
    );
    assert_eq!(temp_files(dir.path()).len(), 1);

    fake.clear_faults();
    manager
        .resume_download(&token, args, ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert!(temp_files(dir.path()).is_empty() && !journal.exists());
}

/// `token` with its download's `temp_path` replaced, as an edited journal would have it.
fn with_temp_path(token: &ResumeToken, temp: &Path) -> ResumeToken {
    let mut json: serde_json::Value = serde_json::from_str(&token.to_json()).unwrap();
    json["temp_path"] = serde_json::Value::String(temp.to_str().unwrap().to_owned());
    ResumeToken::from_json(json.to_string().as_bytes()).unwrap()
}

#[test]
fn a_token_naming_a_temporary_file_elsewhere_is_refused_and_that_file_is_untouched() {
    let fake = fake();
    fake.put_object_bytes("b", "k", random_bytes(16 * MIB, 20));
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let manager = manager(&fake);
    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default())
    });
    let victim = write_file(elsewhere.path(), ".bashrc", b"precious");
    // Beside the destination but not a temporary name, and a temporary name elsewhere.
    let beside = write_file(dir.path(), "notes.txt", b"precious");
    let misplaced = elsewhere.path().join(".out.0123456789abcdef.s3tmp");
    std::fs::write(&misplaced, b"precious").unwrap();
    for temp in [&victim, &beside, &misplaced] {
        let planted = with_temp_path(&token, temp);
        let err = manager
            .resume_download(&planted, DownloadArgs::default(), ResumeOptions::new(), &[])
            .unwrap_err();
        assert!(
            matches!(err.resume_error(), Some(ResumeError::Corrupt { .. })),
            "{err}"
        );
        assert!(matches!(
            planted.expect_download("b", "k", &dest),
            Err(ResumeError::Corrupt { .. })
        ));
        assert_eq!(std::fs::read(temp).unwrap(), b"precious");
    }
    assert!(!dest.exists());
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_planted_at_the_temporary_name_is_not_followed() {
    let fake = fake();
    fake.put_object_bytes("b", "k", random_bytes(16 * MIB, 21));
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let manager = manager(&fake);
    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default())
    });
    let temp = token.as_download().unwrap().temp_path.clone();
    std::fs::remove_file(&temp).unwrap();
    let victim = write_file(elsewhere.path(), ".bashrc", b"precious");
    std::os::unix::fs::symlink(&victim, &temp).unwrap();
    let result = manager
        .resume_download(&token, DownloadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result();
    assert!(result.is_err(), "the link is refused, not written through");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(
        !dest.exists(),
        "the victim was not renamed onto the destination"
    );
}

#[test]
fn bytes_past_the_objects_end_in_a_resumed_temporary_file_are_cut() {
    let fake = fake();
    let data = random_bytes(16 * MIB, 22);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let manager = manager(&fake);
    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default())
    });
    let temp = token.as_download().unwrap().temp_path.clone();
    let file = std::fs::OpenOptions::new().write(true).open(&temp).unwrap();
    file.set_len(data.len() as u64 + 4096).unwrap();
    drop(file);
    manager
        .resume_download(&token, DownloadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap();
    let written = std::fs::read(&dest).unwrap();
    assert_eq!(written.len(), data.len(), "no trailing bytes");
    assert_eq!(written, data);
}

#[test]
fn keep_for_resume_without_a_journal_leaves_nothing_behind_on_a_transient_failure() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "src", &random_bytes(21 * MIB, 23));
    lose_the_network_at_part_3(&fake);
    let err = start_upload(&manager, &path, UploadArgs::default().keep_for_resume(true))
        .result()
        .unwrap_err();
    assert_eq!(err.kind(), s3transfer::ErrorKind::RetriesExceeded, "{err}");
    assert!(
        fake.list_multipart_uploads("b").is_empty(),
        "no upload left open that nothing records"
    );

    fake.clear_faults();
    fake.put_object_bytes("b", "k", random_bytes(21 * MIB, 24));
    let third = 2 * 5 * MIB as u64;
    fake.on_call(move |call| match call {
        RecordedCall::GetObject(r) if r.range.is_some_and(|r| r.start == third) => {
            Some(s3transfer::S3Error::new(
                s3transfer::S3ErrorKind::Transient,
                "GetObject",
                "connection reset",
            ))
        }
        _ => None,
    });
    let dest = dir.path().join("out");
    let err = start_download(
        &manager,
        &dest,
        DownloadArgs::default().keep_for_resume(true),
    )
    .result()
    .unwrap_err();
    assert_eq!(err.kind(), s3transfer::ErrorKind::RetriesExceeded, "{err}");
    assert!(temp_files(dir.path()).is_empty(), "no stray temporary file");
    assert!(!dest.exists());
}

/// `token` with `edit` applied to its JSON form, as a hand-edited journal would be.
fn edited(token: &ResumeToken, edit: impl FnOnce(&mut serde_json::Value)) -> ResumeToken {
    let mut json: serde_json::Value = serde_json::from_str(&token.to_json()).unwrap();
    edit(&mut json);
    ResumeToken::from_json(json.to_string().as_bytes()).unwrap()
}

#[test]
fn a_tampered_upload_token_is_refused_as_corrupt_before_the_source_is_read() {
    let fake = fake();
    let manager = manager(&fake);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "src", &random_bytes(16 * MIB, 25));
    let token = pause_at(&fake, Operation::UploadPart, 2, || {
        start_upload(&manager, &path, UploadArgs::default())
    });
    let tampered = [
        edited(&token, |j| j["parts"][0]["number"] = 0.into()),
        edited(&token, |j| j["part_size"] = (6u64 << 30).into()),
        edited(&token, |j| j["parts"][1]["size"] = (u64::MAX).into()),
    ];
    for token in tampered {
        let err = manager
            .resume_upload(&token, UploadArgs::default(), ResumeOptions::new(), &[])
            .unwrap()
            .result()
            .unwrap_err();
        assert!(
            matches!(err.resume_error(), Some(ResumeError::Corrupt { .. })),
            "{err}"
        );
    }
    assert_eq!(fake.list_multipart_uploads("b").len(), 1, "nothing aborted");
}

#[test]
fn a_tampered_download_range_past_the_end_is_ignored_not_trusted() {
    let fake = fake();
    let data = random_bytes(16 * MIB, 26);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let manager = manager(&fake);
    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default())
    });
    let token = edited(&token, |j| {
        j["ranges"][1]["start"] = (u64::MAX - 1).into();
    });
    manager
        .resume_download(&token, DownloadArgs::default(), ResumeOptions::new(), &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    let token = pause_at(&fake, Operation::GetObject, 2, || {
        start_download(&manager, &dest, DownloadArgs::default())
    });
    let err = manager
        .resume_download(
            &edited(&token, |j| j["part_size"] = 0.into()),
            DownloadArgs::default(),
            ResumeOptions::new(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err.resume_error(), Some(ResumeError::Corrupt { .. })),
        "{err}"
    );
}
