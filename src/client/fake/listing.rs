//! ListObjectsV2: keys with a current object, in key order, filtered by prefix, rolled
//! up into common prefixes by a delimiter, and cut into pages with continuation tokens.

use std::ops::Bound;
use std::time::{Duration, SystemTime};

use super::State;
use super::dates::parse_http_date;
use super::objects::Ctx;
use crate::client::{ListObjectsV2Output, ListObjectsV2Request, ListedObject, S3Error};

/// S3's page size, the default and the most `max_keys` may ask for.
const MAX_KEYS: u32 = 1000;
/// Continuation tokens are opaque on S3; the fake's carry the last entry of the page
/// behind this marker, so a token from elsewhere is refused as S3 refuses it.
const TOKEN_MARK: &str = "fake-continuation:";

/// One page of `request`'s listing.
pub(super) fn list_page(
    cx: Ctx<'_>,
    st: &State,
    request: &ListObjectsV2Request,
) -> Result<ListObjectsV2Output, S3Error> {
    let bucket = st.bucket(cx, &request.bucket)?;
    let prefix = request.prefix.as_deref().unwrap_or("");
    let delimiter = request.delimiter.as_deref().filter(|d| !d.is_empty());
    let after = match &request.continuation_token {
        Some(token) => Some(token.strip_prefix(TOKEN_MARK).ok_or_else(|| {
            cx.error(
                400,
                "InvalidArgument",
                "The continuation token provided is incorrect",
            )
        })?),
        None => request.start_after.as_deref(),
    };
    let max = request.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS) as usize;
    let start = match after {
        Some(after) => Bound::Excluded(after),
        None => Bound::Unbounded,
    };
    let mut page = ListObjectsV2Output::default();
    let mut emitted = 0usize;
    let mut last: Option<String> = None;
    for (key, entries) in bucket.keys.range::<str, _>((start, Bound::Unbounded)) {
        if !key.starts_with(prefix) {
            // Keys are sorted: once past the prefix, nothing after can match it.
            if key.as_str() > prefix {
                break;
            }
            continue;
        }
        let Some(object) = entries.last().and_then(|e| e.object.as_ref()) else {
            continue;
        };
        // A page that ended on a common prefix resumes after every key under it.
        if let (Some(after), Some(d)) = (after, delimiter)
            && after.ends_with(d)
            && key.starts_with(after)
        {
            continue;
        }
        let common = delimiter.and_then(|d| {
            key[prefix.len()..]
                .find(d)
                .map(|at| key[..prefix.len() + at + d.len()].to_owned())
        });
        if let Some(common) = &common
            && page.common_prefixes.last() == Some(common)
        {
            continue;
        }
        if emitted == max {
            page.next_continuation_token = last.map(|l| format!("{TOKEN_MARK}{l}"));
            return Ok(page);
        }
        emitted += 1;
        match common {
            Some(common) => {
                last = Some(common.clone());
                page.common_prefixes.push(common);
            }
            None => {
                last = Some(key.clone());
                page.objects.push(listed(key, object));
            }
        }
    }
    Ok(page)
}

fn listed(key: &str, object: &super::FakeObject) -> ListedObject {
    ListedObject {
        key: key.to_owned(),
        size: object.data.len() as u64,
        last_modified: parse_http_date(&object.last_modified)
            .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        etag: Some(object.etag.clone()),
        storage_class: Some(
            object
                .attributes
                .storage_class
                .clone()
                .unwrap_or_else(|| "STANDARD".to_owned()),
        ),
    }
}
