//! A TLS front for a plain-HTTP test server: it terminates TLS on 127.0.0.1 with the
//! test certificate in tests/data/tls (a CA no machine trusts) and relays the bytes,
//! so an https:// endpoint can be tested against the same s3s-fs store as http://.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A path under tests/data/tls.
pub fn tls_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

/// A running TLS front. Dropping it stops it.
pub struct TlsProxy {
    addr: SocketAddr,
    /// The ALPN protocol of each completed handshake (None: the client offered none).
    handshakes: Arc<Mutex<Vec<Option<Vec<u8>>>>>,
    /// TCP connections accepted.
    connections: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsProxy {
    /// Listen on 127.0.0.1 (a free port) and relay each TLS connection to `backend`.
    /// The server offers h2 before http/1.1, as S3 does, so a client that accepted
    /// HTTP/2 would get it. Panics if it cannot start: this is a test fixture.
    pub fn start(backend: SocketAddr) -> TlsProxy {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls_data("server.pem"))
                .expect("server.pem")
                .collect::<Result<_, _>>()
                .expect("server.pem parses");
        let key = PrivateKeyDer::from_pem_file(tls_data("server.key")).expect("server.key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate and key");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let seen = handshakes.clone();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((socket, _)) = accepted else { continue };
                            counted.fetch_add(1, Ordering::SeqCst);
                            let acceptor = acceptor.clone();
                            let seen = seen.clone();
                            tokio::spawn(async move {
                                // A refused handshake is the client's doing: nothing to relay.
                                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                                let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                                seen.lock().unwrap().push(alpn);
                                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await
                                else {
                                    return;
                                };
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                            });
                        }
                        _ = &mut stop_rx => break,
                    }
                }
            });
            runtime.shutdown_background();
        });
        TlsProxy {
            addr,
            handshakes,
            connections,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// TCP connections accepted so far, whether or not their handshake completed.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The ALPN protocol each completed handshake agreed on, in order.
    pub fn handshakes(&self) -> Vec<Option<Vec<u8>>> {
        self.handshakes.lock().unwrap().clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
