//! A store whose GET answers are rewritten on the way to the download: how tests make a
//! proxy or a store misreport what it sends.

use std::sync::Arc;

use s3transfer::client::*;
use s3transfer::{S3Api, S3Error};

/// A GET's head rewritten, the body passed whole.
pub type HeadRewrite = dyn Fn(&GetObjectRequest, &mut GetObjectOutput) + Send + Sync;

/// How a [`Misanswer`] changes the answer to a GET: its head, and how many body bytes
/// it lets through (`None`: all).
pub type MisanswerFn = dyn Fn(&GetObjectRequest, &mut GetObjectOutput) -> Option<u64> + Send + Sync;

/// A store whose GET answers are rewritten before the download sees them: a proxy or a
/// store that answers something other than what was asked.
pub struct Misanswer {
    inner: Arc<dyn S3Api>,
    rewrite: Box<MisanswerFn>,
}

struct MisanswerSink<'a> {
    inner: &'a mut dyn ResponseSink,
    request: &'a GetObjectRequest,
    rewrite: &'a MisanswerFn,
    /// Body bytes still let through.
    allowed: Option<u64>,
}

impl ResponseSink for MisanswerSink<'_> {
    fn on_response(&mut self, head: &GetObjectOutput) -> Result<(), S3Error> {
        let mut head = head.clone();
        self.allowed = (self.rewrite)(self.request, &mut head);
        self.inner.on_response(&head)
    }
    fn write_chunk(&mut self, data: &[u8]) -> Result<(), S3Error> {
        let n = match &mut self.allowed {
            Some(left) => {
                let n = (*left).min(data.len() as u64);
                *left -= n;
                n as usize
            }
            None => data.len(),
        };
        if n == 0 {
            return Ok(());
        }
        self.inner.write_chunk(&data[..n])
    }
}

impl S3Api for Misanswer {
    fn get_object(
        &self,
        r: &GetObjectRequest,
        s: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let mut sink = MisanswerSink {
            inner: s,
            request: r,
            rewrite: self.rewrite.as_ref(),
            allowed: None,
        };
        self.inner.get_object(r, &mut sink)
    }
    delegate_to_inner!(
        head_object,
        put_object,
        upload_part,
        create_multipart_upload,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
        supports_checksums,
    );
}

impl Misanswer {
    /// `inner` with each GET's answer changed by `rewrite`.
    pub fn new(inner: Arc<dyn S3Api>, rewrite: Box<MisanswerFn>) -> Misanswer {
        Misanswer { inner, rewrite }
    }

    /// `inner` with each GET's head changed by `rewrite`, its body passed whole.
    pub fn heads(inner: Arc<dyn S3Api>, rewrite: Box<HeadRewrite>) -> Misanswer {
        Misanswer::new(
            inner,
            Box::new(move |r, head| {
                rewrite(r, head);
                None
            }),
        )
    }
}
