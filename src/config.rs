//! `TransferConfig`: the knobs of a manager, set through a validating builder, and the
//! part-size adjuster that keeps multipart transfers inside S3's limits.

use crate::client::ChecksumAlgorithm;
use crate::error::ConfigError;
use crate::runtime::retry::RetryConfig;

/// When the engine computes request checksums or validates response checksums, like
/// botocore's `request_checksum_calculation` / `response_checksum_validation`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumWhen {
    /// Whenever the backend supports checksums (the default).
    #[default]
    WhenSupported,
    /// Only when the caller asked for one (`ChecksumAlgorithm`, a full-object value,
    /// `ChecksumMode`).
    WhenRequired,
}

/// One mebibyte.
pub(crate) const MIB: u64 = 1024 * 1024;
/// S3's smallest part (all but the last): 5 MiB.
pub(crate) const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's largest part: 5 GiB.
pub(crate) const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// S3's most parts in one multipart upload.
pub(crate) const MAX_PARTS: u64 = 10_000;

/// How a [`crate::TransferManager`] splits, schedules and buffers its work.
///
/// Immutable and cheap to clone; build one with [`TransferConfig::builder`]. Every
/// default is s3transfer's unless said otherwise, so code ported from boto3 behaves
/// the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferConfig {
    pub(crate) multipart_threshold: u64,
    pub(crate) multipart_chunksize: u64,
    pub(crate) max_request_concurrency: usize,
    pub(crate) max_submission_concurrency: usize,
    pub(crate) max_request_queue_size: usize,
    pub(crate) max_submission_queue_size: usize,
    pub(crate) max_io_queue_size: usize,
    pub(crate) io_chunksize: usize,
    pub(crate) num_download_attempts: u32,
    pub(crate) max_in_memory_upload_chunks: usize,
    pub(crate) max_in_memory_download_chunks: usize,
    pub(crate) max_bandwidth: Option<u64>,
    pub(crate) retry: RetryConfig,
    pub(crate) checksum_algorithm: ChecksumAlgorithm,
    pub(crate) request_checksum_calculation: ChecksumWhen,
    pub(crate) response_checksum_validation: ChecksumWhen,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            multipart_threshold: 8 * MIB,
            multipart_chunksize: 8 * MIB,
            max_request_concurrency: 10,
            max_submission_concurrency: 5,
            max_request_queue_size: 1000,
            max_submission_queue_size: 1000,
            max_io_queue_size: 100,
            io_chunksize: 256 * 1024,
            num_download_attempts: 5,
            max_in_memory_upload_chunks: 10,
            max_in_memory_download_chunks: 10,
            max_bandwidth: None,
            retry: RetryConfig::default(),
            checksum_algorithm: ChecksumAlgorithm::Crc32,
            request_checksum_calculation: ChecksumWhen::WhenSupported,
            response_checksum_validation: ChecksumWhen::WhenSupported,
        }
    }
}

impl TransferConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> TransferConfigBuilder {
        TransferConfigBuilder {
            config: TransferConfig::default(),
        }
    }

    /// Objects of at least this many bytes go multipart (upload, copy) or ranged
    /// (download). Default 8 MiB.
    pub fn multipart_threshold(&self) -> u64 {
        self.multipart_threshold
    }
    /// Part size before adjustment. Default 8 MiB.
    pub fn multipart_chunksize(&self) -> u64 {
        self.multipart_chunksize
    }
    /// Threads making S3 requests. Default 10.
    pub fn max_request_concurrency(&self) -> usize {
        self.max_request_concurrency
    }
    /// Threads planning transfers. Default 5.
    pub fn max_submission_concurrency(&self) -> usize {
        self.max_submission_concurrency
    }
    /// Request jobs queued before submitters block. Default 1000.
    pub fn max_request_queue_size(&self) -> usize {
        self.max_request_queue_size
    }
    /// Transfers queued before `upload`/`download` block the caller. Default 1000.
    pub fn max_submission_queue_size(&self) -> usize {
        self.max_submission_queue_size
    }
    /// Write jobs queued before download requests block. Default 100.
    pub fn max_io_queue_size(&self) -> usize {
        self.max_io_queue_size
    }
    /// Size of each write job and of each progress step of a download. Default 256 KiB.
    pub fn io_chunksize(&self) -> usize {
        self.io_chunksize
    }
    /// Times a GET whose body broke off after delivering bytes is resumed. Default 5.
    pub fn num_download_attempts(&self) -> u32 {
        self.num_download_attempts
    }
    /// Upload parts held in memory at once. Default 10.
    pub fn max_in_memory_upload_chunks(&self) -> usize {
        self.max_in_memory_upload_chunks
    }
    /// Download parts held in memory at once for non-seekable outputs. Default 10.
    pub fn max_in_memory_download_chunks(&self) -> usize {
        self.max_in_memory_download_chunks
    }
    /// Bytes per second shared by all uploads and downloads, or unlimited. Default
    /// unlimited.
    pub fn max_bandwidth(&self) -> Option<u64> {
        self.max_bandwidth
    }
    /// How failed requests are retried (AWS "standard" mode by default).
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }
    /// The algorithm of the checksums computed when the caller names none. Default
    /// CRC32 (botocore's).
    pub fn checksum_algorithm(&self) -> ChecksumAlgorithm {
        self.checksum_algorithm
    }
    /// When uploads compute and send checksums. Default `WhenSupported`.
    pub fn request_checksum_calculation(&self) -> ChecksumWhen {
        self.request_checksum_calculation
    }
    /// When downloads ask for and validate stored checksums. Default `WhenSupported`.
    pub fn response_checksum_validation(&self) -> ChecksumWhen {
        self.response_checksum_validation
    }
}

/// Builds a [`TransferConfig`], rejecting values that cannot work.
#[derive(Clone, Debug)]
pub struct TransferConfigBuilder {
    config: TransferConfig,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    };
}

impl TransferConfigBuilder {
    setter!(
        /// Objects of at least this many bytes go multipart. Default 8 MiB: below it one
        /// request is cheaper than the extra Create/Complete round trips.
        multipart_threshold: u64
    );
    setter!(
        /// Part size. Default 8 MiB. Uploads and copies adjust it into S3's limits
        /// (5 MiB to 5 GiB, at most 10,000 parts) rather than failing.
        multipart_chunksize: u64
    );
    setter!(
        /// Threads making S3 requests. Default 10: enough to fill a 1-10 Gbit/s link
        /// with 8 MiB parts.
        max_request_concurrency: usize
    );
    setter!(
        /// Threads planning transfers (stat, first GET, reading streams). Default 5.
        max_submission_concurrency: usize
    );
    setter!(
        /// Request jobs queued before submitters block. Default 1000; at least
        /// `max_request_concurrency`.
        max_request_queue_size: usize
    );
    setter!(
        /// Transfers queued before the caller blocks. Default 1000; at least
        /// `max_submission_concurrency`.
        max_submission_queue_size: usize
    );
    setter!(
        /// Write jobs of `io_chunksize` bytes queued before downloads block. Default 100
        /// (boto3's value; s3transfer's 1000 lets 250 MiB pile up behind a slow disk).
        max_io_queue_size: usize
    );
    setter!(
        /// Size of each download write and progress step. Default 256 KiB.
        io_chunksize: usize
    );
    setter!(
        /// Times a GET whose body breaks off after delivering bytes is resumed from the
        /// first missing byte. Default 5, s3transfer's value. A GET that fails before
        /// its first byte is retried under [`TransferConfigBuilder::retry`] like any
        /// other request.
        num_download_attempts: u32
    );
    setter!(
        /// Upload parts held in memory at once. Default 10. Memory for a stream upload
        /// stays near `multipart_threshold + max_in_memory_upload_chunks * chunk size`
        /// (the first `multipart_threshold` bytes must be read to choose between one
        /// PutObject and a multipart upload); with the defaults, 11 × 8 MiB.
        max_in_memory_upload_chunks: usize
    );
    setter!(
        /// Download parts held in memory for non-seekable outputs. Default 10.
        max_in_memory_download_chunks: usize
    );
    setter!(
        /// The algorithm of the checksums computed when the caller names none. Default
        /// CRC32, as botocore: a CRC lets a multipart upload send the whole object's
        /// value (combined from the parts') and a ranged download check it.
        checksum_algorithm: ChecksumAlgorithm
    );
    setter!(
        /// When uploads compute and send checksums: `WhenSupported` (default) always,
        /// if the backend can send them; `WhenRequired` only when the caller named an
        /// algorithm or gave a value.
        request_checksum_calculation: ChecksumWhen
    );
    setter!(
        /// When downloads ask for the stored checksum (one HeadObject with
        /// `checksum_mode`) and compare it with the bytes received: `WhenSupported`
        /// (default) always, if the backend supports checksums; `WhenRequired` only
        /// with `ChecksumMode: ENABLED`.
        response_checksum_validation: ChecksumWhen
    );

    /// Limit all uploads and downloads of the manager to `bytes_per_second` together
    /// (one shared [`crate::runtime::bandwidth::LeakyBucket`]); copies are not limited. Must be
    /// above 0.
    pub fn max_bandwidth(mut self, bytes_per_second: u64) -> Self {
        self.config.max_bandwidth = Some(bytes_per_second);
        self
    }

    /// How failed requests are retried. Default: [`RetryConfig::default`], AWS's
    /// "standard" mode (jittered exponential backoff, a retry quota) with 5 attempts,
    /// as boto3 and the AWS CLI (see
    /// [`RetryConfigBuilder::max_attempts`](crate::RetryConfigBuilder::max_attempts)).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.config.retry = retry;
        self
    }

    /// Check every value and build the config.
    pub fn build(self) -> Result<TransferConfig, ConfigError> {
        let c = self.config;
        check_nonzero(&c)?;
        check_queues(&c)?;
        check_threads(&c)?;
        if c.io_chunksize as u64 > MAX_PART_SIZE {
            return Err(ConfigError::new(
                "io_chunksize",
                format!("({}) is larger than S3's largest part", c.io_chunksize),
            ));
        }
        Ok(c)
    }
}

/// Far above any useful queue depth (the defaults are 1,000 and 100), far below what a
/// channel cannot allocate: a bounded channel allocates its slots up front, so a queue
/// of 2^40 jobs would abort the process instead of failing in `build`.
const MAX_QUEUE: usize = 1 << 20;

/// Far above what 2 to 64 cores can use, far below what the OS refuses to start.
const MAX_THREADS: usize = 1024;

/// Every count and size that cannot be 0.
fn check_nonzero(c: &TransferConfig) -> Result<(), ConfigError> {
    let nonzero: [(&'static str, u64); 12] = [
        ("multipart_threshold", c.multipart_threshold),
        ("multipart_chunksize", c.multipart_chunksize),
        ("max_request_concurrency", c.max_request_concurrency as u64),
        (
            "max_submission_concurrency",
            c.max_submission_concurrency as u64,
        ),
        ("max_request_queue_size", c.max_request_queue_size as u64),
        (
            "max_submission_queue_size",
            c.max_submission_queue_size as u64,
        ),
        ("max_io_queue_size", c.max_io_queue_size as u64),
        ("io_chunksize", c.io_chunksize as u64),
        ("num_download_attempts", c.num_download_attempts as u64),
        (
            "max_in_memory_upload_chunks",
            c.max_in_memory_upload_chunks as u64,
        ),
        (
            "max_in_memory_download_chunks",
            c.max_in_memory_download_chunks as u64,
        ),
        ("max_bandwidth", c.max_bandwidth.unwrap_or(1)),
    ];
    match nonzero.into_iter().find(|(_, value)| *value == 0) {
        Some((name, _)) => Err(ConfigError::new(name, "must be greater than 0")),
        None => Ok(()),
    }
}

/// Each queue holds at least what its pool's threads take, and no more than
/// [`MAX_QUEUE`].
fn check_queues(c: &TransferConfig) -> Result<(), ConfigError> {
    let queues = [
        (
            "max_request_queue_size",
            c.max_request_queue_size,
            Some(("max_request_concurrency", c.max_request_concurrency)),
        ),
        (
            "max_submission_queue_size",
            c.max_submission_queue_size,
            Some(("max_submission_concurrency", c.max_submission_concurrency)),
        ),
        ("max_io_queue_size", c.max_io_queue_size, None),
    ];
    for (queue, size, pool) in queues {
        if let Some((pool, threads)) = pool
            && size < threads
        {
            return Err(ConfigError::new(
                queue,
                format!("({size}) is smaller than {pool} ({threads}): threads would sit idle"),
            ));
        }
        if size > MAX_QUEUE {
            return Err(ConfigError::new(
                queue,
                format!("({size}) is above {MAX_QUEUE} queued jobs"),
            ));
        }
    }
    Ok(())
}

/// No pool above [`MAX_THREADS`].
fn check_threads(c: &TransferConfig) -> Result<(), ConfigError> {
    for (name, threads) in [
        ("max_request_concurrency", c.max_request_concurrency),
        ("max_submission_concurrency", c.max_submission_concurrency),
    ] {
        if threads > MAX_THREADS {
            return Err(ConfigError::new(
                name,
                format!("({threads}) is above {MAX_THREADS} threads"),
            ));
        }
    }
    Ok(())
}

/// The part size to use for an upload or copy of `size` bytes (None: unknown, for a
/// stream): doubled until the parts fit in 10,000, then clamped to 5 MiB..5 GiB.
pub(crate) fn adjust_part_size(requested: u64, size: Option<u64>) -> u64 {
    let mut part = requested.max(1);
    if let Some(size) = size {
        while size.div_ceil(part) > MAX_PARTS {
            part *= 2;
        }
    }
    part.clamp(MIN_PART_SIZE, MAX_PART_SIZE)
}

/// The range size for a ranged download of `size` bytes: the configured size, doubled
/// while it would take more than 10,000 GETs (a tiny setting must not turn one object
/// into millions of requests).
pub(crate) fn download_part_size(requested: u64, size: u64) -> u64 {
    let mut part = requested.max(1);
    while size.div_ceil(part) > MAX_PARTS {
        part *= 2;
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_s3transfer() {
        let c = TransferConfig::default();
        assert_eq!(c.multipart_threshold(), 8 * MIB);
        assert_eq!(c.multipart_chunksize(), 8 * MIB);
        assert_eq!(c.max_request_concurrency(), 10);
        assert_eq!(c.max_submission_concurrency(), 5);
        assert_eq!(c.io_chunksize(), 256 * 1024);
        assert_eq!(c.num_download_attempts(), 5);
        assert_eq!(c.max_in_memory_upload_chunks(), 10);
        assert_eq!(c.max_in_memory_download_chunks(), 10);
        assert_eq!(c.max_bandwidth(), None);
        assert_eq!(TransferConfig::builder().build().unwrap(), c);
    }

    #[test]
    fn builder_rejects_zero_values_by_name() {
        // Every count and size, each set to 0 alone: the error names that one.
        type Zero = fn(TransferConfigBuilder) -> TransferConfigBuilder;
        let cases: [(&str, Zero); 12] = [
            ("multipart_threshold", |b| b.multipart_threshold(0)),
            ("multipart_chunksize", |b| b.multipart_chunksize(0)),
            ("max_request_concurrency", |b| b.max_request_concurrency(0)),
            ("max_submission_concurrency", |b| {
                b.max_submission_concurrency(0)
            }),
            ("max_request_queue_size", |b| b.max_request_queue_size(0)),
            ("max_submission_queue_size", |b| {
                b.max_submission_queue_size(0)
            }),
            ("max_io_queue_size", |b| b.max_io_queue_size(0)),
            ("io_chunksize", |b| b.io_chunksize(0)),
            ("num_download_attempts", |b| b.num_download_attempts(0)),
            ("max_in_memory_upload_chunks", |b| {
                b.max_in_memory_upload_chunks(0)
            }),
            ("max_in_memory_download_chunks", |b| {
                b.max_in_memory_download_chunks(0)
            }),
            ("max_bandwidth", |b| b.max_bandwidth(0)),
        ];
        for (name, zero) in cases {
            let err = zero(TransferConfig::builder()).build().unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("{name} must be greater than 0")),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn max_bandwidth_is_accepted() {
        let c = TransferConfig::builder()
            .max_bandwidth(8 * MIB)
            .build()
            .unwrap();
        assert_eq!(c.max_bandwidth(), Some(8 * MIB));
    }

    #[test]
    fn builder_rejects_a_queue_smaller_than_its_pool() {
        let err = TransferConfig::builder()
            .max_request_concurrency(20)
            .max_request_queue_size(10)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("max_request_queue_size"), "{err}");
    }

    #[test]
    fn builder_refuses_queues_too_large_to_allocate() {
        type Set = fn(TransferConfigBuilder, usize) -> TransferConfigBuilder;
        let cases: [(&str, Set, usize); 3] = [
            (
                "max_request_queue_size",
                TransferConfigBuilder::max_request_queue_size,
                usize::MAX,
            ),
            (
                "max_submission_queue_size",
                TransferConfigBuilder::max_submission_queue_size,
                1 << 40,
            ),
            (
                "max_io_queue_size",
                TransferConfigBuilder::max_io_queue_size,
                1 << 36,
            ),
        ];
        for (name, set, size) in cases {
            let err = set(TransferConfig::builder(), size).build().unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
            // The largest depth accepted, and the first one refused.
            assert!(set(TransferConfig::builder(), MAX_QUEUE).build().is_ok());
            let err = set(TransferConfig::builder(), MAX_QUEUE + 1)
                .build()
                .unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn part_size_is_adjusted_into_s3_limits() {
        assert_eq!(adjust_part_size(1, Some(10)), MIN_PART_SIZE);
        assert_eq!(
            adjust_part_size(7 * MIB, Some(5 * 1024 * 1024 * MIB)),
            896 * MIB
        );
        assert_eq!(adjust_part_size(10 * 1024 * MIB, None), MAX_PART_SIZE);
        assert_eq!(adjust_part_size(8 * MIB, None), 8 * MIB);
    }

    #[test]
    fn download_part_size_keeps_the_number_of_gets_bounded() {
        assert_eq!(download_part_size(4, 10), 4);
        assert_eq!(download_part_size(1, 1_000_000), 128);
    }
}
