//! s3transfer: fast, safe, synchronous S3 transfers on a thread pool.
//!
//! A [`TransferManager`] moves data between local files or streams and S3 with
//! multipart uploads, parallel ranged downloads, server-side copies and deletes. Every
//! call returns a [`TransferFuture`] at once; worker threads do the work; the future
//! reports success or a typed [`TransferError`]. There is no async in the API.
//!
//! ```no_run
//! use std::sync::Arc;
//! use s3transfer::{RusotoS3, TransferConfig, TransferManager, UploadArgs, DownloadArgs};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = RusotoS3::builder()
//!     .endpoint("http://127.0.0.1:9000")
//!     .static_credentials("access-key", "secret-key")
//!     .build()?;
//! let manager = TransferManager::new(Arc::new(client), TransferConfig::default());
//! manager
//!     .upload("big.bin", "my-bucket", "big.bin", UploadArgs::default(), &[])?
//!     .result()?;
//! manager
//!     .download("my-bucket", "big.bin", "copy.bin", DownloadArgs::default(), &[])?
//!     .result()?;
//! manager.shutdown(false, "");
//! # Ok(()) }
//! ```
//!
//! `RusotoS3` (feature `rusoto`, the default) is one backend; `AwsSdkS3` (feature
//! `aws-sdk`) is the same on the AWS SDK for Rust's aws-sdk-s3, built the same way or
//! from an `aws_sdk_s3::Client` of your own (`AwsSdkS3::from_client`).
//!
//! The same with the in-memory fake of feature `testing`, which is how to unit-test
//! code that transfers (this one runs as a doc test):
//!
//! ```
//! # #[cfg(feature = "testing")] {
//! use std::io::Cursor;
//! use std::sync::Arc;
//! use s3transfer::testing::{FakeS3, InjectedError, Operation};
//! use s3transfer::{DownloadArgs, TransferConfig, TransferManager, UploadArgs, UploadSource};
//!
//! let s3 = FakeS3::new();
//! s3.create_bucket("bucket");
//! let manager = TransferManager::new(Arc::new(s3.clone()), TransferConfig::default());
//!
//! let data = vec![42u8; 20 * 1024 * 1024];
//! let out = manager
//!     .upload(UploadSource::stream(Cursor::new(data.clone())), "bucket", "k", UploadArgs::default(), &[])
//!     .unwrap()
//!     .result()
//!     .unwrap();
//! assert_eq!(out.parts, 3); // 8 + 8 + 4 MiB
//! assert_eq!(s3.object("bucket", "k").unwrap().bytes(), &data[..]);
//!
//! // A missing key is a typed error, and no file is created.
//! let path = std::env::temp_dir().join(format!("s3transfer-doc-{}", std::process::id()));
//! let err = manager
//!     .download("bucket", "missing", path.as_path(), DownloadArgs::default(), &[])
//!     .unwrap()
//!     .result()
//!     .unwrap_err();
//! assert!(err.is_not_found());
//! assert!(!path.exists());
//! manager.shutdown(false, "");
//! # }
//! ```
//!
//! Directories and prefixes move with one call each, as `aws s3 cp --recursive` and
//! `aws s3 sync` move them: [`TransferManager::upload_dir`],
//! [`download_prefix`](TransferManager::download_prefix),
//! [`copy_prefix`](TransferManager::copy_prefix) and [`sync`](TransferManager::sync)
//! return a [`TreeHandle`] (progress, cancel, every object's result, a
//! [`FailurePolicy`]); [`TreeArgs`] holds the filters, the sync rules, a dry run and
//! what each object is sent with. The tree is streamed: memory does not grow with the
//! number of files or keys.
//!
//! ```
//! # #[cfg(feature = "testing")] {
//! use std::sync::Arc;
//! use s3transfer::testing::FakeS3;
//! use s3transfer::{TransferConfig, TransferManager, TreeArgs, TreeLocation};
//!
//! let s3 = FakeS3::new();
//! s3.put_object_bytes("bucket", "photos/cat.jpg", b"meow".to_vec());
//! s3.put_object_bytes("bucket", "photos/notes.txt", b"hi".to_vec());
//! let manager = Arc::new(TransferManager::new(Arc::new(s3), TransferConfig::default()));
//! let dir = std::env::temp_dir().join(format!("s3transfer-doc-sync-{}", std::process::id()));
//!
//! let args = TreeArgs::builder().exclude("*").include("*.jpg").build().unwrap();
//! let sync = || manager.sync(TreeLocation::s3("bucket", "photos"), TreeLocation::local(&dir), args.clone());
//! let report = sync().unwrap().wait();
//! assert_eq!(report.downloaded, 1);
//! assert!(dir.join("cat.jpg").exists() && !dir.join("notes.txt").exists());
//! // Nothing changed: nothing moves.
//! let again = sync().unwrap().wait();
//! assert_eq!((again.downloaded, again.skipped), (0, 1));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # }
//! ```
//!
//! For one blocking call per transfer with a plain progress closure (boto3's
//! `upload_file` / `download_file` / `copy`), use [`S3Transfer`].
//!
//! [`TransferConfig::max_bandwidth`] limits every upload and download of a manager
//! together through one shared leaky bucket; the [`bandwidth`] module also offers the
//! bucket and a limited `Read` wrapper on their own.
//!
//! With a backend that supports flexible checksums ([`S3Api::supports_checksums`]),
//! uploads send a checksum with every body (CRC32 by default; a multipart upload also
//! sends the whole object's CRC, combined from its parts') and downloads compare the
//! bytes with the stored checksum (part by part when it is a composite one), failing
//! with [`TransferError::IntegrityFailed`];
//! [`TransferOutput::validated`] says what was checked. The [`checksum`] module has the
//! algorithms on their own.
//!
//! A multipart upload of a file or a download to a file can be paused
//! ([`TransferFuture::pause`]) and continued later, in this process or another
//! ([`TransferManager::resume_upload`], [`TransferManager::resume_download`]), from its
//! [`resume::ResumeToken`] or from a journal kept as parts complete
//! ([`UploadArgs::journal`](field@UploadArgs::journal)); a resume checks the source,
//! the store's parts or the object's ETag, and the bytes on disk before it trusts any
//! of them (`docs/resume.md`).
//!
//! Where things are: the transfer API and the S3 vocabulary (`S3Api`, `S3Error`,
//! `CopySource`, ...) at the crate root; the request and response types a backend
//! implements `S3Api` with in [`client`]; [`bandwidth`] and [`checksum`] for using those
//! mechanisms on their own; [`resume`] for tokens and journals; with feature `testing`,
//! `testing::FakeS3` and the backend contract suite `testing::contract`.
//!
//! The design (the layout, threads and state machine) is described in
//! `docs/architecture.md`.
#![deny(missing_docs)]
#![deny(unreachable_pub)]

mod args;
mod blocking;
pub mod checksum;
pub mod client;
mod config;
mod error;
mod future;
mod manager;
mod mime;
pub mod resume;
mod runtime;
mod subscriber;
#[cfg(feature = "testing")]
pub mod testing;
mod transfer;
mod tree;

pub mod bandwidth {
    //! Bandwidth limiting (s3transfer's `bandwidth` module): a [`LeakyBucket`] shared
    //! by streams, and a [`BandwidthLimiter`] that wraps a reader so its reads are
    //! charged to it. A manager's own limit is [`TransferConfig::max_bandwidth`]
    //! (`crate::TransferConfig`); these are for limiting other streams the same way.
    //!
    //! [`TransferConfig::max_bandwidth`]: crate::TransferConfigBuilder::max_bandwidth
    pub use crate::runtime::bandwidth::{
        BandwidthError, BandwidthLimitedStream, BandwidthLimiter, Interrupt, LeakyBucket,
        NoInterrupt, RequestExceeded,
    };
}

// The transfer API.
/// The crate-private parsers, for the fuzz targets in `fuzz/` only: compiled under
/// `--cfg fuzzing` (set by cargo-fuzz), so the public API is unchanged.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod __fuzz {
    use crate::client::ChecksumAlgorithm;

    /// `checksum::base64`.
    pub fn base64(data: &[u8]) -> String {
        crate::checksum::base64(data)
    }

    /// `checksum::base64_decode`.
    pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
        crate::checksum::base64_decode(text)
    }

    /// `checksum::composite_checksum`.
    pub fn composite_checksum(algorithm: ChecksumAlgorithm, parts: &[&str]) -> Option<String> {
        crate::checksum::composite_checksum(algorithm, parts)
    }

    #[cfg(feature = "rusoto")]
    pub use crate::client::rusoto::fuzz::{
        error_from_response, header_u64, is_error_document, parse_list_parts, parse_listing_date,
        read_checksums, read_result_checksums, response_head, xml_text,
    };
}

pub use args::{CopyArgs, DeleteArgs, DownloadArgs, UploadArgs};
pub use blocking::{NO_CALLBACK, S3Transfer};
pub use config::{ChecksumWhen, TransferConfig, TransferConfigBuilder};
pub use error::{ConfigError, ErrorKind, TransferError};
pub use future::{
    CallArgs, TransferFuture, TransferMeta, TransferOutput, TransferStatus, Validation,
};
pub use manager::TransferManager;
pub use runtime::queue::{GetError, PutError, ShutdownQueue};
pub use runtime::retry::{RetryConfig, RetryConfigBuilder};
pub use subscriber::Subscriber;
pub use transfer::download::{DownloadTarget, SeekWrite};
pub use transfer::upload::{SeekRead, UploadSource};
pub use tree::{
    CaseConflict, EntryOrigin, FailurePolicy, LISTING_QUEUE_BOUND, ListedItem, ObjectAction,
    ObjectListing, ObjectResult, ResultCallback, TreeArgs, TreeArgsBuilder, TreeEntry, TreeFilter,
    TreeHandle, TreeLocation, TreeProgress, TreeReport,
};

// The S3 vocabulary transfers are described in; the rest of the seam is in `client`.
pub use client::api::S3Api;
#[cfg(feature = "aws-sdk")]
pub use client::aws_sdk::{AwsSdkS3, AwsSdkS3Builder};
pub use client::error::{S3Error, S3ErrorKind};
pub use client::model::{
    ChecksumAlgorithm, ChecksumType, Checksums, CopySource, CopySourceConditions, Directive,
    ObjectAttributes, RequestContext, SseCustomerKey,
};
#[cfg(feature = "rusoto")]
pub use client::rusoto::{RusotoS3, RusotoS3Builder};
