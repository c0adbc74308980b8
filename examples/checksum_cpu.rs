//! CPU cost of each flexible-checksum algorithm: seconds of CPU per GiB over an
//! in-memory 256 MiB buffer, the figure that says what checksums cost a transfer.
//!
//! Run in release: `cargo run --release --example checksum_cpu [MiB] [rounds]`.
//! CPU time is the process's user + system time from `/proc/self/stat` (Linux; elsewhere
//! wall time stands in), read around enough rounds to last well past its 10 ms tick.

use std::time::Instant;

use s3transfer::checksum::{ALL, Checksummer};

/// User + system CPU seconds of this process, or `None` where `/proc` is missing.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux platform this crate targets.
    Some(ticks / 100.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let buffer: Vec<u8> = (0..mib * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let gib = (buffer.len() * rounds) as f64 / (1u64 << 30) as f64;
    println!("{mib} MiB buffer x {rounds} rounds, fed in 256 KiB pieces (the upload chunk size)");
    println!(
        "{:<10} {:>12} {:>12} {:>10}",
        "algorithm", "cpu s/GiB", "wall s/GiB", "GiB/s"
    );
    for algorithm in ALL {
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let mut last = Vec::new();
        for _ in 0..rounds {
            let mut c = Checksummer::new(algorithm);
            for piece in buffer.chunks(256 * 1024) {
                c.update(piece);
            }
            last = c.finish().bytes;
        }
        let wall = wall0.elapsed().as_secs_f64();
        let cpu = match (cpu0, cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall,
        };
        std::hint::black_box(last);
        println!(
            "{:<10} {:>12.3} {:>12.3} {:>10.2}",
            algorithm.as_str(),
            cpu / gib,
            wall / gib,
            gib / wall
        );
    }
}
