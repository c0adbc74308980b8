//! Transfers that survive the process: the resume token (what a paused or killed
//! transfer had done, and what makes continuing it safe), the journal that keeps it on
//! disk as parts complete, and where journals live.
//!
//! The design, and what is re-checked before anything recorded is trusted, is in
//! `docs/resume.md`.

mod error;
pub(crate) mod file;
mod journal;
mod options;
pub(crate) mod state_dir;
mod token;

pub use error::ResumeError;
pub use file::{JournalStart, Journaled};
pub(crate) use journal::JournalWriter;
pub use journal::{read_journal, remove_journal};
pub use options::{IfChanged, ResumeOptions};
pub(crate) use state_dir::download_temp_path;
pub use state_dir::{download_journal_path, state_dir, upload_journal_path};
pub use token::{
    DownloadToken, FORMAT_VERSION, PartDone, RangeDone, ResumeToken, SourceIdentity, UploadToken,
};
