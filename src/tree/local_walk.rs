//! [`LocalWalk`]: the regular files under a directory, streamed one at a time (the
//! `walkdir` crate: one open directory per level, symlink loops detected), in the
//! byte order of their relative paths, which is the order S3 lists keys in, so a walk
//! and a listing can be merged side by side.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use walkdir::{DirEntry, WalkDir};

use super::entry::{EntryOrigin, TreeEntry};
use crate::error::TransferError;

/// The files under a root, as [`TreeEntry`]s, or the error of one entry (a broken
/// link, a loop, a name that is not UTF-8, no permission). Empty directories yield
/// nothing, as `aws s3 sync` uploads no "directory" objects.
pub(crate) struct LocalWalk {
    root: PathBuf,
    inner: walkdir::IntoIter,
}

impl LocalWalk {
    /// Walk `root`, following symbolic links (to files and directories) or not; a link
    /// not followed is left out, as `aws s3 sync --no-follow-symlinks` does.
    pub(crate) fn new(root: &Path, follow_links: bool) -> LocalWalk {
        let inner = WalkDir::new(root)
            .follow_links(follow_links)
            .min_depth(1)
            .sort_by(s3_order)
            .into_iter();
        LocalWalk {
            root: root.to_path_buf(),
            inner,
        }
    }
}

/// Siblings in the order their keys sort in: a directory `a` holds keys `a/...`, which
/// sort after `a-b` and before `a0` ('-' < '/' < '0'), so it sorts as `a/`. walkdir
/// sorts a directory's entries before it follows their links, so a link's own type
/// says "link": a link to a directory is followed here to sort as one (`photos/`, not
/// `photos`), else the walk would yield `photos/x` before `photos-2023.zip` while S3
/// lists it after, and a sync would pair neither. A link not followed is left out of
/// the walk, so where it sorts does not matter; a broken one sorts as a file.
fn s3_order(a: &DirEntry, b: &DirEntry) -> Ordering {
    fn key(entry: &DirEntry) -> Vec<u8> {
        let mut name = entry.file_name().as_encoded_bytes().to_vec();
        let file_type = entry.file_type();
        let is_dir = file_type.is_dir()
            || (file_type.is_symlink()
                && std::fs::metadata(entry.path()).is_ok_and(|meta| meta.is_dir()));
        if is_dir {
            name.push(b'/');
        }
        name
    }
    key(a).cmp(&key(b))
}

impl Iterator for LocalWalk {
    type Item = Result<TreeEntry, TransferError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let entry = match self.inner.next()? {
                Ok(entry) => entry,
                Err(error) => {
                    let path = error.path().map(Path::to_path_buf);
                    let io = error.into_io_error().unwrap_or_else(|| {
                        std::io::Error::other("a symbolic link loops back to a directory above it")
                    });
                    return Some(Err(TransferError::io("walking", path.as_deref(), io)));
                }
            };
            let file_type = entry.file_type();
            if file_type.is_dir() || file_type.is_symlink() {
                // A directory is walked into; a link is here only when links are not
                // followed, and is then left out.
                continue;
            }
            if !file_type.is_file() {
                continue; // sockets, fifos, devices: not data to upload
            }
            if entry
                .file_name()
                .to_str()
                .is_some_and(crate::resume::state_dir::is_download_working_file)
            {
                // A download's temporary file or journal, ours (perhaps of a download
                // this very tree is running): never a source, never deleted.
                continue;
            }
            return Some(self.entry(&entry));
        }
    }
}

impl LocalWalk {
    fn entry(&self, entry: &DirEntry) -> Result<TreeEntry, TransferError> {
        let path = entry.path();
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let mut key = String::new();
        for component in relative.components() {
            let name = component.as_os_str().to_str().ok_or_else(|| {
                TransferError::io(
                    "walking",
                    Some(path),
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the file name is not UTF-8, so it cannot be a key",
                    ),
                )
            })?;
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(name);
        }
        let meta = entry.metadata().map_err(|e| {
            TransferError::io(
                "walking",
                Some(path),
                e.into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("no metadata")),
            )
        })?;
        Ok(TreeEntry {
            relative: key,
            size: meta.len(),
            modified: meta.modified().ok(),
            origin: EntryOrigin::Local(path.to_path_buf()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_in_key_order() {
        let dir = std::env::temp_dir().join(format!("s3t-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for path in ["a/x", "a-b", "a0", "b/c/d", "a.txt"] {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"x").unwrap();
        }
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        let keys: Vec<String> = LocalWalk::new(&dir, true)
            .map(|e| e.unwrap().relative)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys, ["a-b", "a.txt", "a/x", "a0", "b/c/d"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn a_link_to_a_directory_sorts_as_a_directory() {
        let dir = std::env::temp_dir().join(format!("s3t-walk-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let target = dir.join("target");
        let root = dir.join("root");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(target.join("x.jpg"), b"x").unwrap();
        std::fs::write(root.join("photos-2023.zip"), b"z").unwrap();
        std::fs::write(root.join("photos.txt"), b"t").unwrap();
        std::os::unix::fs::symlink(&target, root.join("photos")).unwrap();
        let keys: Vec<String> = LocalWalk::new(&root, true)
            .map(|e| e.unwrap().relative)
            .collect();
        assert_eq!(keys, ["photos-2023.zip", "photos.txt", "photos/x.jpg"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
