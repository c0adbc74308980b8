#!/usr/bin/env bash
# Run every fuzz target in fuzz/ for the given number of seconds (default 600), one
# after another. libFuzzer's scratch corpus stays outside the repository so only the
# seeds in fuzz/corpus/ are tracked. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Stops at the first failure; the crashing input
# is left in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS]           # explore, SECONDS per target
#   scripts/fuzz.sh --replay            # run each target once over its seed corpus
#                                       # (the crashes found so far stay fixed)
#   scripts/fuzz.sh --replay --if-present
#                                       # the same, but a machine without nightly or
#                                       # cargo-fuzz says so and skips (CI)
set -euo pipefail

replay=false
if_present=false
seconds=600
for arg in "$@"; do
    case "$arg" in
        --replay) replay=true ;;
        --if-present) if_present=true ;;
        *) seconds="$arg" ;;
    esac
done
cd "$(dirname "$0")/../fuzz"
scratch="${FUZZ_SCRATCH:-${TMPDIR:-/tmp}/s3transfer-fuzz}"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    if $if_present; then
        echo "fuzz: skipped (no nightly toolchain with cargo-fuzz on this machine)"
        exit 0
    fi
    echo "fuzz: needs the nightly toolchain and cargo-fuzz" >&2
    exit 1
fi

cargo +nightly fuzz build
for target in xml_bodies content_range checksum_values extra_args cli_values; do
    log="$scratch/$target.log"
    mkdir -p "$scratch/$target"
    if $replay; then
        echo "== $target: replay of corpus/$target"
        # -runs=0 runs each input of the given corpus once and stops.
        if ! cargo +nightly fuzz run "$target" "corpus/$target" -- -runs=0 >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            echo "fuzz target $target failed on its corpus; full log: $log" >&2
            exit 1
        fi
        grep -E 'INITED|Done' "$log" | tail -n 1 || true
        continue
    fi
    echo "== $target (${seconds}s)"
    if ! cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz target $target failed; full log: $log" >&2
        exit 1
    fi
    # libFuzzer's final stats: executions and time.
    grep -E '^Done [0-9]+ runs' "$log" || tail -n 1 "$log"
done
