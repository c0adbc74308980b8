//! Checks the SeaweedFS fixture itself: it starts, serves real S3 and listens only on loopback.

#[path = "common/seaweed.rs"]
mod seaweed;

use std::collections::{HashMap, HashSet};
use std::fs;

use rusoto_s3::{
    AbortMultipartUploadRequest, CreateMultipartUploadRequest, HeadObjectRequest, S3 as _,
};
use seaweed::SeaweedFs;

#[test]
fn shared_server_starts_and_round_trips_an_object() {
    let s3 = SeaweedFs::shared();
    assert!(s3.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(s3.region(), "us-east-1");
    assert!(
        std::ptr::eq(s3, SeaweedFs::shared()),
        "one server per process"
    );

    let bucket = "fixture-round-trip";
    s3.create_bucket(bucket);
    s3.create_bucket(bucket); // idempotent

    let body: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    s3.put_object(bucket, "dir/object.bin", &body);
    assert_eq!(s3.get_object(bucket, "dir/object.bin"), body);

    let head = s3
        .block_on(s3.client().head_object(HeadObjectRequest {
            bucket: bucket.to_string(),
            key: "dir/object.bin".to_string(),
            ..Default::default()
        }))
        .expect("HEAD");
    assert_eq!(head.content_length, Some(body.len() as i64));
}

#[test]
fn open_multipart_upload_is_listed_until_aborted() {
    let s3 = SeaweedFs::shared();
    let bucket = "fixture-multipart";
    s3.create_bucket(bucket);
    assert!(s3.list_multipart_uploads(bucket).is_empty());

    let created = s3
        .block_on(
            s3.client()
                .create_multipart_upload(CreateMultipartUploadRequest {
                    bucket: bucket.to_string(),
                    key: "big/object".to_string(),
                    ..Default::default()
                }),
        )
        .expect("CreateMultipartUpload");
    let upload_id = created.upload_id.expect("upload id");

    assert_eq!(
        s3.list_multipart_uploads(bucket),
        vec![("big/object".to_string(), upload_id.clone())]
    );

    s3.block_on(
        s3.client()
            .abort_multipart_upload(AbortMultipartUploadRequest {
                bucket: bucket.to_string(),
                key: "big/object".to_string(),
                upload_id,
                ..Default::default()
            }),
    )
    .expect("AbortMultipartUpload");
    assert!(s3.list_multipart_uploads(bucket).is_empty());
}

/// One listening TCP socket from /proc/net/tcp{,6}.
#[derive(Debug)]
struct Listener {
    v6: bool,
    addr_hex: String,
    port: u16,
}

/// inode -> listener, for every socket in LISTEN state (st = 0A).
fn listeners() -> HashMap<u64, Listener> {
    let mut out = HashMap::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let (addr_hex, port_hex) = f[1].split_once(':').expect("local address");
            let port = u16::from_str_radix(port_hex, 16).expect("port");
            let inode: u64 = f[9].parse().expect("inode");
            out.insert(
                inode,
                Listener {
                    v6,
                    addr_hex: addr_hex.to_string(),
                    port,
                },
            );
        }
    }
    out
}

/// 127.0.0.1 as /proc/net/tcp prints it (little-endian hex).
const LOOPBACK_V4: &str = "0100007F";

#[test]
fn every_listener_of_weed_is_on_127_0_0_1() {
    let s3 = SeaweedFs::shared();
    let all = listeners();

    // 1. The socket inodes held by the weed process itself.
    let mut inodes = HashSet::new();
    let fd_dir = format!("/proc/{}/fd", s3.pid());
    for entry in fs::read_dir(&fd_dir).unwrap_or_else(|e| panic!("{fd_dir}: {e}")) {
        let Ok(target) = fs::read_link(entry.expect("fd entry").path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(inode.parse::<u64>().expect("socket inode"));
        }
    }
    let weed_listeners: Vec<&Listener> = inodes.iter().filter_map(|i| all.get(i)).collect();
    assert!(
        !weed_listeners.is_empty(),
        "found no listening socket of weed"
    );
    for l in &weed_listeners {
        assert!(
            !l.v6 && l.addr_hex == LOOPBACK_V4,
            "weed listens on a non-loopback address: {l:?}"
        );
    }
    // Exactly the eight ports it was given (no Iceberg/Lance/metrics/debug extras).
    let mut ports: Vec<u16> = weed_listeners.iter().map(|l| l.port).collect();
    ports.sort_unstable();
    let mut expected = s3.ports().to_vec();
    expected.sort_unstable();
    assert_eq!(ports, expected, "weed's listening ports");

    // 2. Nobody listens on those ports on a wildcard (0.0.0.0 / [::]) or other address.
    for l in all.values().filter(|l| expected.contains(&l.port)) {
        assert!(
            !l.v6 && l.addr_hex == LOOPBACK_V4,
            "non-loopback listener on a SeaweedFS port: {l:?}"
        );
    }
}
