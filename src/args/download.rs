//! [`DownloadArgs`]: what a download sends with every GET.

use crate::client::{RequestContext, SseCustomerKey};
use crate::error::TransferError;

use super::extra_args::*;
use super::validate_sse;

/// Optional arguments of a download (s3transfer's `ALLOWED_DOWNLOAD_ARGS`). Every one
/// goes to every GET (each ranged GET included).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadArgs {
    /// Download this version.
    pub version_id: Option<String>,
    /// SSE-C key of the object, sent with every GET.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
    /// Ask for stored checksums (`x-amz-checksum-mode: ENABLED`) and, with a backend
    /// that supports checksums, validate the bytes against them even under
    /// `response_checksum_validation = WhenRequired`.
    pub checksum_mode: bool,
    /// Keep a resume journal in this file while a download to a path runs (put it
    /// beside the destination, [`crate::resume::download_journal_path`], so a rerun finds
    /// it): rewritten atomically as each range is written, removed when the download
    /// completes or fails, kept when it is paused or the process dies. `None` (the
    /// default): no journal; [`crate::TransferFuture::pause`] still works.
    pub journal: Option<std::path::PathBuf>,
    /// When the transfer fails for a reason a later run may overcome (retries ran out
    /// on transient errors or a lost connection), keep the temporary file and the journal for a
    /// resume instead of cleaning up. Default `false`: a failure leaves nothing
    /// behind, as it always has; a kept upload stays stored, and billed, until resumed
    /// or aborted. Only a transfer that can be paused keeps anything, and only one
    /// with a [`journal`](field@Self::journal): the journal is the only record of what
    /// was kept, so without one the failure cleans up as if this were `false` (a kept
    /// upload or temporary file that nothing points at could only be orphaned).
    pub keep_for_resume: bool,
}

impl DownloadArgs {
    /// The names [`DownloadArgs::from_pairs`] accepts (`ALLOWED_DOWNLOAD_ARGS`).
    pub fn allowed_names() -> Vec<&'static str> {
        DOWNLOAD_ALLOWED.to_vec()
    }

    /// Build from boto3 `ExtraArgs` names and string values; see [`UploadArgs::from_pairs`](crate::UploadArgs::from_pairs).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<DownloadArgs, TransferError> {
        let mut p = Pairs::collect("download", DOWNLOAD_ALLOWED, pairs)?;
        let args = DownloadArgs {
            version_id: p.take("VersionId"),
            sse_customer: p.sse("SSECustomer")?,
            context: p.context(),
            checksum_mode: p.one_of("ChecksumMode", &["ENABLED"])?.is_some(),
            journal: None,
            keep_for_resume: false,
        };
        p.finish()?;
        Ok(args)
    }

    /// Download a specific version.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// Decrypt with a customer-provided key.
    pub fn sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer = Some(key);
        self
    }

    /// Keep a resume journal in `path` (see [`DownloadArgs::journal`](field@DownloadArgs::journal)).
    pub fn journal(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Keep the state for a resume after a transient failure (see
    /// [`DownloadArgs::keep_for_resume`](field@DownloadArgs::keep_for_resume)).
    pub fn keep_for_resume(mut self, keep: bool) -> Self {
        self.keep_for_resume = keep;
        self
    }

    /// Ask for stored checksums.
    pub fn checksum_mode(mut self, enabled: bool) -> Self {
        self.checksum_mode = enabled;
        self
    }

    context_setters!();

    pub(crate) fn validate(&self) -> Result<(), TransferError> {
        validate_sse("sse_customer", self.sse_customer.as_ref())
    }
}
