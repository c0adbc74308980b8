#!/usr/bin/env bash
# The soak run (not CI): mixed transfers through the fault-injecting proxy in front of
# SeaweedFS for MINUTES (default 20), with random faults, cancels and shutdowns; every
# outcome checked, and threads, file descriptors and RSS sampled between rounds. See
# examples/soak.rs for what it checks. Exits non-zero on any failed check.
#
#   scripts/soak.sh [MINUTES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-seaweedfs.sh
args=(--minutes "${1:-20}")
if [[ -n "${2:-}" ]]; then
    args+=(--seed "$2")
fi
exec cargo run --release --example soak -- "${args[@]}"
