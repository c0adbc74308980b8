//! `s3transfer uploads ls|abort s3://bucket[/prefix]`: the multipart uploads left open
//! (by interrupted, killed or paused copies), so none becomes a forgotten storage
//! cost. `abort` also removes the local journals that pointed at what it aborted.

use std::time::{Duration, SystemTime};

use clap::Subcommand;
use s3transfer::S3Api;
use s3transfer::TransferManager;
use s3transfer::client::{AbortMultipartUploadRequest, ListMultipartUploadsRequest, ListedUpload};
use s3transfer::resume::{read_journal, remove_journal, state_dir};

use crate::args::Options;
use crate::backend::Backend;
use crate::listing::{display_time, s3_failure};
use crate::location::Location;
use crate::report::{CliError, EXIT_OTHER};

#[derive(Subcommand, Debug)]
pub(crate) enum UploadsCommand {
    /// List the multipart uploads open under s3://bucket[/prefix]: started, upload id, key
    Ls {
        /// s3://bucket[/prefix]
        target: String,
    },
    /// Abort the multipart uploads open under s3://bucket[/prefix] (their parts are deleted)
    Abort {
        /// s3://bucket[/prefix]
        target: String,
        /// Only uploads started longer ago than this (30m, 12h, 7d, 2w)
        #[arg(long, value_parser = parse_age, value_name = "AGE")]
        older_than: Option<Duration>,
        /// Only uploads to exactly this key, not every key it begins (s3://b/k would
        /// otherwise abort the uploads of k.bak and k/part too)
        #[arg(long)]
        exact: bool,
    },
}

/// `30s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds).
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age (30m, 12h, 7d, 2w)"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: s, m, h, d or w"
            ));
        }
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

/// Run `uploads ls` or `uploads abort`; the exit code.
pub(crate) fn run(
    client: &Backend,
    manager: &TransferManager,
    command: &UploadsCommand,
    options: &Options,
) -> anyhow::Result<u8> {
    match command {
        UploadsCommand::Ls { target } => {
            let (bucket, prefix) = bucket_and_prefix(target)?;
            let open = list(client, &bucket, &prefix)?;
            if options.json {
                let uploads: Vec<_> = open.iter().map(|u| describe(&bucket, u)).collect();
                println!("{}", serde_json::json!({ "uploads": uploads }));
            } else {
                for upload in &open {
                    println!(
                        "{:>19}  {}  s3://{bucket}/{}",
                        upload.initiated.map(display_time).unwrap_or_default(),
                        upload.upload_id,
                        upload.key
                    );
                }
            }
            Ok(0)
        }
        UploadsCommand::Abort {
            target,
            older_than,
            exact,
        } => {
            let (bucket, prefix) = bucket_and_prefix(target)?;
            if *exact && prefix.is_empty() {
                return Err(CliError::usage("uploads abort --exact takes s3://bucket/key").into());
            }
            // The listing is by prefix (S3 has no other); the key is then compared.
            let wanted = |u: &ListedUpload| !*exact || u.key == prefix;
            let now = SystemTime::now();
            let old_enough = |u: &ListedUpload| match older_than {
                None => true,
                // An upload whose start the store does not say is kept: "older than" is
                // then unknown, and aborting throws parts away.
                Some(age) => u
                    .initiated
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|since| since > *age),
            };
            let mut aborted = Vec::new();
            let mut failed = 0;
            for upload in list(client, &bucket, &prefix)?
                .into_iter()
                .filter(wanted)
                .filter(old_enough)
            {
                let mut request = AbortMultipartUploadRequest::default();
                request.bucket = bucket.clone();
                request.key = upload.key.clone();
                request.upload_id = upload.upload_id.clone();
                // Under the library's retry policy: a throttled or flaky store does
                // not leave the upload (and its storage cost) behind.
                match manager.abort_multipart_upload(&request) {
                    Ok(()) => {
                        if !options.quiet && !options.json {
                            println!(
                                "aborted: s3://{bucket}/{} ({})",
                                upload.key, upload.upload_id
                            );
                        }
                        aborted.push(upload);
                    }
                    Err(e) => {
                        failed += 1;
                        let what = format!("aborting s3://{bucket}/{}", upload.key);
                        match e.s3_error() {
                            Some(s3) => eprintln!("s3transfer: {}", s3_failure(&what, s3)),
                            None => eprintln!("s3transfer: {what}: {e}"),
                        }
                    }
                }
            }
            forget_journals(&bucket, &aborted);
            if options.json {
                let uploads: Vec<_> = aborted.iter().map(|u| describe(&bucket, u)).collect();
                println!(
                    "{}",
                    serde_json::json!({ "aborted": uploads, "failed": failed })
                );
            }
            Ok(if failed > 0 { EXIT_OTHER } else { 0 })
        }
    }
}

fn describe(bucket: &str, upload: &ListedUpload) -> serde_json::Value {
    serde_json::json!({
        "bucket": bucket,
        "key": upload.key,
        "upload_id": upload.upload_id,
        "initiated": upload.initiated.map(display_time),
    })
}

fn bucket_and_prefix(target: &str) -> Result<(String, String), CliError> {
    match Location::parse(target).map_err(CliError::usage)? {
        Location::S3 { bucket, key } => Ok((bucket, key)),
        _ => Err(CliError::usage("uploads takes s3://bucket[/prefix]")),
    }
}

/// Every upload open under `prefix`, all pages.
fn list(client: &Backend, bucket: &str, prefix: &str) -> Result<Vec<ListedUpload>, CliError> {
    let mut request = ListMultipartUploadsRequest::default();
    request.bucket = bucket.to_owned();
    request.prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
    let mut all = Vec::new();
    loop {
        let page = client.list_multipart_uploads(&request).map_err(|e| {
            s3_failure(
                &format!("listing the uploads of s3://{bucket}/{prefix}"),
                &e,
            )
        })?;
        all.extend(page.uploads);
        match page.next_key_marker {
            Some(marker)
                if request.key_marker.as_ref() != Some(&marker)
                    || page.next_upload_id_marker != request.upload_id_marker =>
            {
                request.key_marker = Some(marker);
                request.upload_id_marker = page.next_upload_id_marker;
            }
            _ => return Ok(all),
        }
    }
}

/// Remove the upload journals of the state directory that continue an upload just
/// aborted: a rerun would only find the upload gone.
fn forget_journals(bucket: &str, aborted: &[ListedUpload]) {
    let Some(dir) = state_dir().map(|d| d.join("uploads")) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(token) = read_journal(&path) else {
            continue;
        };
        if let Some(upload) = token.as_upload()
            && upload.bucket == bucket
            && aborted.iter().any(|a| a.upload_id == upload.upload_id)
        {
            let _ = remove_journal(&path);
        }
    }
}
