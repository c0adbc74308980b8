//! What the two HTTP backends (rusoto, aws-sdk-s3) share below their client libraries:
//! the owned tokio runtime and how blocking callers use it (`runtime`), upload bodies
//! pulled on the calling thread and handed to the transport (`upload`), download bodies
//! read on the runtime and handed to the caller's sink with the byte count checked
//! (`download`), and the checks of an answer that both make the same way (`answers`).
//!
//! Each backend builds its requests and classifies its own client's errors; everything
//! between "a future that sends the request" and the caller's thread lives here once.

pub(crate) mod answers;
pub(crate) mod download;
pub(crate) mod runtime;
pub(crate) mod upload;

use std::time::Duration;

/// The bounds every call of an HTTP backend runs under (see the builders' setters for
/// what each bounds and its default).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// From sending the request (after its body) until the answer's headers, or for a
    /// small-document answer until that document is read.
    pub(crate) request: Duration,
    /// The longest wait for the next bytes of a GetObject body.
    pub(crate) body_read: Duration,
    /// The longest wait for the transport to take the next chunk of an upload body.
    pub(crate) body_send: Duration,
}

/// Default for the builders' `request_timeout`: 60 s. Long enough for a
/// CompleteMultipartUpload of a large object (S3 may take tens of seconds before it
/// answers), short enough that a dead server does not hold a worker for minutes.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A TCP connect that takes longer than this is not going to succeed: the host is down
/// or the packets are dropped. Well above a cross-region round trip, well below the
/// minutes an OS may otherwise wait.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for the builders' `body_read_timeout`: 30 s without a single byte of a
/// GetObject body means the connection is stuck; a retry on a fresh one is faster.
pub(crate) const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for the builders' `body_send_timeout`: 30 s during which the transport
/// accepted no chunk of an upload body (the server stopped reading, or never connected).
pub(crate) const DEFAULT_BODY_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for the builders' `worker_threads`: 2. Measured: one or two workers
/// drive hyper at full loopback speed; the work is I/O, not CPU.
pub(crate) const DEFAULT_WORKER_THREADS: usize = 2;
/// Region used when none is set and the chain finds none: the SDKs' global default,
/// and the region whose endpoint redirects a bucket elsewhere to the right one.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// A proxy variable (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) from `lookup` (the
/// environment, or a test's map), as curl reads it and both backends' clients do: the
/// lowercase name first, trimmed, an empty value counting as unset.
pub(crate) fn proxy_variable(
    lookup: impl Fn(&str) -> Option<String>,
    name: &str,
) -> Option<String> {
    lookup(&name.to_ascii_lowercase())
        .or_else(|| lookup(name))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
