//! The optional arguments of each operation: typed structs with builder-style setters,
//! and a string-keyed form (`from_pairs`) that takes boto3's `ExtraArgs` names and
//! refuses any name the operation does not allow before a request is made.

// The setter macros come first: child modules see only the macros defined above them.
/// Setters for the [`ObjectAttributes`] a new object gets, shared by uploads and copies.
macro_rules! attribute_setters {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.attributes.$name = Some(value.into());
                self
            }
        )*

        /// Add one user metadata entry (`x-amz-meta-<name>`).
        pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.attributes.metadata.insert(name.into(), value.into());
            self
        }
    };
}

/// Setters for the [`RequestContext`] every operation takes.
macro_rules! context_setters {
    () => {
        /// `x-amz-request-payer` (normally `requester`), sent with every request.
        pub fn request_payer(mut self, value: impl Into<String>) -> Self {
            self.context.request_payer = Some(value.into());
            self
        }

        /// `x-amz-expected-bucket-owner` (an account id), sent with every request.
        pub fn expected_bucket_owner(mut self, value: impl Into<String>) -> Self {
            self.context.expected_bucket_owner = Some(value.into());
            self
        }
    };
}

mod copy;
mod delete;
mod download;
mod extra_args;
mod upload;

pub use copy::CopyArgs;
pub use delete::DeleteArgs;
pub use download::DownloadArgs;
pub use upload::UploadArgs;

use crate::client::SseCustomerKey;
use crate::error::TransferError;

pub(super) fn validate_sse(what: &str, key: Option<&SseCustomerKey>) -> Result<(), TransferError> {
    match key {
        Some(k) if k.algorithm.is_empty() || k.key.is_empty() || k.key_md5.is_empty() => {
            Err(TransferError::InvalidArgument(format!(
                "{what} needs an algorithm, a key and the key's MD5"
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::extra_args::*;
    use super::*;
    use crate::client::{ChecksumAlgorithm, ChecksumType};

    #[test]
    fn allowed_lists_match_s3transfer() {
        assert_eq!(SHARED.len(), 27);
        assert_eq!(UploadArgs::allowed_names().len(), 27 + 2 + 10);
        assert_eq!(CopyArgs::allowed_names().len(), 27 + 9);
        assert_eq!(DownloadArgs::allowed_names().len(), 7);
        assert_eq!(DeleteArgs::allowed_names().len(), 4);
    }

    #[test]
    fn every_allowed_upload_name_is_read() {
        // `finish` turns an accepted-but-unread name into an Internal error, so this
        // proves no allowed name is silently dropped.
        for name in UploadArgs::allowed_names() {
            let value = match name {
                "ChecksumAlgorithm" => "crc32",
                "ChecksumType" => "FULL_OBJECT",
                "MpuObjectSize" => "10",
                "Metadata" => "a=1",
                "SSECustomerKey" | "SSECustomerKeyMD5" | "SSECustomerAlgorithm" => continue,
                _ => "v",
            };
            UploadArgs::from_pairs([(name, value)]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for name in CopyArgs::allowed_names() {
            let value = match name {
                "ChecksumAlgorithm" => "SHA256",
                "MetadataDirective" | "TaggingDirective" => "REPLACE",
                "Metadata" => "a=1",
                n if n.contains("SSECustomer") => continue,
                _ => "v",
            };
            CopyArgs::from_pairs([(name, value)]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn metadata_both_encodings_and_repeats() {
        let a =
            UploadArgs::from_pairs([("Metadata", "a=1, b = x=y"), ("Metadata.c", "with,comma")])
                .unwrap();
        let m = &a.attributes.metadata;
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], " x=y");
        assert_eq!(m["c"], "with,comma");
        assert!(UploadArgs::from_pairs([("Metadata", "a=1"), ("Metadata.a", "2")]).is_err());
        assert!(UploadArgs::from_pairs([("ACL", "private"), ("ACL", "public-read")]).is_err());
        assert!(UploadArgs::from_pairs([("Metadata", "novalue")]).is_err());
        assert!(DownloadArgs::from_pairs([("Metadata.a", "1")]).is_err());
    }

    #[test]
    fn misplaced_names_list_the_allowed_ones() {
        let e = UploadArgs::from_pairs([("VersionId", "v1")]).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, TransferError::InvalidArgument(_)));
        assert!(
            msg.contains("\"VersionId\"") && msg.contains("ContentType"),
            "{msg}"
        );
        assert!(DownloadArgs::from_pairs([("ContentType", "x")]).is_err());
        assert!(DeleteArgs::from_pairs([("ACL", "x")]).is_err());
        assert!(CopyArgs::from_pairs([("MpuObjectSize", "1")]).is_err());
        assert!(UploadArgs::from_pairs([("MetadataDirective", "COPY")]).is_err());
        assert!(UploadArgs::from_pairs([("contenttype", "x")]).is_err());
    }

    #[test]
    fn sse_c_needs_key_and_md5() {
        let a =
            DownloadArgs::from_pairs([("SSECustomerKey", "a2V5"), ("SSECustomerKeyMD5", "bWQ1")])
                .unwrap();
        assert_eq!(a.sse_customer.unwrap().algorithm, "AES256");
        assert!(DownloadArgs::from_pairs([("SSECustomerKey", "a2V5")]).is_err());
        assert!(DownloadArgs::from_pairs([("ChecksumMode", "DISABLED")]).is_err());
        assert!(UploadArgs::from_pairs([("ChecksumAlgorithm", "md4")]).is_err());
    }

    #[test]
    fn full_object_value_implies_algorithm_and_type() {
        let a = UploadArgs::from_pairs([("ChecksumCRC32C", "AAAAAA==")]).unwrap();
        assert_eq!(
            a.multipart_checksum_algorithm(),
            Some(ChecksumAlgorithm::Crc32c)
        );
        assert_eq!(a.multipart_checksum_type(), Some(ChecksumType::FullObject));
        assert_eq!(a.checksum_values().crc32c.as_deref(), Some("AAAAAA=="));
    }
}
