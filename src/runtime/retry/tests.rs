//! The retry policy on a fake clock: backoff, jitter, the quota, stops.

use super::*;
use crate::client::S3ErrorKind;
use crate::error::TransferError;
use crate::runtime::clock;
use crate::runtime::clock::FakeClock;
use policy::thread_jitter;
use std::sync::Arc;
use std::time::Duration;

fn policy(config: RetryConfig, jitter: f64) -> (RetryPolicy, Arc<FakeClock>) {
    let clock = FakeClock::new();
    let p = RetryPolicy::with_clock(config, clock.clone(), Arc::new(move || jitter));
    (p, clock)
}

fn err(kind: S3ErrorKind) -> S3Error {
    S3Error::new(kind, "UploadPart", "injected")
}

const NEVER: &dyn Fn() -> bool = &|| false;

/// The defaults with the standard mode's 3 attempts, which the arithmetic of the
/// mechanics tests below is written for.
fn three_attempts() -> RetryConfig {
    RetryConfig::builder().max_attempts(3).build().unwrap()
}

#[test]
fn defaults_are_the_standard_mode_with_five_attempts() {
    let c = RetryConfig::default();
    // boto3's legacy mode and the AWS CLI's (the builder's docs say why).
    assert_eq!(c.max_attempts(), 5);
    assert_eq!(c.transient_backoff(), Duration::from_millis(50));
    assert_eq!(c.throttle_backoff(), Duration::from_secs(1));
    assert_eq!(c.max_backoff(), Duration::from_secs(20));
    assert_eq!(c.retry_quota(), Some(500));
    assert_eq!(c.retry_cost(), 5);
    assert_eq!(c.timeout_cost(), 10);
    assert_eq!(RetryConfig::builder().build().unwrap(), c);
}

#[test]
fn builder_refuses_values_that_cannot_work() {
    assert!(RetryConfig::builder().max_attempts(0).build().is_err());
    assert!(RetryConfig::builder().retry_quota(0).build().is_err());
    let c = RetryConfig::builder()
        .max_attempts(1)
        .no_retry_quota()
        .build()
        .unwrap();
    assert_eq!(c.retry_quota(), None);
}

#[test]
fn backoff_doubles_per_retry_up_to_the_cap() {
    let (p, _) = policy(RetryConfig::default(), 1.0);
    let ms = |kind, i| p.backoff_ceiling(kind, i).as_millis();
    let transient: Vec<_> = (0..12).map(|i| ms(S3ErrorKind::Transient, i)).collect();
    assert_eq!(
        transient,
        [
            50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000, 20000
        ]
    );
    let throttled: Vec<_> = (0..7).map(|i| ms(S3ErrorKind::Throttled, i)).collect();
    assert_eq!(throttled, [1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    // Timeouts and truncated bodies back off like transient errors.
    assert_eq!(ms(S3ErrorKind::Timeout, 1), 100);
    assert_eq!(ms(S3ErrorKind::TruncatedBody, 2), 200);
    // A huge retry number saturates at the cap instead of overflowing.
    assert_eq!(ms(S3ErrorKind::Throttled, u32::MAX), 20000);
}

#[test]
fn jitter_scales_the_ceiling() {
    for (jitter, expected_ms) in [(0.0, 0), (0.25, 250), (0.5, 500), (1.0, 1000)] {
        let (p, _) = policy(RetryConfig::default(), jitter);
        assert_eq!(
            p.backoff(S3ErrorKind::Throttled, 0).as_millis(),
            expected_ms
        );
    }
    // Out-of-range jitter from a faulty source never exceeds the ceiling.
    let (p, _) = policy(RetryConfig::default(), 7.0);
    assert_eq!(
        p.backoff(S3ErrorKind::Throttled, 9),
        Duration::from_secs(20)
    );
}

#[test]
fn the_real_jitter_is_uniform_in_zero_to_one() {
    let samples: Vec<f64> = (0..20_000).map(|_| thread_jitter()).collect();
    assert!(samples.iter().all(|r| (0.0..1.0).contains(r)));
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    assert!((0.47..0.53).contains(&mean), "mean {mean}");
    let below = samples.iter().filter(|r| **r < 0.1).count();
    let above = samples.iter().filter(|r| **r >= 0.9).count();
    assert!((1600..2400).contains(&below), "{below}");
    assert!((1600..2400).contains(&above), "{above}");
}

#[test]
fn a_retryable_failure_is_retried_with_growing_backoff() {
    let (p, clock) = policy(RetryConfig::default(), 1.0);
    let mut seen = Vec::new();
    let out = with_retries(&p, NEVER, &mut |attempt| {
        seen.push(attempt);
        if attempt < 3 {
            Err(err(S3ErrorKind::Transient))
        } else {
            Ok("done")
        }
    });
    assert_eq!(out.unwrap(), "done");
    assert_eq!(seen, [1, 2, 3]);
    // 50 ms then 100 ms, slept in slices of at most 10 ms.
    assert_eq!(clock.elapsed(), Duration::from_millis(150));
    assert!(clock.sleeps().iter().all(|s| *s <= clock::POLL));
    // Two retries took 5 each; the successful one gave its 5 back.
    assert_eq!(p.quota().available(), Some(495));
}

#[test]
fn giving_up_reports_the_attempts_and_the_last_error() {
    let (p, clock) = policy(three_attempts(), 0.5);
    let mut calls = 0;
    let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| {
        calls += 1;
        Err(err(S3ErrorKind::Throttled).with_object("b", &format!("k{calls}")))
    });
    let e = out.unwrap_err();
    match &e {
        RetryError::AttemptsExhausted {
            attempts,
            last_error,
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(last_error.key, "k3");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls, 3);
    // Half of 1 s, then half of 2 s.
    assert_eq!(clock.elapsed(), Duration::from_millis(1500));
    assert_eq!(p.quota().available(), Some(490));
    let t = e.into_transfer_error(|_| unreachable!());
    assert!(matches!(
        t,
        TransferError::RetriesExceeded { attempts: 3, .. }
    ));
}

#[test]
fn errors_that_cannot_pass_are_returned_at_once() {
    for kind in [
        S3ErrorKind::NotFound,
        S3ErrorKind::AccessDenied,
        S3ErrorKind::PreconditionFailed,
        S3ErrorKind::InvalidRange,
        S3ErrorKind::Cancelled,
        S3ErrorKind::Other,
    ] {
        let (p, clock) = policy(RetryConfig::default(), 1.0);
        let mut calls = 0;
        let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| {
            calls += 1;
            Err(err(kind))
        });
        match out {
            Err(RetryError::NotRetryable(e)) => assert_eq!(e.kind(), kind),
            other => panic!("{kind:?}: {other:?}"),
        }
        assert_eq!(calls, 1, "{kind:?}");
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert_eq!(p.quota().available(), Some(500));
    }
}

#[test]
fn the_predicate_can_refuse_a_retry() {
    let (p, _) = policy(RetryConfig::default(), 1.0);
    let mut calls = 0;
    let out: Result<(), _> = with_retries_if(&p, NEVER, &|e| e.key != "delivered", &mut |_| {
        calls += 1;
        Err(err(S3ErrorKind::TruncatedBody).with_object("b", "delivered"))
    });
    assert!(matches!(out, Err(RetryError::NotRetryable(_))));
    assert_eq!(calls, 1);
}

#[test]
fn timeouts_cost_more_tokens() {
    let (p, _) = policy(three_attempts(), 0.0);
    let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| Err(err(S3ErrorKind::Timeout)));
    assert!(matches!(out, Err(RetryError::AttemptsExhausted { .. })));
    assert_eq!(p.quota().available(), Some(480));
}

#[test]
fn an_empty_quota_fails_fast_and_successes_refill_it() {
    let config = RetryConfig::builder()
        .max_attempts(3)
        .retry_quota(12)
        .build()
        .unwrap();
    let (p, clock) = policy(config, 0.0);
    let failing = |_| -> Result<(), S3Error> { Err(err(S3ErrorKind::Transient)) };
    // 12 tokens pay for two retries of one request (3 attempts)...
    let out = with_retries(&p, NEVER, &mut failing.clone());
    assert!(matches!(
        out,
        Err(RetryError::AttemptsExhausted { attempts: 3, .. })
    ));
    assert_eq!(p.quota().available(), Some(2));
    // ...then the next failing request gets no retry at all.
    let mut calls = 0;
    let out = with_retries(&p, NEVER, &mut |a| {
        calls += 1;
        failing(a)
    });
    match out {
        Err(e @ RetryError::QuotaExhausted { attempts: 1, .. }) => {
            assert!(matches!(
                e.into_transfer_error(|_| unreachable!()),
                TransferError::RetriesExceeded { attempts: 1, .. }
            ));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls, 1);
    assert_eq!(clock.elapsed(), Duration::ZERO);
    // First-attempt successes put back one token each...
    for _ in 0..3 {
        with_retries(&p, NEVER, &mut |_| Ok(())).unwrap();
    }
    assert_eq!(p.quota().available(), Some(5));
    // ...which pays for one retry again; its success refunds its cost.
    let out = with_retries(&p, NEVER, &mut |a| {
        if a == 1 {
            Err(err(S3ErrorKind::Throttled))
        } else {
            Ok(a)
        }
    });
    assert_eq!(out.unwrap(), 2);
    assert_eq!(p.quota().available(), Some(5));
    // Refunds never lift the quota above its capacity.
    for _ in 0..100 {
        with_retries(&p, NEVER, &mut |_| Ok(())).unwrap();
    }
    assert_eq!(p.quota().available(), Some(12));
}

#[test]
fn without_a_quota_every_request_gets_its_attempts() {
    let config = RetryConfig::builder()
        .max_attempts(3)
        .no_retry_quota()
        .build()
        .unwrap();
    let (p, _) = policy(config, 0.0);
    for _ in 0..300 {
        let out: Result<(), _> = with_retries(&p, NEVER, &mut |_| Err(err(S3ErrorKind::Timeout)));
        assert!(matches!(
            out,
            Err(RetryError::AttemptsExhausted { attempts: 3, .. })
        ));
    }
    assert_eq!(p.quota().available(), None);
}

#[test]
fn a_stop_during_backoff_is_noticed_within_one_slice() {
    let (p, clock) = policy(RetryConfig::default(), 1.0);
    let stop_at = Duration::from_millis(35);
    let watcher = clock.clone();
    let stopped = move || watcher.elapsed() >= stop_at;
    let mut calls = 0;
    let out: Result<(), _> = with_retries(&p, &stopped, &mut |_| {
        calls += 1;
        Err(err(S3ErrorKind::Throttled))
    });
    match out {
        Err(RetryError::Stopped {
            attempts: 1,
            last_error,
        }) => assert_eq!(last_error.kind(), S3ErrorKind::Throttled),
        other => panic!("{other:?}"),
    }
    assert_eq!(calls, 1);
    // A 1 s backoff, abandoned at the first check after 35 ms.
    assert!(clock.elapsed() >= stop_at);
    assert!(clock.elapsed() <= stop_at + clock::POLL);
    // The retry that did not happen gave its tokens back.
    assert_eq!(p.quota().available(), Some(500));
}

#[test]
fn a_stop_before_the_backoff_skips_it() {
    let (p, clock) = policy(RetryConfig::default(), 1.0);
    let out: Result<(), _> = with_retries(&p, &|| true, &mut |_| Err(err(S3ErrorKind::Transient)));
    assert!(matches!(out, Err(RetryError::Stopped { attempts: 1, .. })));
    assert_eq!(clock.elapsed(), Duration::ZERO);
    let e = out.unwrap_err();
    assert_eq!(e.last_error().kind(), S3ErrorKind::Transient);
}

#[test]
fn builder_refuses_backoffs_above_five_minutes() {
    let limit = Duration::from_secs(300);
    type Set = fn(RetryConfigBuilder, Duration) -> RetryConfigBuilder;
    let setters: [(&str, Set); 3] = [
        ("transient_backoff", RetryConfigBuilder::transient_backoff),
        ("throttle_backoff", RetryConfigBuilder::throttle_backoff),
        ("max_backoff", RetryConfigBuilder::max_backoff),
    ];
    for (name, set) in setters {
        for too_long in [Duration::MAX, limit + Duration::from_nanos(1)] {
            let err = set(RetryConfig::builder(), too_long).build().unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
        assert!(set(RetryConfig::builder(), limit).build().is_ok(), "{name}");
    }
}

#[test]
fn a_cleanup_retries_outside_an_empty_quota_and_its_waits_end() {
    // The longest backoffs the builder accepts.
    let limit = Duration::from_secs(300);
    let config = RetryConfig::builder()
        .max_attempts(3)
        .transient_backoff(limit)
        .throttle_backoff(limit)
        .max_backoff(limit)
        .retry_quota(5)
        .build()
        .unwrap();
    let (p, clock) = policy(config, 1.0);
    assert!(p.quota().try_acquire(5), "the outage drained the quota");
    let cleanup = p.unmetered();
    let mut calls = 0;
    let out: Result<(), _> = with_retries(&cleanup, NEVER, &mut |_| {
        calls += 1;
        Err(err(S3ErrorKind::Throttled))
    });
    assert!(matches!(
        out,
        Err(RetryError::AttemptsExhausted { attempts: 3, .. })
    ));
    assert_eq!(calls, 3);
    // Two waits, each at most the limit: the cleanup ends, however long that takes.
    assert_eq!(clock.slept(), 2 * limit);
    // It neither spent nor refilled the shared quota.
    assert_eq!(p.quota().available(), Some(0));
    with_retries(&cleanup, NEVER, &mut |_| Ok(())).unwrap();
    assert_eq!(p.quota().available(), Some(0));
}
