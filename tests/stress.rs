//! Stress: 200 concurrent small transfers on a manager with small pools, under random
//! retryable faults and random cancels. Every future completes (no hang, no deadlock),
//! every success is byte-exact, every failure is a cancel or retries running out, a
//! failed upload leaves no object and a failed download no file, no multipart upload
//! stays open, and no library thread survives the shutdown. Faults and cancels did
//! happen. Its own binary, so the thread count is ours.
//!
//! `STRESS_SEED` reproduces a run's choices: sizes and cancels are drawn on the test
//! thread, and whether a call fails is a function of the seed and of the call itself
//! (operation, key, part or range, and how many times that same call was made), never
//! of the order in which threads happen to ask. Every transfer has keys of its own, so
//! its calls are its own. (Whether a cancel lands before the transfer ends is timing.)

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use s3transfer::client::*;
use s3transfer::testing::{FakeS3, InjectedError, Operation, RecordedCall};
use s3transfer::{
    DownloadArgs, DownloadTarget, RetryConfig, TransferConfig, TransferError, TransferManager,
    UploadArgs, UploadSource,
};
use s3transfer::{S3Api, S3Error, S3ErrorKind};

#[macro_use]
#[path = "common/mod.rs"]
mod common;
use common::random_bytes;

/// A seeded xorshift, used only on the test thread.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// splitmix64 of `seed` and `what`: the same for the same inputs, in any thread order.
fn roll(seed: u64, what: &str) -> u64 {
    let mut x = seed;
    for b in what.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Decides per call, by the call's identity and how many times the same call was seen.
struct Dice {
    seed: u64,
    seen: parking_lot::Mutex<HashMap<String, u32>>,
}

impl Dice {
    /// A number below `n` for the `n`-th time `what` is asked.
    fn below(&self, what: String, n: u64) -> u64 {
        let time = {
            let mut seen = self.seen.lock();
            let count = seen.entry(what.clone()).or_default();
            *count += 1;
            *count
        };
        roll(self.seed, &format!("{what}#{time}")) % n
    }
}

/// What makes a call itself: its operation, key, and the part or range it names.
fn identity(call: &RecordedCall) -> String {
    let detail = match call {
        RecordedCall::UploadPart { request, .. } => format!("part {}", request.part_number),
        RecordedCall::GetObject(request) => format!(
            "range {:?} part {:?}",
            request.range.map(|r| r.start),
            request.part_number
        ),
        _ => String::new(),
    };
    format!("{:?} {} {detail}", call.operation(), call.key())
}

/// Cuts GET bodies short after 3,000 bytes (a dropped connection), for the calls the
/// dice pick, and counts the cuts.
struct Truncating {
    inner: Arc<dyn S3Api>,
    dice: Arc<Dice>,
    cuts: AtomicUsize,
}

struct CutSink<'a> {
    inner: &'a mut dyn ResponseSink,
    cut: bool,
    passed: u64,
}

const CUT_AT: u64 = 3_000;

impl ResponseSink for CutSink<'_> {
    fn on_response(&mut self, head: &GetObjectOutput) -> Result<(), S3Error> {
        // Only a body longer than the cut can be cut.
        self.cut &= head.content_length > CUT_AT;
        self.inner.on_response(head)
    }
    fn write_chunk(&mut self, data: &[u8]) -> Result<(), S3Error> {
        let n = if self.cut {
            (CUT_AT - self.passed).min(data.len() as u64) as usize
        } else {
            data.len()
        };
        self.passed += n as u64;
        if n == 0 {
            return Ok(());
        }
        self.inner.write_chunk(&data[..n])
    }
}

impl S3Api for Truncating {
    fn get_object(
        &self,
        r: &GetObjectRequest,
        s: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let what = format!(
            "cut {} {:?} {:?}",
            r.key,
            r.range.map(|r| r.start),
            r.part_number
        );
        let mut sink = CutSink {
            inner: s,
            cut: self.dice.below(what, 16) == 0,
            passed: 0,
        };
        let out = self.inner.get_object(r, &mut sink)?;
        if sink.cut {
            self.cuts.fetch_add(1, Ordering::SeqCst);
            return Err(S3Error::new(
                S3ErrorKind::TruncatedBody,
                "GetObject",
                "connection dropped mid-body",
            ));
        }
        Ok(out)
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

fn library_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("s3transfer-"))
        .count()
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

enum Check {
    Uploaded {
        key: String,
        data: Vec<u8>,
    },
    Streamed {
        sink: Arc<parking_lot::Mutex<Vec<u8>>>,
        data: Vec<u8>,
    },
    File {
        path: std::path::PathBuf,
        data: Vec<u8>,
    },
}

#[test]
fn two_hundred_transfers_under_random_faults_and_cancels_all_complete_correctly() {
    let seed = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_u64);
    println!("STRESS_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let dice = Arc::new(Dice {
        seed,
        seen: Default::default(),
    });
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let sources: Vec<Vec<u8>> = (0..20)
        .map(|i| random_bytes(1000 + i * 20_011, 1000 + i as u64))
        .collect();
    let big = random_bytes(6 * 1024 * 1024 + 17, 7);
    // Every download reads a key of its own, so the calls it makes are its own.
    let source_of = |i: usize| {
        if i % 40 == 2 {
            big.clone()
        } else {
            sources[i % 20].clone()
        }
    };
    for i in (0..200).filter(|i| i % 4 >= 2) {
        fake.put_object_bytes("b", &format!("src/{i}"), source_of(i));
    }

    // About one call in six fails with a retryable error; aborts are spared, so that
    // "no upload left open" tests the engine rather than the dice.
    let faults = Arc::new(AtomicUsize::new(0));
    {
        let (dice, faults) = (dice.clone(), faults.clone());
        fake.on_call(move |call| {
            let op = call.operation();
            if op == Operation::AbortMultipartUpload {
                return None;
            }
            let fault = match dice.below(identity(call), 12) {
                0 => InjectedError::slow_down(),
                1 => InjectedError::internal_error(),
                _ => return None,
            };
            faults.fetch_add(1, Ordering::SeqCst);
            Some(fault.to_s3_error(op, call.bucket(), call.key()))
        });
    }
    let client = Arc::new(Truncating {
        inner: Arc::new(fake.clone()),
        dice: dice.clone(),
        cuts: AtomicUsize::new(0),
    });

    let retry = RetryConfig::builder()
        .transient_backoff(Duration::from_millis(1))
        .throttle_backoff(Duration::from_millis(2))
        .build()
        .unwrap();
    let config = TransferConfig::builder()
        .multipart_threshold(5 * 1024 * 1024)
        .multipart_chunksize(5 * 1024 * 1024)
        .max_request_concurrency(3)
        .max_request_queue_size(4)
        .max_submission_concurrency(2)
        .max_submission_queue_size(4)
        .max_io_queue_size(4)
        .io_chunksize(4096)
        .max_in_memory_upload_chunks(2)
        .max_in_memory_download_chunks(2)
        .retry(retry)
        .build()
        .unwrap();
    let manager = TransferManager::new(client.clone(), config);
    let dir = tempfile::tempdir().unwrap();

    let mut futures = Vec::new();
    let mut checks = Vec::new();
    let mut cancels = 0;
    for i in 0..200usize {
        let (future, check) = match i % 4 {
            0 | 1 => {
                let data = if i % 40 == 0 {
                    big.clone()
                } else {
                    random_bytes(rng.below(50_000) as usize, i as u64)
                };
                let key = format!("up/{i}");
                let f = manager
                    .upload(
                        UploadSource::stream(Cursor::new(data.clone())),
                        "b",
                        &key,
                        UploadArgs::default(),
                        &[],
                    )
                    .unwrap();
                (f, Check::Uploaded { key, data })
            }
            2 => {
                let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
                let f = manager
                    .download(
                        "b",
                        &format!("src/{i}"),
                        DownloadTarget::stream(Collect(sink.clone())),
                        DownloadArgs::default(),
                        &[],
                    )
                    .unwrap();
                (
                    f,
                    Check::Streamed {
                        sink,
                        data: source_of(i),
                    },
                )
            }
            _ => {
                let path = dir.path().join(format!("dl-{i}"));
                let f = manager
                    .download(
                        "b",
                        &format!("src/{i}"),
                        path.as_path(),
                        DownloadArgs::default(),
                        &[],
                    )
                    .unwrap();
                (
                    f,
                    Check::File {
                        path,
                        data: source_of(i),
                    },
                )
            }
        };
        if rng.below(10) == 0 {
            future.cancel_with_message("random cancel");
            cancels += 1;
        }
        futures.push(future);
        checks.push(check);
    }
    // A second wave of cancels lands while transfers run.
    for f in &futures {
        if rng.below(12) == 0 {
            f.cancel();
            cancels += 1;
        }
    }

    let (mut ok, mut cancelled, mut failed) = (0, 0, 0);
    for (f, check) in futures.iter().zip(&checks) {
        match f.result_timeout(Duration::from_secs(120)) {
            Err(TransferError::TransferNotDone) => {
                panic!("transfer {} hung", f.meta().transfer_id())
            }
            Ok(_) => {
                ok += 1;
                match check {
                    Check::Uploaded { key, data } => {
                        assert!(fake.object("b", key).unwrap().bytes() == &data[..], "{key}")
                    }
                    Check::Streamed { sink, data } => assert!(*sink.lock() == *data),
                    Check::File { path, data } => assert!(std::fs::read(path).unwrap() == *data),
                }
            }
            Err(e) => {
                // Every injected fault is retryable: a transfer fails only when its
                // retries run out on one, or when it was cancelled.
                match &e {
                    TransferError::Cancelled { .. } => cancelled += 1,
                    TransferError::RetriesExceeded { last_error, .. } => {
                        assert!(last_error.is_retryable(), "{e}");
                        failed += 1;
                    }
                    other => panic!("unexpected failure {:?}: {other}", other.kind()),
                }
                match check {
                    Check::Uploaded { key, .. } => assert!(
                        fake.object("b", key).is_none(),
                        "a failed upload left {key}: {e}"
                    ),
                    Check::File { path, .. } => {
                        assert!(!path.exists(), "a failed download left {}", path.display())
                    }
                    Check::Streamed { .. } => {}
                }
            }
        }
    }
    let cuts = client.cuts.load(Ordering::SeqCst);
    let faults = faults.load(Ordering::SeqCst);
    println!(
        "ok {ok}, cancelled {cancelled}, failed {failed}; {faults} faults, {cuts} cut bodies, {cancels} cancels"
    );
    assert_eq!(ok + cancelled + failed, 200);
    assert!(
        ok > 100,
        "most transfers succeed under a one-in-six fault rate"
    );
    // The run tested what it claims: faults were injected, bodies cut, transfers
    // cancelled.
    assert!(faults > 0 && cuts > 0, "{faults} faults, {cuts} cuts");
    assert!(cancelled > 0, "none of the {cancels} cancels landed");
    manager.shutdown(false, "");
    assert!(
        fake.list_multipart_uploads("b").is_empty(),
        "no multipart upload left open"
    );
    let temps: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".s3tmp"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    drop(client);
    drop(manager);
    assert_eq!(
        library_threads(),
        0,
        "no library thread left after shutdown"
    );
}
