//! [`UploadArgs`]: what an upload sends with its PutObject or multipart requests.

use crate::client::{
    ChecksumAlgorithm, ChecksumType, Checksums, ObjectAttributes, RequestContext, SseCustomerKey,
};
use crate::error::TransferError;

use super::extra_args::*;
use super::validate_sse;

/// Optional arguments of an upload (s3transfer's `ALLOWED_UPLOAD_ARGS`).
///
/// Where each goes: `attributes` to PutObject and CreateMultipartUpload only;
/// `sse_customer` to PutObject, CreateMultipartUpload, every UploadPart and Complete;
/// `context` to every request including AbortMultipartUpload; `checksum_algorithm` to
/// PutObject, CreateMultipartUpload and every UploadPart; the full-object checksum
/// values to PutObject or CompleteMultipartUpload; `checksum_type` to Create and
/// Complete; `mpu_object_size` to Complete.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadArgs {
    /// Properties of the new object (content type, metadata, ACL, encryption, ...).
    pub attributes: ObjectAttributes,
    /// SSE-C key: sent with PutObject, CreateMultipartUpload, every UploadPart and
    /// CompleteMultipartUpload.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner, sent with every request.
    pub context: RequestContext,
    /// Flexible checksum algorithm (`ChecksumAlgorithm`).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Precomputed full-object checksum values (`ChecksumCRC32`, ...). Only the values
    /// are read; the type is [`UploadArgs::checksum_type`].
    pub full_object_checksums: Checksums,
    /// `FULL_OBJECT` or `COMPOSITE` (`ChecksumType`). A multipart upload with a
    /// full-object value and no type is created as `FULL_OBJECT`.
    pub checksum_type: Option<ChecksumType>,
    /// The object's size, for CompleteMultipartUpload to check (`MpuObjectSize`).
    pub mpu_object_size: Option<u64>,
    /// Guess `Content-Type` from the file name when none is given and the source is a
    /// path (as the AWS CLI does). On by default.
    pub guess_content_type: bool,
    /// Keep a resume journal in this file while a multipart upload of a file runs:
    /// rewritten (atomically) as each part is stored, removed when the upload completes
    /// or is aborted, kept when it is paused or the process dies; read it back with
    /// [`crate::resume::read_journal`]. `None` (the default): no journal, as nothing is
    /// written anywhere a caller did not ask for; [`crate::TransferFuture::pause`]
    /// still works. Single-request and stream uploads keep none.
    pub journal: Option<std::path::PathBuf>,
    /// When the transfer fails for a reason a later run may overcome (retries ran out
    /// on transient errors or a lost connection), keep the multipart upload and the journal for a
    /// resume instead of cleaning up. Default `false`: a failure leaves nothing
    /// behind, as it always has; a kept upload stays stored, and billed, until resumed
    /// or aborted. Only a transfer that can be paused keeps anything, and only one
    /// with a [`journal`](field@Self::journal): the journal is the only record of what
    /// was kept, so without one the failure cleans up as if this were `false` (a kept
    /// upload or temporary file that nothing points at could only be orphaned).
    pub keep_for_resume: bool,
}

impl Default for UploadArgs {
    fn default() -> Self {
        UploadArgs {
            attributes: ObjectAttributes::default(),
            sse_customer: None,
            context: RequestContext::default(),
            checksum_algorithm: None,
            full_object_checksums: Checksums::default(),
            checksum_type: None,
            mpu_object_size: None,
            guess_content_type: true,
            journal: None,
            keep_for_resume: false,
        }
    }
}

impl UploadArgs {
    /// The names [`UploadArgs::from_pairs`] accepts (s3transfer's `ALLOWED_UPLOAD_ARGS`).
    pub fn allowed_names() -> Vec<&'static str> {
        upload_allowed()
    }

    /// Build from boto3 `ExtraArgs` names and string values. An unknown name, or one
    /// that belongs to another operation (`VersionId` here), is
    /// [`TransferError::InvalidArgument`] listing the allowed names; so is a name given
    /// twice or a value that cannot be parsed. Nothing is sent: call this before
    /// submitting.
    ///
    /// Names are s3transfer's `ALLOWED_UPLOAD_ARGS` (and, for the other operations,
    /// `ALLOWED_DOWNLOAD_ARGS`, `ALLOWED_COPY_ARGS`, `ALLOWED_DELETE_ARGS`), spelled
    /// as boto3 spells them; case matters, as in boto3. Values are strings:
    ///
    /// * `Metadata`: `name=value,name2=value2` (split on `,`, then on the first `=`;
    ///   names are trimmed, values kept as given). For a value holding a comma, give
    ///   one pair per entry as `Metadata.name` = `value` instead. The forms may be
    ///   mixed; naming one metadata key twice is an error.
    /// * `Tagging`: URL-encoded, as S3 takes it (`a=1&b=2`).
    /// * `SSECustomerKey` / `CopySourceSSECustomerKey`: the key in **base64**, with
    ///   its `...KeyMD5` (base64 MD5 of the raw key) required; `...Algorithm` defaults
    ///   to `AES256`. (boto3 takes the raw key and computes both.)
    /// * `ChecksumAlgorithm`: `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1` or `SHA256` (any
    ///   case). `ChecksumType`: `FULL_OBJECT` or `COMPOSITE`. `MpuObjectSize`: a
    ///   decimal byte count. `Checksum<ALG>`: the base64 value. `ChecksumMode`
    ///   (downloads): `ENABLED`.
    /// * `MetadataDirective` / `TaggingDirective` (copies): `COPY` or `REPLACE`.
    /// * Everything else (`ContentType`, `Expires`, `ObjectLockRetainUntilDate`, `MFA`,
    ///   `VersionId`, ...): the header value, passed as is.
    ///
    /// ```
    /// use s3transfer::{TransferError, UploadArgs};
    ///
    /// let args = UploadArgs::from_pairs([
    ///     ("ContentType", "text/csv"),
    ///     ("Metadata", "team=data,run=7"),
    ///     ("Metadata.note", "a, b"),
    ///     ("RequestPayer", "requester"),
    /// ])
    /// .unwrap();
    /// assert_eq!(args.attributes.metadata["note"], "a, b");
    ///
    /// let err = UploadArgs::from_pairs([("VersionId", "v1")]).unwrap_err();
    /// assert!(matches!(err, TransferError::InvalidArgument(_)));
    /// assert!(err.to_string().contains("must be one of: ACL, CacheControl"));
    /// ```
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<UploadArgs, TransferError> {
        let mut p = Pairs::collect("upload", &upload_allowed(), pairs)?;
        let mut full_object_checksums = Checksums::default();
        for (name, field) in FULL_OBJECT_CHECKSUMS {
            *field(&mut full_object_checksums) = p.take(name);
        }
        let mpu_object_size = p
            .take("MpuObjectSize")
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    TransferError::InvalidArgument(format!("MpuObjectSize {v:?} is not a size"))
                })
            })
            .transpose()?;
        let args = UploadArgs {
            attributes: p.attributes(),
            sse_customer: p.sse("SSECustomer")?,
            context: p.context(),
            checksum_algorithm: p.checksum_algorithm()?,
            full_object_checksums,
            checksum_type: p
                .one_of("ChecksumType", &["FULL_OBJECT", "COMPOSITE"])?
                .map(|v| ChecksumType::from_name(&v)),
            mpu_object_size,
            guess_content_type: true,
            journal: None,
            keep_for_resume: false,
        };
        p.finish()?;
        Ok(args)
    }

    attribute_setters! {
        /// `Content-Type`. Without it, a path source's type is guessed from its name.
        content_type;
        /// `Cache-Control`.
        cache_control;
        /// `Content-Disposition`.
        content_disposition;
        /// `Content-Encoding`.
        content_encoding;
        /// `Content-Language`.
        content_language;
        /// `Expires` (an HTTP date).
        expires;
        /// Canned ACL (`private`, `public-read`, ...).
        acl;
        /// Storage class (`STANDARD_IA`, ...).
        storage_class;
        /// Tags, URL-encoded (`a=1&b=2`).
        tagging;
        /// Server-side encryption (`AES256`, `aws:kms`).
        server_side_encryption;
        /// KMS key id for `aws:kms`.
        sse_kms_key_id;
    }

    context_setters!();

    /// Encrypt with a customer-provided key.
    pub fn sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer = Some(key);
        self
    }

    /// Ask for a flexible checksum: with a backend that supports checksums the engine
    /// computes it for every body (the rusoto backend cannot send one yet and refuses
    /// it).
    pub fn checksum_algorithm(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum_algorithm = Some(algorithm);
        self
    }

    /// Keep a resume journal in `path` (see [`UploadArgs::journal`](field@UploadArgs::journal)).
    pub fn journal(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Keep the state for a resume after a transient failure (see
    /// [`UploadArgs::keep_for_resume`](field@UploadArgs::keep_for_resume)).
    pub fn keep_for_resume(mut self, keep: bool) -> Self {
        self.keep_for_resume = keep;
        self
    }

    /// Whether to guess `Content-Type` from a path source's name (default: yes).
    pub fn guess_content_type(mut self, guess: bool) -> Self {
        self.guess_content_type = guess;
        self
    }

    /// The algorithm a multipart upload is created with: the one asked for, or that of
    /// a full-object value (S3 needs it announced on Create to accept it on Complete).
    pub(crate) fn multipart_checksum_algorithm(&self) -> Option<ChecksumAlgorithm> {
        self.checksum_algorithm
            .or_else(|| self.full_object_checksums.algorithm())
    }

    /// The checksum type of a multipart upload: as given, or `FULL_OBJECT` when a
    /// full-object value is given (a composite checksum cannot match it).
    pub(crate) fn multipart_checksum_type(&self) -> Option<ChecksumType> {
        self.checksum_type.clone().or_else(|| {
            (!self.full_object_checksums.is_empty()).then_some(ChecksumType::FullObject)
        })
    }

    /// The full-object values without a type: what PutObject and Complete carry.
    pub(crate) fn checksum_values(&self) -> Checksums {
        Checksums {
            checksum_type: None,
            ..self.full_object_checksums.clone()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TransferError> {
        validate_sse("sse_customer", self.sse_customer.as_ref())
    }
}
