//! Proxies: an http endpoint through an HTTP proxy in absolute form (with the proxy's
//! credentials), `NO_PROXY` hosts direct, and an https endpoint through a CONNECT
//! tunnel with TLS end to end to the store, and (through a recording proxy, so that no
//! bucket subdomain has to resolve) the Host and path of virtual-hosted and path-style
//! requests on both backends. Proxies are set on the builder: the
//! environment of a multi-threaded test binary is not ours to change.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use s3transfer::client::ListObjectsV2Request;
use s3transfer::{RusotoS3, S3Api};

use super::common::http_recorder::Emulator;
use super::common::tls_proxy::tls_data;
use super::{get, put, tls_builder, tls_store};

fn listing_of(client: &RusotoS3, bucket: &str) -> Result<(), s3transfer::S3Error> {
    let mut list = ListObjectsV2Request::default();
    list.bucket = bucket.into();
    client.list_objects_v2(&list).map(|_| ())
}

fn empty_listing_server() -> Emulator {
    Emulator::start(|_| {
        (
            200,
            vec![],
            "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>".to_owned(),
        )
    })
}

#[test]
fn http_requests_go_to_the_proxy_in_absolute_form_with_its_credentials() {
    // The store's name does not resolve: only the proxy can reach it.
    let proxy = empty_listing_server();
    let client = RusotoS3::builder()
        .endpoint("http://store.invalid:9000")
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .proxy(format!("http://user:p%40ss@127.0.0.1:{}", proxy.port))
        .no_proxy("")
        .build()
        .unwrap();
    listing_of(&client, "bkt").expect("listed through the proxy");
    let seen = proxy.seen();
    assert!(
        seen[0].target.starts_with("http://store.invalid:9000/bkt?"),
        "{seen:?}"
    );
    // "user:p@ss" in base64.
    assert_eq!(seen[0].headers["proxy-authorization"], "Basic dXNlcjpwQHNz");
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let store = empty_listing_server();
    // A proxy that is not listening: using it would fail.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let client = RusotoS3::builder()
        .endpoint(store.url())
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .proxy(format!("http://127.0.0.1:{dead_port}"))
        .no_proxy("example.com, 127.0.0.1")
        .build()
        .unwrap();
    listing_of(&client, "bkt").expect("listed directly");
    assert_eq!(store.seen()[0].target.split('?').next(), Some("/bkt"));
}

/// An HTTP CONNECT proxy: records each tunnel's target and relays bytes both ways.
fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let log = targets.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                }
                log.lock().unwrap().push(target.clone());
                let upstream = TcpStream::connect(&target).unwrap();
                let mut client = client;
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up_r, mut up_w) = (upstream.try_clone().unwrap(), upstream);
                let mut client_w = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut up_r, &mut client_w));
                let _ = std::io::copy(&mut reader, &mut up_w);
            });
        }
    });
    (port, targets)
}

#[test]
fn https_goes_through_a_connect_tunnel_with_tls_to_the_store() {
    let (tls, bucket) = tls_store("tunnel", b"through the tunnel");
    let (proxy_port, targets) = connect_proxy();
    let s3 = tls_builder(&tls)
        .ca_bundle(tls_data("ca.pem"))
        .proxy(format!("http://127.0.0.1:{proxy_port}"))
        .no_proxy("")
        .build()
        .unwrap();
    let (data, _) = get(&s3, &bucket, "tunnel").unwrap();
    assert_eq!(data, b"through the tunnel");
    put(&s3, &bucket, "tunnel-2", b"and back");
    let targets = targets.lock().unwrap().clone();
    let host = tls.endpoint().trim_start_matches("https://").to_owned();
    assert!(
        !targets.is_empty() && targets.iter().all(|t| *t == host),
        "{targets:?} vs {host}"
    );
    assert!(
        !tls.handshakes().is_empty(),
        "TLS ran end to end with the store"
    );
}

/// Each backend, built for a store only an HTTP proxy can reach, with the given
/// addressing: the proxy (a recorder) sees each request's absolute URL and Host header,
/// which no DNS name for a bucket subdomain is needed for.
fn through_recorder(
    recorder: &Emulator,
    virtual_hosted: bool,
) -> Vec<(&'static str, Box<dyn S3Api>)> {
    let proxy = format!("http://127.0.0.1:{}", recorder.port);
    let rusoto = RusotoS3::builder()
        .endpoint("http://s3.store.invalid:9000")
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .proxy(&proxy)
        .no_proxy("");
    let rusoto = if virtual_hosted {
        rusoto.virtual_hosted(true)
    } else {
        rusoto.force_path_style(true)
    };
    #[allow(unused_mut)]
    let mut backends: Vec<(&'static str, Box<dyn S3Api>)> =
        vec![("rusoto", Box::new(rusoto.build().unwrap()))];
    #[cfg(feature = "aws-sdk")]
    {
        let sdk = s3transfer::AwsSdkS3::builder()
            .endpoint("http://s3.store.invalid:9000")
            .region("us-east-1")
            .static_credentials("AKIDTEST", "secret")
            .proxy(&proxy)
            .no_proxy("");
        let sdk = if virtual_hosted {
            sdk.virtual_hosted(true)
        } else {
            sdk.force_path_style(true)
        };
        backends.push(("aws-sdk", Box::new(sdk.build().unwrap())));
    }
    backends
}

#[test]
fn virtual_hosted_requests_name_the_bucket_in_the_host_and_path_style_ones_in_the_path() {
    for virtual_hosted in [true, false] {
        let recorder = empty_listing_server();
        for (name, s3) in through_recorder(&recorder, virtual_hosted) {
            let mut list = ListObjectsV2Request::default();
            list.bucket = "my-bucket".into();
            list.prefix = Some("dir/".into());
            s3.list_objects_v2(&list)
                .unwrap_or_else(|e| panic!("{name}: listing: {e}"));
            let seen = recorder.seen();
            let last = seen.last().unwrap();
            let (host, path) = if virtual_hosted {
                ("my-bucket.s3.store.invalid:9000", "/")
            } else {
                ("s3.store.invalid:9000", "/my-bucket")
            };
            assert_eq!(last.headers["host"], host, "{name}: {last:?}");
            // A bucket's root with or without its slash (the SDK adds one path-style).
            let url = format!("http://{host}{path}");
            let rest = last.target.strip_prefix(&url);
            assert!(
                rest.is_some_and(|r| r.starts_with('?') || r.starts_with("/?")),
                "{name}: {url} {last:?}"
            );
            assert!(last.target.contains("list-type=2"), "{name}: {last:?}");
            assert!(last.target.contains("prefix=dir%2F"), "{name}: {last:?}");
            // The signature covers the host the request went to.
            assert!(
                last.headers["authorization"].contains("SignedHeaders=")
                    && last.headers["authorization"].contains("host"),
                "{name}: {last:?}"
            );
        }
    }
}
