#!/usr/bin/env bash
# The crate's public items (see scripts/public_api.py), from rustdoc JSON built with the
# nightly toolchain, with every feature that adds public items.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo +nightly rustdoc --quiet --lib --features rusoto,testing -- -Z unstable-options --output-format json
python3 scripts/public_api.py "${CARGO_TARGET_DIR:-target}/doc/s3transfer.json" "$@"
