//! Flexible checksums: an incremental [`Checksummer`] per S3 algorithm, the base64 form
//! S3 wants, and CRC combination (the whole-object CRC of a multipart upload or a ranged
//! download from its parts' CRCs, with no second pass).

use crate::client::{ChecksumAlgorithm, Checksums};

impl ChecksumAlgorithm {
    /// Whether the algorithm is a CRC, whose values of adjacent pieces combine into
    /// the value of the whole.
    pub fn is_crc(self) -> bool {
        matches!(
            self,
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc64Nvme
        )
    }
}

impl Checksums {
    /// The value for `algorithm`, if set.
    pub fn get(&self, algorithm: ChecksumAlgorithm) -> Option<&str> {
        match algorithm {
            ChecksumAlgorithm::Crc32 => self.crc32.as_deref(),
            ChecksumAlgorithm::Crc32c => self.crc32c.as_deref(),
            ChecksumAlgorithm::Crc64Nvme => self.crc64nvme.as_deref(),
            ChecksumAlgorithm::Sha1 => self.sha1.as_deref(),
            ChecksumAlgorithm::Sha256 => self.sha256.as_deref(),
        }
    }

    /// Set the value for `algorithm`.
    pub fn set(&mut self, algorithm: ChecksumAlgorithm, value: impl Into<String>) {
        let slot = match algorithm {
            ChecksumAlgorithm::Crc32 => &mut self.crc32,
            ChecksumAlgorithm::Crc32c => &mut self.crc32c,
            ChecksumAlgorithm::Crc64Nvme => &mut self.crc64nvme,
            ChecksumAlgorithm::Sha1 => &mut self.sha1,
            ChecksumAlgorithm::Sha256 => &mut self.sha256,
        };
        *slot = Some(value.into());
    }

    /// Every value set for an algorithm this crate can compute, in a fixed order.
    pub fn values(&self) -> Vec<(ChecksumAlgorithm, &str)> {
        ALL.iter()
            .filter_map(|&a| self.get(a).map(|v| (a, v)))
            .collect()
    }
}

/// Every algorithm, in S3's order of preference for validation (CRCs first: they can
/// be checked over a ranged download).
pub const ALL: [ChecksumAlgorithm; 5] = [
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32c,
    ChecksumAlgorithm::Crc64Nvme,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
];

/// A finished checksum of `len` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The value: big-endian bytes, as S3 base64-encodes them (4 for the CRC32s, 8
    /// for CRC64NVME, 20 for SHA-1, 32 for SHA-256).
    pub bytes: Vec<u8>,
    /// How many bytes were checksummed (what [`Checksum::combine`] needs).
    pub len: u64,
}

impl Checksum {
    /// The value as S3 sends it in `x-amz-checksum-*`.
    pub fn to_base64(&self) -> String {
        base64(&self.bytes)
    }

    /// The CRC as a number, or `None` for a digest.
    pub fn crc(&self) -> Option<u64> {
        self.algorithm.is_crc().then(|| {
            self.bytes
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | b as u64)
        })
    }

    /// The checksum of this checksum's bytes followed by `next`'s, without reading
    /// them again: `None` unless both are the same CRC algorithm.
    pub fn combine(&self, next: &Checksum) -> Option<Checksum> {
        if self.algorithm != next.algorithm {
            return None;
        }
        let (a, b) = (self.crc()?, next.crc()?);
        let value = match self.algorithm {
            ChecksumAlgorithm::Crc32 => {
                let mut h = crc32fast::Hasher::new_with_initial_len(a as u32, self.len);
                h.combine(&crc32fast::Hasher::new_with_initial_len(b as u32, next.len));
                h.finalize() as u64
            }
            ChecksumAlgorithm::Crc32c => {
                crc32c::crc32c_combine(a as u32, b as u32, next.len as usize) as u64
            }
            ChecksumAlgorithm::Crc64Nvme => {
                crc_fast::checksum_combine(crc_fast::CrcAlgorithm::Crc64Nvme, a, b, next.len)
            }
            ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => return None,
        };
        Some(crc_checksum(self.algorithm, value, self.len + next.len))
    }
}

fn crc_checksum(algorithm: ChecksumAlgorithm, value: u64, len: u64) -> Checksum {
    let bytes = match algorithm {
        ChecksumAlgorithm::Crc64Nvme => value.to_be_bytes().to_vec(),
        _ => (value as u32).to_be_bytes().to_vec(),
    };
    Checksum {
        algorithm,
        bytes,
        len,
    }
}

/// The checksum of `data` in one call.
pub fn checksum(algorithm: ChecksumAlgorithm, data: &[u8]) -> Checksum {
    let mut c = Checksummer::new(algorithm);
    c.update(data);
    c.finish()
}

/// An incremental checksum: feed it bytes in order with [`Checksummer::update`].
pub struct Checksummer {
    state: State,
    len: u64,
}

enum State {
    Crc32(crc32fast::Hasher),
    // crc32c has no hasher type: its append function carries the running value.
    Crc32c(u32),
    Crc64(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Checksummer {
    /// A checksummer of nothing yet.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        use sha2::Digest as _;
        let state = match algorithm {
            ChecksumAlgorithm::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => State::Crc32c(0),
            ChecksumAlgorithm::Crc64Nvme => {
                State::Crc64(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme))
            }
            ChecksumAlgorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
        };
        Checksummer { state, len: 0 }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        match self.state {
            State::Crc32(_) => ChecksumAlgorithm::Crc32,
            State::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            State::Crc64(_) => ChecksumAlgorithm::Crc64Nvme,
            State::Sha1(_) => ChecksumAlgorithm::Sha1,
            State::Sha256(_) => ChecksumAlgorithm::Sha256,
        }
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Feed the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        self.len += data.len() as u64;
        match &mut self.state {
            State::Crc32(h) => h.update(data),
            State::Crc32c(v) => *v = crc32c::crc32c_append(*v, data),
            State::Crc64(d) => d.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
        }
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> Checksum {
        use sha2::Digest as _;
        let algorithm = self.algorithm();
        let len = self.len;
        match self.state {
            State::Crc32(h) => crc_checksum(algorithm, h.finalize() as u64, len),
            State::Crc32c(v) => crc_checksum(algorithm, v as u64, len),
            State::Crc64(d) => crc_checksum(algorithm, d.finalize(), len),
            State::Sha1(h) => Checksum {
                algorithm,
                bytes: h.finalize().to_vec(),
                len,
            },
            State::Sha256(h) => Checksum {
                algorithm,
                bytes: h.finalize().to_vec(),
                len,
            },
        }
    }
}

/// Standard base64 with padding (RFC 4648), the form of every `x-amz-checksum-*`.
pub(crate) fn base64(data: &[u8]) -> String {
    use ::base64::Engine as _;
    ::base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decode standard base64 (padding optional: stores differ); `None` for anything else.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use ::base64::Engine as _;
    use ::base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &::base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(text).ok()
}

/// The composite checksum of a multipart object as S3 stores it: the checksum of its
/// parts' checksums (binary, concatenated in part order), then `-<parts>`. `None` if a
/// part value is not base64.
pub(crate) fn composite_checksum(algorithm: ChecksumAlgorithm, parts: &[&str]) -> Option<String> {
    let mut c = Checksummer::new(algorithm);
    for part in parts {
        c.update(&base64_decode(part)?);
    }
    Some(format!("{}-{}", c.finish().to_base64(), parts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc(algorithm: ChecksumAlgorithm, data: &[u8]) -> u64 {
        checksum(algorithm, data).crc().unwrap()
    }

    #[test]
    fn check_values() {
        let data = b"123456789";
        assert_eq!(crc(ChecksumAlgorithm::Crc32, data), 0xCBF4_3926);
        assert_eq!(crc(ChecksumAlgorithm::Crc32c, data), 0xE306_9283);
        assert_eq!(
            crc(ChecksumAlgorithm::Crc64Nvme, data),
            0xAE8B_1486_0A79_9888
        );
        assert_eq!(
            checksum(ChecksumAlgorithm::Sha1, b"abc").bytes,
            [
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d
            ]
        );
        // SHA-256("") as S3 shows it.
        assert_eq!(
            checksum(ChecksumAlgorithm::Sha256, b"").to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        // CRC32 of "" is 0: S3's value for an empty object.
        assert_eq!(
            checksum(ChecksumAlgorithm::Crc32, b"").to_base64(),
            "AAAAAA=="
        );
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn base64_decode_inverts_base64_and_refuses_other_text() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(&base64(&data)), Some(data));
        }
        assert_eq!(base64_decode("Zm9vYg"), Some(b"foob".to_vec()));
        assert_eq!(base64_decode("Zm9v-3"), None);
        assert_eq!(base64_decode("Z"), None);
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums_with_the_part_count() {
        let parts = [b"aaaa".as_slice(), b"bbbb", b"cc"];
        for algorithm in ALL {
            let values: Vec<String> = parts
                .iter()
                .map(|p| checksum(algorithm, p).to_base64())
                .collect();
            let digests: Vec<u8> = parts
                .iter()
                .flat_map(|p| checksum(algorithm, p).bytes)
                .collect();
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            assert_eq!(
                composite_checksum(algorithm, &refs),
                Some(format!("{}-3", checksum(algorithm, &digests).to_base64())),
                "{algorithm:?}"
            );
        }
        assert_eq!(
            composite_checksum(ChecksumAlgorithm::Sha1, &["not base64!"]),
            None
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for algorithm in ALL {
            let mut c = Checksummer::new(algorithm);
            for piece in data.chunks(4093) {
                c.update(piece);
            }
            assert_eq!(c.finish(), checksum(algorithm, &data), "{algorithm:?}");
        }
    }

    #[test]
    fn combine_equals_crc_of_concatenation_at_random_splits() {
        // A small xorshift: reproducible splits without a rand dependency.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let data: Vec<u8> = (0..70_000).map(|_| next() as u8).collect();
        for algorithm in ALL.into_iter().filter(|a| a.is_crc()) {
            for _ in 0..50 {
                let cut = (next() % (data.len() as u64 + 1)) as usize;
                let (a, b) = data.split_at(cut);
                let combined = checksum(algorithm, a)
                    .combine(&checksum(algorithm, b))
                    .unwrap();
                assert_eq!(
                    combined,
                    checksum(algorithm, &data),
                    "{algorithm:?} at {cut}"
                );
            }
            // Three pieces, folded left, as a multipart upload's parts are.
            let parts: Vec<Checksum> = data
                .chunks(30_000)
                .map(|p| checksum(algorithm, p))
                .collect();
            let folded = parts[1..]
                .iter()
                .try_fold(parts[0].clone(), |acc, p| acc.combine(p))
                .unwrap();
            assert_eq!(folded, checksum(algorithm, &data));
        }
        let sha = checksum(ChecksumAlgorithm::Sha256, b"a");
        assert!(sha.combine(&sha).is_none());
    }

    #[test]
    fn checksums_get_and_set_by_algorithm() {
        let mut c = Checksums::default();
        for a in ALL {
            c.set(a, a.as_str());
        }
        for a in ALL {
            assert_eq!(c.get(a), Some(a.as_str()));
        }
        assert_eq!(c.values().len(), 5);
    }
}
