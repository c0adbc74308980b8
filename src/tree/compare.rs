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
///
/// That order is checked, not trusted: each side's paths must be strictly increasing
/// (S3 Express directory buckets do not list in key order; a walk could be wrong about
/// a name's type). An entry out of order would be missed by its pair, so it would be
/// both sent and, with `--delete`, deleted; instead the merge yields
/// [`TransferError::OutOfOrder`] and ends.
pub(crate) struct Merge<S: Iterator, D: Iterator> {
    source: Peekable<S>,
    destination: Peekable<D>,
    /// The last relative path taken from each side.
    last_source: Option<String>,
    last_destination: Option<String>,
    /// Set once an entry came out of order: nothing more is paired.
    broken: bool,
}

type Item = Result<TreeEntry, TransferError>;

impl<S: Iterator<Item = Item>, D: Iterator<Item = Item>> Merge<S, D> {
    pub(crate) fn new(source: S, destination: D) -> Self {
        Merge {
            source: source.peekable(),
            destination: destination.peekable(),
            last_source: None,
            last_destination: None,
            broken: false,
        }
    }
}

/// `Err` when `next` does not sort strictly after `last` (which then becomes `next`).
fn in_order(
    side: &'static str,
    last: &mut Option<String>,
    next: &TreeEntry,
) -> Result<(), TransferError> {
    if let Some(previous) = last.as_deref()
        && previous.as_bytes() >= next.relative.as_bytes()
    {
        return Err(TransferError::OutOfOrder {
            side,
            previous: previous.to_owned(),
            next: next.relative.clone(),
        });
    }
    *last = Some(next.relative.clone());
    Ok(())
}

impl<S: Iterator<Item = Item>, D: Iterator<Item = Item>> Iterator for Merge<S, D> {
    type Item = Pair;

    fn next(&mut self) -> Option<Pair> {
        if self.broken {
            return None;
        }
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
        let pair = match order {
            Ordering::Less => {
                let s = take(&mut self.source);
                in_order("source", &mut self.last_source, &s).map(|()| Pair::Source(s))
            }
            Ordering::Greater => {
                let d = take(&mut self.destination);
                in_order("destination", &mut self.last_destination, &d)
                    .map(|()| Pair::Destination(d))
            }
            Ordering::Equal => {
                let s = take(&mut self.source);
                let d = take(&mut self.destination);
                in_order("source", &mut self.last_source, &s)
                    .and_then(|()| in_order("destination", &mut self.last_destination, &d))
                    .map(|()| Pair::Both(s, d))
            }
        };
        Some(pair.unwrap_or_else(|error| {
            self.broken = true;
            Pair::Error(error)
        }))
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

    fn named(relative: &str) -> Result<TreeEntry, TransferError> {
        Ok(TreeEntry {
            relative: relative.into(),
            size: 1,
            modified: None,
            origin: EntryOrigin::Local(relative.into()),
        })
    }

    #[test]
    fn a_side_out_of_key_order_ends_the_merge_with_a_typed_error() {
        // What an S3 Express directory bucket may list: not lexicographic.
        let source = vec![named("a"), named("c"), named("b")];
        let destination = vec![named("a"), named("b"), named("c")];
        let pairs: Vec<Pair> = Merge::new(source.into_iter(), destination.into_iter()).collect();
        assert!(matches!(pairs[0], Pair::Both(..)));
        assert!(matches!(pairs[1], Pair::Destination(_)));
        let last = pairs.last().unwrap();
        assert!(
            matches!(
                last,
                Pair::Error(TransferError::OutOfOrder { side: "source", previous, next })
                    if previous == "c" && next == "b"
            ),
            "{} pairs, the last not the order error",
            pairs.len()
        );
        // A repeated path is out of order too.
        let pairs: Vec<Pair> =
            Merge::new(std::iter::empty(), vec![named("x"), named("x")].into_iter()).collect();
        assert!(matches!(
            pairs.last(),
            Some(Pair::Error(TransferError::OutOfOrder {
                side: "destination",
                ..
            }))
        ));
    }
}
