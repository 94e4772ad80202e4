#!/usr/bin/env bash
# Runs the browser suite inside a fresh network namespace that has only loopback: Chromium
# tries to reach outside hosts on its own, and tests must never talk to anything but us.
set -euo pipefail
cd "$(dirname "$0")"
: "${HOTSHOE_BIN:?set HOTSHOE_BIN to the hotshoe binary}"
mkdir -p artifacts
exec unshare -n -- sh -c 'ip link set lo up && exec node --test --test-reporter=spec --test-concurrency=1 ./*.test.mjs'
