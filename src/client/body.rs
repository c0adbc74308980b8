//! Request bodies handed to an `S3Api` backend, and the sinks response bodies stream into.
//!
//! Progress, bandwidth throttling and cancellation all happen as a backend pulls
//! chunks from a [`RequestBody`] or pushes them into a [`ResponseSink`]: both run on
//! the library's worker thread that made the call, so a backend needs no knowledge of
//! the engine above it.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::error::{S3Error, S3ErrorKind};

/// Watches the bytes of one request body as a backend pulls them.
///
/// `on_chunk` runs on the calling worker thread before a chunk goes to the transport;
/// it may block (bandwidth throttling) or refuse (cancellation), in which case the
/// backend must stop and return the error. `on_rewind` reports bytes taken back when a
/// body is replayed for a retry.
pub trait BodyObserver: Send + Sync {
    /// `len` bytes are about to be sent. An `Err` stops the request.
    fn on_chunk(&self, len: usize) -> Result<(), S3Error>;
    /// `len` bytes already reported will be sent again.
    fn on_rewind(&self, len: usize);
}

/// The body of a PutObject or UploadPart: an immutable, cheaply cloned buffer handed to
/// the transport in chunks, without copying.
///
/// Backends must pull the data through [`RequestBody::next_chunk`] (that is where
/// progress, throttling and cancellation happen) and must send exactly
/// [`RequestBody::len`] bytes.
pub struct RequestBody {
    data: Bytes,
    offset: usize,
    chunk_size: usize,
    observer: Option<Arc<dyn BodyObserver>>,
}

/// Chunk size used when none is set: 256 KiB, s3transfer's progress granularity.
const DEFAULT_BODY_CHUNK: usize = 256 * 1024;

impl RequestBody {
    /// A body over `data`, handed out in 256 KiB chunks.
    pub fn new(data: impl Into<Bytes>) -> Self {
        RequestBody {
            data: data.into(),
            offset: 0,
            chunk_size: DEFAULT_BODY_CHUNK,
            observer: None,
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        RequestBody::new(Bytes::new())
    }

    /// Hand the data out in chunks of `chunk_size` bytes (at least 1).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    /// Report every chunk to `observer` before it is sent.
    pub fn with_observer(mut self, observer: Arc<dyn BodyObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Total length in bytes: the request's Content-Length.
    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// Whether the body has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The whole body, for computing checksums before sending. Reading it does not
    /// count as progress.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The next chunk to send, or `None` at the end. Zero-copy: a slice of the body.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, S3Error> {
        if self.offset >= self.data.len() {
            return Ok(None);
        }
        let end = (self.offset + self.chunk_size).min(self.data.len());
        if let Some(observer) = &self.observer {
            observer.on_chunk(end - self.offset)?;
        }
        let chunk = self.data.slice(self.offset..end);
        self.offset = end;
        Ok(Some(chunk))
    }

    /// Start again from the first byte, so a failed request can be replayed. Bytes
    /// already handed out are reported back to the observer.
    pub fn rewind(&mut self) {
        if self.offset > 0 {
            if let Some(observer) = &self.observer {
                observer.on_rewind(self.offset);
            }
            self.offset = 0;
        }
    }

    /// Drain the body through `next_chunk` into one buffer (for backends that need the
    /// whole body at once, such as the in-memory fake).
    pub fn collect(&mut self) -> Result<Vec<u8>, S3Error> {
        let mut out = Vec::with_capacity(self.data.len() - self.offset.min(self.data.len()));
        while let Some(chunk) = self.next_chunk()? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("len", &self.data.len())
            .field("offset", &self.offset)
            .finish()
    }
}

/// Where a GetObject body goes, chunk by chunk, as it arrives.
///
/// Called on the worker thread that made the request. A sink may block (the write
/// queue is full, bandwidth is throttled); an `Err` (use [`S3ErrorKind::Cancelled`])
/// stops the download, and the backend must return that error.
pub trait ResponseSink {
    /// The response headers arrived (`bytes_received` is 0): called once, before the
    /// first chunk. An `Err` stops the request before any byte is taken, so a caller
    /// can pin the ETag of a body that later breaks off, or refuse a response that does
    /// not match what it asked for.
    fn on_response(&mut self, head: &super::GetObjectOutput) -> Result<(), S3Error> {
        let _ = head;
        Ok(())
    }

    /// Take the next `data.len()` bytes of the body.
    fn write_chunk(&mut self, data: &[u8]) -> Result<(), S3Error>;
}

impl ResponseSink for Vec<u8> {
    fn write_chunk(&mut self, data: &[u8]) -> Result<(), S3Error> {
        self.extend_from_slice(data);
        Ok(())
    }
}

/// A sink that stops the request with [`S3ErrorKind::Cancelled`] when `f` fails.
impl<F> ResponseSink for F
where
    F: FnMut(&[u8]) -> Result<(), S3Error>,
{
    fn write_chunk(&mut self, data: &[u8]) -> Result<(), S3Error> {
        self(data)
    }
}

/// The error a sink or body observer returns to stop a request on the caller's behalf.
pub(crate) fn stopped_by_caller(operation: &'static str) -> S3Error {
    S3Error::new(S3ErrorKind::Cancelled, operation, "stopped by the transfer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<i64>>);
    impl BodyObserver for Recorder {
        fn on_chunk(&self, len: usize) -> Result<(), S3Error> {
            self.0.lock().push(len as i64);
            Ok(())
        }
        fn on_rewind(&self, len: usize) {
            self.0.lock().push(-(len as i64));
        }
    }

    #[test]
    fn chunks_cover_the_body_and_rewind_reports_negative_progress() {
        let rec = Arc::new(Recorder::default());
        let mut body = RequestBody::new(vec![7u8; 10])
            .with_chunk_size(4)
            .with_observer(rec.clone());
        assert_eq!(body.collect().unwrap(), vec![7u8; 10]);
        body.rewind();
        assert_eq!(body.next_chunk().unwrap().unwrap().len(), 4);
        assert_eq!(*rec.0.lock(), vec![4, 4, 2, -10, 4]);
    }

    #[test]
    fn an_observer_error_stops_the_body() {
        struct Refuse;
        impl BodyObserver for Refuse {
            fn on_chunk(&self, _: usize) -> Result<(), S3Error> {
                Err(stopped_by_caller("PutObject"))
            }
            fn on_rewind(&self, _: usize) {}
        }
        let mut body = RequestBody::new(vec![1u8; 3]).with_observer(Arc::new(Refuse));
        assert_eq!(
            body.next_chunk().unwrap_err().kind(),
            S3ErrorKind::Cancelled
        );
    }
}
