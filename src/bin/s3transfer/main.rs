//! `s3transfer`: the command-line tool over the library (feature `cli`): `cp`, `rm` and
//! `ls` against S3 or any S3-compatible store, with progress bars and exit codes.

mod listing;
mod location;
mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use s3transfer::client::ChecksumAlgorithm;
use s3transfer::{
    ChecksumWhen, CopyArgs, CopySource, DeleteArgs, DownloadArgs, DownloadTarget, RetryConfig,
    RusotoS3, S3ErrorKind, TransferConfig, TransferError, TransferFuture, TransferManager,
    UploadArgs, UploadSource, Validation,
};

use location::{Location, dir_prefix, join_key, key_basename, parse_size};
use progress::Progress;

/// Exit code: a failure with no more specific code.
pub const EXIT_OTHER: u8 = 1;
/// Exit code: bad usage (clap's own code for argument errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the object, bucket or local source does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit code: access denied (bad credentials, no permission).
pub const EXIT_ACCESS_DENIED: u8 = 4;
/// Exit code: the data failed a check (the object changed during a download, a
/// response did not match the request).
pub const EXIT_INTEGRITY: u8 = 5;
/// Exit code: a request kept failing until the attempts ran out.
pub const EXIT_RETRIES: u8 = 6;
/// Exit code: cancelled by Ctrl-C (SIGINT) or SIGTERM.
pub const EXIT_CANCELLED: u8 = 7;

const EXIT_CODES: &str = "\
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

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
AWS_SESSION_TOKEN), else from the shared credentials file (~/.aws/credentials,
profile AWS_PROFILE or --profile).";

/// Set by the Ctrl-C handler: whatever failed after it, the exit code is 7.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[derive(Parser, Debug)]
#[command(
    name = "s3transfer",
    version,
    about = "Copy to, from and within S3 with multipart uploads and parallel ranged downloads",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Options {
    /// Objects at least this large go multipart (8MB, 16MiB, 1GB; units are powers of 1024)
    #[arg(long, global = true, value_parser = parse_size, value_name = "SIZE")]
    multipart_threshold: Option<u64>,
    /// Part size of multipart transfers
    #[arg(long, global = true, value_parser = parse_size, value_name = "SIZE")]
    multipart_chunksize: Option<u64>,
    /// Requests in flight at once
    #[arg(long, global = true, value_name = "N")]
    max_concurrency: Option<usize>,
    /// Limit uploads and downloads together to this rate (10MB/s)
    #[arg(long, global = true, value_parser = parse_size, value_name = "RATE")]
    max_bandwidth: Option<u64>,
    /// Attempts per request and per download range before giving up
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    attempts: Option<u32>,
    /// Send requests to this endpoint instead of AWS (http://127.0.0.1:9000)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    endpoint_url: Option<String>,
    /// Region to sign for [default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1]
    #[arg(long, global = true, value_name = "REGION")]
    region: Option<String>,
    /// Profile of the shared credentials file (overrides credentials in the environment)
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// No progress bars and no per-file lines (errors are still printed)
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print a machine-readable JSON summary on stdout (on stderr when stdout carries data)
    #[arg(long, global = true)]
    json: bool,
    /// Checksum computed on uploads (downloads check whichever the store kept):
    /// CRC32, CRC32C, CRC64NVME, SHA1 or SHA256 [default: CRC32]
    #[arg(long, global = true, value_parser = parse_checksum_algorithm, value_name = "ALGORITHM")]
    checksum_algorithm: Option<ChecksumAlgorithm>,
    /// When uploads send a checksum: when_supported (always) or when_required (only
    /// with --checksum-algorithm), for stores that reject checksum headers
    /// [default: when_supported]
    #[arg(long, global = true, env = "AWS_REQUEST_CHECKSUM_CALCULATION",
          value_parser = parse_checksum_when, value_name = "WHEN")]
    request_checksum_calculation: Option<ChecksumWhen>,
    /// When downloads check the stored checksum: when_supported (always) or
    /// when_required (never, from the command line) [default: when_supported]
    #[arg(long, global = true, env = "AWS_RESPONSE_CHECKSUM_VALIDATION",
          value_parser = parse_checksum_when, value_name = "WHEN")]
    response_checksum_validation: Option<ChecksumWhen>,
}

/// botocore's spelling (its config and environment take these two, in any case).
fn parse_checksum_when(text: &str) -> Result<ChecksumWhen, String> {
    match text.to_ascii_lowercase().as_str() {
        "when_supported" => Ok(ChecksumWhen::WhenSupported),
        "when_required" => Ok(ChecksumWhen::WhenRequired),
        _ => Err(format!(
            "unknown value {text:?}: when_supported or when_required"
        )),
    }
}

fn parse_checksum_algorithm(text: &str) -> Result<ChecksumAlgorithm, String> {
    ChecksumAlgorithm::parse(text).ok_or_else(|| {
        format!("unknown checksum algorithm {text:?}: CRC32, CRC32C, CRC64NVME, SHA1 or SHA256")
    })
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Copy a file, stream or object: local->S3, S3->local, S3->S3; `-` is stdin/stdout
    Cp {
        /// Source: a file or directory, s3://bucket/key, or - for stdin
        src: String,
        /// Destination: a file or directory, s3://bucket/key, or - for stdout
        dst: String,
        /// Copy a whole directory or prefix, every file concurrently
        #[arg(short, long)]
        recursive: bool,
    },
    /// Delete an object, or with --recursive every object under a prefix
    Rm {
        /// s3://bucket/key or s3://bucket/prefix
        target: String,
        /// Delete every object under the prefix
        #[arg(short, long)]
        recursive: bool,
    },
    /// List buckets, or the objects and prefixes under s3://bucket[/prefix]
    Ls {
        /// s3://bucket[/prefix]; none lists the buckets
        target: Option<String>,
        /// List every object under the prefix, not one level
        #[arg(short, long)]
        recursive: bool,
    },
}

/// A failure with its exit code, for the failures that are not a [`TransferError`].
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// A failure exiting with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }

    fn usage(message: impl Into<String>) -> CliError {
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
fn transfer_exit_code(error: &TransferError) -> u8 {
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
fn exit_code(error: &anyhow::Error) -> u8 {
    if INTERRUPTED.load(Ordering::SeqCst) {
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

fn main() -> ExitCode {
    // Usage errors exit with 2 here, before anything else runs.
    let cli = Cli::parse();
    if let Some(profile) = &cli.options.profile {
        // SAFETY: no other thread exists yet (nothing has been started), so nothing
        // reads the environment concurrently. rusoto's default chain reads AWS_PROFILE,
        // and takes the environment's keys first: an explicit profile must win over
        // them, as in the AWS CLI.
        unsafe {
            std::env::set_var("AWS_PROFILE", profile);
            std::env::remove_var("AWS_ACCESS_KEY_ID");
            std::env::remove_var("AWS_SECRET_ACCESS_KEY");
            std::env::remove_var("AWS_SESSION_TOKEN");
        }
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("s3transfer: error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn build_client(options: &Options) -> anyhow::Result<Arc<RusotoS3>> {
    let mut builder = RusotoS3::builder();
    if let Some(endpoint) = &options.endpoint_url {
        builder = builder.endpoint(endpoint);
    }
    let region = options
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    if let Some(region) = region {
        builder = builder.region(region);
    }
    let client = builder
        .build()
        .map_err(|e| CliError::usage(format!("cannot set up the S3 client: {e}")))?;
    Ok(Arc::new(client))
}

fn build_config(options: &Options) -> anyhow::Result<TransferConfig> {
    let mut builder = TransferConfig::builder();
    if let Some(size) = options.multipart_threshold {
        builder = builder.multipart_threshold(size);
    }
    if let Some(size) = options.multipart_chunksize {
        builder = builder.multipart_chunksize(size);
    }
    if let Some(n) = options.max_concurrency {
        builder = builder.max_request_concurrency(n);
    }
    if let Some(rate) = options.max_bandwidth {
        builder = builder.max_bandwidth(rate);
    }
    if let Some(algorithm) = options.checksum_algorithm {
        builder = builder.checksum_algorithm(algorithm);
    }
    if let Some(when) = options.request_checksum_calculation {
        builder = builder.request_checksum_calculation(when);
    }
    if let Some(when) = options.response_checksum_validation {
        builder = builder.response_checksum_validation(when);
    }
    if let Some(attempts) = options.attempts {
        let retry = RetryConfig::builder()
            .max_attempts(attempts)
            .build()
            .map_err(|e| CliError::usage(e.to_string()))?;
        builder = builder.num_download_attempts(attempts).retry(retry);
    }
    // A value the library rejects is the user's to fix: a usage error.
    builder
        .build()
        .map_err(|e| CliError::usage(e.to_string()).into())
}

/// Wait for SIGINT on a small runtime of its own (the library has no async), then
/// cancel every transfer. Returns once the handler is installed, so a Ctrl-C from
/// then on is never lost. A second Ctrl-C exits at once.
fn install_ctrl_c(manager: Arc<TransferManager>) -> anyhow::Result<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("s3transfer-ctrl-c".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let mut interrupt = match Interrupts::new() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                interrupt.recv().await;
                INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!("\ns3transfer: interrupted, cancelling (Ctrl-C again to exit at once)");
                // Shut down on another thread so a second Ctrl-C is still heard while
                // the cancelled transfers wind down (aborting multipart uploads).
                std::thread::spawn(move || manager.shutdown(true, "interrupted"));
                interrupt.recv().await;
                std::process::exit(i32::from(EXIT_CANCELLED));
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the Ctrl-C handler thread died"))??;
    Ok(())
}

/// Ctrl-C (SIGINT) and SIGTERM as one stream of events: a service manager or `timeout`
/// stops us with SIGTERM, and that deserves the same clean exit (uploads aborted,
/// partial files removed) as Ctrl-C. On Unix the handlers are registered when this is
/// created, so a signal sent right after [`install_ctrl_c`] returns is never missed.
#[cfg(unix)]
struct Interrupts {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Interrupts {
    fn new() -> std::io::Result<Interrupts> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) {
        std::future::poll_fn(|cx| {
            if self.interrupt.poll_recv(cx).is_ready() || self.terminate.poll_recv(cx).is_ready() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// Ctrl-C elsewhere: tokio's portable `ctrl_c`, registered at its first wait.
#[cfg(not(unix))]
struct Interrupts;

#[cfg(not(unix))]
impl Interrupts {
    fn new() -> std::io::Result<Interrupts> {
        Ok(Interrupts)
    }

    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let client = build_client(&cli.options)?;
    let config = build_config(&cli.options)?;
    let manager = Arc::new(TransferManager::new(client.clone(), config));
    install_ctrl_c(manager.clone())?;
    let options = &cli.options;
    let code = match &cli.command {
        Command::Cp {
            src,
            dst,
            recursive,
        } => {
            let src = Location::parse(src).map_err(CliError::usage)?;
            let dst = Location::parse(dst).map_err(CliError::usage)?;
            let jobs = if *recursive {
                plan_recursive(&client, &src, &dst)?
            } else {
                vec![plan_single(src, dst)?]
            };
            execute("cp", &manager, jobs, options)?
        }
        Command::Rm { target, recursive } => {
            let Location::S3 { bucket, key } = Location::parse(target).map_err(CliError::usage)?
            else {
                return Err(CliError::usage("rm takes s3://bucket/key").into());
            };
            let keys = if *recursive {
                listing::list(&client, &bucket, &dir_prefix(&key), None)?
                    .objects
                    .into_iter()
                    .map(|o| o.key)
                    .collect()
            } else if key.is_empty() {
                return Err(CliError::usage("rm needs a key (or --recursive)").into());
            } else {
                vec![key]
            };
            let jobs = keys
                .into_iter()
                .map(|key| Job {
                    label: format!("delete: s3://{bucket}/{key}"),
                    size: None,
                    kind: JobKind::Delete {
                        bucket: bucket.clone(),
                        key,
                    },
                })
                .collect();
            execute("rm", &manager, jobs, options)?
        }
        Command::Ls { target, recursive } => {
            ls(&client, target.as_deref(), *recursive, options)?;
            0
        }
    };
    manager.shutdown(false, "");
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Ok(EXIT_CANCELLED);
    }
    Ok(code)
}

/// One transfer to run.
struct Job {
    /// `upload: a.txt to s3://b/a.txt`, for progress and messages.
    label: String,
    /// Bytes, when known before starting.
    size: Option<u64>,
    kind: JobKind,
}

enum JobKind {
    Upload {
        source: UploadSource,
        bucket: String,
        key: String,
    },
    Download {
        bucket: String,
        key: String,
        target: DownloadTarget,
        /// Whether the data goes to stdout (then stdout carries no summary).
        to_stdout: bool,
    },
    Copy {
        source: CopySource,
        bucket: String,
        key: String,
    },
    Delete {
        bucket: String,
        key: String,
    },
}

fn s3_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn plan_single(src: Location, dst: Location) -> anyhow::Result<Job> {
    match (src, dst) {
        (Location::Local(path), Location::S3 { bucket, key }) => {
            let meta = std::fs::metadata(&path).map_err(|e| {
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    EXIT_NOT_FOUND
                } else {
                    EXIT_OTHER
                };
                CliError::new(code, format!("{}: {e}", path.display()))
            })?;
            if meta.is_dir() {
                return Err(CliError::usage(format!(
                    "{} is a directory (use --recursive)",
                    path.display()
                ))
                .into());
            }
            // `cp a.txt s3://b/dir/` keeps the file's name, as the AWS CLI does.
            let key = if key.is_empty() || key.ends_with('/') {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| CliError::usage("the file name is not UTF-8"))?;
                format!("{key}{name}")
            } else {
                key
            };
            Ok(Job {
                label: format!("upload: {} to {}", path.display(), s3_url(&bucket, &key)),
                size: Some(meta.len()),
                kind: JobKind::Upload {
                    source: UploadSource::path(path),
                    bucket,
                    key,
                },
            })
        }
        (Location::Std, Location::S3 { bucket, key }) => {
            if key.is_empty() || key.ends_with('/') {
                return Err(CliError::usage("uploading stdin needs a full key").into());
            }
            Ok(Job {
                label: format!("upload: - to {}", s3_url(&bucket, &key)),
                size: None,
                kind: JobKind::Upload {
                    source: UploadSource::stream(std::io::stdin()),
                    bucket,
                    key,
                },
            })
        }
        (Location::S3 { bucket, key }, Location::Local(path)) => {
            require_key(&key)?;
            // Into a directory, under the object's own name.
            let path = if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') {
                path.join(key_basename(&key))
            } else {
                path
            };
            Ok(Job {
                label: format!("download: {} to {}", s3_url(&bucket, &key), path.display()),
                size: None,
                kind: JobKind::Download {
                    bucket,
                    key,
                    target: DownloadTarget::path(path),
                    to_stdout: false,
                },
            })
        }
        (Location::S3 { bucket, key }, Location::Std) => {
            require_key(&key)?;
            Ok(Job {
                label: format!("download: {} to -", s3_url(&bucket, &key)),
                size: None,
                kind: JobKind::Download {
                    bucket,
                    key,
                    target: DownloadTarget::stream(std::io::stdout()),
                    to_stdout: true,
                },
            })
        }
        (
            Location::S3 {
                bucket: src_bucket,
                key: src_key,
            },
            Location::S3 { bucket, key },
        ) => {
            require_key(&src_key)?;
            let key = if key.is_empty() || key.ends_with('/') {
                format!("{key}{}", key_basename(&src_key))
            } else {
                key
            };
            Ok(Job {
                label: format!(
                    "copy: {} to {}",
                    s3_url(&src_bucket, &src_key),
                    s3_url(&bucket, &key)
                ),
                size: None,
                kind: JobKind::Copy {
                    source: CopySource::new(src_bucket, src_key),
                    bucket,
                    key,
                },
            })
        }
        _ => Err(CliError::usage(
            "cp needs an s3:// location on at least one side (local to local is not supported)",
        )
        .into()),
    }
}

fn require_key(key: &str) -> Result<(), CliError> {
    if key.is_empty() || key.ends_with('/') {
        Err(CliError::usage(
            "the source must be an object key (use --recursive for a prefix)",
        ))
    } else {
        Ok(())
    }
}

fn plan_recursive(client: &RusotoS3, src: &Location, dst: &Location) -> anyhow::Result<Vec<Job>> {
    match (src, dst) {
        (Location::Local(dir), Location::S3 { bucket, key }) => {
            if !dir.is_dir() {
                let code = if dir.exists() {
                    EXIT_USAGE
                } else {
                    EXIT_NOT_FOUND
                };
                return Err(CliError::new(code, format!("{} is not a directory", dir.display())).into());
            }
            let mut files = Vec::new();
            walk(dir, String::new(), &mut files)?;
            Ok(files
                .into_iter()
                .map(|(rel, path, size)| {
                    let key = join_key(key, &rel);
                    Job {
                        label: format!("upload: {} to {}", path.display(), s3_url(bucket, &key)),
                        size: Some(size),
                        kind: JobKind::Upload {
                            source: UploadSource::path(path),
                            bucket: bucket.clone(),
                            key,
                        },
                    }
                })
                .collect())
        }
        (Location::S3 { bucket, key }, Location::Local(dir)) => {
            let prefix = dir_prefix(key);
            let mut jobs = Vec::new();
            for object in listing::list(client, bucket, &prefix, None)?.objects {
                let Some(rel) = relative_path(&object.key[prefix.len()..]) else {
                    continue; // a "directory" marker, or a key that would escape the target
                };
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| anyhow::anyhow!("creating {}: {e}", parent.display()))?;
                }
                jobs.push(Job {
                    label: format!(
                        "download: {} to {}",
                        s3_url(bucket, &object.key),
                        path.display()
                    ),
                    size: Some(object.size),
                    kind: JobKind::Download {
                        bucket: bucket.clone(),
                        key: object.key,
                        target: DownloadTarget::path(path),
                        to_stdout: false,
                    },
                });
            }
            Ok(jobs)
        }
        (
            Location::S3 {
                bucket: src_bucket,
                key: src_key,
            },
            Location::S3 { bucket, key },
        ) => {
            let prefix = dir_prefix(src_key);
            Ok(listing::list(client, src_bucket, &prefix, None)?
                .objects
                .into_iter()
                .filter(|o| !o.key.ends_with('/'))
                .map(|object| {
                    let dst_key = join_key(key, &object.key[prefix.len()..]);
                    Job {
                        label: format!(
                            "copy: {} to {}",
                            s3_url(src_bucket, &object.key),
                            s3_url(bucket, &dst_key)
                        ),
                        size: Some(object.size),
                        kind: JobKind::Copy {
                            source: CopySource::new(src_bucket.clone(), object.key),
                            bucket: bucket.clone(),
                            key: dst_key,
                        },
                    }
                })
                .collect())
        }
        _ => Err(CliError::usage(
            "cp --recursive copies a directory to s3://bucket/prefix, a prefix to a directory, or a prefix to a prefix",
        )
        .into()),
    }
}

/// The regular files under `dir` (following symbolic links), as (key relative to the
/// walk's root, path, size), sorted by key.
fn walk(dir: &Path, rel: String, out: &mut Vec<(String, PathBuf, u64)>) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| CliError::usage(format!("{n:?}: file names must be UTF-8 to be keys")))?;
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::metadata(&path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(&path, child, out)?;
        } else if meta.is_file() {
            out.push((child, path, meta.len()));
        }
    }
    Ok(())
}

/// A key's remainder as a safe relative path: no empty, `.` or `..` segments, so no
/// object can write outside the destination directory.
fn relative_path(rel: &str) -> Option<PathBuf> {
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() || rel.ends_with('/') {
        return None;
    }
    let mut path = PathBuf::new();
    for segment in rel.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

/// What a command did, for the final line and `--json`.
#[derive(Default)]
struct Summary {
    files: u64,
    bytes: u64,
    parts: u64,
    /// Requests sent again after a retryable failure, over all transfers.
    retries: u64,
    /// Successful transfers by what their checksums covered.
    whole_object: u64,
    per_part: u64,
    unchecked: u64,
    failures: Vec<(String, TransferError)>,
}

/// Submit every job to the one manager (so they run concurrently), wait for all, and
/// report. Returns the exit code.
fn execute(
    command: &str,
    manager: &TransferManager,
    jobs: Vec<Job>,
    options: &Options,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let to_stdout = jobs.iter().any(|j| {
        matches!(
            j.kind,
            JobKind::Download {
                to_stdout: true,
                ..
            }
        )
    });
    let known: u64 = jobs.iter().filter_map(|j| j.size).sum();
    let endless = jobs.iter().any(|j| {
        matches!(
            j.kind,
            JobKind::Upload {
                source: UploadSource::Stream(_),
                ..
            }
        )
    });
    let progress = Progress::new(options.quiet, jobs.len() as u64, known, endless);
    let mut running: Vec<(String, Result<TransferFuture, TransferError>)> = Vec::new();
    for job in jobs {
        // The bar names the object: the label's first half is cut on narrow terminals.
        let name = match &job.kind {
            JobKind::Upload { bucket, key, .. }
            | JobKind::Download { bucket, key, .. }
            | JobKind::Copy { bucket, key, .. }
            | JobKind::Delete { bucket, key } => s3_url(bucket, key),
        };
        let subscriber = [progress.transfer(name, job.size)];
        let submitted = match job.kind {
            JobKind::Upload {
                source,
                bucket,
                key,
            } => {
                let mut args = UploadArgs::default();
                // Named on the command line, so sent even under `when_required`, as the
                // AWS CLI's --checksum-algorithm is.
                args.checksum_algorithm = options.checksum_algorithm;
                manager.upload(source, &bucket, &key, args, &subscriber)
            }
            JobKind::Download {
                bucket,
                key,
                target,
                ..
            } => manager.download(&bucket, &key, target, DownloadArgs::default(), &subscriber),
            JobKind::Copy {
                source,
                bucket,
                key,
            } => {
                let mut args = CopyArgs::default();
                args.checksum_algorithm = options.checksum_algorithm;
                manager.copy(source, &bucket, &key, args, &subscriber)
            }
            JobKind::Delete { bucket, key } => {
                manager.delete(&bucket, &key, DeleteArgs::default(), &subscriber)
            }
        };
        running.push((job.label, submitted));
    }
    let mut summary = Summary::default();
    for (label, submitted) in running {
        match submitted.and_then(|future| future.result()) {
            Ok(output) => {
                summary.files += 1;
                summary.bytes += output.bytes;
                summary.parts += u64::from(output.parts);
                summary.retries += u64::from(output.retries);
                match output.validated {
                    Validation::WholeObject(_) => summary.whole_object += 1,
                    Validation::PerPart(_) => summary.per_part += 1,
                    _ => summary.unchecked += 1,
                }
                if !options.quiet && !options.json && !to_stdout {
                    progress.println(&label);
                }
            }
            Err(error) => {
                progress.println(&format!("{label} failed: {error}"));
                summary.failures.push((label, error));
            }
        }
    }
    progress.finish();
    if to_stdout {
        std::io::stdout().flush()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let code = if INTERRUPTED.load(Ordering::SeqCst) {
        EXIT_CANCELLED
    } else {
        summary
            .failures
            .first()
            .map_or(0, |(_, e)| transfer_exit_code(e))
    };
    if options.json {
        let report = serde_json::json!({
            "command": command,
            "files": summary.files,
            "bytes": summary.bytes,
            "seconds": seconds,
            "parts": summary.parts,
            "retries": summary.retries,
            // Successful transfers by what a checksum covered: the whole object, each
            // part on its own, or nothing (no checksum, or a store that kept none).
            "validated": {
                "whole_object": summary.whole_object,
                "per_part": summary.per_part,
                "nothing": summary.unchecked,
            },
            "errors": summary.failures.len(),
            "failures": summary.failures.iter().map(|(label, e)| serde_json::json!({
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
    } else if !options.quiet && summary.bytes > 0 {
        let rate = summary.bytes as f64 / seconds.max(1e-9) / (1024.0 * 1024.0);
        eprintln!(
            "{} file(s), {} bytes in {seconds:.2} s ({rate:.1} MiB/s)",
            summary.files, summary.bytes
        );
    }
    Ok(code)
}

fn ls(
    client: &RusotoS3,
    target: Option<&str>,
    recursive: bool,
    options: &Options,
) -> anyhow::Result<()> {
    let Some(target) = target else {
        let names = listing::buckets(client)?;
        if options.json {
            println!("{}", serde_json::json!({ "buckets": names }));
        } else {
            for name in names {
                println!("{name}");
            }
        }
        return Ok(());
    };
    let Location::S3 { bucket, key } = Location::parse(target).map_err(CliError::usage)? else {
        return Err(CliError::usage("ls takes s3://bucket[/prefix]").into());
    };
    let delimiter = (!recursive).then_some("/");
    let found = listing::list(client, &bucket, &key, delimiter)?;
    if options.json {
        let objects: Vec<_> = found
            .objects
            .iter()
            .map(|o| serde_json::json!({"key": o.key, "size": o.size, "last_modified": o.last_modified}))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "objects": objects, "prefixes": found.prefixes })
        );
    } else {
        for prefix in &found.prefixes {
            println!("{:>30} PRE {prefix}", "");
        }
        for object in &found.objects {
            println!(
                "{:>19} {:>10} {}",
                object.last_modified, object.size, object.key
            );
        }
    }
    Ok(())
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

    #[test]
    fn relative_paths_stay_inside() {
        assert_eq!(relative_path("a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(relative_path("/a"), Some(PathBuf::from("a")));
        assert_eq!(relative_path("a/../../x"), None);
        assert_eq!(relative_path("dir/"), None);
        assert_eq!(relative_path(""), None);
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
