#!/usr/bin/env bash
# Runs every Hotshoe test suite: unit and integration tests (cargo), the browser suite
# (Playwright + Debian Chromium inside a loopback-only network namespace), and the real-USB
# suite (a qemu VM with a usb-mtp camera; tests/vm/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

# One PostgreSQL and one S3 (moto) server for the whole run: the album's back-end tests in
# the workspace run need them (and fail under CI=true without them); tuspy conformance follows.
echo "== cargo test (workspace), with PostgreSQL and S3 for the album back-end tests"
tests/album/run-backends.sh cargo test --workspace --no-fail-fast

echo "== build the hotshoe binary (benchmarks, browser suite)"
cargo build --quiet --bin hotshoe
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export HOTSHOE_BIN="$target_dir/debug/hotshoe"

echo "== imaging benchmark, small set (prints time ratios vs vipsthumbnail; asserts correctness only)"
bench_dir=$(mktemp -d)
"$HOTSHOE_BIN" bench imaging --small --repeat 3 "$bench_dir"
rm -rf "$bench_dir"
# The colour-conversion timing behind docs/decisions/0010 (prints; asserts only that it runs).
cargo test --quiet -p imaging --test colour -- --ignored colour_cost --nocapture

echo "== album benchmark, short (wrk on the gallery page, 200 SSE viewers; asserts no missed events, not time)"
"$HOTSHOE_BIN" bench album --photos 20 --viewers 200 --uploads 5 --wrk-seconds 3

echo "== browser suite"
tests/browser/run.sh

echo "== real USB: hotshoe against qemu's usb-mtp device in a VM"
tests/vm/usb_camera.sh
