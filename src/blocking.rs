//! `S3Transfer`: one blocking call per transfer, with a plain progress closure, in the
//! manner of boto3's `upload_file` / `download_file` / `copy`.

use std::path::Path;
use std::sync::Arc;

use crate::args::{CopyArgs, DeleteArgs, DownloadArgs, UploadArgs};
use crate::client::{CopySource, S3Api};
use crate::config::TransferConfig;
use crate::error::TransferError;
use crate::future::{TransferFuture, TransferOutput};
use crate::manager::TransferManager;
use crate::subscriber::Subscriber;
use crate::transfer::download::DownloadTarget;
use crate::transfer::upload::UploadSource;

/// "No progress callback", for the `callback` parameter of [`S3Transfer`]'s methods.
///
/// A bare `None` does not say which closure type it stands for, so Rust cannot infer
/// the parameter; this constant names one.
pub const NO_CALLBACK: Option<fn(i64)> = None;

/// One call per transfer that blocks until it is over: upload a file, download to a
/// file, copy or delete, with an optional progress closure.
///
/// A thin layer over a [`TransferManager`] (reachable with [`S3Transfer::manager`] for
/// futures, subscribers, timeouts and cancellation): each method starts the transfer on
/// the manager's threads and waits for its result, so the work still runs in parallel
/// (multipart uploads, ranged downloads) while the caller sees one blocking call. The
/// `S3Transfer` can be shared between threads; each caller's transfer runs alongside
/// the others on the same pools.
///
/// # Progress
///
/// `callback` receives each progress **delta** in bytes, as boto3's `Callback` does,
/// not a running total. A delta is negative when a retried request takes back bytes it
/// had reported; the sum of the deltas over a successful transfer is the object's
/// size. The closure runs on worker threads, possibly on several at once (hence
/// `Send + Sync`), and no lock of this library is held while it runs. If it panics the
/// transfer fails with [`TransferError::InvalidSubscriberMethod`]. Pass
/// [`NO_CALLBACK`] for none.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "testing")] {
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use s3transfer::testing::FakeS3;
/// use s3transfer::{
///     CopySource, DeleteArgs, DownloadArgs, S3Transfer, TransferConfig, UploadArgs, NO_CALLBACK,
/// };
///
/// let s3 = FakeS3::new();
/// s3.create_bucket("bucket");
/// let transfer = S3Transfer::new(Arc::new(s3.clone()), TransferConfig::default());
///
/// let dir = std::env::temp_dir().join(format!("s3transfer-simple-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let source = dir.join("hello.txt");
/// std::fs::write(&source, b"hello, world").unwrap();
///
/// // Upload, counting progress.
/// let seen = Arc::new(AtomicI64::new(0));
/// let counter = seen.clone();
/// let out = transfer
///     .upload_file(&source, "bucket", "hello.txt", UploadArgs::default(), Some(move |delta: i64| {
///         counter.fetch_add(delta, Ordering::Relaxed);
///     }))
///     .unwrap();
/// assert_eq!(out.bytes, 12);
/// assert_eq!(seen.load(Ordering::Relaxed), 12);
///
/// // Copy inside S3, download the copy, delete both.
/// transfer
///     .copy(CopySource::new("bucket", "hello.txt"), "bucket", "copy.txt", Default::default(), NO_CALLBACK)
///     .unwrap();
/// let target = dir.join("copy.txt");
/// transfer
///     .download_file("bucket", "copy.txt", &target, DownloadArgs::default(), NO_CALLBACK)
///     .unwrap();
/// assert_eq!(std::fs::read(&target).unwrap(), b"hello, world");
/// transfer.delete("bucket", "hello.txt", DeleteArgs::default()).unwrap();
/// transfer.delete("bucket", "copy.txt", DeleteArgs::default()).unwrap();
///
/// // Failures are typed: the key is gone now.
/// let err = transfer
///     .download_file("bucket", "hello.txt", dir.join("gone.txt"), DownloadArgs::default(), NO_CALLBACK)
///     .unwrap_err();
/// assert!(err.is_not_found());
/// std::fs::remove_dir_all(&dir).unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct S3Transfer {
    manager: TransferManager,
}

impl S3Transfer {
    /// A transfer helper over `client` with `config`, on a manager of its own.
    pub fn new(client: Arc<dyn S3Api>, config: TransferConfig) -> S3Transfer {
        S3Transfer {
            manager: TransferManager::new(client, config),
        }
    }

    /// The manager underneath: for futures, subscribers, `result_timeout`, cancel and
    /// shutdown.
    pub fn manager(&self) -> &TransferManager {
        &self.manager
    }

    /// Take the manager back.
    pub fn into_manager(self) -> TransferManager {
        self.manager
    }

    /// Upload the file at `path` to `bucket`/`key` (a multipart upload from
    /// `multipart_threshold` on) and wait for it.
    pub fn upload_file<F>(
        &self,
        path: impl AsRef<Path>,
        bucket: &str,
        key: &str,
        args: UploadArgs,
        callback: Option<F>,
    ) -> Result<TransferOutput, TransferError>
    where
        F: Fn(i64) + Send + Sync + 'static,
    {
        self.upload_fileobj(path.as_ref(), bucket, key, args, callback)
    }

    /// Upload any [`UploadSource`] (a path, `UploadSource::seekable(reader)`,
    /// `UploadSource::stream(reader)`) and wait for it: boto3's `upload_fileobj`.
    pub fn upload_fileobj<F>(
        &self,
        source: impl Into<UploadSource>,
        bucket: &str,
        key: &str,
        args: UploadArgs,
        callback: Option<F>,
    ) -> Result<TransferOutput, TransferError>
    where
        F: Fn(i64) + Send + Sync + 'static,
    {
        let subscribers = subscribers(callback);
        self.manager
            .upload(source, bucket, key, args, &subscribers)?
            .result()
    }

    /// Download `bucket`/`key` to the file at `path` and wait for it. The bytes go to a
    /// temporary file beside `path`, renamed over it only when complete; on failure
    /// `path` is untouched and no temporary file is left.
    pub fn download_file<F>(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        args: DownloadArgs,
        callback: Option<F>,
    ) -> Result<TransferOutput, TransferError>
    where
        F: Fn(i64) + Send + Sync + 'static,
    {
        self.download_fileobj(bucket, key, path.as_ref(), args, callback)
    }

    /// Download into any [`DownloadTarget`] (a path, `DownloadTarget::seekable(writer)`,
    /// `DownloadTarget::stream(writer)`) and wait for it: boto3's `download_fileobj`.
    /// A writer is not truncated or removed on failure: that is the caller's to do.
    pub fn download_fileobj<F>(
        &self,
        bucket: &str,
        key: &str,
        target: impl Into<DownloadTarget>,
        args: DownloadArgs,
        callback: Option<F>,
    ) -> Result<TransferOutput, TransferError>
    where
        F: Fn(i64) + Send + Sync + 'static,
    {
        let subscribers = subscribers(callback);
        self.manager
            .download(bucket, key, target, args, &subscribers)?
            .result()
    }

    /// Copy `source` to `bucket`/`key` inside S3 (a multipart copy from
    /// `multipart_threshold` on) and wait for it. Progress counts the bytes copied.
    pub fn copy<F>(
        &self,
        source: CopySource,
        bucket: &str,
        key: &str,
        args: CopyArgs,
        callback: Option<F>,
    ) -> Result<TransferOutput, TransferError>
    where
        F: Fn(i64) + Send + Sync + 'static,
    {
        let subscribers = subscribers(callback);
        self.manager
            .copy(source, bucket, key, args, &subscribers)?
            .result()
    }

    /// Delete `bucket`/`key` and wait for it. As in S3, deleting a key that does not
    /// exist succeeds.
    pub fn delete(
        &self,
        bucket: &str,
        key: &str,
        args: DeleteArgs,
    ) -> Result<TransferOutput, TransferError> {
        self.manager.delete(bucket, key, args, &[])?.result()
    }
}

impl From<TransferManager> for S3Transfer {
    fn from(manager: TransferManager) -> S3Transfer {
        S3Transfer { manager }
    }
}

/// Adapts a progress closure to a [`Subscriber`].
struct Callback<F>(F);

impl<F: Fn(i64) + Send + Sync> Subscriber for Callback<F> {
    fn on_progress(&self, _: &TransferFuture, bytes: i64) {
        (self.0)(bytes);
    }
}

fn subscribers<F>(callback: Option<F>) -> Vec<Arc<dyn Subscriber>>
where
    F: Fn(i64) + Send + Sync + 'static,
{
    callback
        .map(|f| Arc::new(Callback(f)) as Arc<dyn Subscriber>)
        .into_iter()
        .collect()
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    use super::*;
    use crate::ErrorKind;
    use crate::testing::{FakeS3, InjectedError, Operation};

    const MIB: usize = 1024 * 1024;

    fn setup() -> (FakeS3, S3Transfer, tempfile::TempDir) {
        let s3 = FakeS3::new();
        s3.create_bucket("bucket");
        let transfer = S3Transfer::new(Arc::new(s3.clone()), TransferConfig::default());
        (s3, transfer, tempfile::tempdir().unwrap())
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// A callback summing deltas, and the counter it sums into.
    fn summing() -> (Arc<AtomicI64>, impl Fn(i64) + Send + Sync + 'static) {
        let total = Arc::new(AtomicI64::new(0));
        let t = total.clone();
        (total, move |delta| {
            t.fetch_add(delta, Ordering::Relaxed);
        })
    }

    #[test]
    fn upload_file_multipart_reports_every_byte_to_the_callback() {
        let (s3, transfer, dir) = setup();
        let body = data(20 * MIB);
        let path = dir.path().join("big.bin");
        std::fs::write(&path, &body).unwrap();
        let (total, callback) = summing();
        let out = transfer
            .upload_file(
                &path,
                "bucket",
                "big",
                UploadArgs::default(),
                Some(callback),
            )
            .unwrap();
        assert_eq!(out.bytes, body.len() as u64);
        assert_eq!(out.parts, 3);
        assert_eq!(total.load(Ordering::Relaxed), body.len() as i64);
        assert_eq!(s3.object("bucket", "big").unwrap().bytes(), &body[..]);
    }

    #[test]
    fn upload_to_a_missing_bucket_is_s3_upload_failed() {
        let (_s3, transfer, dir) = setup();
        let path = dir.path().join("small.bin");
        std::fs::write(&path, b"abc").unwrap();
        let err = transfer
            .upload_file(
                &path,
                "no-such-bucket",
                "k",
                UploadArgs::default(),
                NO_CALLBACK,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::S3UploadFailed);
        assert!(err.is_not_found());
        assert_eq!(
            err.s3_error().unwrap().code.as_deref(),
            Some("NoSuchBucket")
        );
    }

    #[test]
    fn upload_of_a_missing_file_is_an_io_error() {
        let (s3, transfer, dir) = setup();
        let err = transfer
            .upload_file(
                dir.path().join("absent"),
                "bucket",
                "k",
                UploadArgs::default(),
                NO_CALLBACK,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(s3.count(Operation::PutObject), 0);
    }

    #[test]
    fn upload_fileobj_takes_a_stream() {
        let (s3, transfer, _dir) = setup();
        let body = data(MIB);
        let (total, callback) = summing();
        let out = transfer
            .upload_fileobj(
                UploadSource::stream(std::io::Cursor::new(body.clone())),
                "bucket",
                "s",
                UploadArgs::default(),
                Some(callback),
            )
            .unwrap();
        assert_eq!(out.bytes, MIB as u64);
        assert_eq!(total.load(Ordering::Relaxed), MIB as i64);
        assert_eq!(s3.object("bucket", "s").unwrap().bytes(), &body[..]);
    }

    #[test]
    fn download_file_ranged_reports_every_byte_and_writes_the_file() {
        let (s3, transfer, dir) = setup();
        let body = data(20 * MIB);
        s3.put_object_bytes("bucket", "big", body.clone());
        let (total, callback) = summing();
        let path = dir.path().join("out.bin");
        let out = transfer
            .download_file(
                "bucket",
                "big",
                &path,
                DownloadArgs::default(),
                Some(callback),
            )
            .unwrap();
        assert_eq!(out.bytes, body.len() as u64);
        assert!(out.parts > 1);
        assert_eq!(total.load(Ordering::Relaxed), body.len() as i64);
        assert_eq!(std::fs::read(&path).unwrap(), body);
    }

    #[test]
    fn download_file_sums_to_the_size_even_when_a_body_is_cut_and_resumed() {
        let (s3, transfer, dir) = setup();
        let body = data(3 * MIB);
        s3.put_object_bytes("bucket", "k", body.clone());
        s3.truncate_body(100 * 1024, 1);
        let (total, callback) = summing();
        let path = dir.path().join("out.bin");
        transfer
            .download_file(
                "bucket",
                "k",
                &path,
                DownloadArgs::default(),
                Some(callback),
            )
            .unwrap();
        assert_eq!(total.load(Ordering::Relaxed), body.len() as i64);
        assert_eq!(std::fs::read(&path).unwrap(), body);
    }

    #[test]
    fn download_of_a_missing_key_fails_typed_and_leaves_no_file() {
        let (_s3, transfer, dir) = setup();
        let path = dir.path().join("out.bin");
        let err = transfer
            .download_file(
                "bucket",
                "absent",
                &path,
                DownloadArgs::default(),
                NO_CALLBACK,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::S3DownloadFailed);
        assert!(err.is_not_found());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn download_that_keeps_failing_is_retries_exceeded_with_the_last_error() {
        let s3 = FakeS3::new();
        s3.put_object_bytes("bucket", "k", data(1000));
        s3.fail_always(Operation::GetObject, InjectedError::internal_error());
        let retry = crate::RetryConfig::builder()
            .max_attempts(2)
            .transient_backoff(std::time::Duration::ZERO)
            .build()
            .unwrap();
        let config = TransferConfig::builder().retry(retry).build().unwrap();
        let transfer = S3Transfer::new(Arc::new(s3.clone()), config);
        let dir = tempfile::tempdir().unwrap();
        let err = transfer
            .download_file(
                "bucket",
                "k",
                dir.path().join("out"),
                DownloadArgs::default(),
                NO_CALLBACK,
            )
            .unwrap_err();
        match err {
            TransferError::RetriesExceeded {
                attempts,
                last_error,
            } => {
                assert_eq!(attempts, 2);
                assert_eq!(last_error.code.as_deref(), Some("InternalError"));
            }
            other => panic!("expected RetriesExceeded, got {other:?}"),
        }
        assert_eq!(s3.count(Operation::GetObject), 2);
    }

    #[test]
    fn download_fileobj_writes_into_a_seekable_writer() {
        let (s3, transfer, _dir) = setup();
        let body = data(MIB + 7);
        s3.put_object_bytes("bucket", "k", body.clone());
        let buffer = SharedBuffer::default();
        let out = transfer
            .download_fileobj(
                "bucket",
                "k",
                DownloadTarget::seekable(buffer.clone()),
                DownloadArgs::default(),
                NO_CALLBACK,
            )
            .unwrap();
        assert_eq!(out.bytes, body.len() as u64);
        assert_eq!(buffer.0.lock().get_ref(), &body);
    }

    #[test]
    fn copy_reports_the_bytes_copied() {
        let (s3, transfer, _dir) = setup();
        let body = data(20 * MIB);
        s3.put_object_bytes("bucket", "src", body.clone());
        let (total, callback) = summing();
        let out = transfer
            .copy(
                CopySource::new("bucket", "src"),
                "bucket",
                "dst",
                CopyArgs::default(),
                Some(callback),
            )
            .unwrap();
        assert_eq!(out.bytes, body.len() as u64);
        assert_eq!(total.load(Ordering::Relaxed), body.len() as i64);
        assert_eq!(s3.object("bucket", "dst").unwrap().bytes(), &body[..]);
    }

    #[test]
    fn copy_of_a_missing_source_is_typed() {
        let (_s3, transfer, _dir) = setup();
        let err = transfer
            .copy(
                CopySource::new("bucket", "absent"),
                "bucket",
                "dst",
                CopyArgs::default(),
                NO_CALLBACK,
            )
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
    }

    #[test]
    fn delete_removes_the_object_and_a_failure_is_s3_delete_failed() {
        let (s3, transfer, _dir) = setup();
        s3.put_object_bytes("bucket", "k", b"x".to_vec());
        let out = transfer
            .delete("bucket", "k", DeleteArgs::default())
            .unwrap();
        assert_eq!(out.bytes, 0);
        assert!(s3.object("bucket", "k").is_none());

        s3.fail_nth(Operation::DeleteObject, 1, InjectedError::access_denied());
        let err = transfer
            .delete("bucket", "k", DeleteArgs::default())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::S3DeleteFailed);
    }

    #[test]
    fn invalid_arguments_fail_before_any_request() {
        let (s3, transfer, _dir) = setup();
        let err = transfer.delete("", "k", DeleteArgs::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(s3.total_calls(), 0);
    }

    #[test]
    fn a_panicking_callback_fails_the_transfer_as_invalid_subscriber() {
        let (s3, transfer, _dir) = setup();
        s3.put_object_bytes("bucket", "k", data(1000));
        let err = transfer
            .download_fileobj(
                "bucket",
                "k",
                DownloadTarget::stream(std::io::sink()),
                DownloadArgs::default(),
                Some(|_: i64| panic!("callback bug")),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSubscriberMethod);
    }

    #[test]
    fn calls_after_shutdown_are_queue_shutdown() {
        let (_s3, transfer, _dir) = setup();
        transfer.manager().shutdown(false, "");
        let err = transfer
            .delete("bucket", "k", DeleteArgs::default())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::QueueShutdown);
    }

    #[test]
    fn one_helper_serves_several_threads_at_once() {
        let (s3, transfer, _dir) = setup();
        let calls = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for i in 0..4 {
                let (transfer, calls) = (&transfer, calls.clone());
                scope.spawn(move || {
                    let body = data(MIB + i);
                    transfer
                        .upload_fileobj(
                            UploadSource::stream(std::io::Cursor::new(body)),
                            "bucket",
                            &format!("k{i}"),
                            UploadArgs::default(),
                            Some(move |_: i64| {
                                calls.fetch_add(1, Ordering::Relaxed);
                            }),
                        )
                        .unwrap();
                });
            }
        });
        assert_eq!(s3.keys("bucket").len(), 4);
        assert!(calls.load(Ordering::Relaxed) >= 4);
    }

    #[test]
    fn from_and_into_manager_round_trip() {
        let s3 = FakeS3::new();
        s3.create_bucket("bucket");
        let manager = TransferManager::new(Arc::new(s3.clone()), TransferConfig::default());
        let transfer = S3Transfer::from(manager);
        transfer
            .upload_fileobj(
                UploadSource::stream(std::io::Cursor::new(b"one".to_vec())),
                "bucket",
                "one",
                UploadArgs::default(),
                None::<fn(i64)>,
            )
            .unwrap();
        // The manager that comes back is the same, still running.
        let manager = transfer.into_manager();
        manager
            .upload(
                UploadSource::stream(std::io::Cursor::new(b"two".to_vec())),
                "bucket",
                "two",
                UploadArgs::default(),
                &[],
            )
            .unwrap()
            .result()
            .unwrap();
        assert_eq!(s3.keys("bucket"), ["one", "two"]);
        manager.shutdown(false, "");
        assert!(matches!(
            manager.upload(
                UploadSource::stream(std::io::empty()),
                "bucket",
                "three",
                UploadArgs::default(),
                &[]
            ),
            Err(TransferError::QueueShutdown)
        ));
    }

    /// A seekable writer whose bytes the test can still read after the download.
    #[derive(Clone, Default)]
    struct SharedBuffer(Arc<parking_lot::Mutex<std::io::Cursor<Vec<u8>>>>);

    impl std::io::Write for SharedBuffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl std::io::Seek for SharedBuffer {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.0.lock().seek(pos)
        }
    }
}
