//! Proxies: an http endpoint through an HTTP proxy in absolute form (with the proxy's
//! credentials), `NO_PROXY` hosts direct, and an https endpoint through a CONNECT
//! tunnel with TLS end to end to the store. Proxies are set on the builder: the
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
