//! Measures the client's peak memory while uploading a non-seekable stream of unknown
//! length (1 GiB by default): the bound the library promises is about
//! `(max_in_memory_upload_chunks + 2) × chunk size` above the process's baseline.
//!
//! The S3 server (s3s-fs) runs in a child process, so the peak resident set read from
//! `/proc/self/status` (VmHWM) is the client's alone. Linux only.
//!
//! ```text
//! cargo run --release --example stream_upload_memory            # 1024 MiB
//! cargo run --release --example stream_upload_memory -- 256     # size in MiB
//! ```

#[path = "../tests/common/s3s_server.rs"]
mod s3s_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use s3transfer::{RusotoS3, TransferConfig, TransferManager, UploadArgs, UploadSource};

const MIB: u64 = 1024 * 1024;

/// A generated stream: no file behind it, no seek, short reads of at most 64 KiB.
struct Generated {
    left: u64,
    state: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 * 1024).min(self.left as usize);
        for byte in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn vm_hwm_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmHWM value")?
        .parse()?)
}

fn serve() -> anyhow::Result<()> {
    let server = s3s_server::LocalS3::start();
    server.create_bucket("memory");
    println!("{}", server.endpoint());
    std::io::stdout().flush()?;
    // Serve until the parent closes our stdin (it exits or is done).
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        return serve();
    }
    let mib: u64 = match std::env::args().nth(1) {
        Some(a) => a.parse().context("the argument is a size in MiB")?,
        None => 1024,
    };
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut endpoint = String::new();
    BufReader::new(child.stdout.take().context("child stdout")?).read_line(&mut endpoint)?;
    let endpoint = endpoint.trim().to_owned();
    if endpoint.is_empty() {
        bail!("the server process did not start");
    }

    let config = TransferConfig::default();
    let chunk = config.multipart_chunksize();
    let permits = config.max_in_memory_upload_chunks() as u64;
    let client = RusotoS3::builder()
        .endpoint(&endpoint)
        .static_credentials(s3s_server::ACCESS_KEY, s3s_server::SECRET_KEY)
        .build()?;
    let manager = TransferManager::new(Arc::new(client), config);
    let baseline = vm_hwm_kib()?;

    let start = Instant::now();
    let stream = Generated {
        left: mib * MIB,
        state: 0x2545_F491_4F6C_DD1D,
    };
    let out = manager
        .upload(
            UploadSource::stream(stream),
            "memory",
            "stream.bin",
            UploadArgs::default(),
            &[],
        )?
        .result()?;
    let secs = start.elapsed().as_secs_f64();
    let peak = vm_hwm_kib()?;
    manager.shutdown(false, "");
    drop(child.stdin.take());
    child.wait()?;

    let bound = (permits + 2) * chunk;
    let grown = (peak - baseline) * 1024;
    println!(
        "uploaded {} MiB from a non-seekable stream in {} parts, {secs:.1} s ({:.0} MiB/s)",
        out.bytes / MIB,
        out.parts,
        out.bytes as f64 / MIB as f64 / secs
    );
    println!(
        "client peak RSS (VmHWM): {:.1} MiB; before the upload: {:.1} MiB; growth {:.1} MiB",
        peak as f64 / 1024.0,
        baseline as f64 / 1024.0,
        grown as f64 / MIB as f64
    );
    println!(
        "bound (max_in_memory_upload_chunks + 2) x chunk = ({permits} + 2) x {} MiB = {} MiB",
        chunk / MIB,
        bound / MIB
    );
    if grown > bound {
        bail!(
            "peak memory growth {} MiB is above the bound {} MiB",
            grown / MIB,
            bound / MIB
        );
    }
    println!("within the bound");
    Ok(())
}
