//! The journal: a resume token kept in a file, replaced atomically (write a temporary
//! file, fsync it, rename it over the journal, fsync the directory) so that a process
//! killed at any instant leaves either the previous token or the new one, never half.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::{ResumeError, ResumeToken};

/// Writes one transfer's journal as its parts complete.
pub(crate) struct JournalWriter {
    path: PathBuf,
    /// Held while a token is built and written: part jobs finish on several threads,
    /// and an older snapshot must never land after a newer one. Guards no data; only
    /// file I/O runs under it (no S3 call, no user code).
    turn: Mutex<()>,
}

impl JournalWriter {
    pub(crate) fn new(path: PathBuf) -> JournalWriter {
        JournalWriter {
            path,
            turn: Mutex::new(()),
        }
    }

    /// Build the token with `snapshot` and write it, in turn with other writers.
    pub(crate) fn write_with(
        &self,
        snapshot: impl FnOnce() -> Option<ResumeToken>,
    ) -> Result<(), ResumeError> {
        let _turn = self.turn.lock();
        match snapshot() {
            Some(token) => write_atomically(&self.path, token.to_json().as_bytes())
                .map_err(|e| ResumeError::io("writing the journal", &self.path, e)),
            None => Ok(()),
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
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temp = path.with_file_name(name);
    {
        let mut file = File::create(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
    }
    fs::rename(&temp, path)?;
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
