//! boto3-style `ExtraArgs` pairs through every `from_pairs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3transfer::{CopyArgs, DeleteArgs, DownloadArgs, UploadArgs};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // One pair a line, name and value split at the first tab.
    let pairs: Vec<(&str, &str)> = text
        .lines()
        .map(|line| line.split_once('\t').unwrap_or((line, "")))
        .collect();
    let (accepted, allowed) = match which % 4 {
        0 => (
            UploadArgs::from_pairs(pairs.iter().copied()).is_ok(),
            UploadArgs::allowed_names(),
        ),
        1 => (
            DownloadArgs::from_pairs(pairs.iter().copied()).is_ok(),
            DownloadArgs::allowed_names(),
        ),
        2 => (
            CopyArgs::from_pairs(pairs.iter().copied()).is_ok(),
            CopyArgs::allowed_names(),
        ),
        _ => (
            DeleteArgs::from_pairs(pairs.iter().copied()).is_ok(),
            DeleteArgs::allowed_names(),
        ),
    };
    if !accepted {
        return;
    }
    // Accepted: every name is allowed (or a `Metadata.<name>` where Metadata is), and no
    // name was given twice.
    let takes_metadata = allowed.contains(&"Metadata");
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &pairs {
        let meta = takes_metadata && name.starts_with("Metadata.");
        assert!(meta || allowed.contains(name), "{name:?} accepted");
        assert!(seen.insert(*name), "{name:?} accepted twice");
    }
});
