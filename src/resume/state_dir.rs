//! Where journals live: uploads in the state directory, keyed by source and
//! destination; downloads beside their temporary file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The directory for upload journals: `$XDG_STATE_HOME/s3transfer`, else
/// `~/.local/state/s3transfer` (the XDG default, which is also what rclone and pipx use
/// on macOS), else `%LOCALAPPDATA%\s3transfer` on Windows. `None` when none is known.
pub fn state_dir() -> Option<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(xdg) = from("XDG_STATE_HOME") {
        return Some(xdg.join("s3transfer"));
    }
    if cfg!(windows)
        && let Some(local) = from("LOCALAPPDATA")
    {
        return Some(local.join("s3transfer"));
    }
    from("HOME").map(|home| home.join(".local/state/s3transfer"))
}

/// The journal of the upload of `source` to `s3://bucket/key` under `dir`:
/// `uploads/<hash>.json`, the hash (SHA-256, 32 hex digits) of the source's absolute
/// path and the destination, so a rerun of the same command finds it and no other
/// does.
pub fn upload_journal_path(dir: &Path, source: &Path, bucket: &str, key: &str) -> PathBuf {
    let source = std::fs::canonicalize(source)
        .or_else(|_| std::path::absolute(source))
        .unwrap_or_else(|_| source.to_path_buf());
    let mut hash = Sha256::new();
    hash.update(source.as_os_str().as_encoded_bytes());
    hash.update([0]);
    hash.update(bucket.as_bytes());
    hash.update([0]);
    hash.update(key.as_bytes());
    let hex: String = hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join("uploads").join(format!("{hex}.json"))
}

/// The journal of a download to `destination`: `.<name>.s3resume` beside it, where its
/// temporary file is.
pub fn download_journal_path(destination: &Path) -> PathBuf {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    destination.with_file_name(format!(".{name}.s3resume"))
}

/// Whether a file name is one a download keeps beside its destination while it runs
/// or for a resume: its temporary file (`.<name>.<hex>.s3tmp`), its journal
/// (`.<name>.s3resume`, and the journal's own `.tmp` and set-aside `.unusable` forms).
/// A directory walk leaves these out: they are not the user's files, and a sync with
/// `--delete` must not remove a download's working file from under it.
pub(crate) fn is_download_working_file(name: &str) -> bool {
    let base = name
        .strip_suffix(".tmp")
        .or_else(|| name.strip_suffix(".unusable"))
        .unwrap_or(name);
    name.starts_with('.') && (base.ends_with(".s3tmp") || base.ends_with(".s3resume"))
}
