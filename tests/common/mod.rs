//! Helpers shared by the integration tests: the in-process S3 server, the fault-injecting
//! proxy, test data and unique names.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod s3s_server;
pub mod seaweed;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `len` pseudo-random bytes from `seed` (xorshift64*): reproducible, incompressible
/// enough for S3 tests, and cheap.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A bucket name no other test in this run uses: `prefix-<pid>-<n>-<time>`, valid for
/// S3 (lowercase, at most 63 characters).
pub fn unique_bucket(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut name = format!(
        "{}-{}-{n}-{nanos}",
        prefix.to_lowercase(),
        std::process::id()
    );
    name.truncate(63);
    name
}
