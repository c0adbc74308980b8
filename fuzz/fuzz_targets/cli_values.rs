//! The command line's sizes, rates and `s3://` locations (the bin's location.rs,
//! included as it is: the bin crate has no library to link).
#![no_main]

#[path = "../../src/bin/s3transfer/location.rs"]
#[allow(dead_code)]
mod location;

use libfuzzer_sys::fuzz_target;
use location::{Location, dir_prefix, join_key, key_basename, parse_size};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    match Location::parse(text) {
        Ok(Location::S3 { bucket, key }) => {
            assert!(!bucket.is_empty() && !bucket.contains('/'));
            assert!(text[..5].eq_ignore_ascii_case("s3://"));
            let again = format!("s3://{bucket}/{key}");
            assert_eq!(
                Location::parse(&again),
                Ok(Location::S3 {
                    bucket,
                    key: key.clone()
                })
            );
            let prefix = dir_prefix(&key);
            assert!(prefix.is_empty() || prefix.ends_with('/'));
            let joined = join_key(&prefix, key_basename(&key));
            assert!(joined.ends_with(key_basename(&key)));
        }
        Ok(Location::Std) => assert_eq!(text, "-"),
        Ok(Location::Local(path)) => assert_eq!(path.as_os_str(), text),
        Err(_) => {}
    }

    // Sizes and rates: `/s` changes nothing, and a plain number within f64's exact
    // range comes back as itself.
    let size = parse_size(text);
    if !text.trim_end().ends_with("/s") && !text.trim_end().ends_with("/S") {
        assert_eq!(parse_size(&format!("{text}/s")).ok(), size.clone().ok());
    }
    if let Ok(n) = size
        && n < (1 << 53)
    {
        assert_eq!(parse_size(&n.to_string()), Ok(n));
    }
});
