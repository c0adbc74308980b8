//! The options of `cp`, `mv` and `sync` that the AWS CLI has, spelled as it spells
//! them: which files take part and how a sync decides (`TreeFlags`), and what each
//! object is written with (`ObjectFlags`), mapped onto the library's arguments.

use std::collections::BTreeMap;

use base64::Engine as _;
use clap::{ArgMatches, Args};
use md5::Digest as _;
use s3transfer::{
    CaseConflict, CopyArgs, DeleteArgs, Directive, DownloadArgs, ObjectAttributes, SseCustomerKey,
    TreeArgs, TreeArgsBuilder, TreeFilter, UploadArgs,
};

use crate::args::Options;
use crate::location::parse_size;
use crate::report::CliError;

/// Which files take part, and how `sync` decides.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct TreeFlags {
    /// Include files matching PATTERN (applied in order with --exclude; the last match wins)
    #[arg(long, value_name = "PATTERN")]
    pub(crate) include: Vec<String>,
    /// Exclude files matching PATTERN (`*` also matches `/`)
    #[arg(long, value_name = "PATTERN")]
    pub(crate) exclude: Vec<String>,
    /// Show what would be done, without doing it
    #[arg(long)]
    pub(crate) dryrun: bool,
    /// Follow symbolic links (the default)
    #[arg(long, overrides_with = "no_follow_symlinks")]
    pub(crate) follow_symlinks: bool,
    /// Leave symbolic links out
    #[arg(long)]
    pub(crate) no_follow_symlinks: bool,
    /// No progress bars (per-file lines are still printed)
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Print only errors and warnings
    #[arg(long)]
    pub(crate) only_show_errors: bool,
    /// Downloads of a tree: what to do when two keys differ only by case (A.txt and
    /// a.txt), which on a case-insensitive file system would overwrite each other:
    /// error (stop), warn (download anyway; `mv` leaves the second key in place, as
    /// skip, so no object is lost), skip (leave the second out), ignore
    #[arg(long, value_name = "MODE", default_value = "warn",
          value_parser = ["error", "warn", "skip", "ignore"])]
    pub(crate) case_conflict: String,
}

/// `rm`'s options, the AWS CLI's: which objects `--recursive` deletes, a dry run, and
/// who pays.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct RmFlags {
    /// Include keys matching PATTERN (applied in order with --exclude; the last match wins)
    #[arg(long, value_name = "PATTERN")]
    pub(crate) include: Vec<String>,
    /// Exclude keys matching PATTERN (`*` also matches `/`)
    #[arg(long, value_name = "PATTERN")]
    pub(crate) exclude: Vec<String>,
    /// Show what would be deleted, without deleting it
    #[arg(long)]
    pub(crate) dryrun: bool,
    /// Print only errors and warnings
    #[arg(long)]
    pub(crate) only_show_errors: bool,
    /// Confirm that the requester pays: requester
    #[arg(long, value_name = "requester", value_parser = ["requester"])]
    pub(crate) request_payer: Option<String>,
}

impl RmFlags {
    /// The tree flags they amount to (the filters keep their names, so their order
    /// typed is found the same way).
    pub(crate) fn tree(&self) -> TreeFlags {
        TreeFlags {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            dryrun: self.dryrun,
            only_show_errors: self.only_show_errors,
            ..TreeFlags::default()
        }
    }

    /// What each DeleteObject is sent with.
    pub(crate) fn object(&self) -> ObjectArgs {
        let mut delete = DeleteArgs::default();
        delete.context.request_payer = self.request_payer.clone();
        ObjectArgs {
            delete,
            ..ObjectArgs::default()
        }
    }
}

/// `sync` only.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct SyncFlags {
    /// Delete destination files that the source does not have (within the filters)
    #[arg(long)]
    pub(crate) delete: bool,
    /// Send a file only when its size differs
    #[arg(long, conflicts_with = "exact_timestamps")]
    pub(crate) size_only: bool,
    /// From S3: send same-sized files unless their times match exactly
    #[arg(long)]
    pub(crate) exact_timestamps: bool,
}

/// What each written object gets.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct ObjectFlags {
    /// Content-Type (default: guessed from each file's name)
    #[arg(long, value_name = "TYPE")]
    pub(crate) content_type: Option<String>,
    /// Cache-Control
    #[arg(long, value_name = "VALUE")]
    pub(crate) cache_control: Option<String>,
    /// Content-Disposition
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_disposition: Option<String>,
    /// Content-Encoding
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_encoding: Option<String>,
    /// Content-Language
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_language: Option<String>,
    /// Expires (an HTTP date)
    #[arg(long, value_name = "DATE")]
    pub(crate) expires: Option<String>,
    /// User metadata: key=value,key2=value2 or a JSON object
    #[arg(long, value_name = "MAP")]
    pub(crate) metadata: Option<String>,
    /// S3 to S3: COPY the source's metadata or REPLACE it with the flags given
    /// [default: REPLACE when an attribute flag is given, else COPY]
    #[arg(long, value_name = "COPY|REPLACE", value_parser = ["COPY", "REPLACE"])]
    pub(crate) metadata_directive: Option<String>,
    /// Server-side encryption: AES256 (when given alone) or aws:kms
    #[arg(long, value_name = "AES256|aws:kms", num_args = 0..=1, default_missing_value = "AES256",
          value_parser = ["AES256", "aws:kms", "aws:kms:dsse"])]
    pub(crate) sse: Option<String>,
    /// KMS key id for --sse aws:kms
    #[arg(long, value_name = "KEY_ID")]
    pub(crate) sse_kms_key_id: Option<String>,
    /// Server-side encryption with a customer key: AES256
    #[arg(long, value_name = "AES256", num_args = 0..=1, default_missing_value = "AES256",
          value_parser = ["AES256"])]
    pub(crate) sse_c: Option<String>,
    /// The customer key for --sse-c (32 bytes, as given)
    #[arg(long, value_name = "KEY", requires = "sse_c")]
    pub(crate) sse_c_key: Option<String>,
    /// Storage class (STANDARD, STANDARD_IA, GLACIER, ...)
    #[arg(long, value_name = "CLASS")]
    pub(crate) storage_class: Option<String>,
    /// Canned ACL (private, public-read, bucket-owner-full-control, ...)
    #[arg(long, value_name = "ACL")]
    pub(crate) acl: Option<String>,
    /// Confirm that the requester pays: requester
    #[arg(long, value_name = "requester", value_parser = ["requester"])]
    pub(crate) request_payer: Option<String>,
    /// The size of a stream read from stdin, so its parts fit S3's 10,000
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub(crate) expected_size: Option<u64>,
}

/// The library's arguments for every kind of request a command makes.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectArgs {
    pub(crate) upload: UploadArgs,
    pub(crate) download: DownloadArgs,
    pub(crate) copy: CopyArgs,
    pub(crate) delete: DeleteArgs,
    pub(crate) expected_size: Option<u64>,
}

impl ObjectFlags {
    /// The flags as the library's arguments; a usage error for a value that cannot be
    /// used (metadata that is neither form, an SSE-C key without `--sse-c`).
    pub(crate) fn to_args(&self, options: &Options) -> Result<ObjectArgs, CliError> {
        let mut attributes = ObjectAttributes::default();
        attributes.content_type = self.content_type.clone();
        attributes.cache_control = self.cache_control.clone();
        attributes.content_disposition = self.content_disposition.clone();
        attributes.content_encoding = self.content_encoding.clone();
        attributes.content_language = self.content_language.clone();
        attributes.expires = self.expires.clone();
        attributes.storage_class = self.storage_class.clone();
        attributes.acl = self.acl.clone();
        attributes.server_side_encryption = self.sse.clone();
        attributes.sse_kms_key_id = self.sse_kms_key_id.clone();
        if let Some(text) = &self.metadata {
            attributes.metadata = parse_metadata(text)?;
        }
        let sse_customer = match (&self.sse_c, &self.sse_c_key) {
            (Some(algorithm), Some(key)) => Some(customer_key(algorithm, key)),
            (Some(_), None) => return Err(CliError::usage("--sse-c needs --sse-c-key")),
            _ => None,
        };
        let mut upload = UploadArgs::default();
        upload.attributes = attributes.clone();
        upload.sse_customer = sse_customer.clone();
        upload.context.request_payer = self.request_payer.clone();
        // Named on the command line, so sent even under `when_required`, as the AWS
        // CLI's --checksum-algorithm is.
        upload.checksum_algorithm = options.checksum_algorithm;
        let mut download = DownloadArgs::default();
        download.sse_customer = sse_customer.clone();
        download.context.request_payer = self.request_payer.clone();
        let mut copy = CopyArgs::default();
        // What a CopyObject keeps from its source unless told to replace it.
        let replaces = self.content_type.is_some()
            || self.cache_control.is_some()
            || self.content_disposition.is_some()
            || self.content_encoding.is_some()
            || self.content_language.is_some()
            || self.expires.is_some()
            || self.metadata.is_some();
        copy.metadata_directive = match self.metadata_directive.as_deref() {
            Some(name) => Some(Directive::from_name(name)),
            // As the AWS CLI: attributes given for a copy replace the source's.
            None if replaces => Some(Directive::Replace),
            None => None,
        };
        copy.attributes = attributes;
        copy.sse_customer = sse_customer;
        copy.context.request_payer = self.request_payer.clone();
        copy.checksum_algorithm = options.checksum_algorithm;
        let mut delete = DeleteArgs::default();
        delete.context.request_payer = self.request_payer.clone();
        Ok(ObjectArgs {
            upload,
            download,
            copy,
            delete,
            expected_size: self.expected_size,
        })
    }
}

/// `--expected-size`: tells a stream upload its size before it starts, so its part
/// size grows to fit S3's 10,000 parts.
pub(crate) struct ExpectedSize(pub(crate) u64);

impl s3transfer::Subscriber for ExpectedSize {
    fn on_queued(&self, future: &s3transfer::TransferFuture) {
        future.meta().provide_transfer_size(self.0);
    }
}

/// `--metadata`: `{"a":"1"}` (the AWS CLI's JSON form) or `a=1,b=2` (its shorthand).
fn parse_metadata(text: &str) -> Result<BTreeMap<String, String>, CliError> {
    if text.trim_start().starts_with('{') {
        let map: BTreeMap<String, String> =
            serde_json::from_str(text).map_err(|e| CliError::usage(format!("--metadata: {e}")))?;
        return Ok(map);
    }
    let mut map = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--metadata: {pair:?} is not key=value")))?;
        map.insert(name.trim().to_owned(), value.to_owned());
    }
    Ok(map)
}

/// S3 takes the key and its MD5 in base64; the AWS CLI takes the raw key.
fn customer_key(algorithm: &str, key: &str) -> SseCustomerKey {
    let engine = base64::engine::general_purpose::STANDARD;
    let md5 = md5::Md5::digest(key.as_bytes());
    SseCustomerKey::new(algorithm, engine.encode(key), engine.encode(md5))
}

impl TreeFlags {
    /// The tree's arguments: the filters in the order given on the command line.
    pub(crate) fn builder(&self, matches: Option<&ArgMatches>) -> TreeArgsBuilder {
        let mut builder = TreeArgs::builder()
            .dry_run(self.dryrun)
            .follow_symlinks(!self.no_follow_symlinks)
            .case_conflict(CaseConflict::parse(&self.case_conflict).unwrap_or_default());
        for (include, pattern) in self.ordered_filters(matches) {
            builder = if include {
                builder.include(pattern)
            } else {
                builder.exclude(pattern)
            };
        }
        builder
    }

    /// The --include/--exclude rules alone, for a single file or object (which the
    /// AWS CLI filters too); a usage error for a pattern that does not compile.
    pub(crate) fn filter(&self, matches: Option<&ArgMatches>) -> Result<TreeFilter, CliError> {
        let mut filter = TreeFilter::new();
        for (include, pattern) in self.ordered_filters(matches) {
            filter = if include {
                filter.include(&pattern)
            } else {
                filter.exclude(&pattern)
            }
            .map_err(|e| CliError::usage(e.to_string()))?;
        }
        Ok(filter)
    }

    /// --include and --exclude interleaved as typed (clap keeps each list apart; the
    /// argument indices put them back in order).
    fn ordered_filters(&self, matches: Option<&ArgMatches>) -> Vec<(bool, String)> {
        let indices = |name: &str| -> Vec<usize> {
            matches
                .and_then(|m| m.indices_of(name))
                .map(|i| i.collect())
                .unwrap_or_default()
        };
        let mut all: Vec<(usize, bool, String)> = Vec::new();
        let (inc, exc) = (indices("include"), indices("exclude"));
        for (n, pattern) in self.include.iter().enumerate() {
            all.push((inc.get(n).copied().unwrap_or(0), true, pattern.clone()));
        }
        for (n, pattern) in self.exclude.iter().enumerate() {
            all.push((
                exc.get(n).copied().unwrap_or(usize::MAX),
                false,
                pattern.clone(),
            ));
        }
        all.sort_by_key(|(index, _, _)| *index);
        all.into_iter()
            .map(|(_, include, p)| (include, p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_in_both_forms() {
        let map = parse_metadata("a=1,b=x=y").unwrap();
        assert_eq!(map["a"], "1");
        assert_eq!(map["b"], "x=y");
        let map = parse_metadata(r#"{"k": "v, w"}"#).unwrap();
        assert_eq!(map["k"], "v, w");
        assert!(parse_metadata("novalue").is_err());
    }
}
