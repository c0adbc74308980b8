//! s3transfer: fast, safe, synchronous S3 transfers on a thread pool.
#![deny(missing_docs)]

pub mod client;
#[cfg(feature = "testing")]
pub mod testing;

pub use client::*;
