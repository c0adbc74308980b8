//! [`Listing`]: the objects under a prefix, streamed: a thread of its own asks for
//! ListObjectsV2 pages (each call under the manager's retry policy) and puts the
//! objects into a bounded channel, so it waits while the consumer is behind and memory
//! holds at most the channel's bound plus the page in hand, however many keys there are.
//! The tree reads it as [`TreeEntry`]s ([`Listing::entries`]); callers of the manager
//! read it as [`ObjectListing`] (`ls`, one level or all of them).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, bounded};

use super::entry::{EntryOrigin, TreeEntry};
use crate::client::{ListObjectsV2Request, ListedObject, RequestContext, S3Api};
use crate::error::TransferError;
use crate::manager::TransferManager;
use crate::runtime::retry::{RetryPolicy, with_retries};

/// Objects waiting between the listing thread and the consumer, at most: one page of
/// S3's (1,000), so the listing can fetch the next page while this one is consumed.
pub const LISTING_QUEUE_BOUND: usize = 1000;

/// One item of a listing, in the order S3 returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListedItem {
    /// An object.
    Object(ListedObject),
    /// With a delimiter: a "directory" one level down (ends with the delimiter).
    Prefix(String),
}

/// What the listing thread sends: an item, or the end of one page's items (which
/// `aws s3 ls` prints apart: a page's prefixes, then its objects).
enum Piece {
    Item(ListedItem),
    PageEnd,
}

/// What a listing asks for.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListingRequest {
    pub(crate) bucket: String,
    /// Empty for the whole bucket.
    pub(crate) prefix: String,
    /// `Some("/")` for one level: deeper keys come as [`ListedItem::Prefix`].
    pub(crate) delimiter: Option<String>,
    pub(crate) context: RequestContext,
}

/// The items under a prefix, in key order; or the listing's error, after which nothing
/// more comes.
pub(crate) struct Listing {
    receiver: Receiver<Result<Piece, TransferError>>,
    /// Set when the consumer goes away, so the thread stops at its next page even if
    /// it is not blocked on the channel.
    stop: Arc<AtomicBool>,
}

impl Listing {
    /// Start listing on a thread of its own.
    pub(crate) fn start(
        client: Arc<dyn S3Api>,
        retry: RetryPolicy,
        what: ListingRequest,
    ) -> Result<Listing, TransferError> {
        let (sender, receiver) = bounded(LISTING_QUEUE_BOUND);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("s3transfer-list".into())
            .spawn(move || {
                let ListingRequest {
                    bucket,
                    prefix,
                    delimiter,
                    context,
                } = what;
                let mut request = ListObjectsV2Request {
                    bucket: bucket.clone(),
                    prefix: (!prefix.is_empty()).then(|| prefix.clone()),
                    delimiter,
                    context,
                    ..ListObjectsV2Request::default()
                };
                loop {
                    let page =
                        with_retries(&retry, &|| stopped.load(Ordering::Relaxed), &mut |_| {
                            client.list_objects_v2(&request)
                        })
                        .map_err(|e| {
                            e.into_transfer_error(|source| TransferError::S3ListFailed {
                                bucket: bucket.clone(),
                                prefix: prefix.clone(),
                                source,
                            })
                        });
                    let page = match page {
                        Ok(page) => page,
                        Err(error) => {
                            let _ = sender.send(Err(error));
                            return;
                        }
                    };
                    // A page's prefixes and objects each come in key order; merged,
                    // so that the whole listing is in key order too.
                    let mut objects = page.objects.into_iter().peekable();
                    let mut prefixes = page.common_prefixes.into_iter().peekable();
                    loop {
                        let item = match (objects.peek(), prefixes.peek()) {
                            (Some(o), Some(p)) if p.as_str() < o.key.as_str() => {
                                prefixes.next().map(ListedItem::Prefix)
                            }
                            (Some(_), _) => objects.next().map(ListedItem::Object),
                            (None, _) => prefixes.next().map(ListedItem::Prefix),
                        };
                        let Some(item) = item else { break };
                        // Blocks while the channel is full; fails once the consumer
                        // is gone, which ends the listing.
                        if sender.send(Ok(Piece::Item(item))).is_err()
                            || stopped.load(Ordering::Relaxed)
                        {
                            return;
                        }
                    }
                    if sender.send(Ok(Piece::PageEnd)).is_err() {
                        return;
                    }
                    match page.next_continuation_token {
                        Some(token) => request.continuation_token = Some(token),
                        None => return,
                    }
                }
            })
            .map_err(|e| TransferError::io("starting the listing thread", None, e))?;
        Ok(Listing { receiver, stop })
    }

    /// The objects as entries relative to `prefix` (a "directory": empty or ending in
    /// `/`). "Directory markers" (a key ending in `/` with no data) are left out unless
    /// `keep_markers`, as the AWS CLI leaves them out of `cp`, `sync` and `mv` but
    /// deletes them with `rm --recursive`.
    pub(crate) fn entries(
        self,
        prefix: String,
        keep_markers: bool,
    ) -> impl Iterator<Item = Result<TreeEntry, TransferError>> + Send {
        self.filter_map(move |item| {
            let object = match item {
                Ok(ListedItem::Object(object)) => object,
                Ok(ListedItem::Prefix(_)) => return None,
                Err(error) => return Some(Err(error)),
            };
            if !keep_markers && object.size == 0 && object.key.ends_with('/') {
                return None;
            }
            // A store that ignored the prefix.
            let relative = object.key.strip_prefix(&prefix)?.to_owned();
            Some(Ok(TreeEntry {
                relative,
                size: object.size,
                modified: object.last_modified,
                origin: EntryOrigin::S3 {
                    etag: object.etag,
                    key: object.key,
                },
            }))
        })
    }
}

impl Iterator for Listing {
    type Item = Result<ListedItem, TransferError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.receiver.recv().ok()? {
                Ok(Piece::PageEnd) => continue,
                Ok(Piece::Item(item)) => return Some(Ok(item)),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl Drop for Listing {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The objects (and, with a delimiter, the common prefixes) under a prefix, streamed
/// page by page as they are read: at most [`LISTING_QUEUE_BOUND`] items plus one page
/// are held, however many keys there are. Returned by
/// [`TransferManager::list_objects`]; dropping it ends the listing.
pub struct ObjectListing {
    inner: Listing,
}

impl Iterator for ObjectListing {
    type Item = Result<ListedItem, TransferError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl ObjectListing {
    /// The items of the next page S3 returned, in key order (`None` once the listing
    /// is done; an error ends it): for a caller that shows pages apart, as `aws s3 ls`
    /// prints each page's prefixes before its objects. Holds one page (at most 1,000
    /// items). Mixed with [`Iterator::next`], the page is what remains of the current
    /// one.
    pub fn next_page(&mut self) -> Option<Result<Vec<ListedItem>, TransferError>> {
        let mut page = Vec::new();
        loop {
            match self.inner.receiver.recv() {
                Ok(Ok(Piece::Item(item))) => page.push(item),
                Ok(Ok(Piece::PageEnd)) => return Some(Ok(page)),
                Ok(Err(error)) => return Some(Err(error)),
                // The thread ended without a page end: only after an error was sent.
                Err(_) => return (!page.is_empty()).then_some(Ok(page)),
            }
        }
    }
}

impl std::fmt::Debug for ObjectListing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectListing").finish_non_exhaustive()
    }
}

impl TransferManager {
    /// List `bucket` under `prefix` (`aws s3 ls`): every object, in key order, or with
    /// `delimiter` (`"/"`) one level, deeper keys folded into
    /// [`ListedItem::Prefix`]es. Each page is asked for under the manager's retry
    /// policy, and only as the items before it are consumed. An error ends the
    /// iteration ([`TransferError::S3ListFailed`]).
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        context: RequestContext,
    ) -> Result<ObjectListing, TransferError> {
        if bucket.is_empty() {
            return Err(TransferError::InvalidArgument(
                "the bucket name is empty".into(),
            ));
        }
        let engine = self.engine();
        let inner = Listing::start(
            engine.client.clone(),
            engine.retry.clone(),
            ListingRequest {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
                delimiter: delimiter.map(str::to_owned),
                context,
            },
        )?;
        Ok(ObjectListing { inner })
    }
}
