//! The `ls` command: the keys under a prefix (streamed through the library's
//! `TransferManager::list_objects`, each line printed as its page arrives) or the
//! buckets (which the library does not cover: straight through rusoto_s3 on the
//! backend's runtime).

use std::io::Write;

use rusoto_core::RusotoError;
use rusoto_s3::S3;
use s3transfer::{ListedItem, RequestContext, S3ErrorKind, TransferError, TransferManager};

use crate::args::Options;
use crate::backend::Backend;
use crate::location::{Location, key_basename};
use crate::report::{CliError, EXIT_ACCESS_DENIED, EXIT_NOT_FOUND, EXIT_OTHER};

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
/// `recursive`), as columns or as `--json`. Objects are printed as the listing reads
/// them, so memory stays flat however many keys there are; under `--json` the
/// prefixes (one level's "directories", none with `recursive`) are held until the end,
/// where the document lists them.
pub(crate) fn ls(
    client: &Backend,
    manager: &TransferManager,
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
    let mut listing = manager.list_objects(&bucket, &key, delimiter, RequestContext::default())?;
    let failed = |e: TransferError| -> anyhow::Error {
        match e.s3_error() {
            Some(s3) => s3_failure(&format!("listing s3://{bucket}/{key}"), s3).into(),
            None => e.into(),
        }
    };
    let mut out = std::io::stdout().lock();
    let mut prefixes = Vec::new();
    let mut first = true;
    if options.json {
        write!(out, "{{\"objects\":[")?;
    }
    let mut error = None;
    while let Some(page) = listing.next_page() {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        if options.json {
            for item in page {
                match item {
                    ListedItem::Object(object) => {
                        let time = object.last_modified.map(display_time).unwrap_or_default();
                        let line = serde_json::json!({"key": object.key, "size": object.size, "last_modified": time});
                        write!(out, "{}{line}", if first { "" } else { "," })?;
                        first = false;
                    }
                    ListedItem::Prefix(prefix) => prefixes.push(prefix),
                    _ => {}
                }
            }
            continue;
        }
        // As `aws s3 ls`: a page's prefixes first, then its objects; one level is
        // shown by names relative to it (`PRE sub/`, `file.txt`), --recursive by keys.
        for item in &page {
            if let ListedItem::Prefix(prefix) = item {
                let name = prefix
                    .strip_suffix('/')
                    .unwrap_or(prefix)
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                writeln!(out, "{:>30} PRE {name}/", "")?;
            }
        }
        for item in &page {
            if let ListedItem::Object(object) = item {
                let time = object.last_modified.map(display_time).unwrap_or_default();
                let name = if recursive {
                    object.key.as_str()
                } else {
                    key_basename(&object.key)
                };
                writeln!(out, "{time:>19} {:>10} {name}", object.size)?;
            }
        }
    }
    if options.json {
        // Closed even when the listing failed part way, so stdout stays one valid
        // document (saying the error); the exit code says it too.
        let mut tail = serde_json::json!({ "prefixes": prefixes });
        if let Some(e) = &error {
            tail["error"] = serde_json::json!(e.to_string());
        }
        let tail = tail.to_string();
        writeln!(out, "],{}", &tail[1..])?;
    }
    out.flush()?;
    match error {
        Some(e) => Err(failed(e)),
        None => Ok(()),
    }
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
