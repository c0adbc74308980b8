//! Downloads: the first ranged GET learns the size and ETag (no HeadObject), the rest
//! of the ranges run in parallel pinned to that ETag with If-Match. The request threads
//! write a file (under a temporary name, renamed on success) at their offsets
//! themselves; the single io thread writes a seekable writer (positional writes) or a
//! stream (reordered into sequence).
//!
//! With checksum validation a HeadObject comes first for the stored checksum; an object
//! whose checksum is composite (`-N`) is then fetched by part number instead of by
//! range, so that each part can be checked against its own stored checksum.

mod fetch;
mod resume;
mod target;
mod verify;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::args::DownloadArgs;
use crate::checksum::Checksum;
use crate::client::{S3Error, S3ErrorKind};
use crate::config::download_part_size;
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::runtime::permits::SlidingWindow;
use crate::runtime::work_group::WorkGuard;
use crate::transfer::context::TransferContext;
use fetch::{PartFetch, Piece};
pub(crate) use resume::submit_resumed;
pub use target::{DownloadTarget, SeekWrite};
use target::{Output, is_special_file};
use verify::{CheckedPart, Stored};

/// One download's facts and shared state.
pub(crate) struct Download {
    ctx: TransferContext,
    args: DownloadArgs,
    /// The slot of the open output (set by `open`, emptied by `finish`). The lock
    /// guards only the slot: the io thread takes the output out for each write and
    /// puts it back, so no lock is held while a caller's writer runs.
    output: Mutex<Option<Output>>,
    /// The temporary file of a path output, set once it is open: request threads write
    /// their bytes into it at their offsets themselves. Positional writes need neither
    /// order nor the `output` lock, and this skips a copy and a hand-off to the io
    /// thread per chunk (docs/benchmarks.md has the figures).
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
    window: Option<Arc<SlidingWindow>>,
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
    /// The MD5 (hex) of the object's bytes when it came in one GET and its ETag is
    /// checked (see `Stored::EtagMd5`); set by that GET, taken by the final check.
    md5_seen: Mutex<Option<String>>,
    /// What a pause or the journal records: set once the temporary file is open.
    resumable: std::sync::OnceLock<resume::Resumable>,
}

const UNKNOWN: u64 = u64::MAX;

/// Run on a submission thread: open the output, then plan the GETs.
pub(crate) fn submit(ctx: TransferContext, args: DownloadArgs, target: DownloadTarget) {
    // Every output written in order gets the window: streams, and paths that turn out
    // to be a FIFO or a device.
    let windowed = match &target {
        DownloadTarget::Path(path) => is_special_file(path),
        DownloadTarget::Seekable(_) => false,
        DownloadTarget::Stream(_) => true,
    };
    let download = Download::new(ctx, args, windowed);
    let finisher = download.clone();
    let Some(root) = download.ctx.begin(move || finisher.finish()) else {
        return;
    };
    let coordinator = &download.ctx.coordinator;
    if let Err(e) = download.open(target) {
        coordinator.fail(e);
        return;
    }
    if let Some(etag) = coordinator.meta.etag() {
        *download.etag.lock() = Some(etag);
    }
    let planned = if download.validating() {
        // The HeadObject for the stored checksum runs in the first GET's job.
        download.submit_first_get(&root)
    } else {
        match coordinator.meta.size() {
            Some(size) => {
                download.size.store(size, Ordering::Release);
                download.plan(&root, 0, size)
            }
            None => download.submit_first_get(&root),
        }
    };
    if let Err(e) = planned {
        coordinator.fail(e);
    }
}

impl Download {
    fn new(ctx: TransferContext, args: DownloadArgs, windowed: bool) -> Arc<Download> {
        Arc::new(Download {
            window: windowed.then(|| {
                Arc::new(SlidingWindow::new(
                    ctx.engine.config.max_in_memory_download_chunks,
                ))
            }),
            ctx,
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
            md5_seen: Mutex::new(None),
            resumable: std::sync::OnceLock::new(),
        })
    }
    fn failed(&self, reason: impl Into<String>, source: Option<S3Error>) -> TransferError {
        TransferError::S3DownloadFailed {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
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
        let download = self.clone();
        // The first piece is sequence 0 of a stream output's window: it always fits.
        let slot = self.window.as_ref().and_then(|w| w.acquire(0, &|| false));
        self.ctx.submit(root, move |guard| {
            let first = download.ctx.engine.config.multipart_chunksize;
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
                    download.ctx.coordinator.fail(e);
                    None
                }
            };
            drop(slot);
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
        })
    }
    /// Run `plan` on a submission thread: planning can block on the request queue, and
    /// a request thread (where the first GET ran) should not wait there, as request
    /// slots are the scarce resource.
    fn continue_planning(
        self: &Arc<Self>,
        guard: &WorkGuard,
        plan: impl FnOnce(&Arc<Self>, &WorkGuard) -> Result<(), TransferError> + Send + 'static,
    ) {
        let d = self.clone();
        let submitted = self.ctx.submit_continuation(guard, move |g| {
            if let Err(e) = plan(&d, g) {
                d.ctx.coordinator.fail(e);
            }
        });
        if let Err(e) = submitted {
            self.ctx.coordinator.fail(e);
        }
    }
    /// Submit GETs for parts `2..=parts` by number (part 1 was the first GET).
    fn plan_parts(self: &Arc<Self>, root: &WorkGuard, parts: u32) -> Result<(), TransferError> {
        for number in 2..=parts {
            if !self.ctx.coordinator.accepts_work() {
                break;
            }
            let piece = Piece::Part { number, of: parts };
            self.submit_piece(root, piece, u64::from(number - 1))?;
        }
        Ok(())
    }
    /// Submit GETs for bytes `from..size`.
    fn plan(self: &Arc<Self>, root: &WorkGuard, from: u64, size: u64) -> Result<(), TransferError> {
        let config = &self.ctx.engine.config;
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
            if !self.ctx.coordinator.accepts_work() {
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
        let slot = match &self.window {
            Some(window) => match window.acquire(seq, &|| self.ctx.coordinator.is_stopped()) {
                Some(slot) => Some(slot),
                None => return Ok(()),
            },
            None => None,
        };
        let download = self.clone();
        self.ctx.submit(root, move |guard| {
            // Held until the piece is written (or the job is dropped unrun).
            let _slot = slot;
            download.get_piece(guard, piece);
        })
    }
    /// Runs after the last write: check the length, then put the file in place.
    fn finish(&self) {
        let Some(mut output) = self.output.lock().take() else {
            return;
        };
        if self.ctx.coordinator.is_stopped() {
            // A journal kept for a resume gets the ranges its coalesced writes had not
            // carried yet (a cancelled one is removed by the cleanup, after this).
            if self.args.keep_for_resume {
                self.write_journal(true);
            }
            return;
        }
        if self.ctx.coordinator.is_pausing() {
            // The temporary file stays, closed, for the resume.
            drop(self.direct.lock().take());
            drop(output);
            self.pause_here();
            return;
        }
        let size = self.size.load(Ordering::Acquire);
        let written = self.written.load(Ordering::Acquire);
        if size == UNKNOWN || written != size {
            self.ctx.coordinator.fail(self.failed(
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
        let validated = match self
            .md5_from_output(&mut output)
            .and_then(|()| self.check_integrity())
        {
            Ok(v) => v,
            Err(e) => {
                self.ctx.coordinator.fail(e);
                return;
            }
        };
        // The file itself, not only the count of bytes written: a resumed temporary
        // file could hold bytes past the object's end (cut by `set_len` on resume, and
        // checked here, after the more specific checks, so that no path can put a
        // longer file in place).
        if let Output::File { file, .. } = &output {
            match file.metadata() {
                Ok(m) if m.len() == size => {}
                Ok(m) => {
                    self.ctx.coordinator.fail(self.failed(
                        format!("the temporary file holds {} bytes of {size}", m.len()),
                        None,
                    ));
                    return;
                }
                Err(e) => {
                    self.ctx
                        .coordinator
                        .fail(TransferError::io("reading metadata of", None, e));
                    return;
                }
            }
        }
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
                ..
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
            Ok(()) => {
                self.forget_journal();
                self.ctx.coordinator.succeed(TransferOutput {
                    bytes: size,
                    etag: self.etag.lock().clone(),
                    version_id: self.version_id.lock().clone(),
                    parts: self.parts.load(Ordering::Relaxed) as u32,
                    validated,
                    ..Default::default()
                })
            }
            Err(e) => self.ctx.coordinator.fail(e),
        }
    }
}
