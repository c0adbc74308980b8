//! The S3 endpoint of a region name, also one that postdates the backend's own region
//! list (rusoto 0.48 knows none launched after 2022: il-central-1, ca-west-1,
//! ap-southeast-5, mx-central-1 ...).
//!
//! A small table by prefix rather than the SDK's endpoint rules: those rules are a
//! generated decision tree (aws-sdk-s3's resolver) that only the SDK crates carry, and
//! for S3's standard endpoints they reduce to a DNS suffix per partition. The partition
//! of a region is fixed by its name's prefix (`cn-` is aws-cn, `us-gov-` is aws-us-gov,
//! the isolated `us-iso*` partitions have their own suffixes); everything else is the
//! `aws` partition, which is where every new commercial region has been launched.

/// DNS suffix of each partition, by region-name prefix; the first match wins, and a
/// name matching none is in the `aws` partition (`amazonaws.com`).
const PARTITIONS: &[(&str, &str)] = &[
    // aws-cn: Beijing and Ningxia.
    ("cn-", "amazonaws.com.cn"),
    // aws-us-gov: GovCloud's endpoints use the commercial suffix.
    ("us-gov-", "amazonaws.com"),
    // aws-iso-b (before aws-iso: "us-isob-" starts with "us-iso").
    ("us-isob-", "sc2s.sgov.gov"),
    // aws-iso.
    ("us-iso-", "c2s.ic.gov"),
    // aws-eusc: the European Sovereign Cloud.
    ("eusc-", "amazonaws.eu"),
];

/// The `aws` partition's suffix.
const DEFAULT_SUFFIX: &str = "amazonaws.com";

/// `https://s3.<region>.<partition suffix>`: the regional S3 endpoint, what the SDKs
/// use for any region without a special case (us-east-1 included: the regional name
/// `s3.us-east-1.amazonaws.com` serves it like the global one).
pub(crate) fn s3_endpoint(region: &str) -> String {
    let suffix = PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or(DEFAULT_SUFFIX, |(_, suffix)| suffix);
    format!("https://s3.{region}.{suffix}")
}

/// Whether `name` can be a region in a host name: lowercase letters, digits and dashes,
/// as every AWS region is. Anything else would put a dot or a slash into the endpoint.
pub(crate) fn is_valid_region_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_gets_its_own_suffix() {
        assert_eq!(
            s3_endpoint("mx-central-1"),
            "https://s3.mx-central-1.amazonaws.com"
        );
        assert_eq!(
            s3_endpoint("cn-northwest-1"),
            "https://s3.cn-northwest-1.amazonaws.com.cn"
        );
        assert_eq!(
            s3_endpoint("us-gov-east-1"),
            "https://s3.us-gov-east-1.amazonaws.com"
        );
        assert_eq!(
            s3_endpoint("us-isob-east-1"),
            "https://s3.us-isob-east-1.sc2s.sgov.gov"
        );
        assert_eq!(
            s3_endpoint("us-iso-east-1"),
            "https://s3.us-iso-east-1.c2s.ic.gov"
        );
    }

    #[test]
    fn region_names_with_dots_slashes_or_capitals_are_refused() {
        assert!(is_valid_region_name("ap-southeast-5"));
        for bad in ["", "us-east-1.evil.com", "a/b", "US-EAST-1", "-x", "x-"] {
            assert!(!is_valid_region_name(bad), "{bad}");
        }
    }
}
