//! A central error handler, as in the seed document's `TransferExceptionHandler`: it
//! counts errors by kind (`TransferError::kind()`), logs each with its context
//! (operation, object, attempt, running count, the S3 error behind it) at a level that
//! fits the kind, and decides which to retry: a fatal shutdown, `TransferNotDone` and
//! an invalid subscriber never; a failed upload or download and `RetriesExceeded` yes,
//! up to a number of attempts.
//!
//! It is driven by real transfers against an S3 server inside this process (s3s-fs on
//! 127.0.0.1): an upload that succeeds; a download whose GETs fail with 500 until the
//! library's own retries run out once, retried by the handler and then successful; an
//! upload the server refuses (wrong secret key) on every attempt; `result_timeout` on a
//! slow upload; a transfer cancelled by a fatal shutdown; and a progress callback that
//! panics. Prints a summary and exits 0 when the counts and outcomes are the expected
//! ones, 1 otherwise.
//!
//! ```text
//! cargo run --example error_handler
//! ```

#[path = "support/flaky_s3.rs"]
mod flaky_s3;
#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flaky_s3::{FlakyS3, SlowReader};
use s3transfer::{
    DownloadArgs, DownloadTarget, ErrorKind, RusotoS3, S3Transfer, TransferConfig, TransferError,
    TransferManager, TransferOutput, UploadArgs, UploadSource,
};

/// Where an error happened, for the log line.
struct Context<'a> {
    operation: &'a str,
    object: String,
    attempt: u32,
    max_attempts: u32,
}

#[derive(Default)]
struct KindStats {
    count: u32,
    last_seen: u64,
}

/// Counts, logs and classifies transfer errors. Shared by every caller, so its counts
/// sit behind a mutex; the lock is never held while logging or transferring.
#[derive(Default)]
struct ErrorHandler {
    stats: parking_lot::Mutex<HashMap<ErrorKind, KindStats>>,
}

impl ErrorHandler {
    fn handle(&self, error: &TransferError, context: &Context) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let kind = error.kind();
        let count = {
            let mut stats = self.stats.lock();
            let entry = stats.entry(kind).or_default();
            entry.count += 1;
            entry.last_seen = now;
            entry.count
        };
        let level = match kind {
            ErrorKind::Fatal => "CRITICAL",
            ErrorKind::TransferNotDone => "WARNING",
            _ => "ERROR",
        };
        println!(
            "{now} {level:<8} kind={kind:?} op={} object={} attempt={}/{} count={count}: {error}",
            context.operation, context.object, context.attempt, context.max_attempts
        );
        if let TransferError::RetriesExceeded { last_error, .. } = error {
            println!("{now} {level:<8}   last retry error: {last_error}");
        } else if let Some(s3) = error.s3_error() {
            println!(
                "{now} {level:<8}   S3 said: status {:?}, code {:?}",
                s3.status, s3.code
            );
        }
    }

    /// The seed's `should_retry`.
    fn should_retry(&self, error: &TransferError, attempt: u32, max_attempts: u32) -> bool {
        if attempt >= max_attempts {
            return false;
        }
        match error.kind() {
            // A shutdown, a premature look, a broken callback: the same again would
            // fail the same way.
            ErrorKind::Fatal | ErrorKind::TransferNotDone | ErrorKind::InvalidSubscriberMethod => {
                false
            }
            ErrorKind::S3UploadFailed
            | ErrorKind::S3DownloadFailed
            | ErrorKind::RetriesExceeded => true,
            // Unknown: be conservative.
            _ => false,
        }
    }

    fn counts(&self) -> HashMap<ErrorKind, u32> {
        self.stats
            .lock()
            .iter()
            .map(|(k, s)| (*k, s.count))
            .collect()
    }
}

/// The seed's `robust_transfer_operation`: run `operation` until it succeeds or the
/// handler says stop, with exponential backoff between attempts.
fn robust(
    handler: &ErrorHandler,
    operation: &str,
    object: &str,
    max_attempts: u32,
    mut run: impl FnMut() -> Result<TransferOutput, TransferError>,
) -> Result<TransferOutput, TransferError> {
    let mut attempt = 1;
    loop {
        let error = match run() {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        let context = Context {
            operation,
            object: object.to_owned(),
            attempt,
            max_attempts,
        };
        handler.handle(&error, &context);
        if !handler.should_retry(&error, attempt, max_attempts) {
            return Err(error);
        }
        // Short for the example; a real service would start nearer a second.
        let delay = Duration::from_millis(20 << attempt);
        println!("   retrying in {} ms", delay.as_millis());
        std::thread::sleep(delay);
        attempt += 1;
    }
}

fn main() -> anyhow::Result<()> {
    let server = s3s_server::LocalS3::start();
    server.create_bucket("handled");
    let flaky = FlakyS3::new(server.client());
    // Two attempts per request, so that two failed GETs exhaust them.
    let retry = s3transfer::RetryConfig::builder().max_attempts(2).build()?;
    let config = TransferConfig::builder().retry(retry).build()?;
    let transfer = S3Transfer::new(flaky.clone(), config);
    let handler = ErrorHandler::default();
    let mut outcomes: Vec<(&str, bool)> = Vec::new();
    let small = || UploadSource::stream(Cursor::new(b"hello, handler".to_vec()));
    let no_progress = s3transfer::NO_CALLBACK;

    // 1. Succeeds at once.
    let r = robust(&handler, "upload", "handled/a.txt", 3, || {
        transfer.upload_fileobj(
            small(),
            "handled",
            "a.txt",
            UploadArgs::default(),
            no_progress,
        )
    });
    outcomes.push(("upload", r.is_ok()));

    // 2. Two GETs fail: the library's two attempts run out (RetriesExceeded); the
    //    handler retries and the next attempt succeeds.
    flaky.fail_next_gets(2);
    let r = robust(&handler, "download", "handled/a.txt", 3, || {
        transfer.download_fileobj(
            "handled",
            "a.txt",
            DownloadTarget::stream(std::io::sink()),
            DownloadArgs::default(),
            no_progress,
        )
    });
    outcomes.push(("flaky download", r.is_ok()));

    // 3. Refused every time (wrong secret): retried until the attempts run out.
    let refused = S3Transfer::new(
        Arc::new(
            RusotoS3::builder()
                .endpoint(server.endpoint())
                .region("us-east-1")
                .static_credentials(server.access_key(), "wrong-secret")
                .build()?,
        ),
        TransferConfig::default(),
    );
    let r = robust(&handler, "upload", "handled/refused.txt", 3, || {
        refused.upload_fileobj(
            small(),
            "handled",
            "refused.txt",
            UploadArgs::default(),
            no_progress,
        )
    });
    outcomes.push(("refused upload", r.is_ok()));

    // 4. Looked at too early: not retried. The transfer is cancelled and waited for,
    //    so that nothing is left running.
    let manager = transfer.manager();
    let r = robust(&handler, "upload", "handled/slow.bin", 3, || {
        let slow = SlowReader::new(
            Cursor::new(vec![1u8; 512 * 1024]),
            Duration::from_millis(20),
        );
        let future = manager.upload(
            UploadSource::stream(slow),
            "handled",
            "slow.bin",
            UploadArgs::default(),
            &[],
        )?;
        let result = future.result_timeout(Duration::from_millis(30));
        if matches!(result, Err(TransferError::TransferNotDone)) {
            future.cancel();
            let _ = future.result();
        }
        result
    });
    outcomes.push(("premature result", r.is_ok()));

    // 5. A progress callback that panics: InvalidSubscriberMethod, not retried. The
    //    default panic message would look like a crash of the example; say what it is.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {
        println!("   (the progress callback panicked, on purpose)")
    }));
    let r = robust(&handler, "download", "handled/a.txt", 3, || {
        transfer.download_fileobj(
            "handled",
            "a.txt",
            DownloadTarget::stream(std::io::sink()),
            DownloadArgs::default(),
            Some(|_: i64| panic!("a bug in the progress bar")),
        )
    });
    std::panic::set_hook(default_hook);
    outcomes.push(("panicking callback", r.is_ok()));

    // 6. A fatal shutdown while a slow upload runs: never retried (and the manager is
    //    closed anyway).
    let doomed = TransferManager::new(server.client(), TransferConfig::default());
    let r = std::thread::scope(|scope| {
        let slow = SlowReader::new(
            Cursor::new(vec![2u8; 512 * 1024]),
            Duration::from_millis(20),
        );
        let future = doomed.upload(
            UploadSource::stream(slow),
            "handled",
            "doomed.bin",
            UploadArgs::default(),
            &[],
        )?;
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            doomed.shutdown(true, "the service is stopping");
        });
        robust(&handler, "upload", "handled/doomed.bin", 3, || {
            future.result()
        })
    });
    outcomes.push(("fatal shutdown", r.is_ok()));

    transfer.manager().shutdown(false, "");
    refused.manager().shutdown(false, "");

    let counts = handler.counts();
    println!("\nsummary:");
    let mut sorted: Vec<_> = counts.iter().map(|(k, n)| (format!("{k:?}"), *n)).collect();
    sorted.sort();
    for (kind, n) in &sorted {
        println!("  {kind:<24} {n}");
    }
    for (what, ok) in &outcomes {
        println!("  {what:<24} {}", if *ok { "succeeded" } else { "failed" });
    }

    let expected_counts = HashMap::from([
        (ErrorKind::RetriesExceeded, 1),
        (ErrorKind::S3UploadFailed, 3),
        (ErrorKind::TransferNotDone, 1),
        (ErrorKind::InvalidSubscriberMethod, 1),
        (ErrorKind::Fatal, 1),
    ]);
    let expected_outcomes = [
        ("upload", true),
        ("flaky download", true),
        ("refused upload", false),
        ("premature result", false),
        ("panicking callback", false),
        ("fatal shutdown", false),
    ];
    if counts == expected_counts && outcomes == expected_outcomes {
        println!("counts and outcomes as expected");
        Ok(())
    } else {
        eprintln!("FAILED: expected counts {expected_counts:?} and outcomes {expected_outcomes:?}");
        std::process::exit(1);
    }
}
