//! The journal: a resume token kept in a file, replaced atomically (write a temporary
//! file, fsync it, rename it over the journal, fsync the directory) so that a process
//! killed at any instant leaves either the previous token or the new one, never half.
//! Writes are coalesced: a transfer of many parts rewrites its journal a bounded number
//! of times, not once per part (see [`JournalWriter`]).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{ResumeError, ResumeToken};
use crate::runtime::coordinator::Coordinator;

/// A recorded part or range is written at the latest once this much time has passed
/// since the last write, when the next one is recorded: a second of lag costs, after a
/// crash, re-sending what finished in that second.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// ... or once this many parts were recorded since the last write, so a rerun after a
/// crash sends at most the parts in flight plus this many again (for up to 128 parts;
/// past that, a sixty-fourth of all recorded so far: the journal grows with the parts,
/// so rewriting it after a fixed count would make the bytes written quadratic; after a
/// fixed share, each write is paid for by the parts that grew it, about 64 times the
/// final journal in all, some 115 MB for 10,000 parts).
const MIN_PARTS: u64 = 2;

/// The share of all recorded parts after which a write is due, once it exceeds
/// [`MIN_PARTS`].
const SHARE: u64 = 64;

/// Writes one transfer's journal as its parts complete, coalescing: a part recorded
/// while a write is under way, or within [`MIN_INTERVAL`] of the last one and fewer
/// than [`MIN_PARTS`] parts after it, is not written on its own; the next write carries
/// it (that of a later part, a pause, or a transfer kept after a failure). A journal
/// may so lag by a few parts: a crash then costs re-sending them, never a wrong byte,
/// since a resume trusts only what the store and the file confirm.
pub(crate) struct JournalWriter {
    path: PathBuf,
    /// When to write next; taken briefly, never across file I/O.
    pace: Mutex<Pace>,
    /// Held while a token is built and written, so at most one write is in flight and
    /// an older snapshot never lands after a newer one. Guards no data; only file I/O
    /// runs under it (no S3 call, no user code).
    turn: Mutex<()>,
}

/// What the coalescing decides on.
#[derive(Default)]
struct Pace {
    /// A record not yet in the journal.
    dirty: bool,
    /// When the last write began.
    last: Option<Instant>,
    /// Records since the last write began.
    since: u64,
    /// Records in all.
    total: u64,
}

impl Pace {
    fn due(&self, now: Instant) -> bool {
        // No record written yet: the first part is, so a crash right after it
        // already has something to continue.
        self.since == self.total
            || self
                .last
                .is_none_or(|last| now.duration_since(last) >= MIN_INTERVAL)
            || self.since >= MIN_PARTS.max(self.total / SHARE)
    }
}

impl JournalWriter {
    /// The writer of a transfer's journal at `path`, if it asked for one, removed by the
    /// transfer's failure cleanup (with the abort or the temporary file: a journal of an
    /// aborted transfer could only mislead). A pause runs no cleanup, so it stays.
    pub(crate) fn for_transfer(
        coordinator: &Coordinator,
        path: Option<PathBuf>,
    ) -> Option<Arc<JournalWriter>> {
        let journal = Arc::new(JournalWriter::new(path?));
        let removed = journal.clone();
        coordinator.add_cleanup(move || removed.remove());
        Some(journal)
    }

    pub(crate) fn new(path: PathBuf) -> JournalWriter {
        JournalWriter {
            path,
            pace: Mutex::new(Pace::default()),
            turn: Mutex::new(()),
        }
    }

    /// A part or range was recorded: write the token `snapshot` builds if a write is
    /// due and none is under way (that one then writes again, with the newest state).
    pub(crate) fn record(
        &self,
        snapshot: impl Fn() -> Option<ResumeToken>,
    ) -> Result<(), ResumeError> {
        {
            let mut pace = self.pace.lock();
            pace.dirty = true;
            pace.since += 1;
            pace.total += 1;
            if !pace.due(Instant::now()) {
                return Ok(());
            }
        }
        let Some(turn) = self.turn.try_lock() else {
            // The write under way sees `dirty` when it ends and writes again.
            return Ok(());
        };
        self.write_while_due(turn, &snapshot, false)
    }

    /// Write the token now, whatever the pace (the transfer begins, pauses, or is
    /// kept after a failure): waits for a write under way.
    pub(crate) fn flush(
        &self,
        snapshot: impl Fn() -> Option<ResumeToken>,
    ) -> Result<(), ResumeError> {
        self.pace.lock().dirty = true;
        let turn = self.turn.lock();
        self.write_while_due(turn, &snapshot, true)
    }

    /// Holding the turn: write while there is something unwritten and a write is due.
    fn write_while_due<'a>(
        &'a self,
        mut turn: parking_lot::MutexGuard<'a, ()>,
        snapshot: &dyn Fn() -> Option<ResumeToken>,
        mut forced: bool,
    ) -> Result<(), ResumeError> {
        loop {
            {
                let mut pace = self.pace.lock();
                if !pace.dirty || !(forced || pace.due(Instant::now())) {
                    drop(pace);
                    drop(turn);
                    // A record that arrived as the turn was let go found it taken and
                    // left its write to us: look once more, so it does not wait for
                    // the next part.
                    let pace = self.pace.lock();
                    if !(pace.dirty && pace.due(Instant::now())) {
                        return Ok(());
                    }
                    drop(pace);
                    match self.turn.try_lock() {
                        Some(again) => {
                            turn = again;
                            continue;
                        }
                        None => return Ok(()),
                    }
                }
                pace.dirty = false;
                pace.since = 0;
                pace.last = Some(Instant::now());
            }
            forced = false;
            if let Some(token) = snapshot() {
                write_atomically(&self.path, token.to_json().as_bytes())
                    .map_err(|e| ResumeError::io("writing the journal", &self.path, e))?;
            }
        }
    }

    /// Remove the journal (the transfer completed or was abandoned).
    pub(crate) fn remove(&self) {
        let _turn = self.turn.lock();
        if let Err(e) = remove_journal(&self.path) {
            tracing::warn!(error = %e, "the journal could not be removed");
        }
    }
}

/// Write `data` to `path` so that a crash leaves the old content or the new, whole.
fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    // A name of its own per process and write: two runs of the same command (or two
    // writers) never share a temporary inode, so neither renames the other's half
    // written file into place.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = path.with_file_name(name);
    let written = (|| {
        let mut file = File::options().write(true).create_new(true).open(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // The rename is only durable once the directory entry is: without this, a power
    // cut could bring back the previous journal (safe, but progress is lost).
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Read the token a journal holds. [`ResumeError::Corrupt`] (naming the file) for a
/// truncated or garbled journal, [`ResumeError::UnsupportedVersion`] for one written
/// by another format version, [`ResumeError::Io`] if it cannot be read.
pub fn read_journal(path: &Path) -> Result<ResumeToken, ResumeError> {
    let data = fs::read(path).map_err(|e| ResumeError::io("reading the journal", path, e))?;
    ResumeToken::from_json(&data).map_err(|e| match e {
        ResumeError::Corrupt { reason, .. } => ResumeError::Corrupt {
            path: Some(path.to_path_buf()),
            reason,
        },
        other => other,
    })
}

/// Remove a journal; one already gone is fine.
pub fn remove_journal(path: &Path) -> Result<(), ResumeError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(ResumeError::io("removing the journal", path, e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record on `pace` at `now`: whether it is written (as `record` decides).
    fn record(pace: &mut Pace, now: Instant) -> bool {
        pace.since += 1;
        pace.total += 1;
        let due = pace.due(now);
        if due {
            pace.since = 0;
            pace.last = Some(now);
        }
        due
    }

    #[test]
    fn the_first_part_is_written_then_every_few_parts_or_second_not_every_part() {
        let start = Instant::now();
        // The journal written as the transfer begins.
        let mut pace = Pace {
            last: Some(start),
            ..Pace::default()
        };
        let verdicts: Vec<bool> = (0..9).map(|_| record(&mut pace, start)).collect();
        assert_eq!(
            verdicts,
            [true, false, true, false, true, false, true, false, true]
        );
        assert!(!record(&mut pace, start));
        assert!(record(&mut pace, start + MIN_INTERVAL), "a second later");
        // With many parts recorded, a write waits for a sixty-fourth more.
        let mut many = Pace {
            last: Some(start),
            total: 6_400,
            ..Pace::default()
        };
        let writes = (0..6_400).filter(|_| record(&mut many, start)).count();
        assert!(writes <= 64, "{writes} writes for 6,400 parts");
        // 10,000 parts at once: a bounded number of writes, not one per part.
        let mut all = Pace::default();
        let writes = (0..10_000).filter(|_| record(&mut all, start)).count();
        assert!(writes < 400, "{writes} writes for 10,000 parts");
    }

    #[cfg(unix)]
    #[test]
    fn the_temporary_file_is_a_new_one_of_its_own_never_one_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.json");
        // What a fixed name would have written through: another run's temporary file,
        // or a link planted at it.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("j.json.tmp")).unwrap();
        let token = ResumeToken::from_json(
            br#"{"format":"s3transfer-resume","version":1,"kind":"download","bucket":"b",
                "key":"k","etag":"e","size":1,"destination":"/d/o","temp_path":"/d/.o.0000000000000000.s3tmp",
                "part_size":1,"ranges":[]}"#,
        )
        .unwrap();
        let writer = JournalWriter::new(journal.clone());
        writer.flush(|| Some(token.clone())).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(read_journal(&journal).unwrap(), token);
    }
}
