//! The optional arguments of each operation: typed structs with builder-style setters,
//! and a string-keyed form (`from_pairs`) that takes boto3's `ExtraArgs` names and
//! refuses any name the operation does not allow before a request is made.

use std::collections::BTreeMap;

use crate::client::{
    ChecksumAlgorithm, Checksums, CopySourceConditions, ObjectAttributes, RequestContext,
    SseCustomerKey,
};
use crate::error::TransferError;

/// s3transfer's `_ALLOWED_SHARED_ARGS`: the arguments uploads and copies both take.
const SHARED: &[&str] = &[
    "ACL",
    "CacheControl",
    "ChecksumAlgorithm",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "ExpectedBucketOwner",
    "Expires",
    "GrantFullControl",
    "GrantRead",
    "GrantReadACP",
    "GrantWriteACP",
    "Metadata",
    "ObjectLockLegalHoldStatus",
    "ObjectLockMode",
    "ObjectLockRetainUntilDate",
    "RequestPayer",
    "ServerSideEncryption",
    "StorageClass",
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "SSEKMSKeyId",
    "SSEKMSEncryptionContext",
    "Tagging",
    "WebsiteRedirectLocation",
];

/// The [`Checksums`] field an argument fills.
type ChecksumField = fn(&mut Checksums) -> &mut Option<String>;

/// s3transfer's `FULL_OBJECT_CHECKSUM_ARGS`, with the [`Checksums`] field each fills.
const FULL_OBJECT_CHECKSUMS: &[(&str, ChecksumField)] = &[
    ("ChecksumCRC32", |c| &mut c.crc32),
    ("ChecksumCRC32C", |c| &mut c.crc32c),
    ("ChecksumCRC64NVME", |c| &mut c.crc64nvme),
    ("ChecksumMD5", |c| &mut c.md5),
    ("ChecksumSHA1", |c| &mut c.sha1),
    ("ChecksumSHA256", |c| &mut c.sha256),
    ("ChecksumSHA512", |c| &mut c.sha512),
    ("ChecksumXXHASH3", |c| &mut c.xxhash3),
    ("ChecksumXXHASH64", |c| &mut c.xxhash64),
    ("ChecksumXXHASH128", |c| &mut c.xxhash128),
];

const UPLOAD_ONLY: &[&str] = &["ChecksumType", "MpuObjectSize"];

const COPY_ONLY: &[&str] = &[
    "CopySourceIfMatch",
    "CopySourceIfModifiedSince",
    "CopySourceIfNoneMatch",
    "CopySourceIfUnmodifiedSince",
    "CopySourceSSECustomerAlgorithm",
    "CopySourceSSECustomerKey",
    "CopySourceSSECustomerKeyMD5",
    "MetadataDirective",
    "TaggingDirective",
];

const DOWNLOAD_ALLOWED: &[&str] = &[
    "ChecksumMode",
    "VersionId",
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "RequestPayer",
    "ExpectedBucketOwner",
];

const DELETE_ALLOWED: &[&str] = &["MFA", "VersionId", "RequestPayer", "ExpectedBucketOwner"];

fn upload_allowed() -> Vec<&'static str> {
    let mut names = SHARED.to_vec();
    names.extend_from_slice(UPLOAD_ONLY);
    names.extend(FULL_OBJECT_CHECKSUMS.iter().map(|(n, _)| *n));
    names
}

fn copy_allowed() -> Vec<&'static str> {
    let mut names = SHARED.to_vec();
    names.extend_from_slice(COPY_ONLY);
    names
}

/// The pairs of one call, checked against the operation's allowed names.
struct Pairs {
    values: BTreeMap<&'static str, String>,
    /// `Metadata` and `Metadata.<name>` entries, merged.
    metadata: BTreeMap<String, String>,
}

impl Pairs {
    fn collect<'a>(
        operation: &str,
        allowed: &[&'static str],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Pairs, TransferError> {
        let mut out = Pairs {
            values: BTreeMap::new(),
            metadata: BTreeMap::new(),
        };
        let takes_metadata = allowed.contains(&"Metadata");
        for (name, value) in pairs {
            if let Some(meta_key) = name.strip_prefix("Metadata.")
                && takes_metadata
            {
                out.add_metadata(meta_key, value)?;
                continue;
            }
            let Some(known) = allowed.iter().find(|a| **a == name) else {
                let mut sorted = allowed.to_vec();
                sorted.sort_unstable();
                return Err(TransferError::InvalidArgument(format!(
                    "extra argument {name:?} is not allowed for {operation}, must be one of: {}",
                    sorted.join(", ")
                )));
            };
            if *known == "Metadata" {
                for entry in value.split(',').filter(|e| !e.trim().is_empty()) {
                    let (k, v) = entry.split_once('=').ok_or_else(|| {
                        TransferError::InvalidArgument(format!(
                            "Metadata entry {entry:?} is not name=value"
                        ))
                    })?;
                    out.add_metadata(k.trim(), v)?;
                }
                // Remembered so that a second `Metadata` is refused like any repeat.
            }
            if out.values.insert(known, value.to_owned()).is_some() {
                return Err(TransferError::InvalidArgument(format!(
                    "extra argument {name:?} given twice"
                )));
            }
        }
        Ok(out)
    }

    fn add_metadata(&mut self, name: &str, value: &str) -> Result<(), TransferError> {
        if name.is_empty() {
            return Err(TransferError::InvalidArgument(
                "a Metadata entry has an empty name".into(),
            ));
        }
        if self
            .metadata
            .insert(name.to_owned(), value.to_owned())
            .is_some()
        {
            return Err(TransferError::InvalidArgument(format!(
                "Metadata name {name:?} given twice"
            )));
        }
        Ok(())
    }

    fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    fn attributes(&mut self) -> ObjectAttributes {
        self.take("Metadata");
        ObjectAttributes {
            acl: self.take("ACL"),
            cache_control: self.take("CacheControl"),
            content_disposition: self.take("ContentDisposition"),
            content_encoding: self.take("ContentEncoding"),
            content_language: self.take("ContentLanguage"),
            content_type: self.take("ContentType"),
            expires: self.take("Expires"),
            metadata: std::mem::take(&mut self.metadata),
            storage_class: self.take("StorageClass"),
            tagging: self.take("Tagging"),
            website_redirect_location: self.take("WebsiteRedirectLocation"),
            server_side_encryption: self.take("ServerSideEncryption"),
            sse_kms_key_id: self.take("SSEKMSKeyId"),
            sse_kms_encryption_context: self.take("SSEKMSEncryptionContext"),
            object_lock_mode: self.take("ObjectLockMode"),
            object_lock_retain_until_date: self.take("ObjectLockRetainUntilDate"),
            object_lock_legal_hold_status: self.take("ObjectLockLegalHoldStatus"),
            grant_full_control: self.take("GrantFullControl"),
            grant_read: self.take("GrantRead"),
            grant_read_acp: self.take("GrantReadACP"),
            grant_write_acp: self.take("GrantWriteACP"),
            ..Default::default()
        }
    }

    fn context(&mut self) -> RequestContext {
        RequestContext {
            request_payer: self.take("RequestPayer"),
            expected_bucket_owner: self.take("ExpectedBucketOwner"),
        }
    }

    /// `<prefix>Algorithm`, `<prefix>Key`, `<prefix>KeyMD5` as one key, or none.
    fn sse(&mut self, prefix: &str) -> Result<Option<SseCustomerKey>, TransferError> {
        let algorithm = self.take(&format!("{prefix}Algorithm"));
        let key = self.take(&format!("{prefix}Key"));
        let md5 = self.take(&format!("{prefix}KeyMD5"));
        match (algorithm, key, md5) {
            (None, None, None) => Ok(None),
            (algorithm, Some(key), Some(md5)) => Ok(Some(SseCustomerKey::new(
                algorithm.unwrap_or_else(|| "AES256".into()),
                key,
                md5,
            ))),
            _ => Err(TransferError::InvalidArgument(format!(
                "{prefix}Key and {prefix}KeyMD5 (both base64) must be given together"
            ))),
        }
    }

    fn checksum_algorithm(&mut self) -> Result<Option<ChecksumAlgorithm>, TransferError> {
        self.take("ChecksumAlgorithm")
            .map(|v| {
                ChecksumAlgorithm::parse(&v).ok_or_else(|| {
                    TransferError::InvalidArgument(format!(
                        "ChecksumAlgorithm {v:?} is not one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256"
                    ))
                })
            })
            .transpose()
    }

    fn one_of(&mut self, name: &str, choices: &[&str]) -> Result<Option<String>, TransferError> {
        match self.take(name) {
            Some(v) if choices.contains(&v.as_str()) => Ok(Some(v)),
            Some(v) => Err(TransferError::InvalidArgument(format!(
                "{name} {v:?} must be one of: {}",
                choices.join(", ")
            ))),
            None => Ok(None),
        }
    }

    /// Every value was consumed: a name allowed but not read here is a bug, not a
    /// silent drop.
    fn finish(self) -> Result<(), TransferError> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(name) => Err(TransferError::Internal(format!(
                "extra argument {name} was accepted but not used"
            ))),
        }
    }
}

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
    pub checksum_type: Option<String>,
    /// The object's size, for CompleteMultipartUpload to check (`MpuObjectSize`).
    pub mpu_object_size: Option<u64>,
    /// Guess `Content-Type` from the file name when none is given and the source is a
    /// path (as the AWS CLI does). On by default.
    pub guess_content_type: bool,
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
            checksum_type: p.one_of("ChecksumType", &["FULL_OBJECT", "COMPOSITE"])?,
            mpu_object_size,
            guess_content_type: true,
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
    pub(crate) fn multipart_checksum_type(&self) -> Option<String> {
        self.checksum_type
            .clone()
            .or_else(|| (!self.full_object_checksums.is_empty()).then(|| "FULL_OBJECT".to_owned()))
    }

    /// The full-object values without a type: what PutObject and Complete carry.
    pub(crate) fn checksum_values(&self) -> Checksums {
        Checksums {
            checksum_type: None,
            ..self.full_object_checksums.clone()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TransferError> {
        validate_sse("sse_customer", self.sse_customer.as_ref())?;
        validate_choice(
            "checksum_type",
            self.checksum_type.as_deref(),
            &["FULL_OBJECT", "COMPOSITE"],
        )
    }
}

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
}

impl DownloadArgs {
    /// The names [`DownloadArgs::from_pairs`] accepts (`ALLOWED_DOWNLOAD_ARGS`).
    pub fn allowed_names() -> Vec<&'static str> {
        DOWNLOAD_ALLOWED.to_vec()
    }

    /// Build from boto3 `ExtraArgs` names and string values; see [`UploadArgs::from_pairs`].
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<DownloadArgs, TransferError> {
        let mut p = Pairs::collect("download", DOWNLOAD_ALLOWED, pairs)?;
        let args = DownloadArgs {
            version_id: p.take("VersionId"),
            sse_customer: p.sse("SSECustomer")?,
            context: p.context(),
            checksum_mode: p.one_of("ChecksumMode", &["ENABLED"])?.is_some(),
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

/// Optional arguments of a copy (s3transfer's `ALLOWED_COPY_ARGS`).
///
/// Where each goes: HeadObject on the source gets the source's SSE-C key,
/// `conditions.if_match`, the context (and the source's version); CopyObject gets
/// everything; a multipart copy's CreateMultipartUpload gets `attributes`,
/// `sse_customer`, `checksum_algorithm` and the context (never the directives or the
/// source conditions); each UploadPartCopy gets the source conditions (with `if_match`
/// pinned to the source's ETag), both SSE-C keys and the context; Complete gets
/// `sse_customer` and the context; Abort the context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyArgs {
    /// Properties of the new object.
    pub attributes: ObjectAttributes,
    /// `COPY` (keep the source's metadata) or `REPLACE` (use `attributes`).
    pub metadata_directive: Option<String>,
    /// `COPY` or `REPLACE` for tags.
    pub tagging_directive: Option<String>,
    /// Preconditions on the source.
    pub conditions: CopySourceConditions,
    /// SSE-C key of the source.
    pub copy_source_sse_customer: Option<SseCustomerKey>,
    /// SSE-C key for the destination.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
    /// Flexible checksum algorithm of the new object (CopyObject and Create only).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

impl CopyArgs {
    /// The names [`CopyArgs::from_pairs`] accepts (`ALLOWED_COPY_ARGS`).
    pub fn allowed_names() -> Vec<&'static str> {
        copy_allowed()
    }

    /// Build from boto3 `ExtraArgs` names and string values; see [`UploadArgs::from_pairs`].
    /// The source's version is part of [`crate::CopySource`], not an argument.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CopyArgs, TransferError> {
        let mut p = Pairs::collect("copy", &copy_allowed(), pairs)?;
        let directives = ["COPY", "REPLACE"];
        let args = CopyArgs {
            attributes: p.attributes(),
            metadata_directive: p.one_of("MetadataDirective", &directives)?,
            tagging_directive: p.one_of("TaggingDirective", &directives)?,
            conditions: CopySourceConditions {
                if_match: p.take("CopySourceIfMatch"),
                if_none_match: p.take("CopySourceIfNoneMatch"),
                if_modified_since: p.take("CopySourceIfModifiedSince"),
                if_unmodified_since: p.take("CopySourceIfUnmodifiedSince"),
            },
            copy_source_sse_customer: p.sse("CopySourceSSECustomer")?,
            sse_customer: p.sse("SSECustomer")?,
            context: p.context(),
            checksum_algorithm: p.checksum_algorithm()?,
        };
        p.finish()?;
        Ok(args)
    }

    attribute_setters! {
        /// `Content-Type` (applies with `MetadataDirective: REPLACE`, and to a
        /// multipart copy's new object in place of the source's).
        content_type;
        /// `Cache-Control` (as `content_type`).
        cache_control;
        /// `Content-Disposition` (as `content_type`).
        content_disposition;
        /// `Content-Encoding` (as `content_type`).
        content_encoding;
        /// `Content-Language` (as `content_type`).
        content_language;
        /// `Expires` (as `content_type`).
        expires;
        /// Canned ACL.
        acl;
        /// Storage class.
        storage_class;
        /// Tags, URL-encoded (with `TaggingDirective: REPLACE` on CopyObject).
        tagging;
        /// Server-side encryption of the new object.
        server_side_encryption;
        /// KMS key id for `aws:kms`.
        sse_kms_key_id;
    }

    context_setters!();

    /// `COPY` or `REPLACE` the source's metadata.
    pub fn metadata_directive(mut self, value: impl Into<String>) -> Self {
        self.metadata_directive = Some(value.into());
        self
    }

    /// `COPY` or `REPLACE` the source's tags.
    pub fn tagging_directive(mut self, value: impl Into<String>) -> Self {
        self.tagging_directive = Some(value.into());
        self
    }

    /// Copy only if the source's ETag is `etag`.
    pub fn copy_source_if_match(mut self, etag: impl Into<String>) -> Self {
        self.conditions.if_match = Some(etag.into());
        self
    }

    /// The source is encrypted with this customer-provided key.
    pub fn copy_source_sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.copy_source_sse_customer = Some(key);
        self
    }

    /// Encrypt the new object with a customer-provided key.
    pub fn sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer = Some(key);
        self
    }

    /// Ask for a flexible checksum on the new object.
    pub fn checksum_algorithm(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum_algorithm = Some(algorithm);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), TransferError> {
        validate_sse("sse_customer", self.sse_customer.as_ref())?;
        validate_sse(
            "copy_source_sse_customer",
            self.copy_source_sse_customer.as_ref(),
        )?;
        let directives = ["COPY", "REPLACE"];
        validate_choice(
            "metadata_directive",
            self.metadata_directive.as_deref(),
            &directives,
        )?;
        validate_choice(
            "tagging_directive",
            self.tagging_directive.as_deref(),
            &directives,
        )
    }
}

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

    /// Build from boto3 `ExtraArgs` names and string values; see [`UploadArgs::from_pairs`].
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

fn validate_sse(what: &str, key: Option<&SseCustomerKey>) -> Result<(), TransferError> {
    match key {
        Some(k) if k.algorithm.is_empty() || k.key.is_empty() || k.key_md5.is_empty() => {
            Err(TransferError::InvalidArgument(format!(
                "{what} needs an algorithm, a key and the key's MD5"
            )))
        }
        _ => Ok(()),
    }
}

fn validate_choice(what: &str, value: Option<&str>, choices: &[&str]) -> Result<(), TransferError> {
    match value {
        Some(v) if !choices.contains(&v) => Err(TransferError::InvalidArgument(format!(
            "{what} {v:?} must be one of: {}",
            choices.join(", ")
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(a.multipart_checksum_type().as_deref(), Some("FULL_OBJECT"));
        assert_eq!(a.checksum_values().crc32c.as_deref(), Some("AAAAAA=="));
    }
}
