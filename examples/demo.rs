//! The main job, end to end: start an S3 server inside this process (s3s-fs on
//! 127.0.0.1), upload a generated file of a few hundred MiB with a multipart upload,
//! download it back with parallel ranged GETs, show progress and throughput, and verify
//! every byte.
//!
//! ```text
//! cargo run --release --example demo            # 256 MiB
//! cargo run --release --example demo -- 1024    # size in MiB
//! ```

#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::io::{BufWriter, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use s3transfer::{
    DownloadArgs, Subscriber, TransferConfig, TransferFuture, TransferManager, UploadArgs,
};

/// Sums progress so a display thread can draw it.
#[derive(Default)]
struct Progress(AtomicI64);

impl Subscriber for Progress {
    fn on_progress(&self, _: &TransferFuture, bytes: i64) {
        self.0.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Wait for `future`, drawing a progress line; return the elapsed time.
fn follow(
    label: &str,
    future: &TransferFuture,
    progress: &Progress,
    total: u64,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        let done = future.result_timeout(Duration::from_millis(200));
        let bytes = progress.0.load(Ordering::Relaxed).max(0) as u64;
        let secs = start.elapsed().as_secs_f64().max(1e-6);
        print!(
            "\r{label}: {:>7.1} / {:.1} MiB  {:>3}%  {:>7.1} MiB/s",
            bytes as f64 / MIB,
            total as f64 / MIB,
            (bytes * 100).checked_div(total).unwrap_or(100),
            bytes as f64 / MIB / secs,
        );
        std::io::stdout().flush().ok();
        match done {
            Ok(_) => break,
            Err(s3transfer::TransferError::TransferNotDone) => continue,
            Err(e) => {
                println!();
                return Err(e).with_context(|| format!("{label} failed"));
            }
        }
    }
    println!();
    Ok(start.elapsed())
}

const MIB: f64 = 1024.0 * 1024.0;

fn main() -> anyhow::Result<()> {
    let mib: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().context("the argument is a size in MiB")?,
        None => 256,
    };
    let size = mib * 1024 * 1024;

    let server = s3s_server::LocalS3::start();
    println!("local S3 (s3s-fs, in process) at {}", server.endpoint());
    server.create_bucket("demo");

    let dir = tempfile::tempdir()?;
    let source = dir.path().join("source.bin");
    let target = dir.path().join("downloaded.bin");
    write_generated(&source, size)?;
    println!("generated {mib} MiB at {}", source.display());

    let config = TransferConfig::builder()
        .multipart_chunksize(16 * 1024 * 1024)
        .build()?;
    let manager = TransferManager::new(server.client(), config);

    let progress = Arc::new(Progress::default());
    let upload = manager.upload(
        source.as_path(),
        "demo",
        "demo/source.bin",
        UploadArgs::default(),
        &[progress.clone()],
    )?;
    let up_time = follow("upload  ", &upload, &progress, size)?;
    let out = upload.result()?;
    println!(
        "uploaded in {} parts, ETag {}, {:.1} MiB/s",
        out.parts,
        out.etag.unwrap_or_default(),
        size as f64 / MIB / up_time.as_secs_f64()
    );

    let progress = Arc::new(Progress::default());
    let download = manager.download(
        "demo",
        "demo/source.bin",
        target.as_path(),
        DownloadArgs::default(),
        &[progress.clone()],
    )?;
    let down_time = follow("download", &download, &progress, size)?;
    let out = download.result()?;
    println!(
        "downloaded with {} ranged GETs, {:.1} MiB/s",
        out.parts,
        size as f64 / MIB / down_time.as_secs_f64()
    );

    manager.shutdown(false, "");
    verify_same(&source, &target)?;
    println!("verified: all {size} bytes identical");
    Ok(())
}

/// Write `size` pseudo-random bytes (xorshift) without holding them in memory.
fn write_generated(path: &std::path::Path, size: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

fn verify_same(a: &std::path::Path, b: &std::path::Path) -> anyhow::Result<()> {
    let (mut fa, mut fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        bail!("sizes differ");
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut offset = 0u64;
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(());
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            bail!("the downloaded file differs from the source near byte {offset}");
        }
        offset += n as u64;
    }
}
