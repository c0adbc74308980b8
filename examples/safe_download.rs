//! A safe download, as in the seed document's third scenario: download into the
//! caller's own temporary file (`<name>.tmp`, given to the library as a seekable
//! writer), check it (not empty, the size expected), and only then rename it over the
//! destination. Every error path removes the temporary file.
//!
//! (A `download_file` to a path already does this on its own, under a hidden temporary
//! name; this example is for callers who manage the temporary file themselves, for
//! example to check its contents before publishing it.)
//!
//! Runs four downloads against an S3 server inside this process (s3s-fs on 127.0.0.1):
//! a good one, a missing key (the S3 error path), an empty object and a size that is
//! not the one expected (the two checks), and verifies that no `.tmp` file survives any
//! of them and that only the good one produced a file. Exits 0 on success, 1 if a check
//! fails.
//!
//! ```text
//! cargo run --example safe_download
//! ```

#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use s3transfer::{
    DownloadArgs, DownloadTarget, NO_CALLBACK, S3Transfer, TransferConfig, TransferError,
    UploadArgs, UploadSource,
};

/// Why a safe download did not produce its file.
#[derive(Debug, thiserror::Error)]
enum SafeDownloadError {
    #[error("download failed: {0}")]
    Transfer(#[from] TransferError),
    #[error("downloaded file is empty")]
    Empty,
    #[error("downloaded {actual} bytes, expected {expected}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("file system error: {0}")]
    Io(#[from] std::io::Error),
}

/// Removes the temporary file when dropped, unless it was renamed into place: one
/// place that covers every early return, `?` included.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep && self.path.exists() {
            match std::fs::remove_file(&self.path) {
                Ok(()) => println!("  cleaned up {}", self.path.display()),
                Err(e) => eprintln!("  could not remove {}: {e}", self.path.display()),
            }
        }
    }
}

/// The seed's `safe_download`, with an optional size check.
fn safe_download(
    transfer: &S3Transfer,
    bucket: &str,
    key: &str,
    filename: &Path,
    expected_size: Option<u64>,
) -> Result<u64, SafeDownloadError> {
    let mut temp = TempFile {
        path: PathBuf::from(format!("{}.tmp", filename.display())),
        keep: false,
    };
    let file = File::create(&temp.path)?;
    let out = transfer.download_fileobj(
        bucket,
        key,
        DownloadTarget::seekable(file),
        DownloadArgs::default(),
        NO_CALLBACK,
    )?;
    let size = std::fs::metadata(&temp.path)?.len();
    if size == 0 {
        return Err(SafeDownloadError::Empty);
    }
    let expected = expected_size.unwrap_or(out.bytes);
    if size != expected {
        return Err(SafeDownloadError::SizeMismatch {
            expected,
            actual: size,
        });
    }
    std::fs::rename(&temp.path, filename)?;
    temp.keep = true;
    println!(
        "  download completed: {} ({size} bytes)",
        filename.display()
    );
    Ok(size)
}

fn main() -> anyhow::Result<()> {
    let server = s3s_server::LocalS3::start();
    server.create_bucket("safe");
    let transfer = S3Transfer::new(server.client(), TransferConfig::default());
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    for (key, bytes) in [("test_file.bin", body.clone()), ("empty.bin", Vec::new())] {
        transfer.upload_fileobj(
            UploadSource::stream(Cursor::new(bytes)),
            "safe",
            key,
            UploadArgs::default(),
            NO_CALLBACK,
        )?;
    }
    let dir = tempfile::tempdir()?;
    let mut failures = Vec::new();

    // (label, key, destination, expected size, should succeed)
    let cases = [
        ("good", "test_file.bin", "downloaded.bin", None, true),
        ("missing key", "no-such-key.bin", "missing.bin", None, false),
        ("empty object", "empty.bin", "empty.bin", None, false),
        (
            "wrong size",
            "test_file.bin",
            "wrong.bin",
            Some(1024u64),
            false,
        ),
    ];
    for (label, key, name, expected, should_succeed) in cases {
        println!("{label}: s3://safe/{key}");
        let dest = dir.path().join(name);
        let result = safe_download(&transfer, "safe", key, &dest, expected);
        match &result {
            Ok(_) => println!("  ok"),
            Err(SafeDownloadError::Transfer(e)) if e.is_not_found() => {
                println!("  failed, no such key: {e}")
            }
            Err(e) => println!("  failed: {e}"),
        }
        let temp = PathBuf::from(format!("{}.tmp", dest.display()));
        if temp.exists() {
            failures.push(format!("{label}: {} was left behind", temp.display()));
        }
        if result.is_ok() != should_succeed || dest.exists() != should_succeed {
            failures.push(format!("{label}: unexpected outcome {result:?}"));
        }
    }
    if std::fs::read(dir.path().join("downloaded.bin"))? != body {
        failures.push("good: the file differs from the object".into());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if leftovers != ["downloaded.bin"] {
        failures.push(format!("expected only downloaded.bin, found {leftovers:?}"));
    }
    transfer.manager().shutdown(false, "");

    if failures.is_empty() {
        println!("every path ended with no temporary file; only the good download produced one");
        Ok(())
    } else {
        for f in &failures {
            eprintln!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
