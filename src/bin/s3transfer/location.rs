//! The command line's vocabulary: where data is (`s3://bucket/key`, a local path, `-`)
//! and sizes with units (`8MB`, `16MiB`, `10MB/s`).

use std::path::PathBuf;

/// One side of a `cp`, or the target of `rm` / `ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/key`; `key` may be empty or a prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key or prefix (without the leading slash).
        key: String,
    },
    /// A local file or directory.
    Local(PathBuf),
    /// `-`: standard input as a source, standard output as a destination.
    Std,
}

impl Location {
    /// Parse an argument: `-`, `s3://bucket[/key]`, or anything else as a local path.
    pub fn parse(arg: &str) -> Result<Location, String> {
        if arg == "-" {
            return Ok(Location::Std);
        }
        // The scheme is matched case-insensitively, as the AWS CLI does.
        // `get`, not `[..5]`: byte 5 may fall inside a multi-byte character.
        if arg
            .get(..5)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3://"))
        {
            let rest = &arg[5..];
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{arg:?} has no bucket name"));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            });
        }
        Ok(Location::Local(PathBuf::from(arg)))
    }
}

/// The last path segment of a key (`a/b/c.txt` -> `c.txt`).
pub fn key_basename(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Parse a size: a number with an optional unit, `B`, `K`/`KB`/`KiB`, `M`/`MB`/`MiB`,
/// `G`/`GB`/`GiB`, `T`/`TB`/`TiB`, case-insensitive, all powers of 1024 as in the AWS
/// CLI's `s3` settings. A trailing `/s` is accepted, for rates.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let trimmed = trimmed
        .strip_suffix("/s")
        .or_else(|| trimmed.strip_suffix("/S"))
        .unwrap_or(trimmed)
        .trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let shift = match unit.as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("unknown size unit {unit:?} in {text:?}")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (examples: 8MB, 16MiB, 1GB, 1048576)"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("8MB"), Ok(8 << 20));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("10MB/s"), Ok(10 << 20));
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn locations() {
        assert_eq!(Location::parse("-"), Ok(Location::Std));
        assert_eq!(
            Location::parse("s3://b/a/k"),
            Ok(Location::S3 {
                bucket: "b".into(),
                key: "a/k".into()
            })
        );
        assert_eq!(
            Location::parse("s3://b"),
            Ok(Location::S3 {
                bucket: "b".into(),
                key: "".into()
            })
        );
        assert!(Location::parse("s3:///k").is_err());
        assert_eq!(
            Location::parse("dir/f"),
            Ok(Location::Local(PathBuf::from("dir/f")))
        );
        assert_eq!(key_basename("a/b/c"), "c");
    }

    /// Found by the `cli_values` fuzz target: a character across byte 5 made the
    /// scheme check slice inside it and panic.
    #[test]
    fn a_multibyte_character_across_the_scheme_is_a_local_path() {
        for arg in ["tmp/ж", "s3:/é", "/\0\0\0\u{448}"] {
            assert_eq!(
                Location::parse(arg),
                Ok(Location::Local(PathBuf::from(arg)))
            );
        }
    }
}
