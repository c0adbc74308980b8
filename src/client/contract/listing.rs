//! Checks of ListObjectsV2: exactly the keys under a prefix, in key order, across
//! pages; common prefixes with a delimiter; awkward keys listed as they were stored.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::support::{data, ok, put};
use super::{Fixture, Outcome};
use crate::client::{ListObjectsV2Output, ListObjectsV2Request, S3Api};

/// Every page of the listing `request` starts, in order; panics past 100 pages (a
/// store whose tokens never end).
fn all_pages(s3: &dyn S3Api, request: &ListObjectsV2Request) -> Vec<ListObjectsV2Output> {
    let mut request = request.clone();
    let mut pages = Vec::new();
    loop {
        let page = ok(s3.list_objects_v2(&request), "ListObjectsV2");
        let next = page.next_continuation_token.clone();
        pages.push(page);
        match next {
            Some(token) => request.continuation_token = Some(token),
            None => return pages,
        }
        assert!(pages.len() <= 100, "ListObjectsV2: more than 100 pages");
    }
}

fn listing(bucket: &str, prefix: &str) -> ListObjectsV2Request {
    ListObjectsV2Request {
        bucket: bucket.to_owned(),
        prefix: Some(prefix.to_owned()),
        ..Default::default()
    }
}

/// What the listing checks put on the store: key -> (size, ETag).
type Stored = BTreeMap<String, (u64, Option<String>)>;

/// ListObjectsV2 lists exactly the objects under a prefix, in key order, with their
/// sizes and ETags; pages of `max_keys` chain through continuation tokens to the same
/// list, none repeated or lost; with a delimiter, deeper keys roll up into common
/// prefixes (on every page boundary too); keys with spaces, unicode and `+` come back as
/// stored.
pub fn listing_pages_prefixes_and_delimiters(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let root = fixture.key("listing", "");
    let stored = seed(s3, bucket, &root);
    whole_listing(s3, bucket, &root, &stored);
    pages_of_two(s3, bucket, &root, &stored);
    one_level(s3, bucket, &root);
    deeper_and_empty_prefixes(s3, bucket, &root);
    Outcome::Passed
}

/// A small tree under `root`, and a key beside it that must not be listed under it.
fn seed(s3: &dyn S3Api, bucket: &str, root: &str) -> Stored {
    let names = [
        "a.txt",
        "b/1",
        "b/2",
        "b/c/3",
        "d e+f.bin",
        "ünïcødé/ключ",
        "z",
    ];
    let mut stored = Stored::new();
    for (i, name) in names.iter().enumerate() {
        let key = format!("{root}{name}");
        let bytes = data(10 + i, 40 + i as u64);
        let out = put(s3, bucket, &key, &bytes);
        stored.insert(key, (bytes.len() as u64, out.etag));
    }
    put(
        s3,
        bucket,
        &format!("{}-sibling", root.trim_end_matches('/')),
        b"x",
    );
    stored
}

fn keys_of(pages: &[ListObjectsV2Output]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| o.key.clone()))
        .collect()
}

fn under(root: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{root}{n}")).collect()
}

/// One page with every key, its size, ETag and a plausible LastModified.
fn whole_listing(s3: &dyn S3Api, bucket: &str, root: &str, stored: &Stored) {
    let whole = all_pages(s3, &listing(bucket, root));
    assert_eq!(
        whole.len(),
        1,
        "ListObjectsV2: {} keys came in {} pages",
        stored.len(),
        whole.len()
    );
    let expected: Vec<_> = stored.keys().cloned().collect();
    assert_eq!(
        keys_of(&whole),
        expected,
        "ListObjectsV2 under {root:?}: the keys, in key order"
    );
    // Any date a store can have written at: after 2000-01-01, before a day from now.
    let earliest = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
    let latest = SystemTime::now() + Duration::from_secs(24 * 3600);
    for object in &whole[0].objects {
        let (size, etag) = &stored[&object.key];
        assert_eq!(object.size, *size, "ListObjectsV2 size of {:?}", object.key);
        if let (Some(listed), Some(put)) = (&object.etag, etag) {
            assert_eq!(
                listed.trim_matches('"'),
                put.trim_matches('"'),
                "ListObjectsV2 ETag of {:?}",
                object.key
            );
        }
        let modified = object
            .last_modified
            .expect("ListObjectsV2 names LastModified");
        assert!(
            modified > earliest && modified < latest,
            "ListObjectsV2 LastModified of {:?}: {modified:?}",
            object.key
        );
    }
    assert!(
        whole[0].common_prefixes.is_empty(),
        "common prefixes without a delimiter"
    );
}

/// Pages of two: the same keys, each once.
fn pages_of_two(s3: &dyn S3Api, bucket: &str, root: &str, stored: &Stored) {
    let mut paged = listing(bucket, root);
    paged.max_keys = Some(2);
    let pages = all_pages(s3, &paged);
    assert!(
        pages.len() >= 4,
        "ListObjectsV2 max_keys 2: {} pages for 7 keys",
        pages.len()
    );
    let expected: Vec<_> = stored.keys().cloned().collect();
    assert_eq!(
        keys_of(&pages),
        expected,
        "ListObjectsV2 max_keys 2: pages chain to the same keys"
    );
    assert!(
        pages.iter().all(|p| p.objects.len() <= 2),
        "a page above max_keys"
    );
}

/// One level with a delimiter, whole and in pages of one (a page may end on a common
/// prefix).
fn one_level(s3: &dyn S3Api, bucket: &str, root: &str) {
    let mut level = listing(bucket, root);
    level.delimiter = Some("/".into());
    for max_keys in [None, Some(1)] {
        level.max_keys = max_keys;
        let pages = all_pages(s3, &level);
        let prefixes: Vec<_> = pages
            .iter()
            .flat_map(|p| p.common_prefixes.clone())
            .collect();
        assert_eq!(
            keys_of(&pages),
            under(root, &["a.txt", "d e+f.bin", "z"]),
            "ListObjectsV2 delimiter / (max_keys {max_keys:?}): objects"
        );
        assert_eq!(
            prefixes,
            under(root, &["b/", "ünïcødé/"]),
            "ListObjectsV2 delimiter / (max_keys {max_keys:?}): common prefixes"
        );
    }
}

/// A deeper prefix, and one that matches nothing.
fn deeper_and_empty_prefixes(s3: &dyn S3Api, bucket: &str, root: &str) {
    let deeper = all_pages(s3, &listing(bucket, &format!("{root}b/")));
    assert_eq!(
        keys_of(&deeper),
        under(root, &["b/1", "b/2", "b/c/3"]),
        "ListObjectsV2 under b/"
    );
    let none = all_pages(s3, &listing(bucket, &format!("{root}nothing-here/")));
    assert!(
        none[0].objects.is_empty() && none[0].common_prefixes.is_empty(),
        "an empty prefix lists nothing"
    );
}
