//! Peak memory of a tree against its number of files: `upload_dir` of N tiny local
//! files, then a `sync` of the same tree against a listing of N keys that are all up to
//! date (so both sides are streamed and merged, and nothing moves). The store is an
//! `S3Api` of this example's own that keeps nothing (it reads each body and forgets it,
//! and lists N generated keys), so the peak resident set read from `/proc/self/status`
//! (VmHWM) is the tree's alone, not a store's. Linux only.
//!
//! ```text
//! cargo run --release --example tree_memory -- 10000
//! cargo run --release --example tree_memory -- 100000   # the default
//! ```
//! It exits non-zero if a tree fails or a count is off.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use s3transfer::client::*;
use s3transfer::{S3Api, S3Error, TransferConfig, TransferManager, TreeArgs, TreeLocation};

/// Stores nothing: PutObject reads the body and answers; ListObjectsV2 lists `keys`
/// generated keys, one byte each, written "now".
struct Forgetful {
    keys: usize,
    puts: AtomicUsize,
    listed_at: SystemTime,
}

fn key(i: usize) -> String {
    format!("t/d{:02}/f{i:07}", i % 100)
}

impl S3Api for Forgetful {
    fn put_object(
        &self,
        _: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        while body.next_chunk()?.is_some() {}
        self.puts.fetch_add(1, Ordering::Relaxed);
        let mut out = PutObjectOutput::default();
        out.etag = Some("\"0\"".into());
        Ok(out)
    }

    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        // Keys in order: the names sort as the numbers do within a directory, and the
        // directories as their numbers; so generate them directory by directory.
        let start: usize = request
            .continuation_token
            .as_deref()
            .map_or(0, |t| t.parse().unwrap());
        let per_dir = self.keys / 100;
        let mut page = ListObjectsV2Output::default();
        let end = (start + 1000).min(self.keys);
        for n in start..end {
            let (dir, index) = (n / per_dir, n % per_dir);
            let mut object = ListedObject::default();
            object.key = key(index * 100 + dir);
            object.size = 1;
            object.last_modified = Some(self.listed_at);
            page.objects.push(object);
        }
        page.next_continuation_token = (end < self.keys).then(|| end.to_string());
        Ok(page)
    }

    fn head_object(&self, _: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        unimplemented!()
    }
    fn get_object(
        &self,
        _: &GetObjectRequest,
        _: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        unimplemented!()
    }
    fn create_multipart_upload(
        &self,
        _: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        unimplemented!()
    }
    fn upload_part(
        &self,
        _: &UploadPartRequest,
        _: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        unimplemented!()
    }
    fn complete_multipart_upload(
        &self,
        _: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        unimplemented!()
    }
    fn abort_multipart_upload(&self, _: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        unimplemented!()
    }
    fn copy_object(&self, _: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        unimplemented!()
    }
    fn upload_part_copy(&self, _: &UploadPartCopyRequest) -> Result<UploadPartCopyOutput, S3Error> {
        unimplemented!()
    }
    fn delete_object(&self, _: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        unimplemented!()
    }
    fn list_parts(&self, _: &ListPartsRequest) -> Result<ListPartsOutput, S3Error> {
        unimplemented!()
    }
}

fn peak_rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmHWM value")?
        .parse()?)
}

fn main() -> anyhow::Result<()> {
    let files: usize = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    ensure!(
        files.is_multiple_of(100) && files > 0,
        "the number of files must be a multiple of 100"
    );
    let dir = tempfile::tempdir()?;
    let made = Instant::now();
    for i in 0..files {
        let path = dir.path().join(&key(i)[2..]);
        if i < 100 {
            std::fs::create_dir_all(path.parent().unwrap())?;
        }
        std::fs::write(&path, b"x")?;
    }
    // Older than the listing's time, so the sync finds every object up to date.
    let listed_at = SystemTime::now() + Duration::from_secs(3600);
    let store = Arc::new(Forgetful {
        keys: files,
        puts: AtomicUsize::new(0),
        listed_at,
    });
    let baseline = peak_rss_kib()?;
    println!(
        "{files} files made in {:.1} s; peak RSS before the trees: {} KiB",
        made.elapsed().as_secs_f64(),
        baseline
    );
    let manager = Arc::new(TransferManager::new(
        store.clone(),
        TransferConfig::default(),
    ));

    let started = Instant::now();
    let args = TreeArgs::builder().keep_results(false).build()?;
    let report = manager.upload_dir(dir.path(), "b", "t", args)?.wait();
    if !report.is_success()
        || report.uploaded as usize != files
        || store.puts.load(Ordering::Relaxed) != files
    {
        bail!(
            "upload_dir: {} uploaded, {:?}",
            report.uploaded,
            report.error()
        );
    }
    let after_upload = peak_rss_kib()?;
    println!(
        "upload_dir: {files} files in {:.1} s; peak RSS {} KiB",
        started.elapsed().as_secs_f64(),
        after_upload
    );

    let started = Instant::now();
    let args = TreeArgs::builder().keep_results(false).build()?;
    let report = manager
        .sync(
            TreeLocation::local(dir.path()),
            TreeLocation::s3("b", "t"),
            args,
        )?
        .wait();
    if !report.is_success() || report.skipped as usize != files || report.uploaded != 0 {
        bail!(
            "sync: {} skipped, {} uploaded, {:?}",
            report.skipped,
            report.uploaded,
            report.error()
        );
    }
    let after_sync = peak_rss_kib()?;
    println!(
        "sync against {files} listed keys: all up to date in {:.1} s; peak RSS {} KiB",
        started.elapsed().as_secs_f64(),
        after_sync
    );
    println!(
        "growth over the baseline: {} KiB",
        after_sync.saturating_sub(baseline)
    );
    manager.shutdown(false, "");
    Ok(())
}
