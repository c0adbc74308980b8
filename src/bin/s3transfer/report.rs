//! What the user is told at the end: exit codes and the failures that carry them, the
//! final summary line and the `--json` report.

use s3transfer::{S3ErrorKind, TransferError, TransferOutput, Validation};

use crate::args::Options;
use crate::execute::interrupted;

/// Exit code: a failure with no more specific code.
pub(crate) const EXIT_OTHER: u8 = 1;
/// Exit code: bad usage (clap's own code for argument errors).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: the object, bucket or local source does not exist.
pub(crate) const EXIT_NOT_FOUND: u8 = 3;
/// Exit code: access denied (bad credentials, no permission).
pub(crate) const EXIT_ACCESS_DENIED: u8 = 4;
/// Exit code: the data failed a check (the object changed during a download, a
/// response did not match the request).
pub(crate) const EXIT_INTEGRITY: u8 = 5;
/// Exit code: a request kept failing until the attempts ran out.
pub(crate) const EXIT_RETRIES: u8 = 6;
/// Exit code: cancelled by Ctrl-C (SIGINT) or SIGTERM.
pub(crate) const EXIT_CANCELLED: u8 = 7;

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  other failure
  2  usage error
  3  not found (object, bucket or local source)
  4  access denied (credentials or permissions)
  5  integrity failure (checksum mismatch on upload or download, object changed
     during download, response mismatch)
  6  retries exhausted
  7  cancelled (Ctrl-C or SIGTERM)

Credentials and region come from the AWS SDK's chain, as in the AWS CLI: the
environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION),
the profile (--profile or AWS_PROFILE in ~/.aws/config and ~/.aws/credentials: keys,
role_arn, credential_process, SSO), web identity, container credentials, IMDSv2.";

/// A failure with its exit code, for the failures that are not a [`TransferError`].
#[derive(Debug)]
pub(crate) struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// A failure exiting with `code`.
    pub(crate) fn new(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError::new(EXIT_USAGE, message)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The exit code for a failed transfer.
pub(crate) fn transfer_exit_code(error: &TransferError) -> u8 {
    if error.is_cancelled() {
        EXIT_CANCELLED
    } else if matches!(error, TransferError::RetriesExceeded { .. }) {
        EXIT_RETRIES
    } else if error.is_not_found() {
        EXIT_NOT_FOUND
    } else if error
        .s3_error()
        .is_some_and(|e| e.kind() == S3ErrorKind::AccessDenied)
    {
        EXIT_ACCESS_DENIED
    } else if error.is_precondition_failed()
        || matches!(
            error,
            TransferError::S3DownloadFailed { .. } | TransferError::IntegrityFailed { .. }
        )
        // The store found the uploaded bytes did not match their checksum.
        || error.s3_error().is_some_and(|e| {
            matches!(
                e.code.as_deref(),
                Some("BadDigest" | "XAmzContentChecksumMismatch")
            )
        })
    {
        EXIT_INTEGRITY
    } else if let TransferError::Io { source, .. } = error
        && source.kind() == std::io::ErrorKind::NotFound
    {
        EXIT_NOT_FOUND
    } else {
        EXIT_OTHER
    }
}

/// The exit code for any failure of a command.
pub(crate) fn exit_code(error: &anyhow::Error) -> u8 {
    if interrupted() {
        return EXIT_CANCELLED;
    }
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<TransferError>() {
            return transfer_exit_code(e);
        }
    }
    EXIT_OTHER
}

/// What a command did, for the final line and `--json`.
#[derive(Default)]
pub(crate) struct Summary {
    files: u64,
    bytes: u64,
    parts: u64,
    /// Requests sent again after a retryable failure, over all transfers.
    retries: u64,
    /// Successful transfers by what their checksums covered.
    whole_object: u64,
    per_part: u64,
    etag: u64,
    unchecked: u64,
    failures: Vec<(String, TransferError)>,
}

impl Summary {
    /// Count a transfer that succeeded.
    pub(crate) fn succeeded(&mut self, output: &TransferOutput) {
        self.files += 1;
        self.bytes += output.bytes;
        self.parts += u64::from(output.parts);
        self.retries += u64::from(output.retries);
        match output.validated {
            Validation::WholeObject(_) => self.whole_object += 1,
            Validation::PerPart(_) => self.per_part += 1,
            Validation::Etag => self.etag += 1,
            _ => self.unchecked += 1,
        }
    }

    /// Keep a failed transfer (`label` names it) for the report and the exit code.
    pub(crate) fn failed(&mut self, label: String, error: TransferError) {
        self.failures.push((label, error));
    }

    /// The command's exit code: 7 after Ctrl-C whatever the transfers ended with, else
    /// the first failure's.
    pub(crate) fn exit_code(&self) -> u8 {
        if interrupted() {
            EXIT_CANCELLED
        } else {
            self.failures
                .first()
                .map_or(0, |(_, e)| transfer_exit_code(e))
        }
    }

    /// The `--json` report on stdout (stderr when stdout carries the data), else,
    /// unless quiet, the final line with the rate.
    pub(crate) fn print(
        &self,
        command: &str,
        seconds: f64,
        code: u8,
        options: &Options,
        to_stdout: bool,
    ) {
        if options.json {
            let report = serde_json::json!({
                "command": command,
                "files": self.files,
                "bytes": self.bytes,
                "seconds": seconds,
                "parts": self.parts,
                "retries": self.retries,
                // Successful transfers by what a checksum covered: the whole object, each
                // part on its own, or nothing (no checksum, or a store that kept none).
                "validated": {
                    "whole_object": self.whole_object,
                    "per_part": self.per_part,
                    "etag": self.etag,
                    "nothing": self.unchecked,
                },
                "errors": self.failures.len(),
                "failures": self.failures.iter().map(|(label, e)| serde_json::json!({
                    "transfer": label,
                    "error": e.to_string(),
                    "exit_code": transfer_exit_code(e),
                })).collect::<Vec<_>>(),
                "exit_code": code,
            });
            if to_stdout {
                eprintln!("{report}");
            } else {
                println!("{report}");
            }
        } else if !options.quiet && self.bytes > 0 {
            let rate = self.bytes as f64 / seconds.max(1e-9) / (1024.0 * 1024.0);
            eprintln!(
                "{} file(s), {} bytes in {seconds:.2} s ({rate:.1} MiB/s)",
                self.files, self.bytes
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3transfer::S3Error;

    fn s3(kind: S3ErrorKind) -> S3Error {
        S3Error::new(kind, "GetObject", "test")
    }

    #[test]
    fn exit_codes_by_error() {
        let download = |kind| TransferError::S3DownloadFailed {
            bucket: "b".into(),
            key: "k".into(),
            reason: "r".into(),
            source: Some(s3(kind)),
        };
        assert_eq!(transfer_exit_code(&download(S3ErrorKind::NotFound)), 3);
        assert_eq!(transfer_exit_code(&download(S3ErrorKind::AccessDenied)), 4);
        assert_eq!(
            transfer_exit_code(&download(S3ErrorKind::PreconditionFailed)),
            5
        );
        let retries = TransferError::RetriesExceeded {
            attempts: 3,
            last_error: s3(S3ErrorKind::Transient),
        };
        assert_eq!(transfer_exit_code(&retries), 6);
        let corrupt = TransferError::IntegrityFailed {
            bucket: "b".into(),
            key: "k".into(),
            algorithm: "CRC32".into(),
            expected: "AAAAAA==".into(),
            actual: "AAAAAQ==".into(),
            part_or_range: "bytes 0-9".into(),
        };
        assert_eq!(transfer_exit_code(&corrupt), 5);
        let rejected = TransferError::S3UploadFailed {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: None,
            source: S3Error::from_response(
                "PutObject",
                Some(400),
                Some("BadDigest".into()),
                "checksum mismatch",
            ),
        };
        assert_eq!(transfer_exit_code(&rejected), 5);
        let cancelled = TransferError::Cancelled {
            message: "interrupted".into(),
            fatal: true,
        };
        assert_eq!(transfer_exit_code(&cancelled), 7);
        assert_eq!(transfer_exit_code(&TransferError::Internal("x".into())), 1);
    }
}
