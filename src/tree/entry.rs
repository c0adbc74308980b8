//! [`TreeEntry`]: one file or object of a tree, named by its path relative to the
//! tree's root, which is what filters match and what pairs a source with its
//! destination.

use std::path::PathBuf;
use std::time::SystemTime;

/// One file of a local tree or one object under a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeEntry {
    /// The path relative to the root, `/`-separated (`photos/2024/cat.jpg`): the
    /// object's key without the prefix, or the file's path under the directory.
    pub relative: String,
    /// Size in bytes.
    pub size: u64,
    /// The file's modification time, or the object's LastModified.
    pub modified: Option<SystemTime>,
    /// Where it is.
    pub origin: EntryOrigin,
}

/// Where a [`TreeEntry`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryOrigin {
    /// A local file (the path as walked: through a link when links are followed).
    Local(PathBuf),
    /// An object.
    S3 {
        /// Its full key.
        key: String,
        /// Its ETag as listed.
        etag: Option<String>,
    },
}
