//! Uploads: one PutObject below the threshold, a multipart upload above it, from a
//! file (parts read in parallel with positional reads), a seekable reader, or a
//! stream of unknown length (parts read in order, memory bounded).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::args::UploadArgs;
use crate::checksum::{Checksum, ChecksumWhen, Validation, checksum};
use crate::client::{
    AbortMultipartUploadRequest, ChecksumAlgorithm, Checksums, CompleteMultipartUploadOutput,
    CompleteMultipartUploadRequest, CompletedPart, CreateMultipartUploadRequest, HeadObjectRequest,
    PutObjectRequest, RequestBody, S3Error, S3ErrorKind, UploadPartRequest,
};
use crate::config::{MAX_PART_SIZE, MAX_PARTS, adjust_part_size};
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::runtime::coordinator::{Coordinator, WorkGroup, WorkGuard, run_job};
use crate::transfer::engine::{Engine, TransferObserver};

/// A reader that can also seek: a file handle, a `Cursor`, ...
pub trait SeekRead: Read + Seek + Send {}
impl<T: Read + Seek + Send> SeekRead for T {}

/// What an upload reads from.
pub enum UploadSource {
    /// A file by path. Its parts are read in parallel with positional reads; a FIFO or
    /// other special file is read as a stream.
    Path(PathBuf),
    /// A seekable reader, read from its current position to its end. Parts are read in
    /// order on a planning thread and buffered (at most `max_in_memory_upload_chunks`).
    Seekable(Box<dyn SeekRead>),
    /// A reader of unknown length (a pipe, a socket, stdin). Read in order, memory
    /// bounded like `Seekable`. Short reads are fine: each part is read until full.
    Stream(Box<dyn Read + Send>),
}

impl UploadSource {
    /// A file.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        UploadSource::Path(path.into())
    }

    /// A seekable reader, from its current position.
    pub fn seekable(reader: impl Read + Seek + Send + 'static) -> Self {
        UploadSource::Seekable(Box::new(reader))
    }

    /// A non-seekable reader.
    pub fn stream(reader: impl Read + Send + 'static) -> Self {
        UploadSource::Stream(Box::new(reader))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            UploadSource::Path(p) => format!("path {}", p.display()),
            UploadSource::Seekable(_) => "seekable reader".into(),
            UploadSource::Stream(_) => "stream".into(),
        }
    }
}

impl fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<PathBuf> for UploadSource {
    fn from(path: PathBuf) -> Self {
        UploadSource::Path(path)
    }
}

impl From<&Path> for UploadSource {
    fn from(path: &Path) -> Self {
        UploadSource::Path(path.to_path_buf())
    }
}

impl From<&str> for UploadSource {
    fn from(path: &str) -> Self {
        UploadSource::Path(PathBuf::from(path))
    }
}

/// One upload's fixed facts, shared by its jobs.
pub(crate) struct Upload {
    pub(crate) engine: Arc<Engine>,
    pub(crate) coordinator: Arc<Coordinator>,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) args: UploadArgs,
}

/// A multipart upload in progress.
struct Multipart {
    upload_id: String,
    /// Parts finished so far, by number. Only the job finishing a part writes here.
    parts: Mutex<BTreeMap<u32, CompletedPart>>,
    /// How many parts were submitted; known once planning ends.
    expected_parts: Mutex<u32>,
    total_bytes: Mutex<u64>,
    /// The CRC of each part, by number, when the whole-object CRC is combined from them.
    part_crcs: Mutex<BTreeMap<u32, Checksum>>,
}

/// What an upload does about checksums, decided once from the backend, the config and
/// the caller's arguments.
#[derive(Clone, Copy, Debug)]
struct ChecksumPlan {
    /// The algorithm every body (PutObject, each part) is checksummed with.
    algorithm: ChecksumAlgorithm,
    /// Whether Complete carries a FULL_OBJECT value combined from the part CRCs.
    combine_full_object: bool,
}

/// Run on a submission thread: plan the upload and submit its jobs.
pub(crate) fn submit(upload: Arc<Upload>, source: UploadSource) {
    let multipart: Arc<Mutex<Option<Arc<Multipart>>>> = Arc::new(Mutex::new(None));
    let root = {
        let upload = upload.clone();
        let multipart = multipart.clone();
        WorkGroup::start(move || {
            let mpu = multipart.lock().take();
            if let Some(mpu) = mpu {
                upload.complete(&mpu);
            }
            upload.coordinator.announce_done();
        })
    };
    if upload.coordinator.start().is_err() {
        return;
    }
    let planned = match source {
        UploadSource::Path(path) => upload.plan_file(&root, &multipart, &path),
        UploadSource::Seekable(mut reader) => match seekable_remaining(&mut *reader) {
            Ok(size) => {
                upload.coordinator.meta.provide_transfer_size(size);
                upload.plan_stream(&root, &multipart, Box::new(reader))
            }
            Err(e) => Err(TransferError::io("measuring", None, e)),
        },
        UploadSource::Stream(reader) => upload.plan_stream(&root, &multipart, reader),
    };
    if let Err(e) = planned {
        upload.coordinator.fail(e);
    }
    drop(root);
}

fn seekable_remaining(reader: &mut dyn SeekRead) -> io::Result<u64> {
    let here = reader.stream_position()?;
    let end = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(here))?;
    Ok(end.saturating_sub(here))
}

/// Read until `buf` holds `want` bytes or the reader ends; short reads are not the end.
fn read_full(reader: &mut dyn Read, want: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    let mut taken = (&mut *reader).take(want as u64);
    loop {
        match taken.read_to_end(&mut buf) {
            Ok(_) => return Ok(buf),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Read `len` bytes of `file` at `offset` into a new buffer. On Unix the buffer is
/// not zeroed first: `pread` fills it straight from the page cache (zeroing 8 MiB parts
/// was a tenth of a file upload's CPU).
fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let (at, want) = (offset + buf.len() as u64, len - buf.len());
        match read_at_into(file, at, &mut buf.spare_capacity_mut()[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "file shrank while being uploaded (expected {len} bytes at offset {offset})"
                    ),
                ));
            }
            // SAFETY: `read_at_into` initialised the first `n` bytes of the spare
            // capacity.
            Ok(n) => unsafe { buf.set_len(buf.len() + n) },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// One positional read into `dest`; returns how many of its first bytes it filled.
#[cfg(unix)]
fn read_at_into(
    file: &File,
    offset: u64,
    dest: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // The 64-bit offset variant where 32-bit targets have a 32-bit `off_t`, as std uses.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    use libc::{off_t, pread};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    use libc::{off64_t as off_t, pread64 as pread};
    // macOS refuses a read above `i32::MAX` bytes (std caps its reads the same way); a
    // short read is fine, the caller loops.
    const MAX_READ: usize = i32::MAX as usize - 1;
    let len = dest.len().min(MAX_READ);
    let offset = off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond off_t"))?;
    // SAFETY: `pread` writes at most `len <= dest.len()` bytes into `dest`, which is valid
    // for writes of that many bytes; the file descriptor is borrowed from a live `File`.
    let n = unsafe { pread(file.as_raw_fd(), dest.as_mut_ptr().cast(), len, offset) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// One positional read into `dest` (zeroed first: the portable API takes `&mut [u8]`).
#[cfg(not(unix))]
fn read_at_into(
    file: &File,
    offset: u64,
    dest: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    dest.fill(std::mem::MaybeUninit::new(0));
    // SAFETY: every byte of `dest` was just initialised.
    let dest = unsafe { &mut *(dest as *mut [std::mem::MaybeUninit<u8>] as *mut [u8]) };
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, dest, offset);
    #[cfg(not(windows))]
    return Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no positional reads",
    ));
}

impl Upload {
    /// The threshold, capped at S3's largest single PUT.
    fn threshold(&self) -> u64 {
        self.engine.config.multipart_threshold.min(MAX_PART_SIZE)
    }

    fn s3_failed(&self, source: S3Error, upload_id: Option<&str>) -> TransferError {
        TransferError::S3UploadFailed {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: upload_id.map(str::to_owned),
            source,
        }
    }

    /// Checksums are computed only for a backend that can send them (otherwise the
    /// caller's arguments pass as before, and a backend that cannot send them refuses
    /// them); then with the caller's algorithm, or the configured one unless
    /// `request_checksum_calculation` is `WhenRequired`.
    fn checksum_plan(&self) -> Option<ChecksumPlan> {
        if !self.engine.client.supports_checksums() {
            return None;
        }
        let config = &self.engine.config;
        let algorithm = self.args.multipart_checksum_algorithm().or(
            match config.request_checksum_calculation {
                ChecksumWhen::WhenSupported => Some(config.checksum_algorithm),
                ChecksumWhen::WhenRequired => None,
            },
        )?;
        let composite = self.args.checksum_type.as_deref() == Some("COMPOSITE");
        Some(ChecksumPlan {
            algorithm,
            // A value the caller gave is theirs to vouch for: it is sent instead.
            combine_full_object: algorithm.is_crc()
                && !composite
                && self.args.full_object_checksums.is_empty(),
        })
    }

    fn observer(&self, operation: &'static str, body_len: usize) -> Arc<TransferObserver> {
        Arc::new(TransferObserver::new(
            &self.engine,
            &self.coordinator,
            operation,
            body_len as u64,
        ))
    }

    fn plan_file(
        self: &Arc<Self>,
        root: &WorkGuard,
        multipart: &Mutex<Option<Arc<Multipart>>>,
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
        self.coordinator.meta.provide_transfer_size(size);
        let file = Arc::new(file);
        let path: Arc<Path> = Arc::from(path);
        if size < self.threshold() {
            let (upload, guard) = (self.clone(), root.hold());
            return self.engine.request.submit(Box::new(move || {
                let coordinator = upload.coordinator.clone();
                run_job(&coordinator, guard, |_| {
                    match read_at(&file, 0, size as usize) {
                        Ok(data) => upload.put_object(Bytes::from(data)),
                        Err(e) => coordinator.fail(TransferError::io("reading", Some(&path), e)),
                    }
                })
            }));
        }
        let part_size = adjust_part_size(self.engine.config.multipart_chunksize, Some(size));
        let mpu = self.create_multipart(multipart)?;
        let parts = size.div_ceil(part_size) as u32;
        *mpu.expected_parts.lock() = parts;
        *mpu.total_bytes.lock() = size;
        for index in 0..parts {
            if self.coordinator.is_stopped() {
                break;
            }
            let offset = index as u64 * part_size;
            let len = part_size.min(size - offset) as usize;
            let (upload, mpu, file, path, guard) = (
                self.clone(),
                mpu.clone(),
                file.clone(),
                path.clone(),
                root.hold(),
            );
            self.engine.request.submit(Box::new(move || {
                let coordinator = upload.coordinator.clone();
                run_job(&coordinator, guard, |_| match read_at(&file, offset, len) {
                    Ok(data) => upload.upload_part(&mpu, index + 1, Bytes::from(data)),
                    Err(e) => coordinator.fail(TransferError::io("reading", Some(&path), e)),
                })
            }))?;
        }
        Ok(())
    }

    fn plan_stream(
        self: &Arc<Self>,
        root: &WorkGuard,
        multipart: &Mutex<Option<Arc<Multipart>>>,
        mut reader: Box<dyn Read + Send>,
    ) -> Result<(), TransferError> {
        let threshold = self.threshold();
        let size_hint = self.coordinator.meta.size();
        let read_err = |e| TransferError::io("reading", None, e);
        // Probe: read until `threshold` bytes or the end. Fewer means one PutObject.
        let probe_len = match size_hint {
            Some(size) if size < threshold => size as usize + 1,
            _ => threshold as usize,
        };
        let probe = read_full(&mut *reader, probe_len).map_err(read_err)?;
        if (probe.len() as u64) < threshold {
            if let Some(size) = size_hint
                && probe.len() as u64 != size
            {
                return Err(TransferError::InvalidArgument(format!(
                    "the stream held {} bytes but its size was given as {size}",
                    probe.len()
                )));
            }
            self.coordinator
                .meta
                .provide_transfer_size(probe.len() as u64);
            let (upload, guard) = (self.clone(), root.hold());
            let data = Bytes::from(probe);
            return self.engine.request.submit(Box::new(move || {
                let coordinator = upload.coordinator.clone();
                run_job(&coordinator, guard, |_| upload.put_object(data));
            }));
        }
        let part_size = adjust_part_size(self.engine.config.multipart_chunksize, size_hint);
        let mpu = self.create_multipart(multipart)?;
        let mut pending = Bytes::from(probe);
        let mut part_number = 0u32;
        let mut total = 0u64;
        let abandon = || self.coordinator.is_stopped();
        loop {
            // A free permit is granted without looking at `abandon`: a stopped
            // transfer must stop reading here, not only when permits run out.
            if self.coordinator.is_stopped() {
                break;
            }
            // The permit comes before the read, so at most `max_in_memory_upload_chunks`
            // parts are ever buffered (plus the probe). It travels with the part's job
            // and returns when that job ends or is dropped unrun.
            let Some(permit) = self.engine.upload_chunks.acquire(&abandon) else {
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
            let (upload, mpu2, guard) = (self.clone(), mpu.clone(), root.hold());
            self.engine.request.submit(Box::new(move || {
                let _permit = permit;
                let coordinator = upload.coordinator.clone();
                run_job(&coordinator, guard, |_| {
                    upload.upload_part(&mpu2, part_number, data)
                });
            }))?;
            if last {
                break;
            }
        }
        if let Some(size) = size_hint
            && !self.coordinator.is_stopped()
            && total != size
        {
            return Err(TransferError::InvalidArgument(format!(
                "the stream held {total} bytes but its size was given as {size}"
            )));
        }
        self.coordinator.meta.provide_transfer_size(total);
        *mpu.expected_parts.lock() = part_number;
        *mpu.total_bytes.lock() = total;
        Ok(())
    }

    fn put_object(&self, data: Bytes) {
        let size = data.len() as u64;
        let request = PutObjectRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            attributes: self.args.attributes.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_algorithm: self.args.checksum_algorithm,
            // A full-object value is the whole object's checksum: on a single PUT it
            // is simply the body's.
            checksums: self.args.checksum_values(),
            ..Default::default()
        };
        let mut validated = Validation::Nothing;
        let mut request = request;
        if let Some(plan) = self.checksum_plan() {
            if request.checksums.values().is_empty() {
                // Hashed once, before the first attempt: a retry resends the same bytes.
                request
                    .checksums
                    .set(plan.algorithm, checksum(plan.algorithm, &data).to_base64());
            }
            let sent = request.checksums.values()[0].0;
            request.checksum_algorithm = Some(request.checksum_algorithm.unwrap_or(sent));
            validated = Validation::WholeObject(sent);
        }
        let body_len = data.len();
        let mut body = RequestBody::new(data).with_observer(self.observer("PutObject", body_len));
        let sent = self.engine.call(
            &self.coordinator,
            |attempt| {
                if attempt > 1 {
                    body.rewind();
                }
                self.engine.client.put_object(&request, &mut body)
            },
            |e| self.s3_failed(e, None),
        );
        match sent {
            Ok(out) => self.coordinator.succeed(TransferOutput {
                bytes: size,
                etag: out.etag,
                version_id: out.version_id,
                parts: 1,
                validated,
                ..Default::default()
            }),
            Err(e) => self.coordinator.fail(e),
        }
    }

    fn create_multipart(
        &self,
        slot: &Mutex<Option<Arc<Multipart>>>,
    ) -> Result<Arc<Multipart>, TransferError> {
        let request = CreateMultipartUploadRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            attributes: self.args.attributes.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_algorithm: self.args.multipart_checksum_algorithm(),
            checksum_type: self.args.multipart_checksum_type(),
        };
        let mut request = request;
        if let Some(plan) = self.checksum_plan() {
            request.checksum_algorithm = Some(plan.algorithm);
            if plan.combine_full_object {
                // Announced here so Complete may carry the whole object's CRC.
                request.checksum_type = Some("FULL_OBJECT".to_owned());
            }
        }
        let out = self.engine.call(
            &self.coordinator,
            |_| self.engine.client.create_multipart_upload(&request),
            |e| self.s3_failed(e, None),
        )?;
        let upload_id = out.upload_id;
        // Registered before any part is sent: whatever fails from here on, the upload
        // is aborted so no parts are left billed and invisible.
        let abort = AbortMultipartUploadRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: upload_id.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        crate::transfer::engine::abort_on_failure(&self.engine, &self.coordinator, abort);
        let mpu = Arc::new(Multipart {
            upload_id,
            parts: Mutex::new(BTreeMap::new()),
            expected_parts: Mutex::new(0),
            total_bytes: Mutex::new(0),
            part_crcs: Mutex::new(BTreeMap::new()),
        });
        *slot.lock() = Some(mpu.clone());
        Ok(mpu)
    }

    fn upload_part(&self, mpu: &Multipart, part_number: u32, data: Bytes) {
        let request = UploadPartRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: mpu.upload_id.clone(),
            part_number,
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            // Each part carries the algorithm the upload was created with; the values
            // come back in the response and go into Complete's part list.
            checksum_algorithm: self.args.multipart_checksum_algorithm(),
            ..Default::default()
        };
        let mut request = request;
        if let Some(plan) = self.checksum_plan() {
            // One pass over the part, before the first attempt; its CRC is kept for the
            // whole-object value, so the object is never read a second time.
            let sum = checksum(plan.algorithm, &data);
            request.checksum_algorithm = Some(plan.algorithm);
            request.checksums.set(plan.algorithm, sum.to_base64());
            if plan.combine_full_object {
                mpu.part_crcs.lock().insert(part_number, sum);
            }
        }
        let sent_checksums = request.checksums.clone();
        let body_len = data.len();
        let mut body = RequestBody::new(data).with_observer(self.observer("UploadPart", body_len));
        let sent = self.engine.call(
            &self.coordinator,
            |attempt| {
                if attempt > 1 {
                    body.rewind();
                }
                self.engine.client.upload_part(&request, &mut body)
            },
            |e| self.s3_failed(e, Some(&mpu.upload_id)),
        );
        match sent {
            Ok(out) => match out.etag {
                Some(etag) => {
                    let mut part = CompletedPart::new(part_number, etag);
                    // Complete lists each part's checksum: the store's answer, or what
                    // was sent when the answer left it out.
                    part.checksums = if out.checksums.is_empty() {
                        sent_checksums
                    } else {
                        out.checksums
                    };
                    mpu.parts.lock().insert(part_number, part);
                }
                None => self.coordinator.fail(self.s3_failed(
                    S3Error::new(
                        crate::client::S3ErrorKind::Other,
                        "UploadPart",
                        format!("part {part_number} came back without an ETag"),
                    ),
                    Some(&mpu.upload_id),
                )),
            },
            Err(e) => self.coordinator.fail(e),
        }
    }

    /// Runs after the last part: complete the upload, unless anything failed (then the
    /// abort cleanup runs when the transfer is announced done).
    /// The object as a completed upload of ours would be: `parts` parts (its ETag ends
    /// in `-parts`) and `total` bytes. Anything else, or no object, is `None`.
    fn completed_already(&self, total: u64, parts: u32) -> Option<CompleteMultipartUploadOutput> {
        let head = HeadObjectRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            ..Default::default()
        };
        let found = self.engine.client.head_object(&head).ok()?;
        let etag = found.etag?;
        let suffix = etag
            .trim_matches('"')
            .rsplit_once('-')?
            .1
            .parse::<u32>()
            .ok()?;
        (suffix == parts && found.content_length == total).then(|| CompleteMultipartUploadOutput {
            etag: Some(etag),
            version_id: found.version_id,
            ..Default::default()
        })
    }

    fn complete(&self, mpu: &Multipart) {
        if self.coordinator.is_stopped() {
            return;
        }
        let parts: Vec<CompletedPart> = mpu.parts.lock().values().cloned().collect();
        let expected = *mpu.expected_parts.lock();
        if parts.len() as u32 != expected || parts.is_empty() {
            self.coordinator.fail(TransferError::Internal(format!(
                "{} of {expected} parts finished before completing the upload",
                parts.len()
            )));
            return;
        }
        let request = CompleteMultipartUploadRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: mpu.upload_id.clone(),
            parts,
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksums: Checksums {
                checksum_type: self.args.checksum_type.clone().or_else(|| {
                    // Announced on Create: Complete must name the same type.
                    (!self.args.full_object_checksums.is_empty()).then(|| "FULL_OBJECT".to_owned())
                }),
                ..self.args.checksum_values()
            },
            mpu_object_size: self.args.mpu_object_size,
        };
        let mut request = request;
        let mut validated = Validation::Nothing;
        if let Some(plan) = self.checksum_plan() {
            validated = Validation::PerPart(plan.algorithm);
            if plan.combine_full_object {
                let crcs = mpu.part_crcs.lock().clone();
                let mut sums = crcs.values();
                let whole = sums
                    .next()
                    .and_then(|first| sums.try_fold(first.clone(), |acc, s| acc.combine(s)));
                match whole {
                    Some(whole) if crcs.len() as u32 == expected => {
                        request.checksums.set(plan.algorithm, whole.to_base64());
                        request.checksums.checksum_type = Some("FULL_OBJECT".to_owned());
                        validated = Validation::WholeObject(plan.algorithm);
                    }
                    _ => {
                        self.coordinator.fail(TransferError::Internal(format!(
                            "{} of {expected} part checksums known before completing",
                            crcs.len()
                        )));
                        return;
                    }
                }
            } else if let Some((algorithm, _)) = request.checksums.values().first() {
                // The caller's own full-object value: the store checks it against the
                // whole object.
                validated = Validation::WholeObject(*algorithm);
            }
        }
        let total = *mpu.total_bytes.lock();
        let completed = self.engine.call(
            &self.coordinator,
            |attempt| match self.engine.client.complete_multipart_upload(&request) {
                // The answer to an earlier attempt was lost after the store completed
                // the upload: the retry finds no upload any more. The object says
                // whether it was ours.
                Err(e) if attempt > 1 && e.kind() == S3ErrorKind::NotFound => {
                    self.completed_already(total, expected).ok_or(e)
                }
                other => other,
            },
            |e| self.s3_failed(e, Some(&mpu.upload_id)),
        );
        match completed {
            Ok(out) => self.coordinator.succeed(TransferOutput {
                bytes: *mpu.total_bytes.lock(),
                etag: out.etag,
                version_id: out.version_id,
                parts: expected,
                validated,
                ..Default::default()
            }),
            Err(e) => self.coordinator.fail(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // At most 3 bytes per call, like a slow socket.
            let n = buf.len().min(3).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn read_full_is_not_fooled_by_short_reads() {
        let mut r = Trickle((0..100).collect(), 0);
        assert_eq!(read_full(&mut r, 8).unwrap(), (0..8).collect::<Vec<u8>>());
        assert_eq!(read_full(&mut r, 1000).unwrap().len(), 92);
        assert!(read_full(&mut r, 10).unwrap().is_empty());
    }
}
