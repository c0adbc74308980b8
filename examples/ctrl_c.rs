//! Ctrl-C cancels a large transfer cleanly: the multipart upload is aborted, the partial
//! download is removed, and the program exits on its own.
//!
//! Starts the embedded local S3 server, uploads a generated 4 GiB stream and downloads a
//! 96 MiB object at the same time (at 16 MiB/s between them, so that both are still
//! running a few seconds on), and waits for Ctrl-C. The handler calls
//! `TransferManager::shutdown(true, "KeyboardInterrupt")`, like s3transfer's context
//! manager on KeyboardInterrupt, but without its crash. Then it checks that no object
//! and no file were left behind.
//!
//! ```text
//! cargo run --release --example ctrl_c                 # press Ctrl-C
//! cargo run --example ctrl_c -- --interrupt-after 500  # sends itself SIGINT (CI)
//! ```

#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use s3transfer::S3ErrorKind;
use s3transfer::client::{HeadObjectRequest, PutObjectRequest, RequestBody};
use s3transfer::{
    DownloadArgs, S3Api, TransferConfig, TransferError, TransferManager, UploadArgs, UploadSource,
};

/// An endless-looking generated stream of `left` bytes.
struct Generated(u64);

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0 as usize);
        buf[..n].fill(0x5a);
        self.0 -= n as u64;
        Ok(n)
    }
}

fn main() -> anyhow::Result<()> {
    let interrupt_after: Option<u64> = match std::env::args().nth(1).as_deref() {
        Some("--interrupt-after") => Some(
            std::env::args()
                .nth(2)
                .context("--interrupt-after takes milliseconds")?
                .parse()?,
        ),
        Some(other) => bail!("unknown argument {other}"),
        None => None,
    };

    let server = s3s_server::LocalS3::start();
    server.create_bucket("ctrlc");
    let client = server.client();
    let mut seed = PutObjectRequest::default();
    seed.bucket = "ctrlc".into();
    seed.key = "existing.bin".into();
    client.put_object(&seed, &mut RequestBody::new(vec![7u8; 96 << 20]))?;

    // 16 MiB/s shared: the 96 MiB download takes several seconds, so Ctrl-C (or the
    // self-sent SIGINT) always finds both transfers running, and both must be cancelled.
    let manager = Arc::new(TransferManager::new(
        client.clone(),
        TransferConfig::builder().max_bandwidth(16 << 20).build()?,
    ));
    let dir = tempfile::tempdir()?;
    let upload = manager.upload(
        UploadSource::stream(Generated(4 << 30)),
        "ctrlc",
        "big-upload.bin",
        UploadArgs::default(),
        &[],
    )?;
    let download = manager.download(
        "ctrlc",
        "existing.bin",
        dir.path().join("download.bin").as_path(),
        DownloadArgs::default(),
        &[],
    )?;

    // Wait for SIGINT on a small runtime of its own; the library itself has no async.
    let handler = {
        let manager = manager.clone();
        std::thread::spawn(move || -> anyhow::Result<Instant> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(tokio::signal::ctrl_c())?;
            let pressed = Instant::now();
            println!("\nCtrl-C: cancelling every transfer");
            manager.shutdown(true, "KeyboardInterrupt");
            Ok(pressed)
        })
    };
    match interrupt_after {
        Some(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            let status = std::process::Command::new("kill")
                .args(["-INT", &std::process::id().to_string()])
                .status()?;
            if !status.success() {
                bail!("could not send SIGINT to myself");
            }
        }
        None => println!("transfers running: press Ctrl-C within a few seconds"),
    }
    let pressed = handler.join().expect("signal thread")?;
    println!("every transfer ended {:?} after Ctrl-C", pressed.elapsed());

    match upload.result() {
        Err(TransferError::Cancelled {
            message,
            fatal: true,
        }) => {
            println!("upload: cancelled ({message})")
        }
        other => bail!("the upload should have been cancelled, got {other:?}"),
    }
    match download.result() {
        Err(TransferError::Cancelled { .. }) => println!("download: cancelled"),
        Ok(_) => bail!("the download finished before Ctrl-C: press it sooner"),
        Err(e) => bail!("unexpected download error: {e}"),
    }

    let mut head = HeadObjectRequest::default();
    head.bucket = "ctrlc".into();
    head.key = "big-upload.bin".into();
    match client.head_object(&head) {
        Err(e) if e.kind() == S3ErrorKind::NotFound => println!("no partial object in S3"),
        other => bail!("the aborted upload left an object: {other:?}"),
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    if !left.is_empty() {
        bail!("the cancelled download left files behind: {left:?}");
    }
    println!("no temporary or partial file left; exiting cleanly");
    Ok(())
}
