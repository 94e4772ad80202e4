#!/usr/bin/env bash
# Publishing benchmark (docs/benchmarks.md, "Publishing"): `hotshoe run --originals` against
# `hotshoe album serve`, 100 shots at 2 per second, first on loopback, then across two network
# namespaces joined by a veth pair shaped to 10 Mbit/s each way (tc tbf). Prints a table:
# the link's own TCP goodput, ours while a backlog keeps the uplink busy, their ratio, and
# the web renditions' shutter-to-gallery latency (p50/p95/max) on the live event stream.
# Needs root and iproute2 (ip, tc). Takes about five minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The test harness (crates/cli/tests/shaped_link.rs) is the benchmark: same processes, same
# measurements as the CI test, with the loopback run added and numbers printed.
bin=$(cargo test -p hotshoe --test shaped_link --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="shaped_link" and m.get("executable"):
        print(m["executable"])')
# The test runs target/debug/hotshoe: make sure it is this tree's.
cargo build -p hotshoe --bin hotshoe
"$bin" --ignored --exact bench_publish --nocapture --test-threads 1
