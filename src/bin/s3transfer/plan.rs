//! Turning a command into the transfers it makes: which files, objects or keys, and
//! where each goes (`cp a.txt s3://b/dir/` keeps the file's name, a prefix's objects
//! land under the destination directory, never outside it).

use std::path::{Path, PathBuf};

use s3transfer::{CopySource, DownloadTarget, UploadSource};

use crate::backend::Backend;
use crate::listing;
use crate::location::{Location, dir_prefix, join_key, key_basename};
use crate::report::{CliError, EXIT_NOT_FOUND, EXIT_OTHER, EXIT_USAGE};

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

pub(crate) fn s3_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// `cp src dst`: one job, or with `recursive` one for each file or object.
pub(crate) fn cp(
    client: &Backend,
    src: &str,
    dst: &str,
    recursive: bool,
) -> anyhow::Result<Vec<Job>> {
    let src = Location::parse(src).map_err(CliError::usage)?;
    let dst = Location::parse(dst).map_err(CliError::usage)?;
    if recursive {
        plan_recursive(client, &src, &dst)
    } else {
        Ok(vec![plan_single(src, dst)?])
    }
}

/// `rm target`: the object, or with `recursive` every object under the prefix.
pub(crate) fn rm(client: &Backend, target: &str, recursive: bool) -> anyhow::Result<Vec<Job>> {
    let Location::S3 { bucket, key } = Location::parse(target).map_err(CliError::usage)? else {
        return Err(CliError::usage("rm takes s3://bucket/key").into());
    };
    let keys = if recursive {
        listing::list(client, &bucket, &dir_prefix(&key), None)?
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect()
    } else if key.is_empty() {
        return Err(CliError::usage("rm needs a key (or --recursive)").into());
    } else {
        vec![key]
    };
    Ok(keys
        .into_iter()
        .map(|key| Job {
            label: format!("delete: s3://{bucket}/{key}"),
            size: None,
            kind: JobKind::Delete {
                bucket: bucket.clone(),
                key,
            },
        })
        .collect())
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

fn plan_recursive(client: &Backend, src: &Location, dst: &Location) -> anyhow::Result<Vec<Job>> {
    match (src, dst) {
        (Location::Local(dir), Location::S3 { bucket, key }) => upload_dir(dir, bucket, key),
        (Location::S3 { bucket, key }, Location::Local(dir)) => {
            download_prefix(client, bucket, key, dir)
        }
        (
            Location::S3 {
                bucket: src_bucket,
                key: src_key,
            },
            Location::S3 { bucket, key },
        ) => copy_prefix(client, (src_bucket, src_key), bucket, key),
        _ => Err(CliError::usage(
            "cp --recursive copies a directory to s3://bucket/prefix, a prefix to a directory, or a prefix to a prefix",
        )
        .into()),
    }
}

/// `cp --recursive dir s3://bucket/prefix`: every file under `dir`.
fn upload_dir(dir: &Path, bucket: &str, key: &str) -> anyhow::Result<Vec<Job>> {
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
                    bucket: bucket.to_owned(),
                    key,
                },
            }
        })
        .collect())
}

/// `cp --recursive s3://bucket/prefix dir`: every object under the prefix, into the
/// directories its key names (created here).
fn download_prefix(
    client: &Backend,
    bucket: &str,
    key: &str,
    dir: &Path,
) -> anyhow::Result<Vec<Job>> {
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
                bucket: bucket.to_owned(),
                key: object.key,
                target: DownloadTarget::path(path),
                to_stdout: false,
            },
        });
    }
    Ok(jobs)
}

/// `cp --recursive s3://bucket/prefix s3://bucket/prefix`: every object under the
/// source prefix but "directory" markers.
fn copy_prefix(
    client: &Backend,
    (src_bucket, src_key): (&str, &str),
    bucket: &str,
    key: &str,
) -> anyhow::Result<Vec<Job>> {
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
                    source: CopySource::new(src_bucket, object.key),
                    bucket: bucket.to_owned(),
                    key: dst_key,
                },
            }
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_inside() {
        assert_eq!(relative_path("a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(relative_path("/a"), Some(PathBuf::from("a")));
        assert_eq!(relative_path("a/../../x"), None);
        assert_eq!(relative_path("dir/"), None);
        assert_eq!(relative_path(""), None);
    }
}
