//! Virtual-hosted (`bucket.s3.region.amazonaws.com/key`) or path-style
//! (`s3.region.amazonaws.com/bucket/key`) requests.
//!
//! As in the AWS SDKs: virtual-hosted on AWS's own endpoints for every bucket name that
//! can be a DNS label under TLS (access points, S3 Express directory buckets and
//! Transfer Acceleration work only that way, and AWS plans path-style's end), path-style
//! for a custom endpoint (most S3-compatible stores serve no bucket subdomains) unless
//! the caller asks otherwise.

/// How requests name their bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Addressing {
    /// The SDKs' choice: virtual-hosted on AWS endpoints, path-style on custom ones.
    #[default]
    Auto,
    /// Always `/bucket/key` (the SDKs' `force_path_style`).
    PathStyle,
    /// Bucket in the host name wherever the bucket name allows it, custom endpoints
    /// included.
    VirtualHosted,
}

impl Addressing {
    /// Whether a request for `bucket` goes virtual-hosted. `aws_endpoint`: the endpoint
    /// is AWS's standard one for the region (not a custom endpoint); `https`: the
    /// connection is TLS, where a dot in the bucket would break the certificate match
    /// (`*.s3.amazonaws.com` covers one label).
    pub(crate) fn virtual_hosted(self, bucket: &str, aws_endpoint: bool, https: bool) -> bool {
        self.prefers_virtual_hosted(aws_endpoint) && dns_compatible(bucket, https)
    }

    /// Whether this choice puts buckets in the host name where their names allow it,
    /// on an AWS endpoint (`aws_endpoint`) or a custom one. (The aws-sdk backend hands
    /// the per-bucket part to the SDK, which applies the same name rules.)
    pub(crate) fn prefers_virtual_hosted(self, aws_endpoint: bool) -> bool {
        match self {
            Addressing::Auto => aws_endpoint,
            Addressing::PathStyle => false,
            Addressing::VirtualHosted => true,
        }
    }
}

/// Whether `bucket` can be the first label(s) of a host name: 3 to 63 characters of
/// lowercase letters, digits, dashes and (only without TLS) dots, starting and ending
/// with a letter or digit, no empty label, and not an IP address.
pub(crate) fn dns_compatible(bucket: &str, https: bool) -> bool {
    let len_ok = (3..=63).contains(&bucket.len());
    let chars_ok = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let labels_ok = bucket
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    let dots_ok = !(https && bucket.contains('.'));
    let not_ip = bucket.parse::<std::net::Ipv4Addr>().is_err();
    len_ok
        && chars_ok
        && ends_ok(bucket.bytes().next())
        && ends_ok(bucket.bytes().last())
        && labels_ok
        && dots_ok
        && not_ip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_go_virtual_hosted_custom_ones_path_style() {
        assert!(Addressing::Auto.virtual_hosted("my-bucket", true, true));
        assert!(!Addressing::Auto.virtual_hosted("my-bucket", false, false));
        assert!(Addressing::VirtualHosted.virtual_hosted("my-bucket", false, false));
        assert!(!Addressing::PathStyle.virtual_hosted("my-bucket", true, true));
    }

    #[test]
    fn names_that_cannot_be_a_host_label_stay_path_style() {
        for bad in [
            "ab",
            "My-Bucket",
            "bucket_1",
            "-bucket",
            "bucket-",
            "a..b",
            "192.168.1.1",
        ] {
            assert!(!dns_compatible(bad, false), "{bad}");
        }
        assert!(!dns_compatible(&"a".repeat(64), false));
        // A dot is a valid host name but breaks the wildcard certificate.
        assert!(dns_compatible("logs.example", false));
        assert!(!dns_compatible("logs.example", true));
        assert!(!Addressing::Auto.virtual_hosted("logs.example", true, true));
    }
}
