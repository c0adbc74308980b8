#!/usr/bin/env bash
# The concurrency primitives' unit tests under Miri (undefined behaviour, data races,
# leaked threads): the shutdown queue, the pools, the memory permits and the download
# window, the coordinator's state machine, the work counter and the clock.
#   scripts/miri.sh            # needs the nightly toolchain with the miri component
# Not in CI: Miri interprets every test thousands of times slower (about 10 minutes on
# 2 cores). Time is real (`-Zmiri-disable-isolation`) because the waits use condvar
# timeouts.
set -euo pipefail
cd "$(dirname "$0")/.."
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
cargo +nightly miri setup >/dev/null
for module in runtime::queue runtime::pool runtime::permits runtime::coordinator \
    runtime::work_group runtime::clock; do
    echo "== miri: $module"
    cargo +nightly miri test --lib --no-default-features "$module"
done
