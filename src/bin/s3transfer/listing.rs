//! Listing keys (ListObjectsV2, through the library's `S3Api`) and buckets (which it
//! does not cover: straight through rusoto_s3 on the backend's runtime); and the `ls`
//! command, which prints them.

use rusoto_core::RusotoError;
use rusoto_s3::S3;
use s3transfer::client::ListObjectsV2Request;
use s3transfer::{S3Api, S3ErrorKind};

use crate::args::Options;
use crate::backend::Backend;
use crate::location::Location;
use crate::report::{CliError, EXIT_ACCESS_DENIED, EXIT_NOT_FOUND, EXIT_OTHER};

/// One object of a listing.
pub struct Entry {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (UTC, `2024-01-01 00:00:00`).
    pub last_modified: String,
}

/// What a listing found: objects, and with a delimiter the common prefixes.
#[derive(Default)]
pub struct Listing {
    /// The objects, in key order.
    pub objects: Vec<Entry>,
    /// The "directories" one level down (only with a delimiter).
    pub prefixes: Vec<String>,
}

/// Every object of `bucket` under `prefix`, page after page (through the library's
/// `S3Api`); with `delimiter`, one level only.
pub fn list(
    client: &Backend,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<Listing, CliError> {
    let mut listing = Listing::default();
    let mut request = ListObjectsV2Request::default();
    request.bucket = bucket.to_owned();
    request.prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
    request.delimiter = delimiter.map(str::to_owned);
    loop {
        let page = client
            .list_objects_v2(&request)
            .map_err(|e| s3_failure(&format!("listing s3://{bucket}/{prefix}"), &e))?;
        for object in page.objects {
            listing.objects.push(Entry {
                key: object.key,
                size: object.size,
                last_modified: object.last_modified.map(display_time).unwrap_or_default(),
            });
        }
        listing.prefixes.extend(page.common_prefixes);
        match page.next_continuation_token {
            Some(next) => request.continuation_token = Some(next),
            None => return Ok(listing),
        }
    }
}

/// A time as `aws s3 ls` prints it (UTC, to the second).
pub(crate) fn display_time(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An S3 error as a [`CliError`] with the exit code of its kind.
pub(crate) fn s3_failure(what: &str, error: &s3transfer::S3Error) -> CliError {
    let code = match error.kind() {
        S3ErrorKind::NotFound => EXIT_NOT_FOUND,
        S3ErrorKind::AccessDenied => EXIT_ACCESS_DENIED,
        _ => EXIT_OTHER,
    };
    CliError::new(code, format!("{what}: {error}"))
}

/// The names of the buckets the credentials can see.
pub fn buckets(client: &Backend) -> Result<Vec<String>, CliError> {
    let client = match client {
        Backend::Rusoto(client) => client,
        Backend::AwsSdk(client) => return crate::backend::sdk_bucket_names(client),
    };
    let output = client
        .block_on(client.rusoto_client().list_buckets())
        .map_err(|e| rusoto_failure("listing buckets", e))?;
    Ok(output
        .buckets
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| b.name)
        .collect())
}

/// `ls`: the buckets, or the objects and prefixes under `target` (all of them with
/// `recursive`), as columns or as `--json`.
pub(crate) fn ls(
    client: &Backend,
    target: Option<&str>,
    recursive: bool,
    options: &Options,
) -> anyhow::Result<()> {
    let Some(target) = target else {
        let names = buckets(client)?;
        if options.json {
            println!("{}", serde_json::json!({ "buckets": names }));
        } else {
            for name in names {
                println!("{name}");
            }
        }
        return Ok(());
    };
    let Location::S3 { bucket, key } = Location::parse(target).map_err(CliError::usage)? else {
        return Err(CliError::usage("ls takes s3://bucket[/prefix]").into());
    };
    let delimiter = (!recursive).then_some("/");
    let found = list(client, &bucket, &key, delimiter)?;
    if options.json {
        let objects: Vec<_> = found
            .objects
            .iter()
            .map(|o| serde_json::json!({"key": o.key, "size": o.size, "last_modified": o.last_modified}))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "objects": objects, "prefixes": found.prefixes })
        );
    } else {
        for prefix in &found.prefixes {
            println!("{:>30} PRE {prefix}", "");
        }
        for object in &found.objects {
            println!(
                "{:>19} {:>10} {}",
                object.last_modified, object.size, object.key
            );
        }
    }
    Ok(())
}

/// A rusoto error as a [`CliError`] with the exit code of its kind, classified the
/// way the library classifies its own calls.
fn rusoto_failure<E: std::error::Error + 'static>(what: &str, error: RusotoError<E>) -> CliError {
    let kind = match &error {
        RusotoError::Service(_) => S3ErrorKind::NotFound, // NoSuchBucket is the only one
        RusotoError::Credentials(_) => S3ErrorKind::AccessDenied,
        RusotoError::Unknown(response) => {
            let body = String::from_utf8_lossy(&response.body);
            let code = body
                .split_once("<Code>")
                .and_then(|(_, rest)| rest.split_once("</Code>"))
                .map(|(code, _)| code.to_owned());
            S3ErrorKind::classify(Some(response.status.as_u16()), code.as_deref())
        }
        _ => S3ErrorKind::Other,
    };
    let code = match kind {
        S3ErrorKind::NotFound => EXIT_NOT_FOUND,
        S3ErrorKind::AccessDenied => EXIT_ACCESS_DENIED,
        _ => EXIT_OTHER,
    };
    let detail = match &error {
        RusotoError::Unknown(response) => format!(
            "HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body).trim()
        ),
        other => other.to_string(),
    };
    CliError::new(code, format!("{what}: {kind}: {detail}"))
}
