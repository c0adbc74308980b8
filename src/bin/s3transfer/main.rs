//! `s3transfer`: the command-line tool over the library (feature `cli`): `cp`, `rm` and
//! `ls` against S3 or any S3-compatible store, with progress bars and exit codes.
//!
//! This file wires the pieces: the options ([`args`]) become a client and a manager,
//! a command becomes transfers ([`plan`]) that run together ([`execute`]), and the
//! outcome becomes a summary and an exit code ([`report`]).

mod args;
mod backend;
mod execute;
mod listing;
mod location;
mod plan;
mod progress;
mod report;
mod resume;
mod sync;
mod tree_args;
mod uploads;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use s3transfer::{AwsSdkS3, RetryConfig, RusotoS3, TransferConfig, TransferManager};

use args::{Cli, Command, Options};
use backend::{Backend, BackendKind};
use execute::{install_ctrl_c, interrupted};
use report::{CliError, EXIT_CANCELLED, exit_code};

fn main() -> ExitCode {
    // Usage errors exit with 2 here, before anything else runs.
    // Matches kept beside the parsed form: the order of --include and --exclude is
    // only in their indices.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if cli.options.debug {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::{Layer, filter, fmt};
        // The library's own events only: a credential is never a field of one, while
        // the HTTP stack's own events could carry request headers.
        tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .with_filter(filter::filter_fn(|m| m.target().starts_with("s3transfer"))),
            )
            .init();
    }
    match run(cli, matches.subcommand().map(|(_, m)| m)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("s3transfer: error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn run(cli: Cli, matches: Option<&ArgMatches>) -> anyhow::Result<u8> {
    let client = build_client(&cli.options)?;
    let config = build_config(&cli.options)?;
    let manager = Arc::new(TransferManager::new(client.clone(), config));
    // A pause is per file: a tree (sync, mv -r, cp -r) is never tracked for one, so
    // under --resumable its Ctrl-C cancels it as without (a `mv` must not run on to
    // delete its sources). `--resumable` applies to single-file cp and mv.
    let tree = matches!(
        cli.command,
        Command::Cp {
            recursive: true,
            ..
        } | Command::Mv {
            recursive: true,
            ..
        } | Command::Sync { .. }
            | Command::Rm {
                recursive: true,
                ..
            }
    );
    install_ctrl_c(manager.clone(), cli.options.resumable && !tree)?;
    let options = &cli.options;
    let code = match &cli.command {
        Command::Cp {
            src,
            dst,
            recursive: true,
            tree,
            object,
        } => {
            let object = object.to_args(options)?;
            let command = sync::TreeCommand::Copy;
            let ends = (src.as_str(), dst.as_str());
            let none = tree_args::SyncFlags::default();
            sync::run_tree(
                command, &manager, ends, tree, &none, &object, options, matches,
            )?
        }
        Command::Cp {
            src,
            dst,
            tree,
            object,
            ..
        } => {
            let object = object.to_args(options)?;
            let job = plan::cp(src, dst)?;
            sync::run_single("cp", &manager, job, tree, &object, options, matches)?
        }
        Command::Mv {
            src,
            dst,
            recursive,
            tree,
            object,
        } => {
            let object = object.to_args(options)?;
            if *recursive {
                let command = sync::TreeCommand::Move;
                let ends = (src.as_str(), dst.as_str());
                let none = tree_args::SyncFlags::default();
                sync::run_tree(
                    command, &manager, ends, tree, &none, &object, options, matches,
                )?
            } else {
                let job = plan::mv(src, dst)?;
                sync::run_single("mv", &manager, job, tree, &object, options, matches)?
            }
        }
        Command::Sync {
            src,
            dst,
            tree,
            sync: flags,
            object,
        } => {
            let object = object.to_args(options)?;
            let command = sync::TreeCommand::Sync;
            let ends = (src.as_str(), dst.as_str());
            sync::run_tree(
                command, &manager, ends, tree, flags, &object, options, matches,
            )?
        }
        Command::Rm {
            target,
            recursive: true,
            flags,
        } => {
            let command = sync::TreeCommand::Remove;
            let ends = (target.as_str(), target.as_str());
            let none = tree_args::SyncFlags::default();
            sync::run_tree(
                command,
                &manager,
                ends,
                &flags.tree(),
                &none,
                &flags.object(),
                options,
                matches,
            )?
        }
        Command::Rm { target, flags, .. } => {
            let job = plan::rm(target)?;
            let (tree, object) = (flags.tree(), flags.object());
            sync::run_single("rm", &manager, job, &tree, &object, options, matches)?
        }
        Command::Ls { target, recursive } => {
            listing::ls(&client, &manager, target.as_deref(), *recursive, options)?;
            0
        }
        Command::Uploads { action } => uploads::run(&client, &manager, action, options)?,
    };
    manager.shutdown(false, "");
    if interrupted() {
        return Ok(EXIT_CANCELLED);
    }
    Ok(code)
}

fn build_client(options: &Options) -> anyhow::Result<Arc<Backend>> {
    // The same options for either backend; the region and credentials otherwise come
    // from the SDK's chain (environment, profile, web identity, container, instance
    // metadata), in the library.
    macro_rules! configure {
        ($builder:expr) => {{
            let mut builder = $builder;
            if let Some(endpoint) = &options.endpoint_url {
                builder = builder.endpoint(endpoint);
            }
            if let Some(region) = options.region.as_ref().filter(|r| !r.is_empty()) {
                builder = builder.region(region);
            }
            if let Some(profile) = &options.profile {
                builder = builder.profile(profile);
            }
            if options.no_sign_request {
                builder = builder.anonymous();
            }
            if let Some(path) = &options.ca_bundle {
                builder = builder.ca_bundle(path);
            }
            builder
                .build()
                .map_err(|e| CliError::usage(format!("cannot set up the S3 client: {e}")))?
        }};
    }
    let client = match options.backend {
        BackendKind::Rusoto => Backend::Rusoto(configure!(RusotoS3::builder())),
        BackendKind::AwsSdk => Backend::AwsSdk(configure!(AwsSdkS3::builder())),
    };
    Ok(Arc::new(client))
}

fn build_config(options: &Options) -> anyhow::Result<TransferConfig> {
    let mut builder = TransferConfig::builder();
    if let Some(size) = options.multipart_threshold {
        builder = builder.multipart_threshold(size);
    }
    if let Some(size) = options.multipart_chunksize {
        builder = builder.multipart_chunksize(size);
    }
    if let Some(n) = options.max_concurrency {
        builder = builder.max_request_concurrency(n);
    }
    if let Some(rate) = options.max_bandwidth {
        builder = builder.max_bandwidth(rate);
    }
    if let Some(algorithm) = options.checksum_algorithm {
        builder = builder.checksum_algorithm(algorithm);
    }
    if let Some(when) = options.request_checksum_calculation {
        builder = builder.request_checksum_calculation(when);
    }
    if let Some(when) = options.response_checksum_validation {
        builder = builder.response_checksum_validation(when);
    }
    if let Some(attempts) = options.attempts {
        let retry = RetryConfig::builder()
            .max_attempts(attempts)
            .build()
            .map_err(|e| CliError::usage(e.to_string()))?;
        builder = builder.num_download_attempts(attempts).retry(retry);
    }
    // A value the library rejects is the user's to fix: a usage error.
    builder
        .build()
        .map_err(|e| CliError::usage(e.to_string()).into())
}
