//! The call log and fault injection: what is recorded, and how each kind of fault fires,
//! counts down and is cleared; and the fake shared across threads.

use super::*;

#[test]
fn every_call_is_recorded_in_order_with_body_lengths() {
    let s3 = fake();
    put(&s3, "k", b"12345");
    s3.head_object(&head_req("k")).unwrap();
    let _ = get(&s3, &get_req("missing"));
    let id = create(&s3, "mp");
    upload(&s3, "mp", &id, 1, b"abc");
    let ops: Vec<Operation> = s3.calls().iter().map(RecordedCall::operation).collect();
    assert_eq!(
        ops,
        [
            Operation::PutObject,
            Operation::HeadObject,
            Operation::GetObject,
            Operation::CreateMultipartUpload,
            Operation::UploadPart
        ]
    );
    match &s3.calls_of(Operation::PutObject)[0] {
        RecordedCall::PutObject { request, body_len } => {
            assert_eq!((request.key.as_str(), *body_len), ("k", 5));
        }
        other => panic!("{other:?}"),
    }
    match &s3.calls_of(Operation::UploadPart)[0] {
        RecordedCall::UploadPart { request, body_len } => {
            assert_eq!((request.part_number, *body_len), (1, 3));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s3.count(Operation::GetObject), 1);
    assert_eq!(s3.total_calls(), 5);
    assert_eq!(s3.calls()[2].key(), "missing");
    assert_eq!(s3.calls()[2].bucket(), B);
    s3.clear_calls();
    assert_eq!(s3.total_calls(), 0);
}

#[test]
fn seeding_helpers_are_not_recorded() {
    let s3 = FakeS3::new();
    s3.put_object_bytes("auto-created", "k", b"x".to_vec());
    s3.replace_object("auto-created", "k", b"y".to_vec());
    assert_eq!(s3.total_calls(), 0);
    assert_eq!(s3.object("auto-created", "k").unwrap().bytes(), b"y");
}

#[test]
#[should_panic(expected = "no object")]
fn replace_object_panics_without_an_object() {
    fake().replace_object(B, "nope", b"x".to_vec());
}

#[test]
fn operation_names_match_the_s3_api() {
    assert_eq!(Operation::UploadPartCopy.as_str(), "UploadPartCopy");
    assert_eq!(Operation::ALL.len(), 13);
    for op in Operation::ALL {
        assert_eq!(op.to_string(), op.as_str());
    }
}

#[test]
fn fail_nth_fails_only_that_call() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.fail_nth(Operation::HeadObject, 2, InjectedError::internal_error());
    assert!(s3.head_object(&head_req("k")).is_ok());
    let err = s3.head_object(&head_req("k")).unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(500), "InternalError"));
    assert_eq!(err.kind(), S3ErrorKind::Transient);
    assert_eq!((err.operation, err.key.as_str()), ("HeadObject", "k"));
    assert!(s3.head_object(&head_req("k")).is_ok());
    // Other operations do not count.
    assert!(get(&s3, &get_req("k")).is_ok());
}

#[test]
fn fail_nth_counts_from_when_it_was_injected() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.head_object(&head_req("k")).unwrap();
    s3.fail_nth(Operation::HeadObject, 1, InjectedError::access_denied());
    assert_eq!(
        s3.head_object(&head_req("k")).unwrap_err().kind(),
        S3ErrorKind::AccessDenied
    );
}

#[test]
fn fail_always_fails_until_cleared() {
    let s3 = fake();
    s3.fail_always(
        Operation::CreateMultipartUpload,
        InjectedError::access_denied(),
    );
    let req = CreateMultipartUploadRequest {
        bucket: B.into(),
        key: "mp".into(),
        ..Default::default()
    };
    for _ in 0..3 {
        assert_eq!(
            s3.create_multipart_upload(&req).unwrap_err().kind(),
            S3ErrorKind::AccessDenied
        );
    }
    assert!(s3.list_multipart_uploads(B).is_empty());
    s3.clear_faults();
    s3.create_multipart_upload(&req).unwrap();
}

#[test]
fn throttle_answers_slow_down_that_many_times() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.throttle(Operation::GetObject, 2);
    for _ in 0..2 {
        let err = get(&s3, &get_req("k")).unwrap_err();
        assert_eq!((err.status, code(&err)), (Some(503), "SlowDown"));
        assert_eq!(err.kind(), S3ErrorKind::Throttled);
    }
    assert!(get(&s3, &get_req("k")).is_ok());
    assert_eq!(s3.count(Operation::GetObject), 3);
}

#[test]
fn truncate_body_delivers_only_the_first_bytes_then_fails() {
    let s3 = fake().with_get_chunk_size(3);
    put(&s3, "k", b"0123456789");
    s3.truncate_body(4, 1);
    let mut sink = Vec::new();
    let err = s3.get_object(&get_req("k"), &mut sink).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::TruncatedBody);
    assert!(err.is_retryable());
    assert_eq!(sink, b"0123");
    // Only once: the retry reads the whole body.
    assert_eq!(get(&s3, &get_req("k")).unwrap().0, b"0123456789");
}

#[test]
fn truncate_body_applies_to_ranged_reads_too() {
    let s3 = fake();
    put(&s3, "k", b"0123456789");
    s3.truncate_body(1, 1);
    let mut req = get_req("k");
    req.range = Some(ByteRange::inclusive(5, 9));
    let mut sink = Vec::new();
    let err = s3.get_object(&req, &mut sink).unwrap_err();
    assert_eq!(
        (err.kind(), err.status),
        (S3ErrorKind::TruncatedBody, Some(206))
    );
    assert_eq!(sink, b"5");
}

#[test]
fn delay_holds_the_call_back() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.delay(Operation::HeadObject, Duration::from_millis(50));
    let started = Instant::now();
    s3.head_object(&head_req("k")).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[test]
fn a_delayed_call_does_not_hold_up_other_calls() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.delay(Operation::HeadObject, Duration::from_secs(2));
    let other = s3.clone();
    let sleeper = std::thread::spawn(move || other.head_object(&head_req("k")));
    // Once the HEAD is recorded it is asleep (or about to be), outside the lock.
    while s3.count(Operation::HeadObject) == 0 {
        std::thread::yield_now();
    }
    get(&s3, &get_req("k")).unwrap();
    // The GET is answered while the HEAD still sleeps (it answers nothing before its
    // 2 s are up): it did not wait behind it.
    assert!(!sleeper.is_finished());
    sleeper.join().unwrap().unwrap();
}

#[test]
fn on_call_hook_sees_every_call_and_can_fail_one() {
    let s3 = fake();
    put(&s3, "k", b"x");
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    s3.on_call(move |call| {
        counter.fetch_add(1, Ordering::SeqCst);
        match call {
            RecordedCall::GetObject(req) if req.range.is_some() => {
                Some(InjectedError::no_such_key().to_s3_error(
                    call.operation(),
                    call.bucket(),
                    call.key(),
                ))
            }
            _ => None,
        }
    });
    assert!(get(&s3, &get_req("k")).is_ok());
    let mut ranged = get_req("k");
    ranged.range = Some(ByteRange::from(0));
    let err = get(&s3, &ranged).unwrap_err();
    assert_eq!(
        (err.kind(), err.operation),
        (S3ErrorKind::NotFound, "GetObject")
    );
    s3.head_object(&head_req("k")).unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[test]
fn a_hook_may_call_back_into_the_fake() {
    let s3 = fake();
    put(&s3, "k", b"x");
    let inner = s3.clone();
    s3.on_call(move |_| {
        // Simulate a concurrent writer racing the read.
        inner.replace_object(B, "k", b"raced".to_vec());
        None
    });
    assert_eq!(get(&s3, &get_req("k")).unwrap().0, b"raced");
    s3.clear_faults();
}

#[test]
fn clear_faults_removes_faults_and_hooks() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.fail_always(Operation::GetObject, InjectedError::internal_error());
    s3.throttle(Operation::HeadObject, 5);
    s3.truncate_body(0, 5);
    s3.on_call(|call| Some(InjectedError::access_denied().to_s3_error(call.operation(), "", "")));
    s3.clear_faults();
    assert!(get(&s3, &get_req("k")).is_ok());
    assert!(s3.head_object(&head_req("k")).is_ok());
}

#[test]
fn an_injected_upload_failure_still_pulls_the_body_and_stores_nothing() {
    let s3 = fake();
    s3.fail_nth(Operation::PutObject, 1, InjectedError::internal_error());
    let progress = Arc::new(Progress::default());
    let mut body = RequestBody::new(vec![1u8; 10]).with_observer(progress.clone());
    assert!(s3.put_object(&put_req("k"), &mut body).is_err());
    assert_eq!(progress.0.load(Ordering::SeqCst), 10);
    assert!(s3.object(B, "k").is_none());
    body.rewind();
    s3.put_object(&put_req("k"), &mut body).unwrap();
    assert_eq!(s3.object(B, "k").unwrap().bytes().len(), 10);
}

#[test]
fn transport_errors_carry_their_kind_without_a_status() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.fail_nth(Operation::GetObject, 1, InjectedError::timeout());
    s3.fail_nth(Operation::GetObject, 2, InjectedError::connection_reset());
    let err = get(&s3, &get_req("k")).unwrap_err();
    assert_eq!((err.kind(), err.status), (S3ErrorKind::Timeout, None));
    let err = get(&s3, &get_req("k")).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient);
}

#[test]
fn an_error_inside_a_200_is_classified_by_its_code() {
    let s3 = fake();
    put(&s3, "src", b"x");
    s3.fail_nth(
        Operation::CopyObject,
        1,
        InjectedError::new(200, "InternalError"),
    );
    let err = s3.copy_object(&copy_req("src", "dst")).unwrap_err();
    assert_eq!(
        (err.status, err.kind()),
        (Some(200), S3ErrorKind::Transient)
    );
}

#[test]
fn faults_apply_in_order_and_the_first_wins() {
    let s3 = fake();
    put(&s3, "k", b"x");
    s3.fail_nth(Operation::GetObject, 1, InjectedError::access_denied());
    s3.throttle(Operation::GetObject, 1);
    assert_eq!(
        get(&s3, &get_req("k")).unwrap_err().kind(),
        S3ErrorKind::AccessDenied
    );
    // The throttle was not used up by the call the first fault failed.
    assert_eq!(
        get(&s3, &get_req("k")).unwrap_err().kind(),
        S3ErrorKind::Throttled
    );
    assert!(get(&s3, &get_req("k")).is_ok());
}

#[test]
fn the_fake_is_shared_across_threads() {
    let s3 = fake();
    let id = create(&s3, "mp");
    s3.throttle(Operation::UploadPart, 3);
    let handles: Vec<_> = (1..=8u32)
        .map(|n| {
            let s3 = s3.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                loop {
                    let mut body = RequestBody::new(vec![n as u8; 4]);
                    match s3.upload_part(&part_req("mp", &id, n), &mut body) {
                        Ok(out) => return CompletedPart::new(n, out.etag.unwrap()),
                        Err(e) if e.is_retryable() => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let parts: Vec<CompletedPart> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    s3.complete_multipart_upload(&complete_req("mp", &id, parts))
        .unwrap();
    assert_eq!(s3.count(Operation::UploadPart), 8 + 3);
    assert_eq!(s3.object(B, "mp").unwrap().data.len(), 32);
}

#[test]
fn the_fake_works_as_a_shared_trait_object() {
    let s3 = fake();
    let api: Arc<dyn S3Api> = Arc::new(s3.clone());
    api.put_object(&put_req("k"), &mut RequestBody::new(b"dyn".to_vec()))
        .unwrap();
    assert_eq!(s3.object(B, "k").unwrap().bytes(), b"dyn");
}
