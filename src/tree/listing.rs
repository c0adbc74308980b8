//! [`Listing`]: the objects under a prefix, streamed: a thread of its own asks for
//! ListObjectsV2 pages (each call under the manager's retry policy) and puts the
//! objects into a bounded channel, so it waits while the consumer is behind and memory
//! holds at most the channel's bound plus the page in hand, however many keys there are.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, bounded};

use super::entry::{EntryOrigin, TreeEntry};
use crate::client::{ListObjectsV2Request, RequestContext, S3Api};
use crate::error::TransferError;
use crate::runtime::retry::{RetryPolicy, with_retries};

/// Objects waiting between the listing thread and the consumer, at most: one page of
/// S3's (1,000), so the listing can fetch the next page while this one is consumed.
pub const LISTING_QUEUE_BOUND: usize = 1000;

/// The objects under a prefix, in key order, as [`TreeEntry`]s relative to it; or the
/// listing's error, after which nothing more comes.
pub(crate) struct Listing {
    receiver: Receiver<Result<TreeEntry, TransferError>>,
    /// Set when the consumer goes away, so the thread stops at its next page even if
    /// it is not blocked on the channel.
    stop: Arc<AtomicBool>,
}

impl Listing {
    /// Start listing `bucket` under `prefix` (a "directory": empty or ending in `/`).
    /// "Directory markers" (a key ending in `/` with no data) are left out, as the
    /// AWS CLI leaves them out of `cp`, `sync` and `mv`.
    pub(crate) fn start(
        client: Arc<dyn S3Api>,
        retry: RetryPolicy,
        bucket: String,
        prefix: String,
        context: RequestContext,
    ) -> Result<Listing, TransferError> {
        let (sender, receiver) = bounded(LISTING_QUEUE_BOUND);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("s3transfer-list".into())
            .spawn(move || {
                let mut request = ListObjectsV2Request {
                    bucket: bucket.clone(),
                    prefix: (!prefix.is_empty()).then(|| prefix.clone()),
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
                    for object in page.objects {
                        if object.size == 0 && object.key.ends_with('/') {
                            continue;
                        }
                        let Some(relative) = object.key.strip_prefix(&prefix) else {
                            continue; // a store that ignored the prefix
                        };
                        let entry = TreeEntry {
                            relative: relative.to_owned(),
                            size: object.size,
                            modified: object.last_modified,
                            origin: EntryOrigin::S3 {
                                etag: object.etag,
                                key: object.key,
                            },
                        };
                        // Blocks while the channel is full; fails once the consumer
                        // is gone, which ends the listing.
                        if sender.send(Ok(entry)).is_err() || stopped.load(Ordering::Relaxed) {
                            return;
                        }
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
}

impl Iterator for Listing {
    type Item = Result<TreeEntry, TransferError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.recv().ok()
    }
}

impl Drop for Listing {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
