//! The rusoto backend (placeholder until implemented).

/// The rusoto-backed [`crate::S3Api`].
pub struct RusotoS3;
/// Builder for [`RusotoS3`].
pub struct RusotoS3Builder;
