//! An upload wrapped in the caller's own retry loop, as in the seed document's second
//! scenario: exponential backoff with jitter between attempts, and the reader rewound
//! (seek to 0) before each new attempt, because an upload reads a seekable source from
//! its *current* position and a failed attempt has left it part-way through.
//!
//! The first attempt fails for real: the reader returns an I/O error after 3 MiB of a
//! 6 MiB file, in the middle of a multipart upload (which the library aborts). The
//! second attempt reads from the rewound start and succeeds; the object is then
//! downloaded and compared byte for byte. Runs against an S3 server inside this process
//! (s3s-fs on 127.0.0.1). Exits 0 on success, 1 if a check fails.
//!
//! ```text
//! cargo run --example retry_loop
//! ```

#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use s3transfer::{
    DownloadArgs, NO_CALLBACK, S3Transfer, TransferConfig, TransferError, TransferOutput,
    UploadArgs, UploadSource,
};

const MIB: u64 = 1024 * 1024;

/// Reads a file through a cloned handle (so the caller's handle shares its position and
/// can rewind it), and fails once, after `fail_after` bytes, while `armed` is set.
struct FailsOnce {
    file: File,
    read: u64,
    fail_after: u64,
    armed: Arc<AtomicBool>,
}

impl Read for FailsOnce {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.armed.load(Ordering::SeqCst) && self.read >= self.fail_after {
            self.armed.store(false, Ordering::SeqCst);
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the network share went away (simulated)",
            ));
        }
        let n = self.file.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Seek for FailsOnce {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Exponential backoff with jitter: `base * 2^attempt` plus up to one `base` more,
/// random so that many clients failing together do not retry together.
fn backoff(attempt: u32, base: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let jitter = base.mul_f64((h.finish() % 1000) as f64 / 1000.0);
    base * 2u32.pow(attempt) + jitter
}

/// The seed's `upload_with_custom_retry`: retry the whole upload on failures that may
/// pass, rewinding `file` before each retry. Returns the output and the attempts made.
fn upload_with_custom_retry(
    transfer: &S3Transfer,
    file: &mut File,
    make_reader: impl Fn(File) -> FailsOnce,
    bucket: &str,
    key: &str,
    max_retries: u32,
) -> anyhow::Result<(TransferOutput, u32)> {
    for attempt in 0..=max_retries {
        let reader = make_reader(file.try_clone()?);
        let result = transfer.upload_fileobj(
            UploadSource::seekable(reader),
            bucket,
            key,
            UploadArgs::default(),
            NO_CALLBACK,
        );
        let error = match result {
            Ok(out) => {
                println!("upload succeeded on attempt {}", attempt + 1);
                return Ok((out, attempt + 1));
            }
            Err(e) => e,
        };
        // What may pass on a second try: S3 refusing or failing, our own retries
        // running out, or a local read error. Anything else (a bad argument, a
        // cancellation, a shutdown) would fail the same way again.
        let retryable = match &error {
            TransferError::S3UploadFailed { .. } => true,
            TransferError::RetriesExceeded { last_error, .. } => {
                println!("  internal retries exhausted; last: {last_error}");
                true
            }
            TransferError::Io { .. } => true,
            _ => false,
        };
        println!("upload attempt {} failed: {error}", attempt + 1);
        if !retryable || attempt == max_retries {
            return Err(error).context(format!("giving up after {} attempts", attempt + 1));
        }
        let delay = backoff(attempt, Duration::from_millis(100));
        println!("retrying in {:.2} s", delay.as_secs_f64());
        std::thread::sleep(delay);
        // The failed attempt left the shared position wherever it stopped reading.
        let left_at = file.stream_position()?;
        file.seek(SeekFrom::Start(0))?;
        println!("rewound the reader from byte {left_at} to 0");
    }
    unreachable!("the loop returns on its last attempt")
}

fn main() -> anyhow::Result<()> {
    let server = s3s_server::LocalS3::start();
    server.create_bucket("retries");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("test_file.bin");
    let data: Vec<u8> = (0..6 * MIB).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data)?;

    // 5 MiB parts, so 6 MiB is a two-part multipart upload.
    let config = TransferConfig::builder()
        .multipart_threshold(5 * MIB)
        .multipart_chunksize(5 * MIB)
        .build()?;
    let transfer = S3Transfer::new(server.client(), config);

    let armed = Arc::new(AtomicBool::new(true));
    let mut file = File::open(&path)?;
    let make_reader = |file| FailsOnce {
        file,
        read: 0,
        fail_after: 3 * MIB,
        armed: armed.clone(),
    };
    let (out, attempts) = upload_with_custom_retry(
        &transfer,
        &mut file,
        make_reader,
        "retries",
        "test_file.bin",
        3,
    )?;

    // Check it: two attempts, the whole file, and the same bytes back.
    let back = dir.path().join("back.bin");
    transfer.download_file(
        "retries",
        "test_file.bin",
        &back,
        DownloadArgs::default(),
        NO_CALLBACK,
    )?;
    if attempts != 2 {
        bail!("expected the second attempt to succeed, took {attempts}");
    }
    if out.bytes != data.len() as u64 || std::fs::read(&back)? != data {
        eprintln!("FAILED: the uploaded object differs from the file");
        std::process::exit(1);
    }
    println!(
        "verified: {} bytes in {} parts, identical to the file",
        out.bytes, out.parts
    );
    transfer.manager().shutdown(false, "");
    Ok(())
}
