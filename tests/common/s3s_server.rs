//! An in-process S3 server for tests and examples: s3s 0.14 over s3s-fs 0.14, on
//! 127.0.0.1 with a random port, its data in a temporary directory.
//!
//! Self-contained (no `super::` imports) so an example can include it with
//! `#[path = "../tests/common/s3s_server.rs"] mod s3s_server;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use s3transfer::RusotoS3;

/// Access key the server accepts.
pub const ACCESS_KEY: &str = "s3transfer-test-ak";
/// Secret key the server accepts.
pub const SECRET_KEY: &str = "s3transfer-test-sk";

/// A running s3s-fs server. Dropping it stops the server and removes its data.
pub struct LocalS3 {
    addr: SocketAddr,
    // Held only to keep the data directory until the server is gone.
    _data: tempfile::TempDir,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    client: Arc<RusotoS3>,
}

impl LocalS3 {
    /// Start a server on 127.0.0.1 (a free port), with its own runtime on its own
    /// thread. Panics if it cannot start: this is a test fixture.
    pub fn start() -> LocalS3 {
        let data = tempfile::tempdir().expect("temporary data directory");
        let root = data.path().to_path_buf();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<std::io::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("local-s3".into())
            .spawn(move || serve(root, addr_tx, stop_rx))
            .expect("spawn the server thread");
        let addr = addr_rx
            .recv()
            .expect("server thread reports its address")
            .expect("bind 127.0.0.1:0");
        let client = RusotoS3::builder()
            .endpoint(format!("http://{addr}"))
            .region("us-east-1")
            .static_credentials(ACCESS_KEY, SECRET_KEY)
            .build()
            .expect("build the rusoto client");
        LocalS3 {
            addr,
            _data: data,
            stop: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(Some(thread)),
            client: Arc::new(client),
        }
    }

    /// One server for the whole test binary, started on first use and never stopped.
    /// A static is never dropped, so its data directory is removed by an exit hook
    /// instead (every test run used to leave one behind). Give each test its own bucket.
    pub fn shared() -> &'static LocalS3 {
        static SHARED: OnceLock<LocalS3> = OnceLock::new();
        SHARED.get_or_init(|| {
            let server = LocalS3::start();
            remove_at_exit(server._data.path().to_path_buf());
            server
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The access key the server accepts.
    pub fn access_key(&self) -> &'static str {
        ACCESS_KEY
    }

    /// The secret key the server accepts.
    pub fn secret_key(&self) -> &'static str {
        SECRET_KEY
    }

    /// A rusoto backend pointed at this server with the right credentials.
    pub fn client(&self) -> Arc<RusotoS3> {
        self.client.clone()
    }

    /// Create bucket `name` (3–63 lowercase characters). Panics on failure.
    pub fn create_bucket(&self, name: &str) {
        let client = &self.client;
        let request = rusoto_s3::CreateBucketRequest {
            bucket: name.to_owned(),
            ..Default::default()
        };
        client
            .block_on(rusoto_s3::S3::create_bucket(
                client.rusoto_client(),
                request,
            ))
            .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    }
}

/// Remove `dir` when the process exits normally (the test harness returns from `main`,
/// which runs the C library's exit handlers). A killed process still leaves it.
fn remove_at_exit(dir: std::path::PathBuf) {
    static DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());
    unsafe extern "C" {
        fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
    }
    extern "C" fn remove_dirs() {
        let dirs = std::mem::take(&mut *DIRS.lock().unwrap_or_else(|e| e.into_inner()));
        for dir in dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    let mut dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
    if dirs.is_empty() {
        // SAFETY: registers a plain function with no captured state; `atexit` has no
        // other precondition.
        unsafe {
            atexit(remove_dirs);
        }
    }
    dirs.push(dir);
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        let stop = self.stop.get_mut().map(Option::take).unwrap_or(None);
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let thread = self.thread.get_mut().map(Option::take).unwrap_or(None);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// The server thread: bind, report the address, accept until told to stop.
fn serve(
    root: std::path::PathBuf,
    addr_tx: std::sync::mpsc::Sender<std::io::Result<SocketAddr>>,
    mut stop_rx: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = addr_tx.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let fs = match s3s_fs::FileSystem::new(&root) {
            Ok(fs) => fs,
            Err(e) => {
                let _ = addr_tx.send(Err(std::io::Error::other(format!("s3s-fs: {e:?}"))));
                return;
            }
        };
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                let _ = addr_tx.send(Err(e));
                return;
            }
        };
        let _ = addr_tx.send(listener.local_addr());
        let http =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { continue };
                    let connection = http
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                        .into_owned();
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                _ = &mut stop_rx => break,
            }
        }
    });
    // Open connections die with the runtime; do not wait for idle keep-alives.
    runtime.shutdown_background();
}
