//! The caller's own validation errors around an upload, as in the seed document's last
//! scenario: before uploading, check that the file exists, is a regular file, is not
//! larger than a limit and can be read, and report each failure as a variant of the
//! caller's own error type (a `thiserror` enum carrying what was expected and what was
//! found), next to the library's `TransferError` for failures at S3.
//!
//! Runs six cases against an S3 server inside this process (s3s-fs on 127.0.0.1): a
//! valid file (uploaded), a file over the limit, a missing file, a directory, a file
//! that cannot be read (mode 000; as root, which reads those anyway, Linux's
//! `/proc/self/mem`, a regular file whose first read fails with EIO), and a valid file
//! the server refuses. Nothing invalid reaches S3. Exits 0 when every case ends as
//! expected, 1 otherwise.
//!
//! ```text
//! cargo run --example validate_upload
//! ```

#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3transfer::{
    NO_CALLBACK, RusotoS3, S3Transfer, TransferConfig, TransferError, TransferOutput, UploadArgs,
};

/// Why a file was not accepted for upload (the seed's `ValidationError`).
#[derive(Debug, thiserror::Error)]
enum ValidationError {
    #[error("file not found: {0}")]
    Missing(PathBuf),
    #[error("not a regular file: {0}")]
    NotAFile(PathBuf),
    #[error("file too large: {actual} bytes, expected at most {limit}")]
    TooLarge { limit: u64, actual: u64 },
    #[error("file not readable: {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Everything `validate_and_upload` can fail with: the caller's checks, or S3.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error("validation failed: {0}")]
    Validation(#[from] ValidationError),
    #[error("S3 upload failed: {0}")]
    Transfer(#[from] TransferError),
}

fn validate(path: &Path, max_size: u64) -> Result<u64, ValidationError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ValidationError::Missing(path.to_owned()));
        }
        Err(source) => {
            return Err(ValidationError::Unreadable {
                path: path.to_owned(),
                source,
            });
        }
    };
    if !meta.is_file() {
        return Err(ValidationError::NotAFile(path.to_owned()));
    }
    if meta.len() > max_size {
        return Err(ValidationError::TooLarge {
            limit: max_size,
            actual: meta.len(),
        });
    }
    // Readable means a read works, not that the mode bits look right (root, ACLs).
    let unreadable = |source| ValidationError::Unreadable {
        path: path.to_owned(),
        source,
    };
    File::open(path)
        .and_then(|mut f| f.read(&mut [0u8; 1]))
        .map_err(unreadable)?;
    Ok(meta.len())
}

/// The seed's `validate_and_upload`.
fn validate_and_upload(
    transfer: &S3Transfer,
    path: &Path,
    bucket: &str,
    key: &str,
    max_size: u64,
) -> Result<TransferOutput, UploadError> {
    validate(path, max_size)?;
    let out = transfer.upload_file(path, bucket, key, UploadArgs::default(), NO_CALLBACK)?;
    println!(
        "  upload successful: {} -> s3://{bucket}/{key}",
        path.display()
    );
    Ok(out)
}

/// What a case should end with.
#[derive(Debug, PartialEq)]
enum Want {
    Uploaded,
    Missing,
    NotAFile,
    TooLarge,
    Unreadable,
    S3Failed,
}

fn outcome(result: &Result<TransferOutput, UploadError>) -> Want {
    match result {
        Ok(_) => Want::Uploaded,
        Err(UploadError::Validation(ValidationError::Missing(_))) => Want::Missing,
        Err(UploadError::Validation(ValidationError::NotAFile(_))) => Want::NotAFile,
        Err(UploadError::Validation(ValidationError::TooLarge { .. })) => Want::TooLarge,
        Err(UploadError::Validation(ValidationError::Unreadable { .. })) => Want::Unreadable,
        Err(UploadError::Transfer(_)) => Want::S3Failed,
    }
}

fn main() -> anyhow::Result<()> {
    let server = s3s_server::LocalS3::start();
    server.create_bucket("validated");
    let transfer = S3Transfer::new(server.client(), TransferConfig::default());
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
    const LIMIT: u64 = 1024 * 1024;

    let dir = tempfile::tempdir()?;
    let good = dir.path().join("test_file.txt");
    std::fs::write(&good, b"a small, valid file\n")?;
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; LIMIT as usize + 1])?;
    let locked = dir.path().join("locked.txt");
    std::fs::write(&locked, b"secret\n")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000))?;
    }
    // Root (and some ACL setups) read the file anyway: then the case cannot be shown.
    let locked_readable = File::open(&locked).is_ok();

    let mut cases: Vec<(&str, &S3Transfer, PathBuf, Want)> = vec![
        ("valid", &transfer, good.clone(), Want::Uploaded),
        ("too large", &transfer, big, Want::TooLarge),
        (
            "missing",
            &transfer,
            dir.path().join("absent.txt"),
            Want::Missing,
        ),
        (
            "directory",
            &transfer,
            dir.path().to_owned(),
            Want::NotAFile,
        ),
        ("refused by S3", &refused, good, Want::S3Failed),
    ];
    let proc_mem = PathBuf::from("/proc/self/mem");
    if !locked_readable {
        cases.push(("unreadable", &transfer, locked, Want::Unreadable));
    } else if cfg!(target_os = "linux") && proc_mem.is_file() {
        // Root reads mode-000 files. /proc/self/mem is a regular file that opens but
        // refuses a read at offset 0 (EIO), so the read check still has a real case.
        println!("(mode-000 files are readable here, e.g. as root: /proc/self/mem stands in)");
        cases.push(("unreadable", &transfer, proc_mem, Want::Unreadable));
    } else {
        println!(
            "(mode-000 files are readable here, e.g. as root: the unreadable case is skipped)"
        );
    }

    let mut failures = Vec::new();
    for (label, transfer, path, want) in cases {
        println!("{label}: {}", path.display());
        let result = validate_and_upload(transfer, &path, "validated", "test_file.txt", LIMIT);
        match &result {
            Ok(out) => println!("  ok, {} bytes", out.bytes),
            Err(UploadError::Validation(e)) => println!("  validation error: {e}"),
            Err(UploadError::Transfer(e)) => println!("  S3 error ({:?}): {e}", e.kind()),
        }
        let got = outcome(&result);
        if got != want {
            failures.push(format!("{label}: got {got:?}, expected {want:?}"));
        }
    }
    transfer.manager().shutdown(false, "");
    refused.manager().shutdown(false, "");

    if failures.is_empty() {
        println!("every case ended as expected");
        Ok(())
    } else {
        for f in &failures {
            eprintln!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
