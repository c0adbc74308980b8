//! [`ResumeOptions`]: what a resume does when the recorded state cannot be used.

/// What to do when the source file (upload) or the object (download) changed since the
/// token was made, or the multipart upload it names is gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IfChanged {
    /// Fail with a typed [`crate::resume::ResumeError`] and leave everything as it was (the
    /// default: the caller decides, nothing is thrown away behind their back).
    #[default]
    Fail,
    /// Throw the recorded state away (abort the old multipart upload, remove the old
    /// temporary file) and run the transfer afresh, as `cp` without a journal would.
    StartOver,
}

/// Options of [`crate::TransferManager::resume_upload`] and
/// [`crate::TransferManager::resume_download`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResumeOptions {
    /// What to do when the source or object changed. Default [`IfChanged::Fail`].
    pub if_changed: IfChanged,
}

impl ResumeOptions {
    /// The defaults.
    pub fn new() -> Self {
        ResumeOptions::default()
    }

    /// Set [`ResumeOptions::if_changed`].
    pub fn if_changed(mut self, if_changed: IfChanged) -> Self {
        self.if_changed = if_changed;
        self
    }
}
