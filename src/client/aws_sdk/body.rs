//! Bodies between the engine and the SDK: an upload's chunks (pulled on the calling
//! thread by `transport::upload`) as an http-body 1.x body of known length that the SDK
//! streams as it is, and a GetObject's [`ByteStream`] as the stream
//! `transport::download` reads into the caller's sink. No chunk is copied either way.

use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};

use crate::client::transport::upload::BodyChunks;

/// An upload body fed through a channel, with its exact length: the SDK (and hyper
/// under it) send that as Content-Length, never chunked encoding, which S3 refuses.
pub(super) struct ChannelBody {
    chunks: BodyChunks,
    remaining: u64,
}

impl ChannelBody {
    /// `len` bytes that will arrive on `chunks`.
    pub(super) fn new(chunks: BodyChunks, len: u64) -> Self {
        ChannelBody {
            chunks,
            remaining: len,
        }
    }

    /// As the SDK's body type.
    pub(super) fn into_byte_stream(self) -> ByteStream {
        ByteStream::from_body_1_x(self)
    }
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.chunks.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            // The feeding side stopped early (the caller cancelled): the request must
            // fail rather than end short.
            Poll::Ready(None) if self.remaining > 0 => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the upload body ended before its length",
            )))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// The chunks of a GetObject body as they arrive.
pub(super) type DownloadStream =
    Pin<Box<dyn Stream<Item = Result<Bytes, aws_sdk_s3::primitives::ByteStreamError>> + Send>>;

/// A GetObject's body as a stream of chunks.
pub(super) fn download_stream(body: ByteStream) -> DownloadStream {
    Box::pin(futures_util::stream::unfold(body, |mut body| async move {
        body.next().await.map(|chunk| (chunk, body))
    }))
}
