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

/// How a download's temporary file name ends.
const TEMP_SUFFIX: &str = ".s3tmp";

/// How a download's journal name ends.
const JOURNAL_SUFFIX: &str = ".s3resume";

/// The journal of a download to `destination`: `.<name>.s3resume` beside it, where its
/// temporary file is.
pub fn download_journal_path(destination: &Path) -> PathBuf {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    destination.with_file_name(format!(".{name}{JOURNAL_SUFFIX}"))
}

/// The temporary file of a download to `destination`, told apart from other downloads'
/// by `unique`: `.<name>.<16 hex>.s3tmp` beside it. The one place that spells the
/// name, so a resume can check a token's `temp_path` against it.
pub(crate) fn download_temp_path(destination: &Path, unique: u64) -> PathBuf {
    let name = temp_name_stem(destination);
    destination.with_file_name(format!(".{name}.{unique:016x}{TEMP_SUFFIX}"))
}

/// Whether `temp` is a name [`download_temp_path`] could give for `destination`: in the
/// same directory, `.<name>.<16 hex>.s3tmp`. A token whose `temp_path` is anything else
/// (edited, or planted to name another file) must not be opened, written, renamed or
/// removed.
pub(crate) fn is_download_temp_path(destination: &Path, temp: &Path) -> bool {
    if temp.parent() != destination.parent() {
        return false;
    }
    let Some(name) = temp.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let stem = temp_name_stem(destination);
    let Some(rest) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(stem.as_str()))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Bytes of the destination's name kept in its temporary name. File systems limit a
/// name to 255 *bytes* (not characters: 80 CJK characters are 240 bytes); the temporary
/// name adds 24 (`.`, `.`, 16 hex digits, `.s3tmp`), and the rest is spare.
const TEMP_NAME_BUDGET: usize = 200;

/// The destination's name as its temporary name keeps it: the longest prefix of at
/// most [`TEMP_NAME_BUDGET`] bytes that ends on a character boundary.
fn temp_name_stem(destination: &Path) -> String {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    let mut end = name.len().min(TEMP_NAME_BUDGET);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// Whether a file name is one a download keeps beside its destination while it runs
/// or for a resume: its temporary file (`.<name>.<hex>.s3tmp`), its journal
/// (`.<name>.s3resume`), the journal's set-aside `.unusable` form and the temporary
/// files it is written through (`.<name>.s3resume.<pid>.<n>.tmp`, see
/// `journal::write_atomically`). A directory walk leaves these out: they are not the
/// user's files, and a sync with `--delete` must not remove a download's working file
/// from under it.
pub(crate) fn is_download_working_file(name: &str) -> bool {
    let journal_temp = name
        .strip_suffix(".tmp")
        .is_some_and(|rest| rest.contains(&format!("{JOURNAL_SUFFIX}.")));
    name.starts_with('.')
        && (name.ends_with(TEMP_SUFFIX)
            || name.ends_with(JOURNAL_SUFFIX)
            || name.ends_with(&format!("{JOURNAL_SUFFIX}.unusable"))
            || journal_temp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_temporary_name_beside_the_destination_passes() {
        let dest = Path::new("/data/out.bin");
        let temp = download_temp_path(dest, 0xabc);
        assert!(is_download_temp_path(dest, &temp));
        for other in [
            "/home/u/.bashrc",
            "/data/.bashrc",
            "/other/.out.bin.0000000000000abc.s3tmp",
            "/data/.out.bin.0000000000000abc.s3tmp/x",
            "/data/.out.bin.abc.s3tmp",
            "/data/.other.0000000000000abc.s3tmp",
            "/data/.out.bin.000000000000zabc.s3tmp",
        ] {
            assert!(!is_download_temp_path(dest, Path::new(other)), "{other}");
        }
    }
}
