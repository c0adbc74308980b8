//! Turning a single-object command into the transfer it makes: which file, object or
//! key, and where it goes (`cp a.txt s3://b/dir/` keeps the file's name). Trees
//! (`--recursive`, `sync`) are the library's, run by `sync.rs`.

use std::path::PathBuf;

use s3transfer::{CopySource, DownloadTarget, UploadSource};

use crate::location::{Location, key_basename};
use crate::report::{CliError, EXIT_NOT_FOUND, EXIT_OTHER};

/// One transfer to run.
pub(crate) struct Job {
    /// `upload: a.txt to s3://b/a.txt`, for progress and messages.
    pub(crate) label: String,
    /// Bytes, when known before starting.
    pub(crate) size: Option<u64>,
    pub(crate) kind: JobKind,
}

pub(crate) enum JobKind {
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

impl Job {
    /// The name `--include`/`--exclude` see for a single file or object: as the AWS
    /// CLI roots the patterns at the source's directory (its `dirname`, or the key up
    /// to its last `/`), what is matched is the file's or key's last component. A
    /// stream (`-`) has none and is never filtered out.
    pub(crate) fn filtered_name(&self) -> Option<String> {
        match &self.kind {
            JobKind::Upload {
                source: UploadSource::Path(path),
                ..
            } => Some(path.file_name()?.to_string_lossy().into_owned()),
            JobKind::Upload { .. } => None,
            JobKind::Download { key, .. } | JobKind::Delete { key, .. } => {
                Some(key_basename(key).to_owned())
            }
            JobKind::Copy { source, .. } => Some(key_basename(&source.key).to_owned()),
        }
    }

    /// Whether the job copies an object onto itself (same bucket, key and version):
    /// a `mv` of it would delete the only copy.
    pub(crate) fn onto_itself(&self) -> bool {
        match &self.kind {
            JobKind::Copy {
                source,
                bucket,
                key,
            } => source.bucket == *bucket && source.key == *key && source.version_id.is_none(),
            _ => false,
        }
    }
}

pub(crate) fn s3_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// `cp src dst` or `mv src dst` of one file, stream or object (a tree goes through
/// the library's trees, see `sync.rs`).
pub(crate) fn cp(src: &str, dst: &str) -> anyhow::Result<Job> {
    let src = Location::parse(src).map_err(CliError::usage)?;
    let dst = Location::parse(dst).map_err(CliError::usage)?;
    plan_single(src, dst)
}

/// `mv src dst` of one file or object: [`cp`]'s job, refused before any request when
/// it would copy an object onto itself and then delete the only copy (with the AWS
/// CLI's words: `mv s3://b/k s3://b/k`, or `s3://b/k s3://b/`).
pub(crate) fn mv(src: &str, dst: &str) -> anyhow::Result<Job> {
    let job = cp(src, dst)?;
    if job.onto_itself() {
        return Err(onto_itself(src, dst).into());
    }
    Ok(job)
}

/// The AWS CLI's refusal of a `mv` whose source is its destination.
pub(crate) fn onto_itself(src: &str, dst: &str) -> CliError {
    CliError::usage(format!("Cannot mv a file onto itself: '{src}' - '{dst}'"))
}

/// `rm s3://bucket/key` (`rm --recursive` is a library tree, see `sync.rs`).
pub(crate) fn rm(target: &str) -> anyhow::Result<Job> {
    let Location::S3 { bucket, key } = Location::parse(target).map_err(CliError::usage)? else {
        return Err(CliError::usage("rm takes s3://bucket/key").into());
    };
    if key.is_empty() {
        return Err(CliError::usage("rm needs a key (or --recursive)").into());
    }
    Ok(Job {
        label: format!("delete: s3://{bucket}/{key}"),
        size: None,
        kind: JobKind::Delete { bucket, key },
    })
}

fn plan_single(src: Location, dst: Location) -> anyhow::Result<Job> {
    match (src, dst) {
        (Location::Local(path), Location::S3 { bucket, key }) => upload_file(path, bucket, key),
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
        ) => copy_object(src_bucket, src_key, bucket, key),
        _ => Err(CliError::usage(
            "cp needs an s3:// location on at least one side (local to local is not supported)",
        )
        .into()),
    }
}

/// `cp file s3://bucket/key`.
fn upload_file(path: PathBuf, bucket: String, key: String) -> anyhow::Result<Job> {
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

/// `cp s3://bucket/key s3://bucket/key`.
fn copy_object(
    src_bucket: String,
    src_key: String,
    bucket: String,
    key: String,
) -> anyhow::Result<Job> {
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

fn require_key(key: &str) -> Result<(), CliError> {
    if key.is_empty() || key.ends_with('/') {
        Err(CliError::usage(
            "the source must be an object key (use --recursive for a prefix)",
        ))
    } else {
        Ok(())
    }
}
