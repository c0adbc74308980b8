//! The listing streams: pages are asked for only as the tree consumes entries, so
//! memory holds a bounded number of keys however many there are.

use super::*;

#[test]
fn a_listing_of_twenty_thousand_keys_is_consumed_in_bounded_pages() {
    let (fake, manager) = setup();
    for i in 0..20_000 {
        fake.put_object_bytes("b", &synthetic_key(i), vec![1u8]);
    }
    fake.clear_calls();
    let counter = fake.clone();
    assert_listing_stays_bounded(
        &manager,
        move || counter.count(Operation::ListObjectsV2),
        20_000,
    );
    assert_eq!(fake.count(Operation::ListObjectsV2), 20);
}

/// A million keys from a store that generates them (the fake would itself hold a
/// million objects, about 1 GB, so the store here holds none and memory is the
/// tree's alone): a few seconds in a debug build.
#[test]
fn a_listing_of_a_million_keys_is_consumed_in_bounded_pages() {
    let store = Arc::new(Synthetic {
        total: 1_000_000,
        pages: AtomicUsize::new(0),
    });
    let manager = Arc::new(TransferManager::new(
        store.clone(),
        TransferConfig::default(),
    ));
    let pages = store.clone();
    assert_listing_stays_bounded(
        &manager,
        move || pages.pages.load(Ordering::SeqCst),
        1_000_000,
    );
    assert_eq!(store.pages.load(Ordering::SeqCst), 1000);
}
