//! Sync decisions, as `aws s3 sync` makes them: for a file on both sides, whether it
//! must be sent again (its size differs, or its time says the source changed); and
//! the merge of the two sides, both in key order, into pairs.

use std::cmp::Ordering;
use std::iter::Peekable;

use super::entry::TreeEntry;
use crate::error::TransferError;

/// Which way the bytes go, which decides how the times are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Upload,
    Download,
    Copy,
}

/// How files on both sides are compared (`aws s3 sync`'s strategies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CompareOptions {
    /// `--size-only`: only a different size sends a file again.
    pub(crate) size_only: bool,
    /// `--exact-timestamps`: on a download, a same-sized file is sent again unless its
    /// time is exactly the object's.
    pub(crate) exact_timestamps: bool,
}

/// Whether `source` must be sent over `destination`, as the AWS CLI's
/// `SizeAndLastModifiedSync` decides (with `SizeOnlySync` and `ExactTimestampsSync`):
///
/// * a different size: yes;
/// * upload or copy: yes when the source is newer than the destination;
/// * download: yes when the local file is **newer** than the object (the local copy
///   was changed after the download set its time to the object's LastModified); with
///   `exact_timestamps`, whenever the times differ.
///
/// Times are compared as they are, as the AWS CLI compares them: S3 keeps LastModified
/// to the second, so a file changed in the same second as its last upload, after it,
/// is newer than its object and is sent again (rather than a change being missed). A
/// file written and uploaded within one second is therefore sent once more by the next
/// sync; a download sets the file's time to the object's exactly, so a second sync of a
/// download moves nothing. A side without a time is sent again.
pub(crate) fn needs_transfer(
    direction: Direction,
    source: &TreeEntry,
    destination: &TreeEntry,
    options: CompareOptions,
) -> bool {
    if source.size != destination.size {
        return true;
    }
    if options.size_only {
        return false;
    }
    let (Some(src), Some(dst)) = (source.modified, destination.modified) else {
        return true;
    };
    match direction {
        Direction::Upload | Direction::Copy => dst < src,
        Direction::Download if options.exact_timestamps => dst != src,
        Direction::Download => dst > src,
    }
}

/// One step of a merge of the source and destination sides.
pub(crate) enum Pair {
    /// Only at the source.
    Source(TreeEntry),
    /// Only at the destination.
    Destination(TreeEntry),
    /// On both sides (same relative path).
    Both(TreeEntry, TreeEntry),
    /// One side could not be read here; the merge goes on.
    Error(TransferError),
}

/// Both sides side by side: each yields entries in the byte order of their relative
/// paths (a local walk and a listing both do), so one pass pairs them with one entry
/// of each in memory.
pub(crate) struct Merge<S: Iterator, D: Iterator> {
    source: Peekable<S>,
    destination: Peekable<D>,
}

type Item = Result<TreeEntry, TransferError>;

impl<S: Iterator<Item = Item>, D: Iterator<Item = Item>> Merge<S, D> {
    pub(crate) fn new(source: S, destination: D) -> Self {
        Merge {
            source: source.peekable(),
            destination: destination.peekable(),
        }
    }
}

impl<S: Iterator<Item = Item>, D: Iterator<Item = Item>> Iterator for Merge<S, D> {
    type Item = Pair;

    fn next(&mut self) -> Option<Pair> {
        if let Some(Err(_)) = self.source.peek() {
            return self
                .source
                .next()
                .map(|e| Pair::Error(e.expect_err("peeked an error")));
        }
        if let Some(Err(_)) = self.destination.peek() {
            return self
                .destination
                .next()
                .map(|e| Pair::Error(e.expect_err("peeked an error")));
        }
        let order = match (self.source.peek(), self.destination.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(Ok(s)), Some(Ok(d))) => s.relative.as_bytes().cmp(d.relative.as_bytes()),
            _ => unreachable!("errors were taken above"),
        };
        Some(match order {
            Ordering::Less => Pair::Source(take(&mut self.source)),
            Ordering::Greater => Pair::Destination(take(&mut self.destination)),
            Ordering::Equal => {
                let s = take(&mut self.source);
                Pair::Both(s, take(&mut self.destination))
            }
        })
    }
}

/// The entry a peek has shown to be there.
fn take<I: Iterator<Item = Item>>(it: &mut Peekable<I>) -> TreeEntry {
    match it.next() {
        Some(Ok(entry)) => entry,
        _ => unreachable!("peeked an entry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::entry::EntryOrigin;
    use std::time::{Duration, UNIX_EPOCH};

    fn entry(size: u64, secs: u64, nanos: u32) -> TreeEntry {
        TreeEntry {
            relative: "a".into(),
            size,
            modified: Some(UNIX_EPOCH + Duration::new(secs, nanos)),
            origin: EntryOrigin::Local("a".into()),
        }
    }

    #[test]
    fn decisions_follow_the_aws_cli() {
        let plain = CompareOptions::default();
        let up = Direction::Upload;
        let down = Direction::Download;
        // Different size: always.
        assert!(needs_transfer(
            up,
            &entry(1, 100, 0),
            &entry(2, 200, 0),
            plain
        ));
        // Upload: the source newer only.
        assert!(needs_transfer(
            up,
            &entry(1, 200, 0),
            &entry(1, 100, 0),
            plain
        ));
        assert!(!needs_transfer(
            up,
            &entry(1, 100, 0),
            &entry(1, 200, 0),
            plain
        ));
        // Changed later in the second of the upload (S3 keeps whole seconds): newer.
        assert!(needs_transfer(
            up,
            &entry(1, 100, 700_000_000),
            &entry(1, 100, 0),
            plain
        ));
        // Download: the local file newer only, or any difference with exact timestamps.
        assert!(needs_transfer(
            down,
            &entry(1, 100, 0),
            &entry(1, 200, 0),
            plain
        ));
        assert!(!needs_transfer(
            down,
            &entry(1, 200, 0),
            &entry(1, 100, 0),
            plain
        ));
        let exact = CompareOptions {
            exact_timestamps: true,
            ..plain
        };
        assert!(needs_transfer(
            down,
            &entry(1, 200, 0),
            &entry(1, 100, 0),
            exact
        ));
        assert!(!needs_transfer(
            down,
            &entry(1, 100, 0),
            &entry(1, 100, 0),
            exact
        ));
        // Size only: times never matter.
        let size_only = CompareOptions {
            size_only: true,
            ..plain
        };
        assert!(!needs_transfer(
            up,
            &entry(1, 200, 0),
            &entry(1, 100, 0),
            size_only
        ));
        assert!(needs_transfer(
            up,
            &entry(1, 100, 0),
            &entry(3, 100, 0),
            size_only
        ));
    }
}
