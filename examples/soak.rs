//! Soak: minutes of mixed transfers through the fault-injecting proxy in front of a real
//! SeaweedFS, with random faults, cancels and shutdowns, checking every outcome and that
//! the process does not grow.
//!
//! Each round builds a client and a manager (random pool sizes), adds a few random
//! faults to the proxy (503s, 500s, errors inside a 200, resets and short bodies part
//! way, stalls the client's body timeout must break, corrupted request or response
//! bytes), starts 6 to 12 transfers at once (file and stream uploads of 0 to 64 MiB,
//! file and stream downloads, server-side copies), cancels some of them, and sometimes
//! shuts the manager down mid-flight. Then every outcome is checked against the store
//! itself (not through the proxy):
//! * a success is byte-exact (an upload or copy read back, a download compared);
//! * a failure is a typed error other than `Internal` or `TransferNotDone` (a hang), a
//!   failed upload or copy left no object (a cancelled one may have left our own bytes,
//!   whole: a cancel cannot undo a write the store already did), a failed download no
//!   file;
//! * no multipart upload is left open and no temporary file is left in the download
//!   directory.
//!
//! Between rounds, with nothing running, it samples the process: library threads (must
//! return to none), all threads, open file descriptors and RSS. At the end it prints
//! the totals and the samples, and exits non-zero if a check failed or the process grew
//! (library threads left after a round, the last third's fewest file descriptors above
//! the first sample by more than 16, or the last third's peak RSS above the first
//! third's by more than 25%). RSS is sampled after `malloc_trim`, so it shows what is
//! still held rather than what the allocator caches.
//!
//! ```text
//! scripts/soak.sh                                   # 20 minutes
//! cargo run --release --example soak -- --minutes 2 --seed 7
//! ```

#[path = "../tests/common/fault_proxy.rs"]
mod fault_proxy;
#[path = "../tests/common/seaweed.rs"]
mod seaweed;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fault_proxy::{Fault, FaultProxy, Match, Rule};
use parking_lot::Mutex;
use rusoto_s3::S3 as _;
use s3transfer::{
    CopyArgs, CopySource, DownloadArgs, DownloadTarget, ErrorKind, RusotoS3, TransferConfig,
    TransferError, TransferFuture, TransferManager, UploadArgs, UploadSource,
};
use seaweed::SeaweedFs;

const MIB: usize = 1024 * 1024;

/// The system allocator, counting the bytes live at each moment: RSS mixes what is held
/// with what the allocator keeps cached or cannot return (fragmentation), so growth is
/// judged on the live bytes, and RSS is reported beside them.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is
// added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
/// The objects downloads and copies read, stored once at the start (not through the
/// proxy): empty, tiny, one byte over a part, several parts, and the largest size.
const SOURCES: [usize; 5] = [0, 1000, 5 * MIB + 1, 17 * MIB, 64 * MIB];

/// A seeded xorshift: the run's choices (not the threads' timing) follow the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// 0 to 64 MiB, mostly small: 40% under 1 MiB, 40% up to 16 MiB, the rest larger.
    fn size(&mut self) -> usize {
        match self.below(10) {
            0..4 => self.below(MIB as u64) as usize,
            4..8 => self.below(16 * MIB as u64) as usize,
            _ => 16 * MIB + self.below(48 * MIB as u64 + 1) as usize,
        }
    }
}

/// `size` bytes that differ by seed, made as they are read: the harness holds digests,
/// not data, so the process's memory is the library's (and the proxy's buffers).
struct Generated {
    rng: Rng,
    left: usize,
    word: [u8; 8],
    used: usize,
}

impl Generated {
    fn new(size: usize, seed: u64) -> Generated {
        Generated {
            rng: Rng::new(seed),
            left: size,
            word: [0; 8],
            used: 8,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        for byte in &mut buf[..n] {
            if self.used == 8 {
                self.rng.below(2);
                self.word = self.rng.0.to_le_bytes();
                self.used = 0;
            }
            *byte = self.word[self.used];
            self.used += 1;
        }
        self.left -= n;
        Ok(n)
    }
}

/// The length and MD5 of some bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Digest {
    len: u64,
    md5: [u8; 16],
}

/// Hashes what is written to it.
#[derive(Default)]
struct Hashing {
    md5: md5::Md5,
    len: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        md5::Digest::update(&mut self.md5, buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Hashing {
    fn digest(self) -> Digest {
        Digest {
            len: self.len,
            md5: md5::Digest::finalize(self.md5).into(),
        }
    }
}

fn digest_of(mut reader: impl Read) -> std::io::Result<Digest> {
    let mut hashing = Hashing::default();
    std::io::copy(&mut reader, &mut hashing)?;
    Ok(hashing.digest())
}

/// A stream download's writer: hashes what the download writes, in order.
struct Collect(Arc<Mutex<Hashing>>);

impl Write for Collect {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a transfer must have produced if it succeeded.
enum Expect {
    /// An object (an upload or a copy) holding these bytes.
    Object { key: String, digest: Digest },
    /// A file holding these bytes.
    File { path: PathBuf, digest: Digest },
    /// A stream that received these bytes.
    Stream {
        got: Arc<Mutex<Hashing>>,
        digest: Digest,
    },
}

#[derive(Default)]
struct Totals {
    transfers: BTreeMap<&'static str, u64>,
    outcomes: BTreeMap<String, u64>,
    faults: BTreeMap<String, u64>,
    requests: u64,
    cancels: u64,
    shutdowns: u64,
    bytes_ok: u64,
    problems: Vec<String>,
}

/// The process between rounds.
#[derive(Clone, Copy, Debug)]
struct Sample {
    round: u64,
    library_threads: usize,
    threads: usize,
    fds: usize,
    rss_kib: u64,
    /// Heap bytes allocated and not freed.
    live: usize,
}

fn sample(round: u64) -> Sample {
    // Hand freed memory back first, so that RSS shows what is still held (a leak) rather
    // than what the allocator keeps cached from the largest round so far.
    // SAFETY: malloc_trim only releases free pages of glibc's heap.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
    let names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .collect()
        })
        .unwrap_or_default();
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0);
    Sample {
        round,
        library_threads: names
            .iter()
            .filter(|n| n.starts_with("s3transfer-"))
            .count(),
        threads: names.len(),
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        rss_kib,
        live: LIVE.load(Ordering::Relaxed),
    }
}

fn random_rule(rng: &mut Rng) -> Rule {
    let matcher = match rng.below(7) {
        0 => Match::put_object(),
        1 => Match::upload_part(),
        2 => Match::get_object(),
        3 => Match::complete_multipart_upload(),
        4 => Match::create_multipart_upload(),
        5 => Match::upload_part_copy(),
        _ => Match::any(),
    };
    let fault = match rng.below(9) {
        0 => Fault::SlowDown,
        1 => Fault::InternalError,
        2 => Fault::ErrorIn200,
        3 => Fault::ResetAfter(rng.below(200_000) as usize),
        4 => Fault::ShortBody(rng.below(200_000) as usize),
        5 => Fault::Stall {
            after_body_bytes: Some(rng.below(100_000) as usize),
            duration: Duration::from_secs(4),
        },
        6 => Fault::CorruptRequestBody(rng.below(100_000) as usize),
        7 => Fault::CorruptResponseBody(rng.below(100_000) as usize),
        _ => Fault::SlowDown,
    };
    let rule = Rule::new(matcher, fault).times(1 + rng.below(3) as usize);
    if rng.chance(20) {
        rule.after_upstream()
    } else {
        rule
    }
}

struct Run {
    server: &'static SeaweedFs,
    proxy: FaultProxy,
    bucket: String,
    dir: tempfile::TempDir,
    sources: Vec<(String, Digest)>,
    seed: u64,
}

/// A client of the store at `endpoint`; a body that stalls for 2 s is broken off (and
/// resumed or retried), which is what the proxy's stalls test.
fn client(server: &SeaweedFs, endpoint: &str) -> anyhow::Result<RusotoS3> {
    Ok(RusotoS3::builder()
        .endpoint(endpoint)
        .region(server.region())
        .static_credentials(server.access_key(), server.secret_key())
        .request_timeout(Duration::from_secs(60))
        .body_read_timeout(Duration::from_secs(2))
        .build()?)
}

impl Run {
    fn round(&self, round: u64, totals: &mut Totals) -> anyhow::Result<()> {
        let problems_before = totals.problems.len();
        let mut rng = Rng::new(self.seed ^ round.wrapping_mul(0xA24B_AED4_963E_E407));
        for _ in 0..1 + rng.below(5) {
            self.proxy.add(random_rule(&mut rng));
        }
        let config = TransferConfig::builder()
            .multipart_threshold(8 * MIB as u64)
            .multipart_chunksize(5 * MIB as u64)
            .max_request_concurrency(2 + rng.below(7) as usize)
            .max_submission_concurrency(1 + rng.below(4) as usize)
            .max_in_memory_upload_chunks(2 + rng.below(6) as usize)
            .max_in_memory_download_chunks(2 + rng.below(6) as usize)
            .build()?;
        let manager = TransferManager::new(
            Arc::new(client(self.server, &self.proxy.endpoint())?),
            config,
        );
        let mut started: Vec<(&'static str, TransferFuture, Expect)> = Vec::new();
        for i in 0..6 + rng.below(7) {
            let key = format!("r{round}-{i}");
            let (kind, future, expect) = self.start(&manager, &mut rng, key)?;
            *totals.transfers.entry(kind).or_default() += 1;
            started.push((kind, future, expect));
        }
        // Cancels and a shutdown at random moments, from another thread, as a
        // caller's Ctrl-C handler or a timeout would.
        let mut plan: Vec<(u64, Option<usize>)> = Vec::new();
        for i in 0..started.len() {
            if rng.chance(20) {
                plan.push((rng.below(1500), Some(i)));
            }
        }
        if rng.chance(15) {
            plan.push((200 + rng.below(1800), None));
            totals.shutdowns += 1;
        }
        plan.sort();
        totals.cancels += plan.iter().filter(|(_, i)| i.is_some()).count() as u64;
        let futures: Vec<TransferFuture> = started.iter().map(|(_, f, _)| f.clone()).collect();
        let manager = Arc::new(manager);
        let stopper = {
            let manager = manager.clone();
            std::thread::spawn(move || {
                let begun = Instant::now();
                for (at, which) in plan {
                    let at = Duration::from_millis(at);
                    std::thread::sleep(at.saturating_sub(begun.elapsed()));
                    match which {
                        Some(i) => futures[i].cancel(),
                        None => manager.shutdown(true, "soak"),
                    }
                }
            })
        };
        for (kind, future, expect) in started {
            let outcome = future.result_timeout(Duration::from_secs(300));
            self.check(round, kind, outcome, expect, totals)?;
        }
        stopper.join().expect("the stopper thread");
        manager.shutdown(false, "");
        drop(manager);
        let exchanges = self.proxy.take_exchanges();
        if totals.problems.len() > problems_before {
            // The round's faults, to see what led to the problem.
            for e in exchanges.iter().filter(|e| e.fault.is_some()) {
                println!(
                    "  round {round} fault: {} {} {:?} (upstream {:?})",
                    e.method, e.target, e.fault, e.upstream_status
                );
            }
        }
        for (key, upload_id) in self.server.list_multipart_uploads(&self.bucket) {
            totals.problems.push(format!(
                "round {round}: multipart upload left open: {key} {upload_id}"
            ));
            // What happened to it, for the report; then abort it so that later rounds
            // report only their own.
            for e in exchanges
                .iter()
                .filter(|e| e.target.contains(&format!("/{key}?")))
            {
                println!(
                    "  {key}: {} {} fault {:?} upstream {:?}",
                    e.method, e.target, e.fault, e.upstream_status
                );
            }
            let abort = rusoto_s3::AbortMultipartUploadRequest {
                bucket: self.bucket.clone(),
                key,
                upload_id,
                ..Default::default()
            };
            let s3 = self.server.client();
            self.server.block_on(s3.abort_multipart_upload(abort))?;
        }
        for entry in std::fs::read_dir(self.dir.path())? {
            let entry = entry?;
            totals.problems.push(format!(
                "round {round}: left in the download directory: {}",
                entry.path().display()
            ));
            std::fs::remove_file(entry.path())?;
        }
        for exchange in exchanges {
            totals.requests += 1;
            if let Some(fault) = exchange.fault {
                let name = format!("{fault:?}");
                let name = name.split(['(', ' ']).next().unwrap_or("?").to_owned();
                *totals.faults.entry(name).or_default() += 1;
            }
        }
        Ok(())
    }

    fn start(
        &self,
        manager: &TransferManager,
        rng: &mut Rng,
        key: String,
    ) -> anyhow::Result<(&'static str, TransferFuture, Expect)> {
        let (source_key, source) = &self.sources[rng.below(SOURCES.len() as u64) as usize];
        let (size, seed) = (rng.size(), rng.below(u64::MAX));
        let digest = digest_of(Generated::new(size, seed))?;
        Ok(match rng.below(5) {
            0 => {
                let path = self.dir.path().join(format!("{key}.up"));
                std::io::copy(
                    &mut Generated::new(size, seed),
                    &mut std::fs::File::create(&path)?,
                )?;
                let future = manager.upload(
                    UploadSource::path(&path),
                    &self.bucket,
                    &key,
                    UploadArgs::default(),
                    &[],
                )?;
                // The source file goes once the upload has ended: see `check`.
                ("upload file", future, Expect::Object { key, digest })
            }
            1 => {
                let future = manager.upload(
                    UploadSource::stream(Generated::new(size, seed)),
                    &self.bucket,
                    &key,
                    UploadArgs::default(),
                    &[],
                )?;
                ("upload stream", future, Expect::Object { key, digest })
            }
            2 => {
                let path = self.dir.path().join(format!("{key}.down"));
                let future = manager.download(
                    &self.bucket,
                    source_key,
                    DownloadTarget::path(&path),
                    DownloadArgs::default(),
                    &[],
                )?;
                let digest = *source;
                ("download file", future, Expect::File { path, digest })
            }
            3 => {
                let got = Arc::new(Mutex::new(Hashing::default()));
                let future = manager.download(
                    &self.bucket,
                    source_key,
                    DownloadTarget::stream(Collect(got.clone())),
                    DownloadArgs::default(),
                    &[],
                )?;
                let digest = *source;
                ("download stream", future, Expect::Stream { got, digest })
            }
            _ => {
                let future = manager.copy(
                    CopySource::new(&self.bucket, source_key),
                    &self.bucket,
                    &key,
                    CopyArgs::default(),
                    &[],
                )?;
                let digest = *source;
                ("copy", future, Expect::Object { key, digest })
            }
        })
    }

    fn check(
        &self,
        round: u64,
        kind: &'static str,
        outcome: Result<s3transfer::TransferOutput, TransferError>,
        expect: Expect,
        totals: &mut Totals,
    ) -> anyhow::Result<()> {
        let label = match &outcome {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{:?}", e.kind()),
        };
        *totals
            .outcomes
            .entry(format!("{kind}: {label}"))
            .or_default() += 1;
        let detail = match &outcome {
            Ok(out) => format!(
                "{} bytes in {} parts, {} retries, validated {:?}",
                out.bytes, out.parts, out.retries, out.validated
            ),
            Err(e) => e.to_string(),
        };
        let mut problem = |what: String| {
            totals
                .problems
                .push(format!("round {round} {kind}: {what} ({detail})"))
        };
        if let Err(e) = &outcome
            && matches!(e.kind(), ErrorKind::Internal | ErrorKind::TransferNotDone)
        {
            problem(format!("{e}"));
        }
        let ok = outcome.is_ok();
        let cancelled = outcome.as_ref().is_err_and(|e| e.is_cancelled());
        match expect {
            Expect::Object { key, digest } => {
                let _ = std::fs::remove_file(self.dir.path().join(format!("{key}.up")));
                let stored = self.stored_digest(&key)?;
                match (ok, stored) {
                    (true, Some(got)) if got == digest => totals.bytes_ok += digest.len,
                    (true, Some(got)) => problem(format!(
                        "{key}: stored {} bytes that are not the {} sent",
                        got.len, digest.len
                    )),
                    (true, None) => problem(format!("{key}: succeeded but no object")),
                    // A cancel that lands after the store wrote a single PUT (or did a
                    // Complete) cannot undo it: our bytes are there, whole.
                    (false, Some(got)) if cancelled && got == digest => {}
                    (false, Some(_)) => problem(format!("{key}: failed but an object exists")),
                    (false, None) => {}
                }
                let delete = rusoto_s3::DeleteObjectRequest {
                    bucket: self.bucket.clone(),
                    key,
                    ..Default::default()
                };
                let s3 = self.server.client();
                self.server.block_on(s3.delete_object(delete))?;
            }
            Expect::File { path, digest } => {
                let got = std::fs::File::open(&path).and_then(digest_of);
                match (ok, got) {
                    (true, Ok(got)) if got == digest => {
                        totals.bytes_ok += digest.len;
                        std::fs::remove_file(&path)?;
                    }
                    (true, got) => problem(format!(
                        "{}: not the object's bytes (got {:?} bytes, expected {})",
                        path.display(),
                        got.map(|d| d.len).ok(),
                        digest.len
                    )),
                    (false, Ok(_)) => {
                        problem(format!("{}: failed but the file exists", path.display()))
                    }
                    (false, Err(_)) => {}
                }
            }
            Expect::Stream { got, digest } => {
                let got = std::mem::take(&mut *got.lock()).digest();
                if ok {
                    if got == digest {
                        totals.bytes_ok += digest.len;
                    } else {
                        problem(format!(
                            "the stream did not receive the object's bytes (got {} bytes, expected {})",
                            got.len, digest.len
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The digest of the object as the store has it, `None` if it has none.
    fn stored_digest(&self, key: &str) -> anyhow::Result<Option<Digest>> {
        // Through the fixture's own client (its threads are not the library's), so
        // that library threads can be counted between rounds.
        let head = rusoto_s3::HeadObjectRequest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            ..Default::default()
        };
        let s3 = self.server.client();
        match self.server.block_on(s3.head_object(head)) {
            Ok(_) => {
                let bytes = self.server.get_object(&self.bucket, key);
                Ok(Some(digest_of(&bytes[..])?))
            }
            Err(rusoto_core::RusotoError::Service(_)) => Ok(None),
            Err(rusoto_core::RusotoError::Unknown(r)) if r.status.as_u16() == 404 => Ok(None),
            Err(e) => Err(e).context("HEAD for the check"),
        }
    }
}

fn parse_args() -> anyhow::Result<(f64, u64)> {
    let mut minutes = 20.0;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--minutes" => minutes = value.parse()?,
            "--seed" => seed = value.parse()?,
            _ => bail!("usage: soak [--minutes M] [--seed S]"),
        }
    }
    Ok((minutes, seed))
}

fn report(
    totals: &Totals,
    baseline: Sample,
    samples: &[Sample],
    elapsed: Duration,
    rounds: u64,
) -> Vec<String> {
    println!(
        "\n== soak: {rounds} rounds in {:.1} min",
        elapsed.as_secs_f64() / 60.0
    );
    println!("transfers: {:?}", totals.transfers);
    for (outcome, n) in &totals.outcomes {
        println!("  {outcome}: {n}");
    }
    println!(
        "requests through the proxy: {}; faults fired: {:?}; cancels: {}; shutdowns mid-flight: {}",
        totals.requests, totals.faults, totals.cancels, totals.shutdowns
    );
    println!(
        "verified bytes: {:.2} GiB",
        totals.bytes_ok as f64 / (1u64 << 30) as f64
    );
    let mut growth = Vec::new();
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return growth;
    };
    let third = samples.len().div_ceil(3);
    let peak = |s: &[Sample]| s.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let (early, late) = (
        peak(&samples[..third]),
        peak(&samples[samples.len() - third..]),
    );
    println!(
        "between rounds (before the first: {} library threads), first / last / max: library threads {} / {} / {}; threads {} / {} / {}; fds {} / {} / {}; RSS MiB {} / {} / {} (peak of first third {}, of last third {})",
        baseline.library_threads,
        first.library_threads,
        last.library_threads,
        samples.iter().map(|s| s.library_threads).max().unwrap_or(0),
        first.threads,
        last.threads,
        samples.iter().map(|s| s.threads).max().unwrap_or(0),
        first.fds,
        last.fds,
        samples.iter().map(|s| s.fds).max().unwrap_or(0),
        first.rss_kib / 1024,
        last.rss_kib / 1024,
        samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) / 1024,
        early / 1024,
        late / 1024,
    );
    // The trend, ten points across the run.
    let step = samples.len().div_ceil(10).max(1);
    let trend: Vec<String> = samples
        .iter()
        .step_by(step)
        .map(|s| {
            format!(
                "r{}: {} MiB live/{} MiB RSS/{} fds",
                s.round,
                s.live / MIB,
                s.rss_kib / 1024,
                s.fds
            )
        })
        .collect();
    println!("heap, RSS and fds between rounds: {}", trend.join(", "));
    for s in samples {
        // The checking client's own runtime threads are the baseline.
        if s.library_threads > baseline.library_threads {
            growth.push(format!(
                "round {}: {} library threads alive, {} before the first round",
                s.round, s.library_threads, baseline.library_threads
            ));
        }
    }
    // A leak persists; a socket still closing when the sample is taken does not: the
    // fewest descriptors of the last third against the first sample.
    let settled = samples[samples.len() - third..]
        .iter()
        .map(|s| s.fds)
        .min()
        .unwrap_or(0);
    if settled > first.fds + 16 {
        growth.push(format!(
            "fds grew: at least {settled} in the last third, {} at first",
            first.fds
        ));
    }
    // Growth is judged on the live heap (a leak), with 8 MiB of slack for what a round
    // may still be releasing; RSS is reported only (see `Counting`).
    let live_peak = |s: &[Sample]| s.iter().map(|s| s.live).max().unwrap_or(0);
    let (early_live, late_live) = (
        live_peak(&samples[..third]),
        live_peak(&samples[samples.len() - third..]),
    );
    println!(
        "live heap between rounds: peak of first third {} KiB, of last third {} KiB",
        early_live / 1024,
        late_live / 1024
    );
    if samples.len() >= 6 && late_live > early_live + early_live / 4 + 8 * MIB {
        growth.push(format!(
            "the live heap grew: peak {} KiB early, {} KiB late",
            early_live / 1024,
            late_live / 1024
        ));
    }
    growth
}

fn main() -> anyhow::Result<()> {
    let (minutes, seed) = parse_args()?;
    println!("soak: {minutes} min, seed {seed}");
    let server = SeaweedFs::shared();
    let proxy = FaultProxy::start(&server.endpoint());
    let bucket = format!("soak-{seed}");
    server.create_bucket(&bucket);
    let mut sources = Vec::new();
    for (i, size) in SOURCES.into_iter().enumerate() {
        let key = format!("source-{i}");
        let mut bytes = Vec::with_capacity(size);
        Generated::new(size, seed ^ i as u64).read_to_end(&mut bytes)?;
        server.put_object(&bucket, &key, &bytes);
        sources.push((key, digest_of(&bytes[..])?));
    }
    let run = Run {
        server,
        proxy,
        bucket,
        dir: tempfile::tempdir()?,
        sources,
        seed,
    };
    let baseline = sample(0);
    let begun = Instant::now();
    let deadline = Duration::from_secs_f64(minutes * 60.0);
    let mut totals = Totals::default();
    let mut samples = Vec::new();
    let mut round = 0;
    while begun.elapsed() < deadline {
        run.round(round, &mut totals)?;
        // Library threads end after `shutdown` returns; give them a moment to exit
        // before counting (a measurement, not a check with a timeout).
        let settle = Instant::now();
        while sample(round).library_threads > baseline.library_threads
            && settle.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The first rounds warm the allocator and the proxy's threads up.
        if round >= 2 {
            samples.push(sample(round));
        }
        if round % 10 == 0 {
            println!(
                "round {round} ({:.0} s): problems so far {}",
                begun.elapsed().as_secs_f64(),
                totals.problems.len()
            );
        }
        round += 1;
    }
    let growth = report(&totals, baseline, &samples, begun.elapsed(), round);
    let failures: Vec<&String> = totals.problems.iter().chain(&growth).collect();
    for f in &failures {
        println!("FAIL {f}");
    }
    if !failures.is_empty() {
        bail!("{} problems (seed {seed})", failures.len());
    }
    println!("soak passed (seed {seed})");
    Ok(())
}
