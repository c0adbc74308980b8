//! An upload with error handling: one `match` arm per error type (`S3UploadFailed`,
//! `TransferNotDone`, `RetriesExceeded` with its `last_error`, everything else), as in
//! the seed document's first scenario. Each arm is then *taken for real* against an S3
//! server running inside this process (s3s-fs on 127.0.0.1):
//!
//! * a plain upload succeeds (`Ok`);
//! * an upload signed with a wrong secret key is refused by the server
//!   (`S3UploadFailed`; s3s-fs creates a missing bucket on PutObject, so "no such
//!   bucket" cannot be provoked against it, a refused signature can);
//! * `result_timeout` on a slow upload returns `TransferNotDone` before it ends, and the
//!   same future then completes;
//! * a download whose GETs keep failing with 500 InternalError runs out of attempts
//!   (`RetriesExceeded`; this version retries GETs, not uploads, so the retry arm is
//!   shown on a download);
//! * an upload of a file that does not exist lands in the catch-all arm (`Io`).
//!
//! Exits 0 when every scenario took the arm it should, 1 otherwise.
//!
//! ```text
//! cargo run --example error_handling
//! ```

#[path = "support/flaky_s3.rs"]
mod flaky_s3;
#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use flaky_s3::{FlakyS3, SlowReader};
use s3transfer::{
    DownloadArgs, DownloadTarget, RusotoS3, TransferConfig, TransferError, TransferFuture,
    TransferManager, TransferOutput, UploadArgs, UploadSource,
};

/// Which arm a result took.
#[derive(Debug, PartialEq)]
enum Arm {
    Ok,
    S3UploadFailed,
    TransferNotDone,
    RetriesExceeded,
    Other,
}

/// The seed's `try: future.result() except ...:` block, as one `match`.
fn handle(label: &str, result: Result<TransferOutput, TransferError>) -> Arm {
    match result {
        Ok(out) => {
            println!(
                "[{label}] completed: {} bytes, ETag {:?}",
                out.bytes, out.etag
            );
            Arm::Ok
        }
        Err(TransferError::S3UploadFailed {
            bucket,
            key,
            upload_id,
            source,
        }) => {
            println!("[{label}] upload to s3://{bucket}/{key} failed: {source}");
            println!(
                "[{label}]   S3 code {:?}, HTTP status {:?}, classified {:?}, multipart upload {:?}",
                source.code, source.status, source.kind, upload_id
            );
            Arm::S3UploadFailed
        }
        Err(TransferError::TransferNotDone) => {
            println!("[{label}] the transfer is not complete yet");
            Arm::TransferNotDone
        }
        Err(TransferError::RetriesExceeded {
            attempts,
            last_error,
        }) => {
            println!("[{label}] retries exhausted after {attempts} attempts");
            println!("[{label}]   last error: {last_error}");
            Arm::RetriesExceeded
        }
        Err(other) => {
            println!("[{label}] unexpected error ({:?}): {other}", other.kind());
            Arm::Other
        }
    }
}

fn main() -> anyhow::Result<()> {
    let server = s3s_server::LocalS3::start();
    server.create_bucket("errors");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("test_file.txt");
    std::fs::write(&file, b"hello from the error handling example\n")?;

    let flaky = FlakyS3::new(server.client());
    // Two attempts per request keep the retry scenario short.
    let retry = s3transfer::RetryConfig::builder().max_attempts(2).build()?;
    let config = TransferConfig::builder().retry(retry).build()?;
    let manager = TransferManager::new(flaky.clone(), config);
    let mut failures = Vec::new();
    let mut expect = |label: &str, arm: Arm, want: Arm| {
        if arm != want {
            failures.push(format!("{label}: took {arm:?}, expected {want:?}"));
        }
    };

    // 1. Success.
    let future = manager.upload(
        file.as_path(),
        "errors",
        "test_file.txt",
        UploadArgs::default(),
        &[],
    )?;
    expect("ok", handle("ok", future.result()), Arm::Ok);

    // 2. The server refuses the request: S3UploadFailed, with S3's own error inside.
    let bad_client = RusotoS3::builder()
        .endpoint(server.endpoint())
        .region("us-east-1")
        .static_credentials(server.access_key(), "wrong-secret")
        .build()?;
    let bad_manager = TransferManager::new(Arc::new(bad_client), TransferConfig::default());
    let future = bad_manager.upload(
        file.as_path(),
        "errors",
        "test_file.txt",
        UploadArgs::default(),
        &[],
    )?;
    expect(
        "refused",
        handle("refused", future.result()),
        Arm::S3UploadFailed,
    );
    bad_manager.shutdown(false, "");

    // 3. Asking too early: TransferNotDone, and the transfer carries on regardless.
    let slow = SlowReader::new(
        Cursor::new(vec![7u8; 1024 * 1024]),
        Duration::from_millis(20),
    );
    let future: TransferFuture = manager.upload(
        UploadSource::stream(slow),
        "errors",
        "slow.bin",
        UploadArgs::default(),
        &[],
    )?;
    expect(
        "too early",
        handle(
            "too early",
            future.result_timeout(Duration::from_millis(50)),
        ),
        Arm::TransferNotDone,
    );
    expect("waited", handle("waited", future.result()), Arm::Ok);

    // 4. Every GET answers 500: the library retries, then gives up with the last error.
    flaky.fail_next_gets(2);
    let future = manager.download(
        "errors",
        "test_file.txt",
        DownloadTarget::stream(std::io::sink()),
        DownloadArgs::default(),
        &[],
    )?;
    expect(
        "retries",
        handle("retries", future.result()),
        Arm::RetriesExceeded,
    );

    // 5. Anything else: here a local file that is not there.
    let future = manager.upload(
        dir.path().join("no-such-file.txt").as_path(),
        "errors",
        "missing.txt",
        UploadArgs::default(),
        &[],
    )?;
    expect("other", handle("other", future.result()), Arm::Other);

    // The seed's `finally: transfer_manager.shutdown()`.
    manager.shutdown(false, "");

    if failures.is_empty() {
        println!("every scenario took the arm it should");
        Ok(())
    } else {
        for f in &failures {
            eprintln!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
