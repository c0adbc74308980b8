//! Uploads: one PutObject below the threshold, a multipart upload above it, from a
//! file (parts read in parallel with positional reads), a seekable reader, or a
//! stream of unknown length (parts read in order, memory bounded).

mod requests;
mod resume;
mod source;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::args::UploadArgs;
use crate::checksum::Checksum;
use crate::config::{MAX_PART_SIZE, MAX_PARTS, adjust_part_size};
use crate::error::TransferError;
use crate::runtime::coordinator::panic_message;
use crate::runtime::work_group::WorkGuard;
use crate::transfer::context::TransferContext;
use crate::transfer::multipart::MultipartUpload;
pub use source::{SeekRead, UploadSource};
pub(crate) use source::{crc32c_at, read_at};
use source::{read_full, seekable_remaining};

/// One upload's fixed facts, shared by its jobs.
pub(crate) struct Upload {
    pub(crate) ctx: TransferContext,
    pub(crate) args: UploadArgs,
    /// The CRC of each part, by number, when the whole-object CRC is combined from
    /// them. Written by the job that checksummed each part, read once by Complete.
    part_crcs: Mutex<BTreeMap<u32, Checksum>>,
    /// What a pause or the journal records: set once a multipart file upload exists.
    resumable: std::sync::OnceLock<resume::Resumable>,
}

impl Upload {
    pub(crate) fn new(ctx: TransferContext, args: UploadArgs) -> Upload {
        Upload {
            ctx,
            args,
            part_crcs: Mutex::new(BTreeMap::new()),
            resumable: std::sync::OnceLock::new(),
        }
    }
}

/// Run on a submission thread: plan the upload and submit its jobs.
pub(crate) fn submit(upload: Arc<Upload>, source: UploadSource) {
    run(upload, move |upload, root, multipart| match source {
        UploadSource::Path(path) => upload.plan_file(root, multipart, &path),
        UploadSource::Seekable(mut reader) => match seekable_remaining(&mut *reader) {
            Ok(size) => {
                upload.ctx.coordinator.meta.provide_transfer_size(size);
                upload.plan_stream(root, multipart, Box::new(reader))
            }
            Err(e) => Err(TransferError::io("measuring", None, e)),
        },
        UploadSource::Stream(reader) => upload.plan_stream(root, multipart, reader),
    });
}

/// Run on a submission thread: continue the paused upload `token` describes.
pub(crate) fn submit_resumed(
    upload: Arc<Upload>,
    token: crate::resume::UploadToken,
    options: crate::resume::ResumeOptions,
) {
    run(upload, move |upload, root, multipart| {
        upload.plan_resumed(root, multipart, token, &options)
    });
}

type Slot = Mutex<Option<Arc<MultipartUpload>>>;

/// Begin the transfer and run `plan`; the last job to end completes the upload.
fn run(
    upload: Arc<Upload>,
    plan: impl FnOnce(&Arc<Upload>, &WorkGuard, &Slot) -> Result<(), TransferError>,
) {
    let multipart: Arc<Mutex<Option<Arc<MultipartUpload>>>> = Arc::new(Mutex::new(None));
    let finish = {
        let (upload, multipart) = (upload.clone(), multipart.clone());
        move || {
            let mpu = multipart.lock().take();
            if let Some(mpu) = mpu {
                upload.complete(&mpu);
            }
        }
    };
    let Some(root) = upload.ctx.begin(finish) else {
        return;
    };
    // A panic must fail the transfer before `root` drops: otherwise the finalizer would
    // try to complete an upload whose planning never ended, and report that instead.
    let planned = catch_unwind(AssertUnwindSafe(|| plan(&upload, &root, &multipart)))
        .unwrap_or_else(|panic| {
            Err(TransferError::Internal(format!(
                "planning the upload panicked: {}",
                panic_message(&panic)
            )))
        });
    if let Err(e) = planned {
        upload.ctx.coordinator.fail(e);
    }
}

impl Upload {
    /// The threshold, capped at S3's largest single PUT.
    fn threshold(&self) -> u64 {
        self.ctx
            .engine
            .config
            .multipart_threshold
            .min(MAX_PART_SIZE)
    }

    fn plan_file(
        self: &Arc<Self>,
        root: &WorkGuard,
        multipart: &Mutex<Option<Arc<MultipartUpload>>>,
        path: &Path,
    ) -> Result<(), TransferError> {
        let file = File::open(path).map_err(|e| TransferError::io("opening", Some(path), e))?;
        let metadata = file
            .metadata()
            .map_err(|e| TransferError::io("reading metadata of", Some(path), e))?;
        if !metadata.is_file() {
            // A FIFO, a character device: it has no size and cannot seek.
            return self.plan_stream(root, multipart, Box::new(file));
        }
        let size = metadata.len();
        self.ctx.coordinator.meta.provide_transfer_size(size);
        let file = Arc::new(file);
        let path: Arc<Path> = Arc::from(path);
        if size < self.threshold() {
            let upload = self.clone();
            return self
                .ctx
                .submit(root, move |_| match read_at(&file, 0, size as usize) {
                    Ok(data) => upload.put_object(Bytes::from(data)),
                    Err(e) => upload.read_failed(&path, e),
                });
        }
        let part_size = adjust_part_size(self.ctx.engine.config.multipart_chunksize, Some(size));
        let mpu = self.create_multipart(multipart)?;
        let parts = size.div_ceil(part_size) as u32;
        mpu.set_expected(parts, size);
        self.make_resumable(&mpu, &path, &metadata, part_size, Vec::new());
        self.submit_parts(root, &mpu, file, path, size, part_size, &Default::default())
    }

    /// Submit a job for each part of the file but those in `skip` (stored already).
    #[allow(clippy::too_many_arguments)]
    fn submit_parts(
        self: &Arc<Self>,
        root: &WorkGuard,
        mpu: &Arc<MultipartUpload>,
        file: Arc<File>,
        path: Arc<Path>,
        size: u64,
        part_size: u64,
        skip: &std::collections::BTreeSet<u32>,
    ) -> Result<(), TransferError> {
        let parts = size.div_ceil(part_size) as u32;
        for index in 0..parts {
            if !self.ctx.coordinator.accepts_work() {
                break;
            }
            if skip.contains(&(index + 1)) {
                continue;
            }
            let offset = index as u64 * part_size;
            let len = part_size.min(size - offset) as usize;
            let (upload, mpu, file, path) = (self.clone(), mpu.clone(), file.clone(), path.clone());
            self.ctx
                .submit(root, move |_| match read_at(&file, offset, len) {
                    Ok(data) => upload.upload_part(&mpu, index + 1, Bytes::from(data)),
                    Err(e) => upload.read_failed(&path, e),
                })?;
        }
        Ok(())
    }

    fn plan_stream(
        self: &Arc<Self>,
        root: &WorkGuard,
        multipart: &Mutex<Option<Arc<MultipartUpload>>>,
        mut reader: Box<dyn Read + Send>,
    ) -> Result<(), TransferError> {
        let threshold = self.threshold();
        let size_hint = self.ctx.coordinator.meta.size();
        let read_err = |e| TransferError::io("reading", None, e);
        // Probe: read until `threshold` bytes or the end. Fewer means one PutObject.
        let probe_len = match size_hint {
            Some(size) if size < threshold => size as usize + 1,
            _ => threshold as usize,
        };
        let probe = read_full(&mut *reader, probe_len).map_err(read_err)?;
        if (probe.len() as u64) < threshold {
            return self.put_whole_stream(root, probe, size_hint);
        }
        let part_size = adjust_part_size(self.ctx.engine.config.multipart_chunksize, size_hint);
        let mpu = self.create_multipart(multipart)?;
        let mut pending = Bytes::from(probe);
        let mut part_number = 0u32;
        let mut total = 0u64;
        let abandon = || self.ctx.coordinator.is_stopped();
        loop {
            // A free permit is granted without looking at `abandon`: a stopped
            // transfer must stop reading here, not only when permits run out.
            if self.ctx.coordinator.is_stopped() {
                break;
            }
            // The permit comes before the read, so at most `max_in_memory_upload_chunks`
            // parts are ever buffered (plus the probe). It travels with the part's job
            // and returns when that job ends or is dropped unrun.
            let Some(permit) = self.ctx.engine.upload_chunks.acquire(&abandon) else {
                break;
            };
            let data = if pending.len() as u64 >= part_size {
                pending.split_to(part_size as usize)
            } else {
                let mut buf = pending.to_vec();
                pending = Bytes::new();
                let more = read_full(&mut *reader, part_size as usize - buf.len());
                buf.extend_from_slice(&more.map_err(read_err)?);
                Bytes::from(buf)
            };
            if data.is_empty() && part_number > 0 {
                break;
            }
            part_number += 1;
            if part_number as u64 > MAX_PARTS {
                return Err(TransferError::InvalidArgument(format!(
                    "the stream is longer than {MAX_PARTS} parts of {part_size} bytes; \
                     give its size with provide_transfer_size or raise multipart_chunksize"
                )));
            }
            let last = (data.len() as u64) < part_size;
            total += data.len() as u64;
            let (upload, mpu) = (self.clone(), mpu.clone());
            self.ctx.submit(root, move |_| {
                let _permit = permit;
                upload.upload_part(&mpu, part_number, data);
            })?;
            if last {
                break;
            }
        }
        if let Some(size) = size_hint
            && !self.ctx.coordinator.is_stopped()
            && total != size
        {
            return Err(TransferError::InvalidArgument(format!(
                "the stream held {total} bytes but its size was given as {size}"
            )));
        }
        self.ctx.coordinator.meta.provide_transfer_size(total);
        mpu.set_expected(part_number, total);
        Ok(())
    }

    /// The stream ended below the threshold: one PutObject of what was read.
    fn put_whole_stream(
        self: &Arc<Self>,
        root: &WorkGuard,
        data: Vec<u8>,
        size_hint: Option<u64>,
    ) -> Result<(), TransferError> {
        let len = data.len() as u64;
        if let Some(size) = size_hint
            && len != size
        {
            return Err(TransferError::InvalidArgument(format!(
                "the stream held {len} bytes but its size was given as {size}"
            )));
        }
        self.ctx.coordinator.meta.provide_transfer_size(len);
        let (upload, data) = (self.clone(), Bytes::from(data));
        self.ctx.submit(root, move |_| upload.put_object(data))
    }

    fn read_failed(&self, path: &Path, error: std::io::Error) {
        self.ctx
            .coordinator
            .fail(TransferError::io("reading", Some(path), error));
    }
}
