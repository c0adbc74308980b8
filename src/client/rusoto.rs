//! The rusoto backend: [`RusotoS3`] turns each [`S3Api`] call into one S3 request, run
//! on a small tokio runtime the backend owns, with its own timeouts, byte counting and
//! error classification (rusoto has none of the three). Calls that can carry flexible
//! checksums, which rusoto_s3 0.48's model predates, are built by [`signed`] and signed
//! and sent by the same rusoto_core client; Abort and Delete go through rusoto_s3.

use std::fmt;
use std::future::Future;
use std::io;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use hyper::HeaderMap;
use rusoto_core::credential::{DefaultCredentialsProvider, StaticProvider};
use rusoto_core::param::{Params, ServiceParams};
use rusoto_core::request::{BufferedHttpResponse, DispatchSignedRequestFuture, HttpResponse};
use rusoto_core::signature::SignedRequest;
use rusoto_core::{ByteStream, DispatchSignedRequest, HttpClient, Region, RusotoError};
use rusoto_s3::{S3, S3Client};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::signed;
use super::stopped_by_caller;
use super::{
    AbortMultipartUploadRequest, CompleteMultipartUploadOutput, CompleteMultipartUploadRequest,
    ContentRange, CopyObjectOutput, CopyObjectRequest, CopySource, CreateMultipartUploadOutput,
    CreateMultipartUploadRequest, DeleteObjectOutput, DeleteObjectRequest, GetObjectOutput,
    GetObjectRequest, HeadObjectOutput, HeadObjectRequest, PutObjectOutput, PutObjectRequest,
    RequestBody, ResponseSink, S3Api, S3Error, S3ErrorKind, UploadPartCopyOutput,
    UploadPartCopyRequest, UploadPartOutput, UploadPartRequest,
};

/// Default for `RusotoS3Builder::request_timeout`: 60 s. Long enough for a
/// CompleteMultipartUpload of a large object (S3 may take tens of seconds before it
/// answers), short enough that a dead server does not hold a worker for minutes.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A TCP connect that takes longer than this is not going to succeed: the host is down
/// or the packets are dropped. Well above a cross-region round trip, well below the
/// minutes an OS may otherwise wait.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for `RusotoS3Builder::body_read_timeout`: 30 s without a single byte of a
/// GetObject body means the connection is stuck; a retry on a fresh one is faster.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for `RusotoS3Builder::body_send_timeout`: 30 s during which the transport
/// accepted no chunk of an upload body (the server stopped reading, or never connected).
const DEFAULT_BODY_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for `RusotoS3Builder::worker_threads`: 2. Measured: one or two workers
/// drive hyper at full loopback speed; the work is I/O, not CPU.
const DEFAULT_WORKER_THREADS: usize = 2;
/// Region used when none is set.
const DEFAULT_REGION: &str = "us-east-1";

/// Chunks of an upload body buffered between the calling thread and the transport:
/// small, so memory stays bounded and progress reflects what the transport took.
const UPLOAD_CHANNEL_CAPACITY: usize = 4;
/// Chunks of a download buffered between the runtime and the caller when a call has to
/// be moved off an async thread (see [`RusotoS3::off_async`]).
const DOWNLOAD_CHANNEL_CAPACITY: usize = 4;
/// Bytes of a download body the runtime gathers before waking the calling thread: the
/// size of an io chunk, so the sink hands each batch on as one write.
const DOWNLOAD_BATCH_BYTES: usize = 256 * 1024;
/// Batches buffered between the runtime and the calling thread: two, so the runtime
/// reads the next batch while the caller takes the last. With the batch being filled,
/// one waiting to be sent and one being written, up to five batches of at most 256 KiB
/// plus one hyper chunk (up to ~400 KiB) each: about 2 MiB per GET at worst.
const DOWNLOAD_BATCHES_IN_FLIGHT: usize = 2;
/// How long bytes wait for a batch to fill before they go anyway.
const DOWNLOAD_BATCH_MAX_AGE: Duration = Duration::from_millis(20);
/// Response header our dispatcher adds when it turned a 200 carrying an `<Error>` body
/// into an error response, so the error can still report the real status (200).
const EMBEDDED_ERROR_HEADER: &str = "x-s3transfer-error-in-200";

/// Builder for [`RusotoS3`]. Every setting has a documented default; only the
/// endpoint (for non-AWS stores) and credentials usually need setting.
#[derive(Clone)]
pub struct RusotoS3Builder {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<(String, String, Option<String>)>,
    request_timeout: Duration,
    connect_timeout: Duration,
    body_read_timeout: Duration,
    body_send_timeout: Duration,
    worker_threads: usize,
}

impl fmt::Debug for RusotoS3Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret key or token.
        f.debug_struct("RusotoS3Builder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key",
                &self.credentials.as_ref().map(|(ak, _, _)| ak.as_str()),
            )
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("body_send_timeout", &self.body_send_timeout)
            .field("worker_threads", &self.worker_threads)
            .finish()
    }
}

impl Default for RusotoS3Builder {
    fn default() -> Self {
        RusotoS3Builder {
            endpoint: None,
            region: None,
            credentials: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            body_send_timeout: DEFAULT_BODY_SEND_TIMEOUT,
            worker_threads: DEFAULT_WORKER_THREADS,
        }
    }
}

impl RusotoS3Builder {
    /// A builder with every default: AWS `us-east-1`, the default credential chain
    /// (environment, profile, container, instance metadata), and the default timeouts.
    pub fn new() -> Self {
        RusotoS3Builder::default()
    }

    /// Send requests to a custom endpoint (`http://127.0.0.1:9000`) instead of AWS.
    /// Requests are always path-style (`/bucket/key`), which every S3-compatible
    /// store accepts. Default: none (AWS, derived from the region).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region to sign for (and, without an endpoint, to send to). Default:
    /// `us-east-1`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Use a fixed access key and secret key instead of the default credential chain.
    pub fn static_credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some((access_key.into(), secret_key.into(), None));
        self
    }

    /// Use fixed temporary credentials: access key, secret key and session token.
    pub fn session_credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        session_token: impl Into<String>,
    ) -> Self {
        self.credentials = Some((
            access_key.into(),
            secret_key.into(),
            Some(session_token.into()),
        ));
        self
    }

    /// Bound on one call from sending the request until the response headers arrive
    /// (for calls whose answer is a small XML body, until that body is read too).
    /// Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 60 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Bound on opening a TCP connection. Exceeding it fails the call (a transient
    /// error, retried). Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on a stalled GetObject body: the longest wait for the next bytes.
    /// Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 30 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Bound on a stalled upload body: the longest wait for the transport to take the
    /// next chunk of a PutObject or UploadPart. Exceeding it gives
    /// [`S3ErrorKind::Timeout`]. Default: 30 s.
    pub fn body_send_timeout(mut self, timeout: Duration) -> Self {
        self.body_send_timeout = timeout;
        self
    }

    /// Worker threads of the backend's tokio runtime (at least 1). Default: 2.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// Build the backend: its runtime, HTTP client and credential provider.
    ///
    /// Fails with [`S3ErrorKind::Other`] on an unknown region name, when the TLS
    /// setup or the runtime cannot be created, or when the default credential chain
    /// cannot be set up.
    pub fn build(self) -> Result<RusotoS3, S3Error> {
        let fail = |msg: String| S3Error::new(S3ErrorKind::Other, "Configure", msg);
        let region_name = self.region.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let region = match self.endpoint {
            Some(endpoint) => Region::Custom {
                name: region_name,
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            },
            None => Region::from_str(&region_name)
                .map_err(|e| fail(format!("unknown region {region_name:?}: {e}")))?,
        };
        let plain_http = match &region {
            Region::Custom { endpoint, .. } => endpoint.starts_with("http://"),
            _ => false,
        };
        let dispatcher = EmbeddedErrorDispatcher(if plain_http {
            Transport::Plain(HttpClient::from_connector(tcp_connector(
                self.connect_timeout,
            )))
        } else {
            Transport::Tls(HttpClient::from_connector(tls_connector(
                self.connect_timeout,
            )?))
        });
        // One signing client for both paths: rusoto_s3's generated calls and the ones
        // this backend builds itself (see `signed`).
        let raw = match self.credentials {
            Some((ak, sk, token)) => {
                let provider = StaticProvider::new(ak, sk, token, None);
                rusoto_core::Client::new_with(provider, dispatcher)
            }
            None => {
                let provider = DefaultCredentialsProvider::new()
                    .map_err(|e| fail(format!("default credential chain: {e}")))?;
                rusoto_core::Client::new_with(provider, dispatcher)
            }
        };
        let client = S3Client::new_with_client(raw.clone(), region.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.worker_threads)
            .thread_name("s3transfer-rusoto")
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start the tokio runtime: {e}")))?;
        let handle = runtime.handle().clone();
        Ok(RusotoS3 {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                handle,
                client,
                raw,
                region,
                timeouts: Timeouts {
                    request: self.request_timeout,
                    body_read: self.body_read_timeout,
                    body_send: self.body_send_timeout,
                },
            }),
        })
    }
}

/// The [`S3Api`] backed by rusoto_core and rusoto_s3 0.48.
///
/// Owns one multi-thread tokio runtime (shared by clones, stopped without waiting when
/// the last clone is dropped). Every call blocks the calling thread until it is done;
/// bodies are pulled and pushed on the calling thread, so progress, throttling and
/// cancellation happen there. Calling from inside async code works too (the call then
/// runs on a helper thread) but blocks that async task.
///
/// Sends and returns flexible checksums ([`S3Api::supports_checksums`] is true).
#[derive(Clone)]
pub struct RusotoS3 {
    inner: Arc<Inner>,
}

impl fmt::Debug for RusotoS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RusotoS3")
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
struct Timeouts {
    request: Duration,
    body_read: Duration,
    body_send: Duration,
}

struct Inner {
    // An Option only so Drop can take it for `shutdown_background`.
    runtime: Option<Runtime>,
    handle: Handle,
    client: S3Client,
    /// The same signing client `client` uses, for the calls built in `signed`.
    raw: rusoto_core::Client,
    region: Region,
    timeouts: Timeouts,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A plain drop waits for the runtime's tasks, which can hang on a stuck
        // connection, and panics when dropped inside async code.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl RusotoS3 {
    /// A builder with the defaults documented on [`RusotoS3Builder`].
    pub fn builder() -> RusotoS3Builder {
        RusotoS3Builder::new()
    }

    /// The underlying rusoto client, for calls outside [`S3Api`] (creating buckets,
    /// listing). Run its futures with [`RusotoS3::block_on`].
    pub fn rusoto_client(&self) -> &S3Client {
        &self.inner.client
    }

    /// Run a future to completion on the backend's runtime, from any thread (also from
    /// inside async code, where it moves to a helper thread instead of panicking).
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let handle = &self.inner.handle;
        self.off_async(move || handle.block_on(future))
    }

    /// Run `f` here, or, when this thread is inside a tokio runtime (where
    /// `Handle::block_on` panics with "Cannot start a runtime from within a runtime"),
    /// on a scoped helper thread that is joined before returning.
    fn off_async<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if Handle::try_current().is_ok() {
            std::thread::scope(|s| match s.spawn(f).join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
        } else {
            f()
        }
    }

    /// Run a whole-response call (no streamed body) under the request timeout and
    /// classify its failure.
    fn call<T, E, F>(&self, op: &'static str, bucket: &str, key: &str, fut: F) -> Result<T, S3Error>
    where
        F: Future<Output = Result<T, RusotoError<E>>> + Send,
        T: Send,
        E: ServiceError + Send,
    {
        let limit = self.inner.timeouts.request;
        let result = self.block_on(async move { timeout(limit, fut).await });
        match result {
            Err(_) => Err(request_timed_out(op, limit).with_object(bucket, key)),
            Ok(Err(e)) => Err(map_rusoto_error(op, e).with_object(bucket, key)),
            Ok(Ok(out)) => Ok(out),
        }
    }

    /// PutObject and UploadPart: stream `body` to the request `start` spawns.
    ///
    /// The chunks are pulled on the calling thread (progress, throttling, cancellation)
    /// and handed to the transport through a small bounded channel, without copying.
    fn send_body<T, E>(
        &self,
        op: &'static str,
        bucket: &str,
        key: &str,
        body: &mut RequestBody,
        start: impl FnOnce(ByteStream) -> JoinHandle<Result<T, RusotoError<E>>> + Send,
    ) -> Result<T, S3Error>
    where
        T: Send + 'static,
        E: ServiceError + Send + 'static,
    {
        // Always send the whole body, also when a failed attempt consumed part of it.
        body.rewind();
        let len = body.len();
        let len = usize::try_from(len).map_err(|_| {
            S3Error::new(S3ErrorKind::Other, op, "body too large for this platform")
                .with_object(bucket, key)
        })?;
        let handle = &self.inner.handle;
        let t = self.inner.timeouts;
        self.off_async(move || {
            let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(UPLOAD_CHANNEL_CAPACITY);
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (Ok::<_, io::Error>(chunk), rx))
            });
            // The size makes hyper send Content-Length; without it hyper would send
            // chunked encoding, which S3 rejects (411 MissingContentLength).
            let mut join = {
                let _enter = handle.enter();
                start(ByteStream::new_with_size(stream, len))
            };
            let mut request_ended_early = false;
            loop {
                let chunk = match body.next_chunk() {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    Err(e) => {
                        // The caller stopped the body: kill the request so the server
                        // sees a broken upload, never a short one, and report why.
                        join.abort();
                        return Err(e);
                    }
                };
                let sent = handle.block_on(async { timeout(t.body_send, tx.send(chunk)).await });
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => {
                        // The request already finished (the server answered early, or
                        // the connection failed); its result says why.
                        request_ended_early = true;
                        break;
                    }
                    Err(_) => {
                        join.abort();
                        return Err(S3Error::new(
                            S3ErrorKind::Timeout,
                            op,
                            format!("the transport took no body bytes for {:?}", t.body_send),
                        )
                        .with_object(bucket, key));
                    }
                }
            }
            drop(tx);
            let result = handle.block_on(async { timeout(t.request, &mut join).await });
            match result {
                Err(_) => {
                    join.abort();
                    Err(request_timed_out(op, t.request).with_object(bucket, key))
                }
                Ok(Err(join_error)) => Err(S3Error::new(
                    S3ErrorKind::Transient,
                    op,
                    format!("request task failed: {join_error}"),
                )
                .with_source(join_error)
                .with_object(bucket, key)),
                Ok(Ok(Err(e))) => Err(map_rusoto_error(op, e).with_object(bucket, key)),
                Ok(Ok(Ok(_))) if request_ended_early => Err(S3Error::new(
                    S3ErrorKind::Transient,
                    op,
                    "the server answered before the whole body was sent",
                )
                .with_object(bucket, key)),
                Ok(Ok(Ok(out))) => Ok(out),
            }
        })
    }
}

impl RusotoS3 {
    /// PutObject and UploadPart: `request` with `body` streamed as its payload
    /// (UNSIGNED-PAYLOAD, the length announced). Returns the answer's headers.
    fn send_signed_body(
        &self,
        op: &'static str,
        bucket: &str,
        key: &str,
        mut request: SignedRequest,
        body: &mut RequestBody,
    ) -> Result<HeaderMap<String>, S3Error> {
        let raw = self.inner.raw.clone();
        self.send_body(op, bucket, key, body, move |stream| {
            request.set_payload_stream(stream);
            tokio::spawn(async move { dispatch(&raw, request).await.map(|r| r.headers) })
        })
    }

    /// GetObject from a thread outside the runtime: a task on the runtime reads the
    /// body and hands it over in batches; the sink is fed here. A sink error aborts
    /// the task, which drops the connection.
    fn get_batched(
        &self,
        req: SignedRequest,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(DOWNLOAD_BATCHES_IN_FLIGHT);
        let raw = self.inner.raw.clone();
        let (bucket, key) = (request.bucket.clone(), request.key.clone());
        let t = self.inner.timeouts;
        let task = self.inner.handle.spawn(async move {
            let mut batched = Batched {
                tx,
                batch: Vec::new(),
                bytes: 0,
            };
            let got = get_streamed(&raw, req, (&bucket, &key), t, &mut batched).await;
            // The tail below a batch goes over even when the body broke off: the
            // caller resumes from the first byte it did not get.
            let flushed = batched.flush().await;
            got.and_then(|out| flushed.map(|()| out))
        });
        // Also when the sink panics: the task must not go on reading a body nobody takes.
        let _abort_on_drop = AbortOnDrop(task.abort_handle());
        let mut sink_error = None;
        'batches: while let Some(batch) = rx.blocking_recv() {
            for delivery in batch {
                let taken = delivery.give_to(sink);
                if let Err(e) = taken {
                    sink_error = Some(e);
                    break 'batches;
                }
            }
        }
        if sink_error.is_some() {
            // Rather than wait for the task to notice at its next batch.
            task.abort();
        }
        drop(rx);
        let result = self.inner.handle.block_on(task);
        if let Some(e) = sink_error {
            return Err(e);
        }
        match result {
            Ok(got) => got,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(S3Error::new(
                S3ErrorKind::Cancelled,
                "GetObject",
                format!("the request task ended: {e}"),
            )),
        }
    }
}

/// Aborts a task when dropped (a no-op once it finished).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a GET hands to its consumer: the headers once, then the body chunks.
enum Delivery {
    Headers(Box<GetObjectOutput>),
    Chunk(Bytes),
}

impl Delivery {
    /// Hand this to the caller's sink: the headers to `on_response`, a chunk to
    /// `write_chunk`.
    fn give_to(self, sink: &mut dyn ResponseSink) -> Result<(), S3Error> {
        match self {
            Delivery::Headers(head) => sink.on_response(&head),
            Delivery::Chunk(chunk) => sink.write_chunk(&chunk),
        }
    }
}

/// The error type of the calls this backend builds itself (see [`signed`]): rusoto has
/// no typed errors for them, every failure is classified from the answer.
#[derive(Debug)]
enum Untyped {}

/// Sign and send a request built in [`signed`]; an error answer is buffered and
/// returned as rusoto_s3 returns it, for [`map_rusoto_error`].
async fn dispatch(
    raw: &rusoto_core::Client,
    request: SignedRequest,
) -> Result<HttpResponse, RusotoError<Untyped>> {
    let mut response = raw.sign_and_dispatch(request).await?;
    if !response.status.is_success() {
        let buffered = response.buffer().await.map_err(RusotoError::HttpDispatch)?;
        return Err(RusotoError::Unknown(buffered));
    }
    Ok(response)
}

/// [`dispatch`] for calls whose answer is a small document, read whole.
async fn dispatch_buffered(
    raw: &rusoto_core::Client,
    request: SignedRequest,
) -> Result<BufferedHttpResponse, RusotoError<Untyped>> {
    let mut response = dispatch(raw, request).await?;
    response.buffer().await.map_err(RusotoError::HttpDispatch)
}

/// Where a GET's headers and chunks go from the task reading the body.
trait Deliver {
    /// Hand over one delivery; an error stops the GET and is returned as is.
    async fn deliver(&mut self, delivery: Delivery) -> Result<(), S3Error>;

    /// Whether bytes are held back, waiting for more to fill a batch.
    fn holding(&self) -> bool {
        false
    }

    /// Hand over whatever is held back.
    async fn flush(&mut self) -> Result<(), S3Error> {
        Ok(())
    }
}

/// Hands the body to the calling thread in batches of about [`DOWNLOAD_BATCH_BYTES`]:
/// hyper yields a chunk per socket read (often 8-64 KiB on loopback), and waking the
/// calling thread for each cost more CPU than the bytes themselves (1 GiB: about 95,000
/// context switches and 1.4 CPU s before, see docs/benchmarks.md).
struct Batched {
    tx: tokio::sync::mpsc::Sender<Vec<Delivery>>,
    batch: Vec<Delivery>,
    bytes: usize,
}

impl Deliver for Batched {
    fn holding(&self) -> bool {
        !self.batch.is_empty()
    }

    async fn flush(&mut self) -> Result<(), S3Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        // A closed channel: the caller's sink refused a chunk and stopped reading.
        self.tx
            .send(batch)
            .await
            .map_err(|_| stopped_by_caller("GetObject"))
    }

    async fn deliver(&mut self, delivery: Delivery) -> Result<(), S3Error> {
        let headers = matches!(delivery, Delivery::Headers(_));
        if let Delivery::Chunk(chunk) = &delivery {
            self.bytes += chunk.len();
        }
        self.batch.push(delivery);
        // The headers go at once: the sink checks them before it takes any byte.
        if headers || self.bytes >= DOWNLOAD_BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }
}

/// Hands each delivery to a thread outside the runtime (see the async-caller path of
/// `get_object`); blocking is fine there, this runs on a helper thread's `block_on`.
struct ToThread(std::sync::mpsc::SyncSender<Delivery>);

impl Deliver for ToThread {
    async fn deliver(&mut self, delivery: Delivery) -> Result<(), S3Error> {
        self.0
            .send(delivery)
            .map_err(|_| stopped_by_caller("GetObject"))
    }
}

/// Stream one GetObject into `deliver`, checking the byte count against the headers.
async fn get_streamed(
    raw: &rusoto_core::Client,
    request: SignedRequest,
    (bucket, key): (&str, &str),
    t: Timeouts,
    deliver: &mut impl Deliver,
) -> Result<GetObjectOutput, S3Error> {
    const OP: &str = "GetObject";
    let out = match timeout(t.request, dispatch(raw, request)).await {
        Err(_) => return Err(request_timed_out(OP, t.request).with_object(bucket, key)),
        Ok(Err(e)) => return Err(map_rusoto_error(OP, e).with_object(bucket, key)),
        Ok(Ok(out)) => out,
    };
    let h = &out.headers;
    let content_range = signed::header(h, "content-range")
        .as_deref()
        .and_then(ContentRange::parse);
    let expected =
        signed::header_number::<u64>(h, "content-length").or(content_range.map(|r| r.len()));
    let mut head = GetObjectOutput {
        content_length: expected.unwrap_or(0),
        content_range,
        etag: signed::header(h, "etag"),
        version_id: signed::header(h, "x-amz-version-id"),
        last_modified: signed::header(h, "last-modified"),
        parts_count: signed::header_number(h, "x-amz-mp-parts-count"),
        checksums: signed::read_checksums(h),
        bytes_received: 0,
    };
    deliver
        .deliver(Delivery::Headers(Box::new(head.clone())))
        .await?;
    let mut received = 0u64;
    let mut body = out.body;
    loop {
        // Bytes held for a batch go to the caller after at most `DOWNLOAD_BATCH_MAX_AGE`
        // of quiet: the sink is where a cancel is noticed and progress counted, so a
        // slow body must not keep them waiting for a full batch.
        let next = if deliver.holding() {
            match timeout(DOWNLOAD_BATCH_MAX_AGE.min(t.body_read), body.next()).await {
                Ok(next) => Ok(next),
                Err(_) => {
                    deliver.flush().await?;
                    timeout(t.body_read, body.next()).await
                }
            }
        } else {
            timeout(t.body_read, body.next()).await
        };
        match next {
            Err(_) => {
                return Err(S3Error::new(
                    S3ErrorKind::Timeout,
                    OP,
                    format!(
                        "body stalled: no bytes for {:?} after {received} bytes",
                        t.body_read
                    ),
                )
                .with_object(bucket, key));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let announced = expected.map_or(String::new(), |n| format!(" of {n}"));
                return Err(S3Error::new(
                    S3ErrorKind::TruncatedBody,
                    OP,
                    format!("body read failed after {received}{announced} bytes: {e}"),
                )
                .with_source(e)
                .with_object(bucket, key));
            }
            Ok(Some(Ok(chunk))) => {
                received += chunk.len() as u64;
                // The sink's error goes back unchanged: it is the caller's own.
                deliver.deliver(Delivery::Chunk(chunk)).await?;
            }
        }
    }
    if let Some(expected) = expected {
        // hyper 0.14 can end a body early without an error (its runtime went away, a
        // proxy cut it): only the count tells.
        if received < expected {
            return Err(S3Error::new(
                S3ErrorKind::TruncatedBody,
                OP,
                format!("body ended after {received} of {expected} announced bytes"),
            )
            .with_object(bucket, key));
        }
        if received > expected {
            return Err(S3Error::new(
                S3ErrorKind::Other,
                OP,
                format!("received {received} bytes, more than the {expected} announced"),
            )
            .with_object(bucket, key));
        }
    }
    head.content_length = expected.unwrap_or(received);
    head.bytes_received = received;
    Ok(head)
}

/// The request of a GetObject or HeadObject (`$request`): both name, pin and unlock
/// the object with the same fields.
macro_rules! object_read_request {
    ($self:ident, $method:literal, $request:ident) => {{
        let r = $request;
        let mut req = signed::object_request(&$self.inner.region, $method, &r.bucket, &r.key);
        signed::add_read_options(
            &mut req,
            r.checksum_mode,
            r.part_number,
            r.version_id.as_ref(),
            r.if_match.as_ref(),
        );
        signed::add_common(&mut req, r.sse_customer.as_ref(), &r.context);
        req
    }};
}

/// The headers PutObject and UploadPart (`$request`) add for their body: its
/// checksums and MD5, and the SSE-C key, payer and owner.
macro_rules! add_body_request_headers {
    ($req:ident, $request:ident) => {{
        let r = $request;
        signed::add_body_headers(
            &mut $req,
            r.checksum_algorithm,
            &r.checksums,
            r.content_md5.as_ref(),
        );
        signed::add_common(&mut $req, r.sse_customer.as_ref(), &r.context);
    }};
}

impl S3Api for RusotoS3 {
    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        const OP: &str = "HeadObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let req = object_read_request!(self, "HEAD", request);
        let out = self.call(OP, bucket, key, dispatch(&self.inner.raw, req))?;
        let h = &out.headers;
        Ok(HeadObjectOutput {
            content_length: signed::header_number(h, "content-length").unwrap_or(0),
            etag: signed::header(h, "etag"),
            last_modified: signed::header(h, "last-modified"),
            version_id: signed::header(h, "x-amz-version-id"),
            parts_count: signed::header_number(h, "x-amz-mp-parts-count"),
            checksums: signed::read_checksums(h),
            attributes: signed::read_attributes(h),
        })
    }

    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let object = (request.bucket.as_str(), request.key.as_str());
        let mut req = object_read_request!(self, "GET", request);
        if let Some(range) = request.range {
            req.add_header("Range", &range.header_value());
        }
        let raw = &self.inner.raw;
        let handle = &self.inner.handle;
        let t = self.inner.timeouts;
        if Handle::try_current().is_err() {
            // The usual path: the body is read by a task on the runtime and the sink is
            // fed here, in batches (see `Batched`).
            return self.get_batched(req, request, sink);
        }
        // Called from async code: block_on would panic here, and the sink is not Send,
        // so the request runs on a helper thread and the chunks come back to this one.
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Delivery>(DOWNLOAD_CHANNEL_CAPACITY);
            let worker = s.spawn(move || {
                handle.block_on(get_streamed(raw, req, object, t, &mut ToThread(tx)))
            });
            let mut sink_error = None;
            for delivery in rx.iter() {
                let taken = delivery.give_to(sink);
                if let Err(e) = taken {
                    sink_error = Some(e);
                    break;
                }
            }
            // Dropping the receiver makes the helper's next send fail, which stops it.
            drop(rx);
            let result = match worker.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            match sink_error {
                Some(e) => Err(e),
                None => result,
            }
        })
    }

    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        const OP: &str = "PutObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "PUT", bucket, key);
        signed::add_attributes(&mut req, &request.attributes);
        add_body_request_headers!(req, request);
        let h = self.send_signed_body(OP, bucket, key, req, body)?;
        Ok(PutObjectOutput {
            etag: signed::header(&h, "etag"),
            version_id: signed::header(&h, "x-amz-version-id"),
            checksums: signed::read_checksums(&h),
        })
    }

    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        const OP: &str = "CreateMultipartUpload";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "POST", bucket, key);
        let mut params = Params::new();
        params.put_key("uploads");
        req.set_params(params);
        signed::add_new_object(
            &mut req,
            &request.attributes,
            request.sse_customer.as_ref(),
            &request.context,
            request.checksum_algorithm,
        );
        if let Some(t) = &request.checksum_type {
            req.add_header("x-amz-checksum-type", t);
        }
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        let body = String::from_utf8_lossy(&out.body);
        match signed::xml_text(&body, "UploadId") {
            Some(upload_id) if !upload_id.is_empty() => {
                Ok(CreateMultipartUploadOutput { upload_id })
            }
            _ => Err(
                S3Error::new(S3ErrorKind::Other, OP, "the response had no UploadId")
                    .with_object(bucket, key),
            ),
        }
    }

    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        const OP: &str = "UploadPart";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "PUT", bucket, key);
        let mut params = Params::new();
        params.put("partNumber", request.part_number.to_string());
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        add_body_request_headers!(req, request);
        let h = self.send_signed_body(OP, bucket, key, req, body)?;
        Ok(UploadPartOutput {
            etag: signed::header(&h, "etag"),
            checksums: signed::read_checksums(&h),
        })
    }

    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        const OP: &str = "CompleteMultipartUpload";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "POST", bucket, key);
        let mut params = Params::new();
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        let with_checksums = !request.checksums.is_empty()
            || request.checksums.checksum_type.is_some()
            || request.parts.iter().any(|p| !p.checksums.is_empty());
        // S3 wants the SSE-C key on Complete only to check the checksums of an
        // encrypted upload; other stores have never seen it there, so it is sent only
        // then.
        let sse_customer = request.sse_customer.as_ref().filter(|_| with_checksums);
        signed::add_common(&mut req, sse_customer, &request.context);
        signed::add_checksums(&mut req, &request.checksums, true);
        if let Some(size) = request.mpu_object_size {
            req.add_header("x-amz-mp-object-size", &size.to_string());
        }
        req.set_payload(Some(signed::complete_document(&request.parts)));
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        let body = String::from_utf8_lossy(&out.body);
        let etag = signed::xml_text(&body, "ETag");
        if etag.is_none() {
            // A success always names the new object's ETag; without one the body was
            // not a CompleteMultipartUploadResult (a 200 carrying something else).
            return Err(missing_etag(OP).with_object(bucket, key));
        }
        Ok(CompleteMultipartUploadOutput {
            etag,
            version_id: signed::header(&out.headers, "x-amz-version-id"),
            checksums: signed::read_result_checksums(&body, &out.headers),
        })
    }

    fn supports_checksums(&self) -> bool {
        true
    }

    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        const OP: &str = "AbortMultipartUpload";
        let (bucket, key) = (&request.bucket, &request.key);
        let req = rusoto_s3::AbortMultipartUploadRequest {
            bucket: bucket.clone(),
            key: key.clone(),
            upload_id: request.upload_id.clone(),
            request_payer: request.context.request_payer.clone(),
            expected_bucket_owner: request.context.expected_bucket_owner.clone(),
        };
        let client = &self.inner.client;
        self.call(OP, bucket, key, client.abort_multipart_upload(req))?;
        Ok(())
    }

    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        const OP: &str = "CopyObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "PUT", bucket, key);
        signed::add_copy_source(
            &mut req,
            &copy_source_header(&request.source),
            &request.conditions,
            request.copy_source_sse_customer.as_ref(),
        );
        if let Some(d) = &request.metadata_directive {
            req.add_header("x-amz-metadata-directive", d);
        }
        if let Some(d) = &request.tagging_directive {
            req.add_header("x-amz-tagging-directive", d);
        }
        signed::add_new_object(
            &mut req,
            &request.attributes,
            request.sse_customer.as_ref(),
            &request.context,
            request.checksum_algorithm,
        );
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        let body = String::from_utf8_lossy(&out.body);
        let etag = signed::xml_text(&body, "ETag");
        if etag.is_none() {
            return Err(missing_etag(OP).with_object(bucket, key));
        }
        Ok(CopyObjectOutput {
            etag,
            version_id: signed::header(&out.headers, "x-amz-version-id"),
            checksums: signed::read_result_checksums(&body, &out.headers),
        })
    }

    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        const OP: &str = "UploadPartCopy";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "PUT", bucket, key);
        let mut params = Params::new();
        params.put("partNumber", request.part_number.to_string());
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        signed::add_copy_source(
            &mut req,
            &copy_source_header(&request.source),
            &request.conditions,
            request.copy_source_sse_customer.as_ref(),
        );
        if let Some((start, end)) = request.source_range {
            req.add_header("x-amz-copy-source-range", &format!("bytes={start}-{end}"));
        }
        signed::add_common(&mut req, request.sse_customer.as_ref(), &request.context);
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        // The part's checksum comes back in the CopyPartResult document (S3 computes it
        // in the algorithm the upload was created with), for Complete's part list.
        let body = String::from_utf8_lossy(&out.body);
        let etag = signed::xml_text(&body, "ETag");
        if etag.is_none() {
            return Err(missing_etag(OP).with_object(bucket, key));
        }
        Ok(UploadPartCopyOutput {
            etag,
            checksums: signed::read_result_checksums(&body, &out.headers),
        })
    }

    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        const OP: &str = "DeleteObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let req = rusoto_s3::DeleteObjectRequest {
            bucket: bucket.clone(),
            key: key.clone(),
            version_id: request.version_id.clone(),
            mfa: request.mfa.clone(),
            request_payer: request.context.request_payer.clone(),
            expected_bucket_owner: request.context.expected_bucket_owner.clone(),
            bypass_governance_retention: None,
        };
        let client = &self.inner.client;
        let out = self.call(OP, bucket, key, client.delete_object(req))?;
        Ok(DeleteObjectOutput {
            delete_marker: out.delete_marker,
            version_id: out.version_id,
        })
    }
}

// ---------------------------------------------------------------------------------
// Request helpers

/// The `x-amz-copy-source` value: `bucket/key`, percent-encoded except for unreserved
/// characters and `/`, plus `?versionId=` when a version is named. rusoto sends the
/// string as given, and S3 decodes it, so a raw `+`, `%`, `?` or space would name a
/// different object.
fn copy_source_header(source: &CopySource) -> String {
    let mut out = percent_encode(&format!("{}/{}", source.bucket, source.key), true);
    if let Some(version) = &source.version_id {
        out.push_str("?versionId=");
        out.push_str(&percent_encode(version, false));
    }
    out
}

fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Error classification

/// The typed errors rusoto_s3 knows for an operation, as an S3 code and message.
trait ServiceError: fmt::Debug {
    fn code_and_message(&self) -> (&'static str, String);
}

macro_rules! no_typed_errors {
    ($($t:ty),*) => {$(
        impl ServiceError for $t {
            fn code_and_message(&self) -> (&'static str, String) {
                match *self {}
            }
        }
    )*};
}

no_typed_errors!(Untyped, rusoto_s3::DeleteObjectError);

impl ServiceError for rusoto_s3::AbortMultipartUploadError {
    fn code_and_message(&self) -> (&'static str, String) {
        match self {
            rusoto_s3::AbortMultipartUploadError::NoSuchUpload(m) => ("NoSuchUpload", m.clone()),
        }
    }
}

fn request_timed_out(op: &'static str, limit: Duration) -> S3Error {
    S3Error::new(
        S3ErrorKind::Timeout,
        op,
        format!("no response within {limit:?}"),
    )
}

fn missing_etag(op: &'static str) -> S3Error {
    // Retryable: S3 documents that these calls can fail inside a 200 response; an
    // answer without the result's ETag is treated as such a failure.
    S3Error::new(
        S3ErrorKind::Transient,
        op,
        "the 200 response carried no ETag (S3 may have sent an error inside a 200)",
    )
}

/// Turn any rusoto failure into a classified [`S3Error`] (without bucket and key).
fn map_rusoto_error<E: ServiceError>(op: &'static str, err: RusotoError<E>) -> S3Error {
    match err {
        RusotoError::Service(e) => {
            let (code, message) = e.code_and_message();
            S3Error::from_response(op, None, Some(code.to_owned()), message)
        }
        RusotoError::Unknown(response) => from_http_response(op, &response),
        RusotoError::HttpDispatch(e) => {
            let message = e.to_string();
            // rusoto reports a response body that broke off while being buffered as
            // "Error obtaining body"; anything else failed before a response arrived.
            let kind = if message.contains("Error obtaining body") {
                S3ErrorKind::TruncatedBody
            } else {
                S3ErrorKind::Transient
            };
            S3Error::new(kind, op, message).with_source(e)
        }
        RusotoError::Credentials(e) => {
            S3Error::new(S3ErrorKind::AccessDenied, op, format!("credentials: {e}")).with_source(e)
        }
        RusotoError::ParseError(message) => {
            // A 200 whose body was an error document can surface here; classify it by
            // its code when the text shows one.
            match signed::xml_text(&message, "Code") {
                Some(code) => S3Error::from_response(
                    op,
                    Some(200),
                    Some(code),
                    signed::xml_text(&message, "Message").unwrap_or(message),
                ),
                None => S3Error::new(
                    S3ErrorKind::Other,
                    op,
                    format!("cannot parse the response: {message}"),
                ),
            }
        }
        RusotoError::Validation(message) => S3Error::new(
            S3ErrorKind::Other,
            op,
            format!("invalid request: {message}"),
        ),
        RusotoError::Blocking => S3Error::new(S3ErrorKind::Other, op, "rusoto blocking error"),
    }
}

fn from_http_response(op: &'static str, response: &BufferedHttpResponse) -> S3Error {
    let embedded = response.headers.contains_key(EMBEDDED_ERROR_HEADER);
    let status = if embedded {
        200
    } else {
        response.status.as_u16()
    };
    let body = std::str::from_utf8(&response.body).unwrap_or("");
    let code = signed::xml_text(body, "Code");
    let message = signed::xml_text(body, "Message").unwrap_or_else(|| {
        match response.status.canonical_reason() {
            Some(reason) if !embedded => format!("HTTP {status} {reason}"),
            _ => format!("HTTP {status}"),
        }
    });
    S3Error::from_response(op, Some(status), code, message)
}

/// Whether an XML document's root element is `<Error>`.
fn is_error_document(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let mut text = text.trim_start();
    if text.starts_with("<?xml") {
        match text.find("?>") {
            Some(end) => text = text[end + 2..].trim_start(),
            None => return false,
        }
    }
    text.starts_with("<Error>") || text.starts_with("<Error ")
}

/// rusoto's HTTP client with one addition: a 2xx answer to CompleteMultipartUpload,
/// CopyObject or UploadPartCopy whose body is an `<Error>` document becomes a 500
/// (marked with [`EMBEDDED_ERROR_HEADER`]), so rusoto reports it as an error with the
/// body instead of parsing it as an empty success.
struct EmbeddedErrorDispatcher(Transport);

/// The HTTP client for the endpoint's scheme.
enum Transport {
    /// An `http://` endpoint (local and on-premises stores): plain sockets. hyper
    /// writes a request's headers and body chunks with one vectored write here; behind
    /// the TLS connector's stream, which has no vectored writes, it first copies every
    /// body byte into its own buffer (an eighth of a file upload's CPU).
    Plain(HttpClient<hyper::client::HttpConnector>),
    /// AWS and every `https://` endpoint (also accepts `http://`).
    Tls(HttpClient),
}

/// Sockets with the connect timeout.
fn tcp_connector(connect_timeout: Duration) -> hyper::client::HttpConnector {
    let mut tcp = hyper::client::HttpConnector::new();
    tcp.set_connect_timeout(Some(connect_timeout));
    // A request's last small segment must not wait for the ACK of the one before it
    // (Nagle's algorithm meeting the server's delayed ACK: 40 ms on Linux).
    tcp.set_nodelay(true);
    tcp
}

/// rusoto's own HttpClient::new() is https-only under `rustls`; this connector takes
/// both schemes. hyper-rustls panics when the system has no CA certificates: reported.
fn tls_connector(
    connect_timeout: Duration,
) -> Result<hyper_rustls::HttpsConnector<hyper::client::HttpConnector>, S3Error> {
    std::panic::catch_unwind(move || {
        let mut tcp = tcp_connector(connect_timeout);
        // The TLS layer above decides the scheme; this one only opens sockets.
        tcp.enforce_http(false);
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp)
    })
    .map_err(|_| {
        S3Error::new(
            S3ErrorKind::Other,
            "Configure",
            "TLS setup failed: no CA certificates found",
        )
    })
}

impl DispatchSignedRequest for EmbeddedErrorDispatcher {
    fn dispatch(
        &self,
        request: SignedRequest,
        timeout: Option<Duration>,
    ) -> DispatchSignedRequestFuture {
        let may_embed = (request.method == "POST" && request.params.contains_key("uploadId"))
            || (request.method == "PUT" && request.headers.contains_key("x-amz-copy-source"));
        let response = match &self.0 {
            Transport::Plain(http) => http.dispatch(request, timeout),
            Transport::Tls(http) => http.dispatch(request, timeout),
        };
        if !may_embed {
            return response;
        }
        Box::pin(async move {
            let mut response = response.await?;
            if !response.status.is_success() {
                return Ok(response);
            }
            // These answers are small XML documents; rusoto buffers them anyway.
            let buffered = response.buffer().await?;
            let mut headers = buffered.headers;
            let status = if is_error_document(&buffered.body) {
                headers.insert(EMBEDDED_ERROR_HEADER, "true".to_owned());
                500u16.try_into().expect("500 is a valid status")
            } else {
                buffered.status
            };
            Ok(HttpResponse {
                status,
                body: ByteStream::from(buffered.body.to_vec()),
                headers,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_is_percent_encoded_except_unreserved_and_slash() {
        let mut src = CopySource::new("bkt", "dir/a b+c%d~é?.txt");
        assert_eq!(
            copy_source_header(&src),
            "bkt/dir/a%20b%2Bc%25d~%C3%A9%3F.txt"
        );
        src.version_id = Some("v/1+2".into());
        assert!(copy_source_header(&src).ends_with("?versionId=v%2F1%2B2"));
    }

    #[test]
    fn error_documents_are_recognised() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>oops</Message></Error>";
        assert!(is_error_document(doc));
        assert!(!is_error_document(
            b"<?xml version=\"1.0\"?><CopyObjectResult><ETag>x</ETag></CopyObjectResult>"
        ));
        let text = std::str::from_utf8(doc).unwrap();
        assert_eq!(
            signed::xml_text(text, "Code").as_deref(),
            Some("InternalError")
        );
        assert_eq!(signed::xml_text(text, "Message").as_deref(), Some("oops"));
    }

    #[test]
    fn parse_errors_with_an_error_body_are_classified_by_code() {
        let e = map_rusoto_error::<Untyped>(
            "CompleteMultipartUpload",
            RusotoError::ParseError(
                "unexpected <Error><Code>InternalError</Code><Message>x</Message></Error>".into(),
            ),
        );
        assert_eq!(e.kind(), S3ErrorKind::Transient);
        assert_eq!(e.code.as_deref(), Some("InternalError"));
    }

    #[test]
    fn bodiless_404_is_not_found() {
        let response = BufferedHttpResponse {
            status: 404u16.try_into().unwrap(),
            body: Bytes::new(),
            headers: Default::default(),
        };
        let e = map_rusoto_error::<Untyped>("HeadObject", RusotoError::Unknown(response));
        assert_eq!(e.kind(), S3ErrorKind::NotFound);
        assert_eq!(e.status, Some(404));
    }
}
