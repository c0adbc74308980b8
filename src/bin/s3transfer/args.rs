//! The command line as clap sees it: the global options, the subcommands, and the
//! parsers of the option values that are not plain numbers or strings.

use clap::{Args, Parser, Subcommand};
use s3transfer::ChecksumAlgorithm;
use s3transfer::ChecksumWhen;

use crate::location::parse_size;
use crate::report::EXIT_CODES;
use crate::tree_args::{ObjectFlags, RmFlags, SyncFlags, TreeFlags};

#[derive(Parser, Debug)]
#[command(
    name = "s3transfer",
    version,
    about = "Copy to, from and within S3 with multipart uploads and parallel ranged downloads",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) options: Options,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Debug)]
pub(crate) struct Options {
    /// Objects at least this large go multipart (8MB, 16MiB, 1GB; units are powers of 1024)
    #[arg(long, global = true, value_parser = parse_size, value_name = "SIZE")]
    pub(crate) multipart_threshold: Option<u64>,
    /// Part size of multipart transfers
    #[arg(long, global = true, value_parser = parse_size, value_name = "SIZE")]
    pub(crate) multipart_chunksize: Option<u64>,
    /// Requests in flight at once
    #[arg(long, global = true, value_name = "N")]
    pub(crate) max_concurrency: Option<usize>,
    /// Limit uploads and downloads together to this rate (10MB/s)
    #[arg(long, global = true, value_parser = parse_size, value_name = "RATE")]
    pub(crate) max_bandwidth: Option<u64>,
    /// Attempts per request and per download range before giving up
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) attempts: Option<u32>,
    /// The S3 client library requests go through: rusoto or aws-sdk (the AWS SDK for
    /// Rust) [default: rusoto]
    #[arg(
        long,
        global = true,
        env = "S3TRANSFER_BACKEND",
        value_enum,
        default_value_t
    )]
    pub(crate) backend: crate::backend::BackendKind,
    /// Send requests to this endpoint instead of AWS (http://127.0.0.1:9000)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// Region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, us-east-1]
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Profile of ~/.aws/config and ~/.aws/credentials (overrides credentials in the
    /// environment) [default: AWS_PROFILE, default]
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Send unsigned requests (public buckets); no credentials are looked up
    #[arg(long, global = true)]
    pub(crate) no_sign_request: bool,
    /// Trust only the CA certificates in this PEM file for https
    #[arg(long, global = true, env = "AWS_CA_BUNDLE", value_name = "FILE")]
    pub(crate) ca_bundle: Option<std::path::PathBuf>,
    /// No progress bars and no per-file lines (errors are still printed)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Print a machine-readable JSON summary on stdout (on stderr when stdout carries data)
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print what happens on stderr: each transfer and request, retries with their
    /// reason and delay, bandwidth waits, resumed bodies, aborts (never a credential)
    #[arg(long, global = true)]
    pub(crate) debug: bool,
    /// Checksum computed on uploads (downloads check whichever the store kept):
    /// CRC32, CRC32C, CRC64NVME, SHA1 or SHA256 [default: CRC32]
    #[arg(long, global = true, value_parser = parse_checksum_algorithm, value_name = "ALGORITHM")]
    pub(crate) checksum_algorithm: Option<ChecksumAlgorithm>,
    /// When uploads send a checksum: when_supported (always) or when_required (only
    /// with --checksum-algorithm), for stores that reject checksum headers
    /// [default: when_supported]
    #[arg(long, global = true, env = "AWS_REQUEST_CHECKSUM_CALCULATION",
          value_parser = parse_checksum_when, value_name = "WHEN")]
    pub(crate) request_checksum_calculation: Option<ChecksumWhen>,
    /// When downloads check the stored checksum: when_supported (always) or
    /// when_required (never, from the command line) [default: when_supported]
    #[arg(long, global = true, env = "AWS_RESPONSE_CHECKSUM_VALIDATION",
          value_parser = parse_checksum_when, value_name = "WHEN")]
    pub(crate) response_checksum_validation: Option<ChecksumWhen>,
    /// cp: start afresh even where a journal of an interrupted run of the same copy
    /// exists (its multipart upload is aborted, its partial download removed)
    #[arg(long, global = true)]
    pub(crate) no_resume: bool,
    /// cp and mv of one file: Ctrl-C pauses (keeps the multipart upload or the partial
    /// download for a rerun of the same command) instead of cancelling, and so does a
    /// lost network; sync, cp -r and mv -r still cancel on Ctrl-C
    #[arg(long, global = true, env = "S3TRANSFER_RESUMABLE")]
    pub(crate) resumable: bool,
}

/// botocore's spelling (its config and environment take these two, in any case).
fn parse_checksum_when(text: &str) -> Result<ChecksumWhen, String> {
    match text.to_ascii_lowercase().as_str() {
        "when_supported" => Ok(ChecksumWhen::WhenSupported),
        "when_required" => Ok(ChecksumWhen::WhenRequired),
        _ => Err(format!(
            "unknown value {text:?}: when_supported or when_required"
        )),
    }
}

fn parse_checksum_algorithm(text: &str) -> Result<ChecksumAlgorithm, String> {
    ChecksumAlgorithm::parse(text).ok_or_else(|| {
        format!("unknown checksum algorithm {text:?}: CRC32, CRC32C, CRC64NVME, SHA1 or SHA256")
    })
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Copy a file, stream or object: local->S3, S3->local, S3->S3; `-` is stdin/stdout
    Cp {
        /// Source: a file or directory, s3://bucket/key, or - for stdin
        src: String,
        /// Destination: a file or directory, s3://bucket/key, or - for stdout
        dst: String,
        /// Copy a whole directory or prefix, every file concurrently
        #[arg(short, long)]
        recursive: bool,
        #[command(flatten)]
        tree: TreeFlags,
        #[command(flatten)]
        object: ObjectFlags,
    },
    /// Move a file or object (copy, then delete the source); with --recursive a tree
    Mv {
        /// Source: a file or directory, or s3://bucket/key
        src: String,
        /// Destination: a file or directory, or s3://bucket/key
        dst: String,
        /// Move a whole directory or prefix
        #[arg(short, long)]
        recursive: bool,
        #[command(flatten)]
        tree: TreeFlags,
        #[command(flatten)]
        object: ObjectFlags,
    },
    /// Make the destination like the source: send new and changed files (directory to
    /// s3://bucket/prefix, prefix to directory, or prefix to prefix)
    Sync {
        /// Source: a directory or s3://bucket/prefix
        src: String,
        /// Destination: a directory or s3://bucket/prefix
        dst: String,
        #[command(flatten)]
        tree: TreeFlags,
        #[command(flatten)]
        sync: SyncFlags,
        #[command(flatten)]
        object: ObjectFlags,
    },
    /// Delete an object, or with --recursive every object under a prefix
    Rm {
        /// s3://bucket/key or s3://bucket/prefix
        target: String,
        /// Delete every object under the prefix
        #[arg(short, long)]
        recursive: bool,
        #[command(flatten)]
        flags: RmFlags,
    },
    /// List buckets, or the objects and prefixes under s3://bucket[/prefix]
    Ls {
        /// s3://bucket[/prefix]; none lists the buckets
        target: Option<String>,
        /// List every object under the prefix, not one level
        #[arg(short, long)]
        recursive: bool,
    },
    /// List or abort the multipart uploads left open (by interrupted or paused copies)
    Uploads {
        #[command(subcommand)]
        action: crate::uploads::UploadsCommand,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
