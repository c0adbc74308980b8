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
