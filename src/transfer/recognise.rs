//! Whether the object at a destination is the one our own request wrote: how a write
//! whose answer was lost after the store acted (a reset, an error after the write,
//! attempts that ran out) learns that it succeeded, without ever taking another
//! writer's object for ours.

use crate::client::etag;
use crate::client::{Checksums, HeadObjectOutput, HeadObjectRequest};
use crate::transfer::context::TransferContext;

/// The object `head` names, if it is `size` bytes and carries something only our write
/// can match: every full-object checksum we `sent` that the store returns; or, where it
/// returns none of them, the ETag our bytes give (`etag_of_ours`: a single PUT's MD5, a
/// multipart upload's MD5 of its part MD5s). Size alone proves nothing (another
/// writer's object can share it), so anything unproven, or no object, is `None`.
pub(crate) fn written_by_us(
    ctx: &TransferContext,
    head: &HeadObjectRequest,
    size: u64,
    sent: &Checksums,
    etag_of_ours: impl FnOnce() -> Option<String>,
) -> Option<HeadObjectOutput> {
    let head = HeadObjectRequest {
        checksum_mode: true,
        ..head.clone()
    };
    let found = ctx.engine.client.head_object(&head).ok()?;
    let etag = found.etag.as_deref()?;
    if found.content_length != size {
        return None;
    }
    let ours = match same_checksums(sent, &found.checksums) {
        Some(same) => same,
        None => etag_of_ours().is_some_and(|expected| expected == etag::unquote(etag)),
    };
    ours.then_some(found)
}

/// Whether the values `sent` are those `stored`: `None` when the store returns none of
/// them (nothing to compare), else whether every one returned matches.
fn same_checksums(sent: &Checksums, stored: &Checksums) -> Option<bool> {
    let mut compared = None;
    for (algorithm, value) in sent.values() {
        if let Some(got) = stored.get(algorithm) {
            if got != value {
                return Some(false);
            }
            compared = Some(true);
        }
    }
    compared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_checksums_decide_only_when_the_store_returns_them() {
        let crc32 = |v: &str| Checksums {
            crc32: Some(v.into()),
            ..Default::default()
        };
        let (sent, same, other) = (crc32("AAAAAA=="), crc32("AAAAAA=="), crc32("BBBBBB=="));
        let unrelated = Checksums {
            sha256: Some("AAAAAA==".into()),
            ..Default::default()
        };
        assert_eq!(same_checksums(&sent, &same), Some(true));
        assert_eq!(same_checksums(&sent, &other), Some(false));
        assert_eq!(same_checksums(&sent, &unrelated), None);
        assert_eq!(same_checksums(&Checksums::default(), &same), None);
    }
}
