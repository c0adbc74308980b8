//! Running the planned transfers: every one submitted to the one `TransferManager`
//! before any is awaited, then waited for in order; and Ctrl-C / SIGTERM, which cancel
//! them all.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use s3transfer::{DownloadTarget, TransferError, TransferFuture, TransferManager, UploadSource};

use crate::args::Options;
use crate::plan::{Job, JobKind, s3_url};
use crate::progress::Progress;
use crate::report::{EXIT_CANCELLED, Summary};
use crate::tree_args::{ExpectedSize, ObjectArgs};

/// Set by the Ctrl-C handler: whatever failed after it, the exit code is 7.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C or SIGTERM arrived.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// What a single-object command does once its transfer succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Single {
    /// `cp`, `rm`: nothing more.
    Copy,
    /// `mv`: delete the source (the file, or the object).
    Move,
}

/// What a single-object command shows besides its errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shown {
    /// The line saying what was done (not with --quiet or --only-show-errors).
    pub(crate) lines: bool,
    /// The progress bar (not with those, nor with --no-progress).
    pub(crate) progress: bool,
}

/// Run one job (a single-object `cp`, `mv` or `rm`) and report it as the AWS CLI does:
/// `upload: ./a to s3://b/a` (`move: ...` for `mv`) on stdout once it is done, or
/// `upload failed: ./a to s3://b/a <error>` on stderr. Returns the exit code.
pub(crate) fn execute(
    command: &str,
    manager: &TransferManager,
    job: Job,
    single: Single,
    options: &Options,
    object: &ObjectArgs,
    shown: Shown,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let to_stdout = matches!(
        job.kind,
        JobKind::Download {
            to_stdout: true,
            ..
        }
    );
    let endless = matches!(
        job.kind,
        JobKind::Upload {
            source: UploadSource::Stream(_),
            ..
        }
    );
    let source = JobSource::of(&job);
    let line = match single {
        Single::Copy => job.label.clone(),
        Single::Move => as_move(&job.label),
    };
    let progress = Progress::new(!shown.progress, 1, job.size.unwrap_or(0), endless);
    let (_, submitted) = submit(manager, job, options, object, &progress);
    let mut summary = Summary::default();
    let outcome = submitted
        .and_then(|future| future.result())
        .and_then(|output| {
            if single == Single::Move {
                source.remove(manager, object)?;
            }
            Ok(output)
        });
    progress.finish();
    match outcome {
        Ok(output) => {
            summary.succeeded(&output);
            if shown.lines && !options.json && !to_stdout {
                println!("{line}");
            }
        }
        Err(error) if error.is_paused() => {
            crate::resume::note_paused();
            progress.println(&format!("{line} paused"));
        }
        Err(error) => {
            crate::resume::note_failed(&error, options);
            progress.println(&failed_line(&line, &error));
            summary.failed(line, error);
        }
    }
    if to_stdout {
        std::io::stdout().flush()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let code = summary.exit_code();
    summary.print(command, seconds, code, options, to_stdout);
    if let Some(hint) = crate::resume::paused_hint() {
        eprintln!("{hint}");
    }
    Ok(code)
}

/// `upload: a to s3://b/a` as `mv` says it: `move: a to s3://b/a`.
pub(crate) fn as_move(label: &str) -> String {
    match label.split_once(": ") {
        Some((_, rest)) => format!("move: {rest}"),
        None => label.to_owned(),
    }
}

/// The AWS CLI's failure line: `upload failed: a to s3://b/a <the error>`.
pub(crate) fn failed_line(line: &str, error: &TransferError) -> String {
    match line.split_once(": ") {
        Some((verb, rest)) => format!("{verb} failed: {rest} {error}"),
        None => format!("{line} failed: {error}"),
    }
}

/// What `mv` deletes once its copy is written.
enum JobSource {
    File(std::path::PathBuf),
    Object(String, String),
    Other,
}

impl JobSource {
    fn of(job: &Job) -> JobSource {
        match &job.kind {
            JobKind::Upload {
                source: UploadSource::Path(path),
                ..
            } => JobSource::File(path.clone()),
            JobKind::Download { bucket, key, .. } => JobSource::Object(bucket.clone(), key.clone()),
            JobKind::Copy { source, .. } => {
                JobSource::Object(source.bucket.clone(), source.key.clone())
            }
            _ => JobSource::Other,
        }
    }

    fn remove(&self, manager: &TransferManager, object: &ObjectArgs) -> Result<(), TransferError> {
        match self {
            JobSource::File(path) => std::fs::remove_file(path).map_err(|e| TransferError::Io {
                action: "removing",
                path: Some(path.clone()),
                source: Arc::new(e),
            }),
            JobSource::Object(bucket, key) => manager
                .delete(bucket, key, object.delete.clone(), &[])?
                .result()
                .map(|_| ()),
            JobSource::Other => Ok(()),
        }
    }
}

/// Hand one job to the manager with its progress bar. Returns the job's label with the
/// transfer, or with the error that kept it from starting.
fn submit(
    manager: &TransferManager,
    job: Job,
    options: &Options,
    object: &ObjectArgs,
    progress: &Arc<Progress>,
) -> (String, Result<TransferFuture, TransferError>) {
    // The bar names the object: the label's first half is cut on narrow terminals.
    let name = match &job.kind {
        JobKind::Upload { bucket, key, .. }
        | JobKind::Download { bucket, key, .. }
        | JobKind::Copy { bucket, key, .. }
        | JobKind::Delete { bucket, key } => s3_url(bucket, key),
    };
    let subscriber = [progress.transfer(name, job.size)];
    let submitted = match job.kind {
        JobKind::Upload {
            source,
            bucket,
            key,
        } => {
            let mut subscribers = subscriber.to_vec();
            if let (UploadSource::Stream(_), Some(size)) = (&source, object.expected_size) {
                subscribers.push(Arc::new(ExpectedSize(size)));
            }
            let args = object.upload.clone();
            match source {
                // A file upload keeps a journal, so a rerun continues it.
                UploadSource::Path(path) => crate::resume::upload_file(
                    manager,
                    path,
                    &bucket,
                    &key,
                    args,
                    &subscribers,
                    options,
                    progress,
                ),
                source => manager.upload(source, &bucket, &key, args, &subscribers),
            }
        }
        JobKind::Download {
            bucket,
            key,
            target,
            ..
        } => match target {
            DownloadTarget::Path(path) => crate::resume::download_file(
                manager,
                &bucket,
                &key,
                path,
                object.download.clone(),
                &subscriber,
                options,
                progress,
            ),
            target => manager.download(&bucket, &key, target, object.download.clone(), &subscriber),
        },
        JobKind::Copy {
            source,
            bucket,
            key,
        } => manager.copy(source, &bucket, &key, object.copy.clone(), &subscriber),
        JobKind::Delete { bucket, key } => {
            manager.delete(&bucket, &key, object.delete.clone(), &subscriber)
        }
    };
    if let Ok(future) = &submitted {
        crate::resume::track(future);
    }
    (job.label, submitted)
}

/// Wait for SIGINT on a small runtime of its own (the library has no async), then
/// cancel every transfer. Returns once the handler is installed, so a Ctrl-C from
/// then on is never lost. A second Ctrl-C exits at once.
/// With `resumable`, Ctrl-C pauses what can be paused instead (see [`crate::resume`]).
pub(crate) fn install_ctrl_c(manager: Arc<TransferManager>, resumable: bool) -> anyhow::Result<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("s3transfer-ctrl-c".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let mut interrupt = match Interrupts::new() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                interrupt.recv().await;
                INTERRUPTED.store(true, Ordering::SeqCst);
                if resumable {
                    eprintln!("\ns3transfer: interrupted, pausing (Ctrl-C again to exit at once)");
                    crate::resume::pause_all();
                    interrupt.recv().await;
                    std::process::exit(i32::from(EXIT_CANCELLED));
                }
                eprintln!("\ns3transfer: interrupted, cancelling (Ctrl-C again to exit at once)");
                // Shut down on another thread so a second Ctrl-C is still heard while
                // the cancelled transfers wind down (aborting multipart uploads).
                std::thread::spawn(move || manager.shutdown(true, "interrupted"));
                interrupt.recv().await;
                std::process::exit(i32::from(EXIT_CANCELLED));
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the Ctrl-C handler thread died"))??;
    Ok(())
}

/// Ctrl-C (SIGINT) and SIGTERM as one stream of events: a service manager or `timeout`
/// stops us with SIGTERM, and that deserves the same clean exit (uploads aborted,
/// partial files removed) as Ctrl-C. On Unix the handlers are registered when this is
/// created, so a signal sent right after [`install_ctrl_c`] returns is never missed.
#[cfg(unix)]
struct Interrupts {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Interrupts {
    fn new() -> std::io::Result<Interrupts> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) {
        std::future::poll_fn(|cx| {
            if self.interrupt.poll_recv(cx).is_ready() || self.terminate.poll_recv(cx).is_ready() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// Ctrl-C elsewhere: tokio's portable `ctrl_c`, registered at its first wait.
#[cfg(not(unix))]
struct Interrupts;

#[cfg(not(unix))]
impl Interrupts {
    fn new() -> std::io::Result<Interrupts> {
        Ok(Interrupts)
    }

    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
