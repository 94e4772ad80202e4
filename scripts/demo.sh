#!/usr/bin/env bash
# Builds Hotshoe and runs `hotshoe demo` (a virtual camera, the agent and the album server on
# this machine). Extra arguments go to the demo, e.g. `scripts/demo.sh --shot-every 2`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --release --quiet --bin hotshoe -- demo "$@"
