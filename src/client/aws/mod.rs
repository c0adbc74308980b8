//! What every backend needs to reach AWS itself, independent of the HTTP stack that
//! sends the requests: the credential and region chain of the AWS SDK (`chain`, feature
//! `aws-config`), the S3 endpoint of any region name (`partition`), the choice
//! between virtual-hosted and path-style addressing (`addressing`), and following a
//! bucket to its region once (`redirect`), and the HTTP client of everything on the
//! SDK's runtime (`smithy_http`: TLS trust and proxies).
//!
//! A backend turns these answers into its own requests; the rusoto backend adapts the
//! chain's credentials to rusoto's signer (`client/rusoto/credentials.rs`).

pub(crate) mod addressing;
#[cfg(feature = "aws-config")]
pub(crate) mod chain;
pub(crate) mod copy_source;
pub(crate) mod partition;
pub(crate) mod redirect;
#[cfg(feature = "aws-config")]
pub(crate) mod smithy_http;
