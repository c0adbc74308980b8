//! [`DeleteArgs`]: what a delete sends with its DeleteObject.

use crate::client::RequestContext;
use crate::error::TransferError;

use super::extra_args::*;

/// Optional arguments of a delete (s3transfer's `ALLOWED_DELETE_ARGS`), all sent with
/// the DeleteObject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteArgs {
    /// Delete this version.
    pub version_id: Option<String>,
    /// `x-amz-mfa`: serial number and token.
    pub mfa: Option<String>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
}

impl DeleteArgs {
    /// The names [`DeleteArgs::from_pairs`] accepts (`ALLOWED_DELETE_ARGS`).
    pub fn allowed_names() -> Vec<&'static str> {
        DELETE_ALLOWED.to_vec()
    }

    /// Build from boto3 `ExtraArgs` names and string values; see [`UploadArgs::from_pairs`](crate::UploadArgs::from_pairs).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<DeleteArgs, TransferError> {
        let mut p = Pairs::collect("delete", DELETE_ALLOWED, pairs)?;
        let args = DeleteArgs {
            version_id: p.take("VersionId"),
            mfa: p.take("MFA"),
            context: p.context(),
        };
        p.finish()?;
        Ok(args)
    }

    /// Delete a specific version.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// `x-amz-mfa`: the device's serial number, a space, and the current token.
    pub fn mfa(mut self, value: impl Into<String>) -> Self {
        self.mfa = Some(value.into());
        self
    }

    context_setters!();
}
