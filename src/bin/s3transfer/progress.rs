//! Progress bars on stderr: one per running transfer (bytes, rate, ETA) and one total,
//! fed by a [`Subscriber`] attached to every transfer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use s3transfer::{Subscriber, TransferFuture};

// The name goes last as `wide_msg`: it takes the width left and is cut there, so the
// numbers stay in columns whatever the terminal's width.
const BAR: &str =
    "[{bar:20}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} ETA {eta:>4} {wide_msg}";
const STREAM: &str =
    "[{spinner:^20}] {bytes:>10}            {binary_bytes_per_sec:>12}          {wide_msg}";
const STREAM_TOTAL: &str =
    "[{spinner:^20}] {bytes:>10}            {binary_bytes_per_sec:>12}          total, {wide_msg}";
const TOTAL: &str = "[{bar:20}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} ETA {eta:>4} total, {wide_msg}";

/// The bars of one command: the total, and a bar per transfer while it runs.
pub struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
    files: u64,
    done: AtomicU64,
}

impl Progress {
    /// Bars for `files` transfers whose known sizes add up to `known_bytes`; `endless`
    /// when one is a stream of unknown length (stdin), so the total has no end either.
    /// Hidden with `quiet`; indicatif also hides them when stderr is not a terminal, so
    /// logs and pipes get no control characters.
    pub fn new(quiet: bool, files: u64, known_bytes: u64, endless: bool) -> Arc<Progress> {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let multi = MultiProgress::with_draw_target(target);
        // Added hidden, then styled: see `TransferBar::on_progress`.
        let total = if endless {
            let total = multi.add(ProgressBar::hidden());
            total.set_style(style(STREAM_TOTAL));
            total
        } else {
            let total = multi.add(ProgressBar::with_draw_target(
                Some(known_bytes),
                ProgressDrawTarget::hidden(),
            ));
            total.set_style(style(TOTAL));
            total
        };
        total.set_message(format!("0/{files} files"));
        Arc::new(Progress {
            multi,
            total,
            files,
            done: AtomicU64::new(0),
        })
    }

    /// A subscriber for one transfer named `label` (its object), of `size` bytes when
    /// known now (downloads learn theirs from the first response).
    pub fn transfer(self: &Arc<Self>, label: String, size: Option<u64>) -> Arc<dyn Subscriber> {
        Arc::new(TransferBar {
            progress: self.clone(),
            label,
            size_counted: Mutex::new(size.is_some()),
            bar: Mutex::new(None),
        })
    }

    /// Print a line above the bars (plain print when they are hidden).
    pub fn println(&self, line: &str) {
        self.multi.suspend(|| eprintln!("{line}"));
    }

    /// Bars for a tree (`cp --recursive`, `sync`, `mv --recursive`), whose files are
    /// found as it goes: the total grows as each transfer learns its size.
    pub fn for_tree(hidden: bool) -> Arc<Progress> {
        let progress = Progress::new(hidden, 0, 0, false);
        progress.total.set_message("0 files");
        progress
    }

    /// One subscriber for every transfer of a tree: a bar per running transfer, named
    /// by its object.
    pub fn tree_subscriber(self: &Arc<Self>) -> Arc<dyn Subscriber> {
        Arc::new(TreeBars {
            progress: self.clone(),
            bars: Mutex::new(HashMap::new()),
        })
    }

    /// Print a line on stdout above the bars (`upload: a to s3://b/a`, as the AWS CLI
    /// prints them).
    pub fn println_stdout(&self, line: &str) {
        self.multi.suspend(|| println!("{line}"));
    }

    /// Remove the bars from the screen.
    pub fn finish(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the bar templates are valid")
        .progress_chars("=> ")
}

struct TransferBar {
    progress: Arc<Progress>,
    label: String,
    /// Whether this transfer's size is already part of the total's length.
    size_counted: Mutex<bool>,
    bar: Mutex<Option<ProgressBar>>,
}

impl Subscriber for TransferBar {
    fn on_progress(&self, future: &TransferFuture, bytes: i64) {
        let size = future.meta().size();
        {
            let mut counted = self.size_counted.lock().expect("progress lock");
            if !*counted && let Some(size) = size {
                self.progress.total.inc_length(size);
                *counted = true;
            }
        }
        let mut bar = self.bar.lock().expect("progress lock");
        // Created at the first bytes, not at submission: a recursive copy of a
        // thousand files shows the ones running, not a thousand idle bars.
        let bar = bar.get_or_insert_with(|| {
            // Into the MultiProgress before anything is set: a bar draws itself on its
            // own target at its first change, and one drawn straight on stderr is a
            // line the MultiProgress does not know, so it stays on screen (it also
            // threw the MultiProgress's own line count off by one, leaving the total's
            // first drawing behind).
            let bar = self.progress.multi.insert_before(
                &self.progress.total,
                ProgressBar::with_draw_target(size, ProgressDrawTarget::hidden()),
            );
            bar.set_style(style(if size.is_some() { BAR } else { STREAM }));
            bar.set_message(self.label.clone());
            bar
        });
        if bar.length().is_none()
            && let Some(size) = size
        {
            bar.set_length(size);
            bar.set_style(style(BAR));
        }
        // A retry takes back bytes it had reported: the bars go back too.
        if bytes >= 0 {
            bar.inc(bytes as u64);
            self.progress.total.inc(bytes as u64);
        } else {
            bar.dec(bytes.unsigned_abs());
            self.progress.total.dec(bytes.unsigned_abs());
        }
    }

    fn on_done(&self, _future: &TransferFuture) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
            self.progress.multi.remove(&bar);
        }
        let done = self.progress.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.progress
            .total
            .set_message(if self.progress.files == 0 {
                format!("{done} files")
            } else {
                format!("{done}/{} files", self.progress.files)
            });
    }
}

/// The bars of a tree's transfers, by transfer id: one subscriber serves them all.
struct TreeBars {
    progress: Arc<Progress>,
    /// The bar of each running transfer, made at its first bytes, dropped at its end.
    bars: Mutex<HashMap<u64, Arc<TransferBar>>>,
}

impl TreeBars {
    fn bar(&self, future: &TransferFuture) -> Arc<TransferBar> {
        let id = future.meta().transfer_id();
        let mut bars = self.bars.lock().expect("progress lock");
        bars.entry(id)
            .or_insert_with(|| {
                let call = future.meta().call_args();
                Arc::new(TransferBar {
                    progress: self.progress.clone(),
                    label: format!("s3://{}/{}", call.bucket, call.key),
                    size_counted: Mutex::new(false),
                    bar: Mutex::new(None),
                })
            })
            .clone()
    }
}

impl Subscriber for TreeBars {
    fn on_progress(&self, future: &TransferFuture, bytes: i64) {
        self.bar(future).on_progress(future, bytes);
    }

    fn on_done(&self, future: &TransferFuture) {
        let id = future.meta().transfer_id();
        let bar = self.bars.lock().expect("progress lock").remove(&id);
        match bar {
            Some(bar) => bar.on_done(future),
            // A transfer that moved no bytes (an empty file, a delete) still counts.
            None => {
                let done = self.progress.done.fetch_add(1, Ordering::Relaxed) + 1;
                self.progress.total.set_message(format!("{done} files"));
            }
        }
    }
}
