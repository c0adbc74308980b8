//! Downloads: the first ranged GET learns the size and ETag (no HeadObject), the rest
//! of the ranges run in parallel pinned to that ETag with If-Match. The request threads
//! write a file (under a temporary name, renamed on success) at their offsets
//! themselves; the single io thread writes a seekable writer (positional writes) or a
//! stream (reordered into sequence).
//!
//! With checksum validation a HeadObject comes first for the stored checksum; an object
//! whose checksum is composite (`-N`) is then fetched by part number instead of by
//! range, so that each part can be checked against its own stored checksum.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::args::DownloadArgs;
use crate::checksum::{Checksum, ChecksumWhen, Checksummer, Validation};
use crate::client::{
    ByteRange, ChecksumAlgorithm, Checksums, GetObjectOutput, GetObjectRequest, HeadObjectRequest,
    S3Error, S3ErrorKind,
};
use crate::config::download_part_size;
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::runtime::bandwidth::ChunkLimiter;
use crate::runtime::coordinator::{Coordinator, WorkGroup, WorkGuard, run_job};
use crate::runtime::permits::SlidingWindow;
use crate::transfer::engine::Engine;

/// A writer that can also seek: a file handle, a `Cursor<Vec<u8>>`, ...
pub trait SeekWrite: Write + Seek + Send {}
impl<T: Write + Seek + Send> SeekWrite for T {}

/// Where a download writes.
pub enum DownloadTarget {
    /// A file by path. Written under a temporary name in the same directory and renamed
    /// over the path only when every byte arrived; removed on failure. A FIFO or
    /// character device is written in order, like a stream.
    Path(PathBuf),
    /// A seekable writer. Bytes go to their offset from the writer's position when the
    /// download starts; the writer is never truncated or closed.
    Seekable(Box<dyn SeekWrite>),
    /// A non-seekable writer (a pipe, stdout). Parts are put back in order, holding at
    /// most `max_in_memory_download_chunks` out of sequence.
    Stream(Box<dyn Write + Send>),
}

impl DownloadTarget {
    /// A file.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        DownloadTarget::Path(path.into())
    }

    /// A seekable writer.
    pub fn seekable(writer: impl Write + Seek + Send + 'static) -> Self {
        DownloadTarget::Seekable(Box::new(writer))
    }

    /// A non-seekable writer.
    pub fn stream(writer: impl Write + Send + 'static) -> Self {
        DownloadTarget::Stream(Box::new(writer))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            DownloadTarget::Path(p) => format!("path {}", p.display()),
            DownloadTarget::Seekable(_) => "seekable writer".into(),
            DownloadTarget::Stream(_) => "stream".into(),
        }
    }
}

impl fmt::Debug for DownloadTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<PathBuf> for DownloadTarget {
    fn from(path: PathBuf) -> Self {
        DownloadTarget::Path(path)
    }
}

impl From<&Path> for DownloadTarget {
    fn from(path: &Path) -> Self {
        DownloadTarget::Path(path.to_path_buf())
    }
}

impl From<&str> for DownloadTarget {
    fn from(path: &str) -> Self {
        DownloadTarget::Path(PathBuf::from(path))
    }
}

/// The open output. Only the io thread writes through it (and the finalizer, after
/// every write); a file's bytes go through [`Download::direct`] instead.
enum Output {
    File {
        file: Arc<File>,
        temp: PathBuf,
        dest: PathBuf,
    },
    Seekable {
        writer: Box<dyn SeekWrite>,
        base: u64,
    },
    Stream {
        writer: Box<dyn Write + Send>,
        /// Bytes written so far: the offset the next write must start at.
        next: u64,
        /// Chunks that arrived ahead of `next`, by offset.
        pending: BTreeMap<u64, Vec<u8>>,
    },
}

impl Output {
    fn write_at(&mut self, offset: u64, data: Vec<u8>) -> io::Result<()> {
        match self {
            Output::File { file, .. } => write_all_at(file, offset, &data),
            Output::Seekable { writer, base } => {
                writer.seek(SeekFrom::Start(*base + offset))?;
                writer.write_all(&data)
            }
            Output::Stream {
                writer,
                next,
                pending,
            } => {
                if offset != *next {
                    // Resumed GETs start exactly where the last byte landed, so an
                    // offset behind `next` would be a duplicate: never write it twice.
                    if offset > *next {
                        pending.insert(offset, data);
                    }
                    return Ok(());
                }
                writer.write_all(&data)?;
                *next += data.len() as u64;
                while let Some(chunk) = pending.remove(next) {
                    writer.write_all(&chunk)?;
                    *next += chunk.len() as u64;
                }
                Ok(())
            }
        }
    }
}

fn write_all_at(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, data, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < data.len() {
            done += std::os::windows::fs::FileExt::seek_write(
                file,
                &data[done..],
                offset + done as u64,
            )?;
        }
        Ok(())
    }
}

/// A name beside `dest` that no other download picks: `.<name>.<16 hex>.s3tmp`.
fn temp_path(dest: &Path) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    // Keep the whole name under 255 bytes, the usual file-name limit.
    let name: String = name.chars().take(200).collect();
    dest.with_file_name(format!(".{name}.{:016x}.s3tmp", h.finish()))
}

/// One download's facts and shared state.
pub(crate) struct Download {
    pub(crate) engine: Arc<Engine>,
    pub(crate) coordinator: Arc<Coordinator>,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) args: DownloadArgs,
    output: Mutex<Option<Output>>,
    /// The temporary file of a path output, set once it is open: request threads write
    /// their bytes into it at their offsets themselves. Positional writes need neither
    /// order nor the `output` lock, and this skips a copy and a hand-off to the io
    /// thread per chunk (about a tenth of a download's CPU).
    /// Taken (closed) before the rename.
    direct: Mutex<Option<(Arc<File>, Arc<Path>)>>,
    /// The ETag every response must carry: given by the caller, or the first seen.
    etag: Mutex<Option<String>>,
    /// The object size, once known.
    size: AtomicU64,
    /// Bytes delivered to the output so far (for the final length check).
    written: AtomicU64,
    parts: AtomicU64,
    version_id: Mutex<Option<String>>,
    /// Set for stream outputs: bounds how far ahead of the writer parts may run.
    window: Option<SlidingWindow>,
    /// The stored checksum the bytes must match, when validating: set by the HeadObject
    /// before any GET, read by each GET.
    expected: Mutex<Option<Stored>>,
    /// The checksum of each range received, by its first byte (whole-object checks).
    range_sums: Mutex<BTreeMap<u64, Checksum>>,
    /// Each part fetched by number and already checked, by part number (per-part checks).
    part_sums: Mutex<BTreeMap<u32, CheckedPart>>,
    /// Set when part 1 came back without a part checksum: the store keeps none, so
    /// the parts are placed and counted but not checked.
    parts_unchecked: AtomicBool,
}

/// The stored checksum a download checks its bytes against.
#[derive(Clone, Debug)]
enum Stored {
    /// Of the whole object: the ranges' CRCs (or a single range's digest) give it.
    Whole {
        algorithm: ChecksumAlgorithm,
        value: String,
    },
    /// A composite `<checksum of the part checksums>-<parts>` value, which no checksum
    /// of the bytes can give: the object is fetched part by part (`partNumber` GETs),
    /// each part checked against the checksum its response carries, and those part
    /// checksums against `value`.
    Composite {
        algorithm: ChecksumAlgorithm,
        value: String,
        parts: u32,
    },
}

impl Stored {
    fn algorithm(&self) -> ChecksumAlgorithm {
        match self {
            Stored::Whole { algorithm, .. } | Stored::Composite { algorithm, .. } => *algorithm,
        }
    }
}

/// A part whose bytes matched its stored checksum.
#[derive(Debug)]
struct CheckedPart {
    start: u64,
    len: u64,
    /// The part's stored checksum (base64), for the composite check; `None` where the
    /// store keeps no part checksums.
    stored: Option<String>,
}

/// What one GET job fetches.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// Bytes `start..=end`, or to the end of the object.
    Range { start: u64, end: Option<u64> },
    /// Part `number` of a multipart object with a composite checksum of `of` parts.
    Part { number: u32, of: u32 },
}

/// A part GET's facts, learned from its first response: a resumed GET names the bytes
/// still missing with a Range, and such a response carries no part checksum.
#[derive(Debug)]
struct PartFetch {
    number: u32,
    of: u32,
    algorithm: ChecksumAlgorithm,
    /// First and last byte of the part in the object, from Content-Range.
    span: Option<(u64, u64)>,
    /// The part's stored checksum, from the first response.
    stored: Option<String>,
}

const UNKNOWN: u64 = u64::MAX;

/// Run on a submission thread: open the output, then plan the GETs.
pub(crate) fn submit(
    engine: Arc<Engine>,
    coordinator: Arc<Coordinator>,
    bucket: String,
    key: String,
    args: DownloadArgs,
    target: DownloadTarget,
) {
    // Every output written in order gets the window: streams, and paths that turn out
    // to be a FIFO or a device.
    let windowed = match &target {
        DownloadTarget::Path(path) => is_special_file(path),
        DownloadTarget::Seekable(_) => false,
        DownloadTarget::Stream(_) => true,
    };
    let download = Arc::new(Download {
        window: windowed.then(|| SlidingWindow::new(engine.config.max_in_memory_download_chunks)),
        engine,
        coordinator,
        bucket,
        key,
        args,
        output: Mutex::new(None),
        direct: Mutex::new(None),
        etag: Mutex::new(None),
        size: AtomicU64::new(UNKNOWN),
        written: AtomicU64::new(0),
        parts: AtomicU64::new(0),
        version_id: Mutex::new(None),
        expected: Mutex::new(None),
        range_sums: Mutex::new(BTreeMap::new()),
        part_sums: Mutex::new(BTreeMap::new()),
        parts_unchecked: AtomicBool::new(false),
    });
    let root = {
        let download = download.clone();
        WorkGroup::start(move || {
            download.finish();
            download.coordinator.announce_done();
        })
    };
    if download.coordinator.start().is_err() {
        return;
    }
    if let Err(e) = download.open(target) {
        download.coordinator.fail(e);
        return;
    }
    if let Some(etag) = download.coordinator.meta.etag() {
        *download.etag.lock() = Some(etag);
    }
    let planned = if download.validating() {
        // The HeadObject for the stored checksum runs in the first GET's job.
        download.submit_first_get(&root)
    } else {
        match download.coordinator.meta.size() {
            Some(size) => {
                download.size.store(size, Ordering::Release);
                download.plan(&root, 0, size)
            }
            None => download.submit_first_get(&root),
        }
    };
    if let Err(e) = planned {
        download.coordinator.fail(e);
    }
    drop(root);
}

impl Download {
    fn open(self: &Arc<Self>, target: DownloadTarget) -> Result<(), TransferError> {
        let output = match target {
            DownloadTarget::Path(dest) => {
                if is_special_file(&dest) {
                    let file = File::options()
                        .write(true)
                        .open(&dest)
                        .map_err(|e| TransferError::io("opening", Some(&dest), e))?;
                    Output::Stream {
                        writer: Box::new(file),
                        next: 0,
                        pending: BTreeMap::new(),
                    }
                } else {
                    let temp = temp_path(&dest);
                    let file = File::options()
                        .write(true)
                        .create_new(true)
                        .open(&temp)
                        .map_err(|e| TransferError::io("creating", Some(&temp), e))?;
                    let cleanup_path = temp.clone();
                    // Runs only if the download fails or is cancelled, after every write.
                    self.coordinator.add_cleanup(move || {
                        let _ = std::fs::remove_file(&cleanup_path);
                    });
                    let file = Arc::new(file);
                    *self.direct.lock() = Some((file.clone(), Arc::from(temp.as_path())));
                    Output::File { file, temp, dest }
                }
            }
            DownloadTarget::Seekable(mut writer) => {
                let base = writer
                    .stream_position()
                    .map_err(|e| TransferError::io("seeking", None, e))?;
                Output::Seekable { writer, base }
            }
            DownloadTarget::Stream(writer) => Output::Stream {
                writer,
                next: 0,
                pending: BTreeMap::new(),
            },
        };
        *self.output.lock() = Some(output);
        Ok(())
    }

    /// Whether this download asks for the stored checksum and checks the bytes against
    /// it: only with a backend that returns checksums.
    fn validating(&self) -> bool {
        self.engine.client.supports_checksums()
            && (self.args.checksum_mode
                || self.engine.config.response_checksum_validation == ChecksumWhen::WhenSupported)
    }

    /// HeadObject with `checksum_mode`: record the size, ETag, version and the stored
    /// checksum this download can check. Returns the size.
    fn head_for_checksum(&self) -> Result<u64, TransferError> {
        let request = HeadObjectRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            version_id: self.args.version_id.clone(),
            if_match: self.etag.lock().clone(),
            sse_customer: self.args.sse_customer.clone(),
            context: self.args.context.clone(),
            checksum_mode: true,
            ..Default::default()
        };
        let head = self.engine.call(
            &self.coordinator,
            |_| self.engine.client.head_object(&request),
            |e| self.s3_failed(e),
        )?;
        let size = head.content_length;
        self.size.store(size, Ordering::Release);
        self.coordinator.meta.provide_transfer_size(size);
        *self.version_id.lock() = head.version_id.clone();
        if let Some(etag) = head.etag {
            let mut pinned = self.etag.lock();
            if pinned.is_none() {
                *pinned = Some(etag.clone());
                self.coordinator.meta.provide_object_etag(etag);
            }
        }
        *self.expected.lock() = self.stored_checksum(&head.checksums, size);
        Ok(size)
    }

    /// What the bytes can be checked against, given the stored checksums.
    fn stored_checksum(&self, stored: &Checksums, size: u64) -> Option<Stored> {
        let values = stored.values();
        let composite = values.iter().find_map(|&(algorithm, value)| {
            let (_, parts) = value.rsplit_once('-')?;
            Some((algorithm, value, parts.parse::<u32>().ok()))
        });
        match composite {
            // An empty object has no part to fetch by number.
            Some((algorithm, value, Some(parts))) if parts > 0 && size > 0 => {
                Some(Stored::Composite {
                    algorithm,
                    value: value.to_owned(),
                    parts,
                })
            }
            Some(_) => None,
            // A composite type without a `-N` value names no part count to check.
            None if stored.checksum_type.as_deref() == Some("COMPOSITE") => None,
            None => {
                // The first GET covers the object whole when it is at most one chunk;
                // a SHA of the whole object can only be computed over one range, in
                // order.
                let single_range = size <= self.engine.config.multipart_chunksize;
                values
                    .into_iter()
                    .find(|(a, _)| a.is_crc() || single_range)
                    .map(|(algorithm, value)| Stored::Whole {
                        algorithm,
                        value: value.to_owned(),
                    })
            }
        }
    }

    /// After the last byte: compare the ranges' combined checksum with the stored
    /// whole-object one, or check that the parts (each checked as it arrived) made up
    /// the object and its composite checksum.
    fn check_integrity(&self) -> Result<Validation, TransferError> {
        let stored = self.expected.lock().clone();
        match stored {
            None => Ok(Validation::Nothing),
            Some(Stored::Whole { algorithm, value }) => self.check_whole(algorithm, value),
            Some(Stored::Composite {
                algorithm,
                value,
                parts,
            }) => self.check_composite(algorithm, value, parts),
        }
    }

    fn check_whole(
        &self,
        algorithm: ChecksumAlgorithm,
        expected: String,
    ) -> Result<Validation, TransferError> {
        let sums = std::mem::take(&mut *self.range_sums.lock());
        let ranges = sums.len();
        let mut next = 0u64;
        let mut whole: Option<Checksum> = None;
        for (start, sum) in sums {
            if start != next {
                return Err(TransferError::Internal(format!(
                    "no checksum for bytes {next}..{start}"
                )));
            }
            next += sum.len;
            whole = match whole {
                None => Some(sum),
                Some(acc) => acc.combine(&sum),
            };
        }
        let actual = whole
            .map(|w| w.to_base64())
            .unwrap_or_else(|| Checksummer::new(algorithm).finish().to_base64());
        if actual != expected {
            return Err(self.integrity_failed(
                algorithm,
                expected,
                actual,
                format!(
                    "whole object, {ranges} range{}",
                    if ranges == 1 { "" } else { "s" }
                ),
            ));
        }
        Ok(Validation::WholeObject(algorithm))
    }

    fn check_composite(
        &self,
        algorithm: ChecksumAlgorithm,
        expected: String,
        parts: u32,
    ) -> Result<Validation, TransferError> {
        let sums = std::mem::take(&mut *self.part_sums.lock());
        let size = self.size.load(Ordering::Acquire);
        // Each part's bytes matched its checksum on arrival; the parts must also lie
        // end to end in number order over the whole object, as a store's parts do.
        let mut next = 0u64;
        for number in 1..=parts {
            let Some(part) = sums.get(&number) else {
                return Err(TransferError::Internal(format!(
                    "part {number} of {parts} was not checked"
                )));
            };
            if part.start != next {
                return Err(self.failed(
                    format!(
                        "part {number} of {parts} starts at byte {}, not {next} where part {} ended",
                        part.start,
                        number - 1
                    ),
                    None,
                ));
            }
            next += part.len;
        }
        if next != size {
            return Err(self.failed(
                format!("the {parts} parts hold {next} bytes of {size}"),
                None,
            ));
        }
        let Some(values) = sums
            .values()
            .map(|p| p.stored.as_deref())
            .collect::<Option<Vec<&str>>>()
        else {
            // The store kept no part checksums: the layout is all there was to check.
            return Ok(Validation::Nothing);
        };
        let actual = crate::checksum::composite_checksum(algorithm, &values)
            .unwrap_or_else(|| "(a part checksum is not base64)".to_owned());
        if actual != expected {
            // The parts' bytes matched the checksums their responses carried, but
            // those are not the checksums the object's value was made of.
            return Err(self.integrity_failed(
                algorithm,
                expected,
                actual,
                format!("composite of the {parts} part checksums"),
            ));
        }
        Ok(Validation::PerPart(algorithm))
    }

    /// A part's bytes against the checksum its first response carried: recorded for
    /// the final check when they match.
    fn check_part(&self, part: PartFetch, sum: Checksum) -> Result<(), TransferError> {
        let Some((start, end)) = part.span else {
            return Err(TransferError::Internal(format!(
                "part {} finished without its headers",
                part.number
            )));
        };
        let Some(stored) = part.stored else {
            // Only where the store keeps no part checksums (see `parts_unchecked`).
            self.part_sums.lock().insert(
                part.number,
                CheckedPart {
                    start,
                    len: sum.len,
                    stored: None,
                },
            );
            return Ok(());
        };
        let actual = sum.to_base64();
        if actual != stored {
            return Err(self.integrity_failed(
                part.algorithm,
                stored,
                actual,
                format!("part {} of {}, bytes {start}-{end}", part.number, part.of),
            ));
        }
        self.part_sums.lock().insert(
            part.number,
            CheckedPart {
                start,
                len: sum.len,
                stored: Some(stored),
            },
        );
        Ok(())
    }

    fn integrity_failed(
        &self,
        algorithm: ChecksumAlgorithm,
        expected: String,
        actual: String,
        part_or_range: String,
    ) -> TransferError {
        TransferError::IntegrityFailed {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            algorithm: algorithm.as_str().to_owned(),
            expected,
            actual,
            part_or_range,
        }
    }

    fn failed(&self, reason: impl Into<String>, source: Option<S3Error>) -> TransferError {
        TransferError::S3DownloadFailed {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            reason: reason.into(),
            source,
        }
    }

    fn s3_failed(&self, error: S3Error) -> TransferError {
        let reason = match error.kind() {
            S3ErrorKind::PreconditionFailed => format!(
                "the object changed during the download (it no longer has ETag {})",
                self.etag.lock().as_deref().unwrap_or("?")
            ),
            S3ErrorKind::NotFound => "the object does not exist".to_owned(),
            S3ErrorKind::AccessDenied => "access denied".to_owned(),
            _ => error.to_string(),
        };
        self.failed(reason, Some(error))
    }

    /// The first GET: a range of one part from byte 0, which also tells the size and
    /// ETag (one round trip fewer than a HeadObject first).
    fn submit_first_get(self: &Arc<Self>, root: &WorkGuard) -> Result<(), TransferError> {
        let (download, guard) = (self.clone(), root.hold());
        self.engine.request.submit(Box::new(move || {
            let coordinator = download.coordinator.clone();
            run_job(&coordinator, guard, |guard| {
                let first = download.engine.config.multipart_chunksize;
                // The stored checksum comes only with a whole-object answer (a ranged
                // GET has none), so it is asked for first, on this request thread where
                // the first GET would run; the answer also gives the ETag that pins every
                // GET to the object it describes. The GETs then run as without
                // checksums: the first range alone, the rest once it answered.
                let headed = if download.validating() {
                    download.head_for_checksum().map(|_| ())
                } else {
                    Ok(())
                };
                // A composite checksum is checked part by part: part 1 goes first, as
                // the first range would.
                let parts = match &*download.expected.lock() {
                    Some(Stored::Composite { parts, .. }) => Some(*parts),
                    _ => None,
                };
                let piece = match parts {
                    Some(of) => Piece::Part { number: 1, of },
                    None => Piece::Range {
                        start: 0,
                        end: Some(first - 1),
                    },
                };
                let total = match headed {
                    Ok(()) => download.get_piece(guard, piece),
                    Err(e) => {
                        download.coordinator.fail(e);
                        None
                    }
                };
                // The first piece is sequence 0 of a stream output's window.
                if let Some(window) = &download.window {
                    window.release(0);
                }
                let Some(total) = total else {
                    return;
                };
                match parts {
                    Some(parts) if parts > 1 => {
                        download.continue_planning(guard, move |d, g| d.plan_parts(g, parts));
                    }
                    None if total > first => {
                        download.continue_planning(guard, move |d, g| d.plan(g, first, total));
                    }
                    _ => {}
                }
            });
        }))
    }

    /// Run `plan` on a submission thread: planning can block on the request queue, and
    /// a request thread (where the first GET ran) should not wait there, as request
    /// slots are the scarce resource.
    fn continue_planning(
        self: &Arc<Self>,
        guard: &WorkGuard,
        plan: impl FnOnce(&Arc<Self>, &WorkGuard) -> Result<(), TransferError> + Send + 'static,
    ) {
        let (d, g) = (self.clone(), guard.hold());
        let submitted = self
            .engine
            .submission
            .submit_continuation(Box::new(move || {
                let coordinator = d.coordinator.clone();
                run_job(&coordinator, g, |g| {
                    if let Err(e) = plan(&d, g) {
                        coordinator.fail(e);
                    }
                });
            }));
        if let Err(e) = submitted {
            self.coordinator.fail(e);
        }
    }

    /// Submit GETs for parts `2..=parts` by number (part 1 was the first GET).
    fn plan_parts(self: &Arc<Self>, root: &WorkGuard, parts: u32) -> Result<(), TransferError> {
        for number in 2..=parts {
            if self.coordinator.is_stopped() {
                break;
            }
            let piece = Piece::Part { number, of: parts };
            self.submit_piece(root, piece, u64::from(number - 1))?;
        }
        Ok(())
    }

    /// Submit GETs for bytes `from..size`.
    fn plan(self: &Arc<Self>, root: &WorkGuard, from: u64, size: u64) -> Result<(), TransferError> {
        let config = &self.engine.config;
        let part_size = if size < config.multipart_threshold {
            size.max(1)
        } else {
            download_part_size(config.multipart_chunksize, size)
        };
        if size == 0 {
            // Nothing to fetch; the GET still proves the object exists.
            return self.submit_piece(
                root,
                Piece::Range {
                    start: 0,
                    end: None,
                },
                0,
            );
        }
        let mut start = from;
        let mut seq = u64::from(from > 0);
        while start < size {
            if self.coordinator.is_stopped() {
                break;
            }
            let end = (start + part_size).min(size) - 1;
            let piece = Piece::Range {
                start,
                end: Some(end),
            };
            self.submit_piece(root, piece, seq)?;
            start = end + 1;
            seq += 1;
        }
        Ok(())
    }

    fn submit_piece(
        self: &Arc<Self>,
        root: &WorkGuard,
        piece: Piece,
        seq: u64,
    ) -> Result<(), TransferError> {
        if let Some(window) = &self.window
            && !window.acquire(seq, &|| self.coordinator.is_stopped())
        {
            return Ok(());
        }
        let (download, guard) = (self.clone(), root.hold());
        let submitted = self.engine.request.submit(Box::new(move || {
            let coordinator = download.coordinator.clone();
            run_job(&coordinator, guard, |guard| {
                download.get_piece(guard, piece);
            });
            if let Some(window) = &download.window {
                window.release(seq);
            }
        }));
        if submitted.is_err()
            && let Some(window) = &self.window
        {
            window.release(seq);
        }
        submitted
    }

    /// GET a piece into the output, resuming after a body that breaks off, with a
    /// range narrowed to the bytes still missing (for a part too: its place is known
    /// from the first response). Returns the object's size, or `None` after recording a
    /// failure.
    fn get_piece(self: &Arc<Self>, guard: &WorkGuard, piece: Piece) -> Option<u64> {
        let attempts = self.engine.config.num_download_attempts;
        let mut received = 0u64;
        let mut ranged = true;
        let mut whole_object_fallback_used = false;
        let mut attempt = 0;
        let stored = self.expected.lock().as_ref().map(Stored::algorithm);
        // One checksummer for the piece across attempts: a resumed GET starts at the
        // first byte missing, so it sees the piece's bytes once, in order.
        let mut hasher = stored.map(Checksummer::new);
        let (mut start, mut end, mut part) = match piece {
            Piece::Range { start, end } => (start, end, None),
            Piece::Part { number, of } => {
                let Some(algorithm) = stored else {
                    self.coordinator.fail(TransferError::Internal(
                        "a part GET without a stored checksum".into(),
                    ));
                    return None;
                };
                let part = PartFetch {
                    number,
                    of,
                    algorithm,
                    span: None,
                    stored: None,
                };
                (0, None, Some(part))
            }
        };
        loop {
            attempt += 1;
            let mut request = GetObjectRequest {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
                version_id: self.args.version_id.clone(),
                sse_customer: self.args.sse_customer.clone(),
                context: self.args.context.clone(),
                checksum_mode: self.args.checksum_mode || self.validating(),
                // Pinned as soon as any response told us the ETag, including the
                // headers of a body that broke off.
                if_match: self.etag.lock().clone(),
                ..Default::default()
            };
            match &part {
                // Until a response said where the part lies, it is asked for by number.
                Some(p) if p.span.is_none() => request.part_number = Some(p.number),
                _ if ranged => {
                    request.range = Some(ByteRange {
                        start: start + received,
                        end,
                    });
                }
                _ => {}
            }
            let mut sink = PartSink {
                download: self,
                guard,
                request: &request,
                offset: start + received,
                received: 0,
                total: None,
                throttle: self.engine.chunk_limiter(&self.coordinator),
                hasher: hasher.as_mut(),
                part: part.as_mut(),
            };
            let mut result = self.engine.client.get_object(&request, &mut sink);
            if let (Ok(_), Some(throttle)) = (&result, &sink.throttle) {
                // Charge the tail below the threshold here, on this request thread.
                if throttle.flush().is_err() {
                    result = Err(crate::client::stopped_by_caller("GetObject"));
                }
            }
            let (got, total) = (sink.received, sink.total);
            received += got;
            if let Some((first, last)) = part.as_ref().and_then(|p| p.span) {
                (start, end) = (first, Some(last));
            }
            match result {
                Ok(out) => {
                    let whole = start == 0 && part.is_none();
                    let Some(total) = total.or(Some(out.content_length).filter(|_| whole)) else {
                        self.coordinator
                            .fail(self.failed("the response had no usable headers", None));
                        return None;
                    };
                    let expected =
                        end.map_or(total, |e| e.min(total.saturating_sub(1)) + 1) - start;
                    if total > 0 && received != expected {
                        self.coordinator.fail(self.failed(
                            format!("received {received} bytes of {expected} for the range starting at {start}"),
                            None,
                        ));
                        return None;
                    }
                    self.parts.fetch_add(1, Ordering::Relaxed);
                    if let Some(hasher) = hasher {
                        let sum = hasher.finish();
                        match part {
                            Some(part) => {
                                if let Err(e) = self.check_part(part, sum) {
                                    self.coordinator.fail(e);
                                    return None;
                                }
                            }
                            None => {
                                self.range_sums.lock().insert(start, sum);
                            }
                        }
                    }
                    return Some(total);
                }
                Err(e)
                    if start == 0
                        && part.is_none()
                        && ranged
                        && received == 0
                        && !whole_object_fallback_used
                        && e.kind() == S3ErrorKind::InvalidRange =>
                {
                    // S3 answers a range on an empty object with 416: ask for it whole
                    // (once; it does not count as an attempt).
                    ranged = false;
                    whole_object_fallback_used = true;
                    attempt -= 1;
                }
                Err(e) if e.is_retryable() && !self.coordinator.is_stopped() => {
                    if attempt >= attempts {
                        self.coordinator.fail(TransferError::RetriesExceeded {
                            attempts,
                            last_error: e,
                        });
                        return None;
                    }
                    // A resumed request names the bytes still missing: a range again,
                    // unless this is the empty object that already refused a range.
                    ranged = !whole_object_fallback_used || received > 0;
                    self.coordinator.note_retry();
                    backoff(attempt, &self.coordinator);
                }
                Err(e) => {
                    self.coordinator.fail(self.s3_failed(e));
                    return None;
                }
            }
        }
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
                Some(p) if p != etag => {
                    return Err(format!(
                        "the object changed during the download (ETag {p} became {etag})"
                    ));
                }
                Some(_) => {}
                None => {
                    *pinned = Some(etag.clone());
                    self.coordinator.meta.provide_object_etag(etag.clone());
                }
            }
        }
        if start == 0 && known == UNKNOWN {
            self.size.store(total, Ordering::Release);
            self.coordinator.meta.provide_transfer_size(total);
            *self.version_id.lock() = head.version_id.clone();
        }
        Ok(total)
    }

    /// Runs after the last write: check the length, then put the file in place.
    fn finish(&self) {
        let Some(output) = self.output.lock().take() else {
            return;
        };
        if self.coordinator.is_stopped() {
            return;
        }
        let size = self.size.load(Ordering::Acquire);
        let written = self.written.load(Ordering::Acquire);
        if size == UNKNOWN || written != size {
            self.coordinator.fail(self.failed(
                format!(
                    "wrote {written} bytes of {}",
                    if size == UNKNOWN {
                        "an unknown size".into()
                    } else {
                        size.to_string()
                    }
                ),
                None,
            ));
            return;
        }
        // Before the file is put in place: a mismatch leaves no file at the destination
        // (the failure cleanup removes the temporary one).
        let validated = match self.check_integrity() {
            Ok(v) => v,
            Err(e) => {
                self.coordinator.fail(e);
                return;
            }
        };
        let finished = match output {
            Output::File { file, temp, dest } => {
                drop(self.direct.lock().take());
                drop(file);
                std::fs::rename(&temp, &dest)
                    .map_err(|e| TransferError::io("renaming into place", Some(&dest), e))
            }
            Output::Seekable { mut writer, .. } => writer
                .flush()
                .map_err(|e| TransferError::io("flushing", None, e)),
            Output::Stream {
                mut writer,
                next,
                pending,
            } => {
                if next != size || !pending.is_empty() {
                    Err(self.failed(
                        format!("stream output ended at byte {next} of {size}"),
                        None,
                    ))
                } else {
                    writer
                        .flush()
                        .map_err(|e| TransferError::io("flushing", None, e))
                }
            }
        };
        match finished {
            Ok(()) => self.coordinator.succeed(TransferOutput {
                bytes: size,
                etag: self.etag.lock().clone(),
                version_id: self.version_id.lock().clone(),
                parts: self.parts.load(Ordering::Relaxed) as u32,
                validated,
                ..Default::default()
            }),
            Err(e) => self.coordinator.fail(e),
        }
    }

    /// Queue one write on the io thread.
    fn queue_write(
        self: &Arc<Self>,
        offset: u64,
        data: Vec<u8>,
        guard: WorkGuard,
    ) -> Result<(), S3Error> {
        let download = self.clone();
        self.engine
            .io
            .submit(Box::new(move || {
                let coordinator = download.coordinator.clone();
                run_job(&coordinator, guard, |_| {
                    let len = data.len() as u64;
                    let result = match download.output.lock().as_mut() {
                        Some(output) => output.write_at(offset, data),
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

/// Wait before retry `attempt` (1-based): exponential from 50 ms, capped at 2 s, with
/// full jitter so parts that failed together do not retry together; returns early if
/// the transfer stops. The full retry policy (quota, throttling base) belongs to the
/// retry layer; this keeps a throttled store from being hammered meanwhile.
fn backoff(attempt: u32, coordinator: &Coordinator) {
    use std::hash::{BuildHasher, Hasher};
    use std::time::{Duration, Instant};
    let cap = Duration::from_millis(50 << attempt.min(5)).min(Duration::from_secs(2));
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let deadline = Instant::now() + cap.mul_f64((h.finish() % 1000) as f64 / 1000.0);
    while !coordinator.is_stopped() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Short naps, so a cancel is seen within 10 ms.
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

fn is_special_file(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_char_device() || t.is_block_device() || t.is_socket()
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
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

impl crate::client::ResponseSink for PartSink<'_> {
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
                    .coordinator
                    .fail(self.download.failed(reason, None));
                Err(crate::client::stopped_by_caller("GetObject"))
            }
        }
    }

    fn write_chunk(&mut self, mut data: &[u8]) -> Result<(), S3Error> {
        let download = self.download;
        let io_chunk = download.engine.config.io_chunksize;
        while !data.is_empty() {
            if download.coordinator.is_stopped() {
                return Err(crate::client::stopped_by_caller("GetObject"));
            }
            let n = data.len().min(io_chunk);
            // Charged before the bytes go on: while the bucket refuses, this request
            // thread stops reading the socket, which is what slows the sender.
            if let Some(throttle) = &self.throttle
                && throttle.consume(n as u64).is_err()
            {
                return Err(crate::client::stopped_by_caller("GetObject"));
            }
            let offset = self.offset + self.received;
            // Cloned out, so the lock is not held across the write.
            let direct = download.direct.lock().clone();
            if let Some((file, temp)) = direct {
                if let Err(e) = write_all_at(&file, offset, &data[..n]) {
                    download
                        .coordinator
                        .fail(TransferError::io("writing", Some(&temp), e));
                    return Err(crate::client::stopped_by_caller("GetObject"));
                }
                download.written.fetch_add(n as u64, Ordering::AcqRel);
            } else {
                let guard = self.guard.hold();
                download.queue_write(offset, data[..n].to_vec(), guard)?;
            }
            // Counted with `received`: a resumed attempt continues right after.
            if let Some(hasher) = self.hasher.as_deref_mut() {
                hasher.update(&data[..n]);
            }
            self.received += n as u64;
            download.coordinator.progress(n as i64);
            data = &data[n..];
        }
        Ok(())
    }
}
