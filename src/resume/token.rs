//! The resume token: plain data recording what a paused or interrupted transfer had
//! done and what makes continuing it safe, with a stable, versioned JSON form.
//!
//! The JSON form (format version 1) is an object with `"format": "s3transfer-resume"`,
//! `"version": 1`, `"kind": "upload"` or `"download"`, and the fields of
//! [`UploadToken`] or [`DownloadToken`] beside them. A reader refuses any other
//! version with [`ResumeError::UnsupportedVersion`] rather than guess: a field that
//! changed meaning could otherwise put bytes in the wrong place. Fields added later
//! within version 1 must be optional; anything else bumps the version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ResumeError;

/// The format version this build writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The `format` field of every token: says what the file is to a person and to us.
const FORMAT_NAME: &str = "s3transfer-resume";

/// What a paused or interrupted transfer had done. Get one from
/// [`crate::TransferFuture::pause`] or a journal ([`crate::resume::read_journal`]); give
/// it to [`crate::TransferManager::resume_upload`] or
/// [`crate::TransferManager::resume_download`], in this process or another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResumeToken {
    /// A multipart upload of a file.
    Upload(UploadToken),
    /// A download to a path.
    Download(DownloadToken),
}

/// A paused multipart upload of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UploadToken {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// The multipart upload the parts were sent to.
    pub upload_id: String,
    /// Bytes per part (the last one may be shorter).
    pub part_size: u64,
    /// The object's size: the source's size when the upload began.
    pub size: u64,
    /// The flexible checksum algorithm the upload was created with (`"CRC32"`, ...),
    /// if any: every part, and Complete, must use the same.
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    /// Whether Complete sends a full-object CRC combined from the part CRCs.
    #[serde(default)]
    pub full_object_crc: bool,
    /// What the source file was.
    pub source: SourceIdentity,
    /// The parts stored, by number.
    pub parts: Vec<PartDone>,
}

/// What a source file was when its upload began: a resume refuses a file that is not
/// the same (see [`ResumeError::SourceChanged`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourceIdentity {
    /// The file, as given to the upload.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, in nanoseconds since the Unix epoch, where the file
    /// system reports one.
    #[serde(default)]
    pub modified_unix_ns: Option<u64>,
}

/// One part stored by a multipart upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartDone {
    /// 1-based part number.
    pub number: u32,
    /// Its size in bytes.
    pub size: u64,
    /// The ETag UploadPart returned (quoted as S3 returns it).
    pub etag: String,
    /// The part's flexible checksums as sent to the store (`"CRC32"` -> base64), which
    /// Complete lists again.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// The CRC32C of the bytes read from the source for this part: a resume reads the
    /// part again and compares, so an edited file is never completed.
    pub crc32c: u32,
}

/// A paused download to a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DownloadToken {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
    /// The version asked for, if one was.
    #[serde(default)]
    pub version_id: Option<String>,
    /// The object's ETag: a resume refuses an object with another, and pins every GET
    /// to it with If-Match.
    pub etag: String,
    /// The object's size.
    pub size: u64,
    /// The object's stored checksums known when the download began (`"CRC32"` ->
    /// base64).
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// Where the file goes.
    pub destination: PathBuf,
    /// The temporary file beside it holding the ranges below.
    pub temp_path: PathBuf,
    /// Bytes per ranged GET.
    pub part_size: u64,
    /// The ranges written to the temporary file.
    pub ranges: Vec<RangeDone>,
}

/// A range of the object written to a download's temporary file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RangeDone {
    /// Its first byte.
    pub start: u64,
    /// Its length.
    pub len: u64,
    /// The CRC32C of its bytes as received: a resume reads them back and compares, so a
    /// temporary file that was cut short or changed is fetched again, not trusted.
    pub crc32c: u32,
}

impl DownloadToken {
    /// Whether the token's `temp_path` is a temporary name this crate gives beside its
    /// `destination` (`.<name>.<16 hex>.s3tmp` in the same directory). A resume opens,
    /// writes, renames and may remove that file, so a token that names any other file
    /// (edited, or a journal planted to name `~/.bashrc`) is [`ResumeError::Corrupt`]
    /// and nothing is touched.
    pub fn check_temp_path(&self) -> Result<(), ResumeError> {
        if super::state_dir::is_download_temp_path(&self.destination, &self.temp_path) {
            return Ok(());
        }
        Err(ResumeError::Corrupt {
            path: None,
            reason: format!(
                "its temporary file {} is not a temporary name beside {}",
                self.temp_path.display(),
                self.destination.display()
            ),
        })
    }
}

impl RangeDone {
    /// A range.
    pub fn new(start: u64, len: u64, crc32c: u32) -> Self {
        RangeDone { start, len, crc32c }
    }
}

/// Whether `a` and `b` name the same file: equal once made absolute (a destination
/// need not exist yet, so this does not resolve links).
fn same_file(a: &Path, b: &Path) -> bool {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    a == b || absolute(a) == absolute(b)
}

/// The JSON envelope: format name and version beside the token's own fields.
#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    #[serde(flatten)]
    token: ResumeToken,
}

impl ResumeToken {
    /// The token in its JSON form (see the module documentation).
    pub fn to_json(&self) -> String {
        let envelope = Envelope {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            token: self.clone(),
        };
        // Plain data of strings and numbers: serialising cannot fail. Compact, not
        // pretty: a journal of 10,000 parts is rewritten as parts complete.
        serde_json::to_string(&envelope).unwrap_or_default()
    }

    /// Parse the JSON form. [`ResumeError::UnsupportedVersion`] for a token of
    /// another format version, [`ResumeError::Corrupt`] for anything that is not a
    /// whole token.
    pub fn from_json(data: &[u8]) -> Result<ResumeToken, ResumeError> {
        let corrupt = |reason: String| ResumeError::Corrupt { path: None, reason };
        let value: serde_json::Value =
            serde_json::from_slice(data).map_err(|e| corrupt(e.to_string()))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(corrupt(format!("its \"format\" is not \"{FORMAT_NAME}\"")));
        }
        let found = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if found != u64::from(FORMAT_VERSION) {
            return Err(ResumeError::UnsupportedVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
        let envelope: Envelope =
            serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
        Ok(envelope.token)
    }

    /// The upload token, if this is one.
    pub fn as_upload(&self) -> Option<&UploadToken> {
        match self {
            ResumeToken::Upload(t) => Some(t),
            ResumeToken::Download(_) => None,
        }
    }

    /// The download token, if this is one.
    pub fn as_download(&self) -> Option<&DownloadToken> {
        match self {
            ResumeToken::Download(t) => Some(t),
            ResumeToken::Upload(_) => None,
        }
    }

    /// The upload token, if this is the upload of `source` to `s3://bucket/key`; else
    /// [`ResumeError::WrongTransfer`] (a journal found for one command must never
    /// continue another). Paths are compared as the file system resolves them.
    pub fn expect_upload(
        &self,
        source: &Path,
        bucket: &str,
        key: &str,
    ) -> Result<&UploadToken, ResumeError> {
        let wanted = format!("upload of {} to s3://{bucket}/{key}", source.display());
        match self {
            ResumeToken::Upload(t)
                if t.bucket == bucket && t.key == key && same_file(&t.source.path, source) =>
            {
                Ok(t)
            }
            _ => Err(ResumeError::WrongTransfer {
                expected: wanted,
                found: self.describe(),
            }),
        }
    }

    /// The download token, if this is the download of `s3://bucket/key` to
    /// `destination`; else [`ResumeError::WrongTransfer`], or [`ResumeError::Corrupt`]
    /// when its temporary file is not one of ours beside the destination
    /// ([`DownloadToken::check_temp_path`]).
    pub fn expect_download(
        &self,
        bucket: &str,
        key: &str,
        destination: &Path,
    ) -> Result<&DownloadToken, ResumeError> {
        let wanted = format!(
            "download of s3://{bucket}/{key} to {}",
            destination.display()
        );
        match self {
            ResumeToken::Download(t)
                if t.bucket == bucket && t.key == key && same_file(&t.destination, destination) =>
            {
                t.check_temp_path()?;
                Ok(t)
            }
            _ => Err(ResumeError::WrongTransfer {
                expected: wanted,
                found: self.describe(),
            }),
        }
    }

    /// `(done, total)` parts of an upload, or ranges of a download (the total counted
    /// in ranges of the token's part size).
    pub fn progress(&self) -> (u64, u64) {
        match self {
            ResumeToken::Upload(t) => (t.parts.len() as u64, t.size.div_ceil(t.part_size.max(1))),
            ResumeToken::Download(t) => {
                (t.ranges.len() as u64, t.size.div_ceil(t.part_size.max(1)))
            }
        }
    }

    /// Bytes already done.
    pub fn bytes_done(&self) -> u64 {
        match self {
            ResumeToken::Upload(t) => t.parts.iter().map(|p| p.size).sum(),
            ResumeToken::Download(t) => t.ranges.iter().map(|r| r.len).sum(),
        }
    }

    /// The transfer in words: `"upload of /x to s3://b/k"`.
    pub fn describe(&self) -> String {
        match self {
            ResumeToken::Upload(t) => format!(
                "upload of {} to s3://{}/{}",
                t.source.path.display(),
                t.bucket,
                t.key
            ),
            ResumeToken::Download(t) => format!(
                "download of s3://{}/{} to {}",
                t.bucket,
                t.key,
                t.destination.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> ResumeToken {
        ResumeToken::Upload(UploadToken {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: "u-1".into(),
            part_size: 8,
            size: 20,
            checksum_algorithm: Some("CRC32".into()),
            full_object_crc: true,
            source: SourceIdentity {
                path: "/tmp/x".into(),
                size: 20,
                modified_unix_ns: Some(1),
            },
            parts: vec![PartDone {
                number: 1,
                size: 8,
                etag: "\"e\"".into(),
                checksums: BTreeMap::from([("CRC32".into(), "AAAAAA==".into())]),
                crc32c: 7,
            }],
        })
    }

    #[test]
    fn a_token_survives_its_json_form() {
        let token = upload();
        let json = token.to_json();
        assert!(json.contains("\"version\":1") && json.contains("\"kind\":\"upload\""));
        assert_eq!(ResumeToken::from_json(json.as_bytes()).unwrap(), token);
    }

    #[test]
    fn another_version_or_a_cut_token_is_refused_typed() {
        let json = upload().to_json();
        let older = json.replace("\"version\":1", "\"version\":0");
        assert!(matches!(
            ResumeToken::from_json(older.as_bytes()),
            Err(ResumeError::UnsupportedVersion {
                found: 0,
                supported: 1
            })
        ));
        let cut = &json.as_bytes()[..json.len() / 2];
        assert!(matches!(
            ResumeToken::from_json(cut),
            Err(ResumeError::Corrupt { .. })
        ));
    }
}
