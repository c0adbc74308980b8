//! A download to a file that outlives its process: the ranges it records as they are
//! written (the token, kept in the journal beside the temporary file), the pause, and
//! the resume that re-checks the object and the temporary file before it trusts any
//! recorded range.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::fetch::Piece;
use super::target::Output;
use super::verify::Stored;
use super::{Download, UNKNOWN};
use crate::args::DownloadArgs;
use crate::checksum::Checksummer;
use crate::client::{HeadObjectRequest, etag};
use crate::config::{MAX_PARTS, download_part_size};
use crate::error::TransferError;
use crate::resume::{
    DownloadToken, IfChanged, JournalWriter, RangeDone, ResumeError, ResumeOptions, ResumeToken,
};
use crate::runtime::work_group::WorkGuard;
use crate::transfer::context::TransferContext;
use crate::transfer::upload::crc32c_at;

/// What a download to a file records for a pause or a later process.
pub(super) struct Resumable {
    temp: PathBuf,
    destination: PathBuf,
    /// The ranges written, by first byte: inserted by each GET as its last byte lands,
    /// read whenever a token is made.
    ranges: Mutex<BTreeMap<u64, RangeDone>>,
    journal: Option<Arc<JournalWriter>>,
}

impl Download {
    /// The temporary file `temp` is open: from here the download can be paused, and its
    /// journal (if asked for) is kept, and removed again if the download fails.
    pub(super) fn make_resumable(&self, temp: &Path, destination: &Path, ranges: Vec<RangeDone>) {
        // Removed with the temporary file: one without the other is of no use.
        let journal = JournalWriter::for_transfer(&self.ctx.coordinator, self.args.journal.clone());
        let resumable = Resumable {
            temp: temp.to_path_buf(),
            destination: destination.to_path_buf(),
            ranges: Mutex::new(ranges.into_iter().map(|r| (r.start, r)).collect()),
            journal,
        };
        if self.resumable.set(resumable).is_ok() {
            self.write_journal(true);
            self.ctx.coordinator.allow_pause();
            // Without a journal nothing would record what was kept.
            if self.args.keep_for_resume && self.args.journal.is_some() {
                self.ctx.coordinator.keep_on_transient_failure();
            }
        }
    }

    /// The token, once the object is known (its size and ETag); `None` before, and for
    /// a download checked part by part, which a token cannot describe.
    fn token(&self) -> Option<ResumeToken> {
        let resumable = self.resumable.get()?;
        let size = self.size.load(Ordering::Acquire);
        let etag = self.etag.lock().clone()?;
        if size == UNKNOWN || matches!(&*self.expected.lock(), Some(Stored::Composite { .. })) {
            return None;
        }
        let checksums = match &*self.expected.lock() {
            Some(Stored::Whole { algorithm, value }) => {
                BTreeMap::from([(algorithm.as_str().to_owned(), value.clone())])
            }
            _ => BTreeMap::new(),
        };
        Some(ResumeToken::Download(DownloadToken {
            bucket: self.ctx.bucket.clone(),
            key: self.ctx.key.clone(),
            version_id: self.args.version_id.clone(),
            etag,
            size,
            checksums,
            destination: resumable.destination.clone(),
            temp_path: resumable.temp.clone(),
            part_size: download_part_size(self.ctx.engine.config.multipart_chunksize, size),
            ranges: resumable.ranges.lock().values().copied().collect(),
        }))
    }

    /// Bring the journal up to date: now (`flush`), or when the coalescing says a
    /// write is due.
    pub(super) fn write_journal(&self, flush: bool) {
        let Some(journal) = self.resumable.get().and_then(|r| r.journal.as_ref()) else {
            return;
        };
        let snapshot = || self.token();
        let written = if flush {
            journal.flush(snapshot)
        } else {
            journal.record(snapshot)
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "the download journal could not be written");
        }
    }

    /// Bytes `start..start + len` are in the temporary file: record them.
    pub(super) fn range_stored(&self, start: u64, len: u64, crc32c: u32) {
        let Some(resumable) = self.resumable.get() else {
            return;
        };
        resumable
            .ranges
            .lock()
            .insert(start, RangeDone::new(start, len, crc32c));
        self.write_journal(false);
    }

    /// The finalizer of a pausing download: the token instead of the rename.
    pub(super) fn pause_here(&self) {
        self.write_journal(true);
        self.ctx.coordinator.finish_paused(self.token());
    }

    /// The file is in place: its journal has nothing left to continue.
    pub(super) fn forget_journal(&self) {
        if let Some(journal) = self.resumable.get().and_then(|r| r.journal.as_ref()) {
            journal.remove();
        }
    }

    /// Throw the recorded state away: the temporary file holds bytes of an object that
    /// is gone, and the journal describes it.
    fn discard(&self, token: &DownloadToken) {
        let _ = std::fs::remove_file(&token.temp_path);
        if let Some(journal) = &self.args.journal {
            let _ = crate::resume::remove_journal(journal);
        }
    }

    /// Continue the download `token` describes: the object must have the same ETag and
    /// size, each recorded range must read back from the temporary file with its CRC32C;
    /// then only the rest is fetched, pinned to the ETag.
    fn plan_resumed(
        self: &Arc<Self>,
        root: &WorkGuard,
        token: DownloadToken,
        options: &ResumeOptions,
    ) -> Result<(), TransferError> {
        // Before any recorded number is used: a part size that would cut the object
        // into millions of GETs (or none) is not one this crate chose.
        if token.part_size == 0 || token.size.div_ceil(token.part_size) > MAX_PARTS {
            return Err(ResumeError::Corrupt {
                path: None,
                reason: format!("its part size {} is impossible", token.part_size),
            }
            .into());
        }
        let changed = |reason: String| ResumeError::ObjectChanged {
            bucket: token.bucket.clone(),
            key: token.key.clone(),
            reason,
        };
        let found = match self.head_pinned(&token) {
            Ok(found) => found,
            Err(e) if e.is_precondition_failed() => {
                Err(format!("it no longer has ETag {}", token.etag))
            }
            Err(e) if e.is_not_found() => Err("it no longer exists".to_owned()),
            Err(e) => return Err(e),
        };
        // A multi-GET MD5 is taken by reading the finished temporary file back, so it
        // covers reused bytes too; a one-GET MD5 hashes that GET as it passes.
        let unresumable = matches!(
            &*self.expected.lock(),
            Some(Stored::Composite { .. } | Stored::EtagMd5 { one_get: true, .. })
        );
        if let Err(reason) = found {
            self.discard(&token);
            if options.if_changed == IfChanged::Fail {
                return Err(changed(reason).into());
            }
            tracing::info!(reason, "the object changed: starting the download over");
            return self.start_over(root, &token, None);
        }
        if unresumable {
            // Checked part by part, or by the MD5 of its one GET: those checks need
            // every byte to pass in one go, so the bytes on disk cannot be reused.
            tracing::info!("this download is checked in one pass: starting it over");
            self.discard(&token);
            // The HEAD just found the journal's ETag: the fresh GETs stay pinned to
            // it, so a replacement in between fails rather than mixing in.
            let pin = token.etag.clone();
            return self.start_over(root, &token, Some(pin));
        }
        let file = open_temp(&token.temp_path)
            .map_err(|e| TransferError::io("opening", Some(&token.temp_path), e))?;
        let cleanup_path = token.temp_path.clone();
        self.ctx.coordinator.add_cleanup(move || {
            let _ = std::fs::remove_file(&cleanup_path);
        });
        // Bytes past the object's end (a longer file left at the name, an edit) would
        // otherwise stay and be renamed into place; recorded ranges lie within the size.
        file.set_len(token.size)
            .map_err(|e| TransferError::io("truncating", Some(&token.temp_path), e))?;
        let size = token.size;
        let trusted = self.ranges_on_disk(&file, &token);
        let done: u64 = trusted.iter().map(|r| r.len).sum();
        tracing::info!(
            ranges_stored = trusted.len(),
            bytes_stored = done,
            size,
            "resuming the download"
        );
        self.written.store(done, Ordering::Release);
        self.parts.store(trusted.len() as u64, Ordering::Relaxed);
        self.ctx.coordinator.progress(done as i64);
        let file = Arc::new(file);
        *self.direct.lock() = Some((file.clone(), Arc::from(token.temp_path.as_path())));
        *self.output.lock() = Some(Output::File {
            file,
            temp: token.temp_path.clone(),
            dest: token.destination.clone(),
        });
        self.make_resumable(&token.temp_path, &token.destination, trusted.clone());
        // What is missing, cut in GETs of the token's part size.
        // Trusted ranges lie within the size (ranges_on_disk), the part size is sane.
        let part_size = token.part_size;
        let mut next = 0;
        let mut gaps = Vec::new();
        for range in trusted.iter().chain([&RangeDone::new(size, 0, 0)]) {
            let mut start = next;
            while start < range.start {
                let end = start.saturating_add(part_size).min(range.start);
                gaps.push((start, end - 1));
                start = end;
            }
            next = range.start.saturating_add(range.len);
        }
        if size == 0 {
            gaps.push((0, 0));
        }
        for (start, end) in gaps {
            if !self.ctx.coordinator.accepts_work() {
                break;
            }
            let end = (size > 0).then_some(end);
            self.submit_piece(root, Piece::Range { start, end }, 0)?;
        }
        Ok(())
    }

    /// HeadObject pinned to the token's ETag (If-Match, and compared, as a store may
    /// ignore If-Match): the size, ETag and (when validating) the stored checksum are
    /// recorded as a first GET would. `Err(reason)` inside when the object differs.
    fn head_pinned(&self, token: &DownloadToken) -> Result<Result<(), String>, TransferError> {
        *self.etag.lock() = Some(token.etag.clone());
        let (size, found_etag) = if self.validating() {
            let size = self.head_for_checksum()?;
            (size, self.etag.lock().clone())
        } else {
            let request = HeadObjectRequest {
                bucket: self.ctx.bucket.clone(),
                key: self.ctx.key.clone(),
                version_id: self.args.version_id.clone(),
                if_match: Some(token.etag.clone()),
                sse_customer: self.args.sse_customer.clone(),
                context: self.args.context.clone(),
                ..Default::default()
            };
            let head = self.ctx.call(
                |_| self.ctx.engine.client.head_object(&request),
                |e| self.s3_failed(e),
            )?;
            *self.version_id.lock() = head.version_id.clone();
            (head.content_length, head.etag)
        };
        // `head_for_checksum` keeps a pinned ETag, so compare what the store said.
        let same_etag = found_etag
            .as_deref()
            .is_some_and(|e| etag::same(e, &token.etag));
        if !same_etag {
            return Ok(Err(format!(
                "its ETag was {} and is now {}",
                token.etag,
                found_etag.as_deref().unwrap_or("none")
            )));
        }
        if size != token.size {
            return Ok(Err(format!(
                "it was {} bytes and is now {size}",
                token.size
            )));
        }
        self.size.store(size, Ordering::Release);
        self.ctx.coordinator.meta.provide_transfer_size(size);
        self.ctx
            .coordinator
            .meta
            .provide_object_etag(token.etag.clone());
        Ok(Ok(()))
    }

    /// The recorded ranges whose bytes read back from the temporary file with their
    /// CRC32C, in order, without overlaps. With a whole-object check, their checksums
    /// in its algorithm are taken on the same read.
    fn ranges_on_disk(&self, file: &File, token: &DownloadToken) -> Vec<RangeDone> {
        let algorithm = match &*self.expected.lock() {
            Some(stored) => stored.algorithm(),
            None => None,
        };
        let mut ranges = token.ranges.clone();
        ranges.sort_by_key(|r| r.start);
        let mut trusted: Vec<RangeDone> = Vec::new();
        let mut covered = 0;
        for range in ranges {
            // A range past the end (or whose end overflows) is not one this download
            // wrote: never trusted, never read.
            let Some(end) = range.start.checked_add(range.len) else {
                continue;
            };
            if range.start < covered || range.len == 0 || end > token.size {
                continue;
            }
            let mut sum = algorithm.map(Checksummer::new);
            let crc = crc32c_at(file, range.start, range.len, |chunk| {
                if let Some(sum) = sum.as_mut() {
                    sum.update(chunk);
                }
            });
            if crc.ok() != Some(range.crc32c) {
                tracing::info!(
                    start = range.start,
                    "a recorded range reads back differently; fetching it again"
                );
                continue;
            }
            if let Some(sum) = sum {
                self.range_sums.lock().insert(range.start, sum.finish());
            }
            covered = end;
            trusted.push(range);
        }
        trusted
    }

    /// Fetch the object afresh into a new temporary file (the recorded state was
    /// thrown away); with `pin`, of the object with that ETag only.
    fn start_over(
        self: &Arc<Self>,
        root: &WorkGuard,
        token: &DownloadToken,
        pin: Option<String>,
    ) -> Result<(), TransferError> {
        *self.etag.lock() = pin;
        self.size.store(UNKNOWN, Ordering::Release);
        *self.expected.lock() = None;
        self.range_sums.lock().clear();
        self.open(super::DownloadTarget::Path(token.destination.clone()))?;
        self.submit_first_get(root)
    }
}

/// Open the temporary file a token names (already checked to be one of our names
/// beside the destination), without following a symbolic link planted there: its
/// target would be written and then renamed onto the destination.
fn open_temp(path: &Path) -> std::io::Result<File> {
    let mut options = File::options();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

/// Run on a submission thread: continue the paused download `token` describes.
pub(crate) fn submit_resumed(
    ctx: TransferContext,
    args: DownloadArgs,
    token: DownloadToken,
    options: ResumeOptions,
) {
    let download = Download::new(ctx, args, false);
    let finisher = download.clone();
    let Some(root) = download.ctx.begin(move || finisher.finish()) else {
        return;
    };
    if let Err(e) = download.plan_resumed(&root, token, &options) {
        download.ctx.coordinator.fail(e);
    }
}
