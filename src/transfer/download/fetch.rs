//! The GETs of a download: one attempt per request under the retry policy, resumed
//! from the first missing byte after a body breaks off, every response checked against
//! what was asked for before a byte of it is taken, and the body handed to the output.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::target::write_all_at;
use super::verify::Stored;
use super::{Download, UNKNOWN};
use crate::checksum::Checksummer;
use crate::client::etag;
use crate::client::{
    ByteRange, ChecksumAlgorithm, GetObjectOutput, GetObjectRequest, ResponseSink, S3Error,
    S3ErrorKind, stopped_by_caller,
};
use crate::error::TransferError;
use crate::runtime::bandwidth::ChunkLimiter;
use crate::runtime::retry::{RetryError, with_retries_if};
use crate::runtime::work_group::{WorkGuard, run_job};

/// What one GET job fetches.
#[derive(Clone, Copy, Debug)]
pub(super) enum Piece {
    /// Bytes `start..=end`, or to the end of the object.
    Range { start: u64, end: Option<u64> },
    /// Part `number` of a multipart object with a composite checksum of `of` parts.
    Part { number: u32, of: u32 },
}

/// A part GET's facts, learned from its first response: a resumed GET names the bytes
/// still missing with a Range, and such a response carries no part checksum.
#[derive(Debug)]
pub(super) struct PartFetch {
    pub(super) number: u32,
    pub(super) of: u32,
    pub(super) algorithm: ChecksumAlgorithm,
    /// First and last byte of the part in the object, from Content-Range.
    pub(super) span: Option<(u64, u64)>,
    /// The part's stored checksum, from the first response.
    pub(super) stored: Option<String>,
}

/// A piece's progress across its attempts.
struct PieceState {
    /// First byte of the piece in the object (a part's, once a response placed it).
    start: u64,
    /// Last byte, or `None` for "to the end".
    end: Option<u64>,
    part: Option<PartFetch>,
    /// One checksummer across attempts: a resumed GET starts at the first byte
    /// missing, so it sees the piece's bytes once, in order.
    hasher: Option<Checksummer>,
    /// The MD5 of the piece's bytes, when the object's ETag is checked (it then comes
    /// in one piece).
    md5: Option<md5::Md5>,
    /// The CRC32C of the range's bytes so far, for the resume journal (a range of a
    /// resumable download only).
    crc32c: Option<u32>,
    /// Bytes of the piece delivered so far.
    received: u64,
    /// The object's size, from the first accepted response headers.
    total: Option<u64>,
    /// The empty object refused a range and is asked for whole.
    fallback_used: bool,
}

impl PieceState {
    /// The state of `piece` before its first GET; `None` for a part GET with no
    /// stored checksum algorithm (parts are fetched by number only to check them).
    fn new(piece: Piece, stored: Option<ChecksumAlgorithm>, md5: bool) -> Option<PieceState> {
        let (start, end, part) = match piece {
            Piece::Range { start, end } => (start, end, None),
            Piece::Part { number, of } => {
                let part = PartFetch {
                    number,
                    of,
                    algorithm: stored?,
                    span: None,
                    stored: None,
                };
                (0, None, Some(part))
            }
        };
        Some(PieceState {
            start,
            end,
            part,
            // One checksummer for the piece across attempts: a resumed GET starts at
            // the first byte missing, so it sees the piece's bytes once, in order.
            hasher: stored.map(Checksummer::new),
            md5: md5.then(<md5::Md5 as md5::Digest>::new),
            crc32c: None,
            received: 0,
            total: None,
            fallback_used: false,
        })
    }

    /// A 416 on the first range of an object that has sent nothing: the object is
    /// empty, and S3 refuses any range of it.
    fn may_fall_back_to_whole(&self, error: &S3Error) -> bool {
        self.start == 0
            && self.part.is_none()
            && self.received == 0
            && !self.fallback_used
            && error.kind() == S3ErrorKind::InvalidRange
    }
}

impl Download {
    /// GET a piece into the output. Failures before any byte arrived are retried under
    /// the manager's retry policy (attempts, backoff, quota), like every other request;
    /// a body that breaks off after delivering bytes is resumed from the first missing
    /// byte with a narrowed range (for a part too: its place is known from the first
    /// response), up to `num_download_attempts` times, as s3transfer resumes its
    /// streams. Returns the object's size, or `None` after recording a failure.
    pub(super) fn get_piece(self: &Arc<Self>, guard: &WorkGuard, piece: Piece) -> Option<u64> {
        let (stored, md5) = match &*self.expected.lock() {
            Some(Stored::EtagMd5 { one_get, .. }) => (None, *one_get),
            Some(stored) => (stored.algorithm(), false),
            None => (None, false),
        };
        let Some(mut state) = PieceState::new(piece, stored, md5) else {
            self.ctx.coordinator.fail(TransferError::Internal(
                "a part GET without a stored checksum".into(),
            ));
            return None;
        };
        if self.resumable.get().is_some() && state.part.is_none() {
            state.crc32c = Some(0);
        }
        let ctx = &self.ctx;
        let policy = &ctx.engine.retry;
        let stopped = || ctx.coordinator.is_stopped();
        let mut resumptions = 0u32;
        loop {
            // Whether the latest attempt delivered bytes: such an attempt is resumed
            // below, never sent again from its first byte.
            let progressed = Cell::new(false);
            let outcome =
                with_retries_if(policy, &stopped, &|_| !progressed.get(), &mut |attempt| {
                    if attempt > 1 {
                        ctx.coordinator.note_retry();
                    }
                    let before = state.received;
                    let result = self.get_once(guard, &mut state);
                    progressed.set(state.received > before);
                    result
                });
            let error = match outcome {
                Ok(out) => return self.piece_done(state, out),
                Err(RetryError::NotRetryable(e)) => e,
                Err(other) => {
                    ctx.coordinator
                        .fail(other.into_transfer_error(|e| self.s3_failed(e)));
                    return None;
                }
            };
            if state.may_fall_back_to_whole(&error) {
                // S3 answers a range on an empty object with 416: ask for it whole
                // (once; it does not count as an attempt).
                state.fallback_used = true;
                continue;
            }
            if !(error.is_retryable() && progressed.get()) || stopped() {
                ctx.coordinator.fail(self.s3_failed(error));
                return None;
            }
            resumptions += 1;
            if resumptions >= ctx.engine.config.num_download_attempts {
                ctx.coordinator.fail(TransferError::RetriesExceeded {
                    attempts: resumptions,
                    last_error: error,
                });
                return None;
            }
            ctx.coordinator.note_retry();
            tracing::debug!(
                bucket = %ctx.bucket,
                key = %ctx.key,
                from_byte = state.start + state.received,
                resumption = resumptions,
                reason = %error,
                "resuming a body that broke off"
            );
            // The store is serving: no quota is spent, but a throttled store still
            // gets the policy's pause before the rest is asked for.
            if !policy.sleep_unless_stopped(policy.backoff(error.kind(), 0), &stopped) {
                return None;
            }
        }
    }

    /// One GET attempt for the bytes of `state` still missing.
    fn get_once(
        self: &Arc<Self>,
        guard: &WorkGuard,
        state: &mut PieceState,
    ) -> Result<GetObjectOutput, S3Error> {
        let ctx = &self.ctx;
        let mut request = GetObjectRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
            version_id: self.args.version_id.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_mode: self.args.checksum_mode || self.validating(),
            // Pinned as soon as any response told us the ETag, including the
            // headers of a body that broke off.
            if_match: self.etag.lock().clone(),
            ..Default::default()
        };
        match &state.part {
            // Until a response said where the part lies, it is asked for by number.
            Some(p) if p.span.is_none() => request.part_number = Some(p.number),
            // A resumed request names the bytes still missing: a range, unless this is
            // the empty object that already refused one.
            _ if !state.fallback_used || state.received > 0 => {
                request.range = Some(ByteRange {
                    start: state.start + state.received,
                    end: state.end,
                });
            }
            _ => {}
        }
        let mut sink = PartSink {
            download: self,
            guard,
            request: &request,
            offset: state.start + state.received,
            received: 0,
            total: None,
            throttle: ctx.engine.chunk_limiter(&ctx.coordinator),
            hasher: state.hasher.as_mut(),
            md5: state.md5.as_mut(),
            crc32c: state.crc32c.as_mut(),
            part: state.part.as_mut(),
        };
        let mut result = ctx.engine.client.get_object(&request, &mut sink);
        if let (Ok(_), Some(throttle)) = (&result, &sink.throttle) {
            // Charge the tail below the threshold here, on this request thread.
            if throttle.flush().is_err() {
                result = Err(stopped_by_caller("GetObject"));
            }
        }
        let (got, total) = (sink.received, sink.total);
        state.received += got;
        state.total = total.or(state.total);
        if let Some((first, last)) = state.part.as_ref().and_then(|p| p.span) {
            (state.start, state.end) = (first, Some(last));
        }
        result
    }

    /// The piece's last byte arrived: check its length, and its checksum for a part.
    fn piece_done(&self, state: PieceState, out: GetObjectOutput) -> Option<u64> {
        let ctx = &self.ctx;
        let PieceState {
            start,
            end,
            part,
            hasher,
            md5,
            crc32c,
            received,
            total,
            ..
        } = state;
        let whole = start == 0 && part.is_none();
        let Some(total) = total.or(Some(out.content_length).filter(|_| whole)) else {
            ctx.coordinator
                .fail(self.failed("the response had no usable headers", None));
            return None;
        };
        let expected = end.map_or(total, |e| e.min(total.saturating_sub(1)) + 1) - start;
        if total > 0 && received != expected {
            ctx.coordinator.fail(self.failed(
                format!(
                    "received {received} bytes of {expected} for the range starting at {start}"
                ),
                None,
            ));
            return None;
        }
        self.parts.fetch_add(1, Ordering::Relaxed);
        if let Some(crc32c) = crc32c {
            self.range_stored(start, received, crc32c);
        }
        if let Some(md5) = md5 {
            *self.md5_seen.lock() = Some(etag::hex(&md5::Digest::finalize(md5)));
        }
        if let Some(hasher) = hasher {
            let sum = hasher.finish();
            match part {
                Some(part) => {
                    if let Err(e) = self.check_part(part, sum) {
                        ctx.coordinator.fail(e);
                        return None;
                    }
                }
                None => {
                    self.range_sums.lock().insert(start, sum);
                }
            }
        }
        Some(total)
    }
    /// Check response headers against what was asked for and what earlier responses
    /// said, before any byte of the body is taken; record the size and ETag. Returns
    /// the object's size, or the reason to refuse the response.
    fn accept_head(
        &self,
        request: &GetObjectRequest,
        head: &GetObjectOutput,
    ) -> Result<u64, String> {
        let start = request.range.map_or(0, |r| r.start);
        // ContentRange::parse refuses these, but a caller's own backend builds the
        // struct directly, and the arithmetic below needs start <= end < total.
        if let Some(cr) = head.content_range
            && !(cr.start <= cr.end && cr.end < cr.total)
        {
            return Err(format!(
                "the response's Content-Range bytes {}-{}/{} is impossible",
                cr.start, cr.end, cr.total
            ));
        }
        let total = match (head.content_range, request.range) {
            (Some(cr), Some(range)) => {
                let wanted_end = range.end.map_or(cr.total - 1, |e| e.min(cr.total - 1));
                if cr.start != range.start || cr.end != wanted_end {
                    return Err(format!(
                        "asked for {} but the response holds bytes {}-{}/{}",
                        range.header_value(),
                        cr.start,
                        cr.end,
                        cr.total
                    ));
                }
                cr.total
            }
            (None, None) if request.part_number.is_some() => {
                return Err("a partNumber GET came back without Content-Range".into());
            }
            // A 200 with the whole object: only acceptable from byte 0.
            (None, _) if start == 0 => head.content_length,
            (None, _) => return Err("a ranged GET came back without Content-Range".into()),
            (Some(cr), None) => cr.total,
        };
        let known = self.size.load(Ordering::Acquire);
        if known != UNKNOWN && known != total {
            return Err(format!(
                "the object is {total} bytes, not the {known} expected"
            ));
        }
        if let Some(etag) = &head.etag {
            let mut pinned = self.etag.lock();
            match pinned.as_deref() {
                Some(p) if !crate::client::etag::same(p, etag) => {
                    return Err(format!(
                        "the object changed during the download (ETag {p} became {etag})"
                    ));
                }
                Some(_) => {}
                None => {
                    *pinned = Some(etag.clone());
                    self.ctx.coordinator.meta.provide_object_etag(etag.clone());
                }
            }
        }
        if start == 0 && known == UNKNOWN {
            self.size.store(total, Ordering::Release);
            self.ctx.coordinator.meta.provide_transfer_size(total);
            *self.version_id.lock() = head.version_id.clone();
        }
        Ok(total)
    }
    /// Queue one write on the io thread.
    pub(super) fn queue_write(
        self: &Arc<Self>,
        offset: u64,
        data: Vec<u8>,
        guard: WorkGuard,
    ) -> Result<(), S3Error> {
        let download = self.clone();
        self.ctx
            .engine
            .io
            .submit(Box::new(move || {
                let coordinator = download.ctx.coordinator.clone();
                run_job(&coordinator, guard, |_| {
                    let len = data.len() as u64;
                    // Taken out of its slot for the write, so no lock is held while the
                    // caller's writer runs: only this io thread writes through it, and
                    // `finish` runs after the last write's guard is gone.
                    let taken = download.output.lock().take();
                    let result = match taken {
                        Some(mut output) => {
                            let written = output.write_at(offset, data);
                            *download.output.lock() = Some(output);
                            written
                        }
                        None => Ok(()),
                    };
                    match result {
                        Ok(()) => {
                            download.written.fetch_add(len, Ordering::AcqRel);
                        }
                        Err(e) => coordinator.fail(TransferError::io("writing", None, e)),
                    }
                });
            }))
            .map_err(|_| crate::client::stopped_by_caller("GetObject"))
    }
}

/// Receives a GET body on the request thread and hands it to the writer in
/// `io_chunksize` pieces.
struct PartSink<'a> {
    download: &'a Arc<Download>,
    request: &'a GetObjectRequest,
    /// The object's size, from the accepted response headers.
    total: Option<u64>,
    /// The GET job's guard: every queued write holds one more, so the transfer cannot
    /// finish before its bytes are written.
    guard: &'a WorkGuard,
    offset: u64,
    received: u64,
    /// This attempt's share of the manager's bandwidth (one token per response body,
    /// as s3transfer has one per stream), or `None` when unlimited.
    throttle: Option<ChunkLimiter>,
    /// The range's checksum, fed as the bytes pass (one pass, on the request thread).
    hasher: Option<&'a mut Checksummer>,
    /// The object's MD5, fed like `hasher`.
    md5: Option<&'a mut md5::Md5>,
    /// The range's CRC32C for the resume journal, fed like `hasher`.
    crc32c: Option<&'a mut u32>,
    /// For a part GET: where the part lies and its stored checksum, taken from the
    /// first response.
    part: Option<&'a mut PartFetch>,
}

impl PartSink<'_> {
    /// Take a part's place and stored checksum from its first response; on a resumed
    /// (ranged) response they are known already.
    fn learn_part(&mut self, head: &GetObjectOutput) -> Result<(), String> {
        let Some(part) = self.part.as_deref_mut() else {
            return Ok(());
        };
        if part.span.is_some() {
            return Ok(());
        }
        let (number, of) = (part.number, part.of);
        if let Some(count) = head.parts_count
            && count != of
        {
            return Err(format!(
                "the object has {count} parts, not the {of} its checksum names"
            ));
        }
        let Some(cr) = head.content_range else {
            return Err(format!("part {number} came back without Content-Range"));
        };
        let stored = head
            .checksums
            .get(part.algorithm)
            .filter(|v| !v.contains('-'));
        match stored {
            Some(stored) => part.stored = Some(stored.to_owned()),
            // A store that keeps a composite value but no part checksums (SeaweedFS)
            // shows it on part 1, the first GET, before any other part is asked for:
            // the parts are fetched unchecked and the transfer reports that nothing
            // was validated, as with any store without checksums.
            None if number == 1 => self.download.parts_unchecked.store(true, Ordering::Release),
            None if self.download.parts_unchecked.load(Ordering::Acquire) => {}
            None => {
                return Err(format!(
                    "part {number} of {of} came back without its {} checksum, which part 1 had",
                    part.algorithm.as_str()
                ));
            }
        }
        part.span = Some((cr.start, cr.end));
        self.offset = cr.start;
        Ok(())
    }
}

impl ResponseSink for PartSink<'_> {
    fn on_response(&mut self, head: &GetObjectOutput) -> Result<(), S3Error> {
        match self
            .download
            .accept_head(self.request, head)
            .and_then(|total| self.learn_part(head).map(|()| total))
        {
            Ok(total) => {
                self.total = Some(total);
                Ok(())
            }
            Err(reason) => {
                // Recorded first, so the transfer reports this reason rather than the
                // "stopped" error the backend returns.
                self.download
                    .ctx
                    .coordinator
                    .fail(self.download.failed(reason, None));
                Err(stopped_by_caller("GetObject"))
            }
        }
    }

    fn write_chunk(&mut self, mut data: &[u8]) -> Result<(), S3Error> {
        let download = self.download;
        let io_chunk = download.ctx.engine.config.io_chunksize;
        while !data.is_empty() {
            if download.ctx.coordinator.is_stopped() {
                return Err(stopped_by_caller("GetObject"));
            }
            let n = data.len().min(io_chunk);
            // Charged before the bytes go on: while the bucket refuses, this request
            // thread stops reading the socket, which is what slows the sender.
            if let Some(throttle) = &self.throttle
                && throttle.consume(n as u64).is_err()
            {
                return Err(stopped_by_caller("GetObject"));
            }
            let offset = self.offset + self.received;
            // Cloned out, so the lock is not held across the write.
            let direct = download.direct.lock().clone();
            if let Some((file, temp)) = direct {
                if let Err(e) = write_all_at(&file, offset, &data[..n]) {
                    download
                        .ctx
                        .coordinator
                        .fail(TransferError::io("writing", Some(&temp), e));
                    return Err(stopped_by_caller("GetObject"));
                }
                download.written.fetch_add(n as u64, Ordering::AcqRel);
            } else {
                let guard = self.guard.hold();
                download.queue_write(offset, data[..n].to_vec(), guard)?;
            }
            // Counted with `received`: a resumed attempt continues right after.
            if let Some(md5) = self.md5.as_deref_mut() {
                md5::Digest::update(md5, &data[..n]);
            }
            if let Some(hasher) = self.hasher.as_deref_mut() {
                hasher.update(&data[..n]);
            }
            if let Some(crc) = self.crc32c.as_deref_mut() {
                *crc = crc32c::crc32c_append(*crc, &data[..n]);
            }
            self.received += n as u64;
            download.ctx.coordinator.progress(n as i64);
            data = &data[n..];
        }
        Ok(())
    }
}
