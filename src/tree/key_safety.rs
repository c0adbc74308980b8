//! Where a key may be written locally: the path under the destination directory for
//! the part of a key below the prefix, or the reason it is refused. Every download
//! of a tree goes through [`local_path`]; a refused key becomes
//! [`TransferError::UnsafeKey`](crate::TransferError::UnsafeKey) and nothing is
//! written for it.

use std::path::{Component, Path, PathBuf};

/// The file under `root` for `relative` (a key without its prefix), or why none may
/// be written:
///
/// * a NUL anywhere (no file system takes it; some would cut the name there);
/// * an absolute path (`/etc/passwd`), a Windows drive or UNC prefix (`C:x`,
///   `C:\x`, `\\server\share`) in the first segment;
/// * a `..` segment (`../x`, `a/../../x`), which climbs out of the destination or, when
///   it does not (`a/../b`), names another file than the key says;
/// * a `.` or empty segment (`./a`, `a//b`), or a trailing `/` (a "directory" holding
///   data cannot be a file);
/// * a `\` anywhere (on Windows a separator, so `a\b` and `a/b` would be one file;
///   elsewhere a file `a\b` that a walk would pair with nothing).
///
/// The last three keep a key and its file the same name, which a sync relies on: it
/// pairs each key with the file of the same relative path, so a key that would land
/// on another name (`a/../b` on `b`) would be downloaded on every sync and, with
/// `--delete`, race the deletion of the file it wrote. Both `/` and `\` separate
/// segments in these checks, so a key refused on Windows is refused everywhere.
pub(crate) fn local_path(root: &Path, relative: &str) -> Result<PathBuf, String> {
    if relative.contains('\0') {
        return Err("the key holds a NUL character".into());
    }
    if relative.starts_with('/') || relative.starts_with('\\') {
        return Err("the key is an absolute path".into());
    }
    if relative.ends_with('/') || relative.ends_with('\\') {
        return Err("the key ends with '/' but holds data, so it cannot be a file".into());
    }
    let mut segments: Vec<&str> = Vec::new();
    for (index, segment) in relative.split(['/', '\\']).enumerate() {
        if index == 0 && is_drive_prefix(segment) {
            return Err(format!("the key starts with a drive prefix ({segment})"));
        }
        match segment {
            ".." => {
                return Err(
                    "the key has a '..' segment, which would resolve outside the destination directory or onto another name"
                        .into(),
                );
            }
            "" | "." => {
                return Err(format!(
                    "the key has {} segment, so its file would not have its name",
                    if segment.is_empty() {
                        "an empty"
                    } else {
                        "a '.'"
                    }
                ));
            }
            _ => segments.push(segment),
        }
    }
    if relative.contains('\\') {
        // On Unix `a\b` is one file name, but a sync pairs keys with paths split on
        // `/` only as the walk names them, and on Windows it is two segments: key
        // `a\b` would be written to `a/b` and never pair with the walk's `a/b` (nor
        // with key `a/b`, which would land on the same file). Refused everywhere, so
        // one key maps to one path and back.
        return Err(
            "the key holds a '\\', which is a path separator on Windows and would not pair with a file of the same name"
                .into(),
        );
    }
    let mut path = root.to_path_buf();
    for segment in segments {
        path.push(segment);
    }
    // What the platform makes of it must still be plain names under the root (on
    // Windows a segment such as `C:` would otherwise be a prefix).
    let inside = path
        .strip_prefix(root)
        .map(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))))
        .unwrap_or(false);
    if !inside {
        return Err("the key resolves outside the destination directory".into());
    }
    Ok(path)
}

/// `C:`, `c:foo`: a drive letter and a colon.
fn is_drive_prefix(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Refuse a path whose directories under `root` include a symbolic link: writing
/// through one could land anywhere. Directories that do not exist yet are fine (they
/// will be created as real directories).
pub(crate) fn check_no_link_between(root: &Path, path: &Path) -> Result<(), String> {
    let Ok(rest) = path.strip_prefix(root) else {
        return Err("the key resolves outside the destination directory".into());
    };
    let mut dir = root.to_path_buf();
    let mut components = rest.components().peekable();
    while let Some(component) = components.next() {
        if components.peek().is_none() {
            break; // the file itself: replaced by a rename, never written through
        }
        dir.push(component);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link: writing through it could leave the destination",
                    dir.display()
                ));
            }
            Ok(_) => {}
            Err(_) => break, // does not exist yet: nothing below it exists either
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keys_are_refused() {
        let root = Path::new("/dest");
        for key in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\0b",
            "..",
            "./..",
            "C:x",
            "c:\\windows\\x",
            "\\\\server\\share\\x",
            "a\\..\\..\\x",
            "dir/",
            ".",
            "a/..",
        ] {
            assert!(local_path(root, key).is_err(), "{key:?} was accepted");
        }
    }

    #[test]
    fn safe_keys_map_under_the_root() {
        let root = Path::new("/dest");
        assert_eq!(
            local_path(root, "a/b.txt").unwrap(),
            Path::new("/dest/a/b.txt")
        );
        assert_eq!(
            local_path(root, "..a/b..").unwrap(),
            Path::new("/dest/..a/b..")
        );
        assert_eq!(
            local_path(root, "ünï cødé+x").unwrap(),
            Path::new("/dest/ünï cødé+x")
        );
    }

    #[test]
    fn keys_that_would_land_on_another_name_are_refused() {
        let root = Path::new("/dest");
        for key in ["a/../b", "a//b", "./a", "a/./b", "a\\b", "dir\\"] {
            assert!(local_path(root, key).is_err(), "{key:?} was accepted");
        }
    }
}
