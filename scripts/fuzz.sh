#!/usr/bin/env bash
# Run every fuzz target in fuzz/ for the given number of seconds (default 600), one
# after another. libFuzzer's scratch corpus stays outside the repository so only the
# seeds in fuzz/corpus/ are tracked. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Stops at the first failure; the crashing input
# is left in fuzz/artifacts/<target>/.
set -euo pipefail

seconds="${1:-600}"
cd "$(dirname "$0")/../fuzz"
scratch="${FUZZ_SCRATCH:-${TMPDIR:-/tmp}/s3transfer-fuzz}"

cargo +nightly fuzz build
for target in xml_bodies content_range checksum_values extra_args cli_values; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
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
