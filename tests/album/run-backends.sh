#!/usr/bin/env bash
# Starts one PostgreSQL 15 and one moto (S3) server on loopback, runs a command with
# HOTSHOE_TEST_PG_URL / HOTSHOE_TEST_S3_ENDPOINT set (default: the album back-end tests,
# crates/album/tests/backends.rs), then the tuspy conformance client, then stops both.
# Fails loudly when a server does not come up: CI must never skip these silently.
#   tests/album/run-backends.sh                                  album back ends only
#   tests/album/run-backends.sh cargo test --workspace           what scripts/test.sh runs
# (needs scripts/setup.sh --test first)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv="${HOTSHOE_CACHE:-$HOME/.cache/hotshoe}/album-venv"
work=$(mktemp -d /tmp/hotshoe-backends.XXXXXX)
chmod 755 "$work"
pg_pid_dir="$work/pg"
moto_pid=
cleanup() {
  if [ -f "$pg_pid_dir/postmaster.pid" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_pid_dir" -m immediate stop >/dev/null 2>&1 || true
  fi
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
pg_port=$(free_port)
mkdir -p "$pg_pid_dir" && chown postgres "$pg_pid_dir"
runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$pg_pid_dir" -U postgres -A trust --no-sync >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log"; echo "run-backends: initdb failed" >&2; exit 1; }
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_pid_dir" -w -l "$pg_pid_dir/log" start \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_pid_dir -c fsync=off" >/dev/null \
  || { cat "$pg_pid_dir/log"; echo "run-backends: PostgreSQL did not start" >&2; exit 1; }

moto_port=$(free_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$moto_port/" >/dev/null 2>&1 && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log"; echo "run-backends: moto exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$moto_port/" >/dev/null || { cat "$work/moto.log"; echo "run-backends: moto did not start" >&2; exit 1; }

export HOTSHOE_TEST_PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export HOTSHOE_TEST_S3_ENDPOINT="http://127.0.0.1:$moto_port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
echo "== with PostgreSQL :$pg_port and S3/moto :$moto_port"
if [ "$#" -gt 0 ]; then
  "$@"
else
  cargo test -q -p album --test backends
fi

echo "== tus conformance with tuspy (independent client)"
cargo build -q -p album --example tus_peer
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$venv/bin/python" tests/album/tus_conformance.py "$target_dir/debug/examples/tus_peer"
