#!/usr/bin/env bash
# Installs what Hotshoe's build and tests need on a fresh Debian machine. Idempotent and quiet:
# a second run on a ready machine takes a second.
#   scripts/setup.sh          what the build and `hotshoe demo` need
#   scripts/setup.sh --test   also the test peers: Chromium + Playwright, iproute2, unshare
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have cc || need_apt+=(gcc)
have pkg-config || need_apt+=(pkg-config)
# imaging builds libjpeg-turbo 3 from the turbojpeg-sys crate's bundled source.
have cmake || need_apt+=(cmake)
have nasm || need_apt+=(nasm)
if [ "$want_test" = 1 ]; then
  have chromium || need_apt+=(chromium)
  # ip and tc (the shaped-link test: namespaces, veth, tbf) both come with iproute2.
  { have ip && have tc; } || need_apt+=(iproute2)
  have unshare || need_apt+=(util-linux)
  have node || need_apt+=(nodejs npm)
  # Album back ends: PostgreSQL 15 (tests/album/run-backends.sh), python venv for tuspy + moto.
  [ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
  python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
  have curl || need_apt+=(curl)
  # The FTPS target test makes its own CA and server certificate.
  have openssl || need_apt+=(openssl)
  # The imaging benchmark step compares against libvips' vipsthumbnail.
  have vipsthumbnail || need_apt+=(libvips-tools)
  # `hotshoe bench album` loads the gallery page with wrk.
  have wrk || need_apt+=(wrk)
fi

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing ${need_apt[*]} (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! have cargo; then
  echo "setup: Rust is not installed; get it from your distribution or rustup, then run this again" >&2
  exit 1
fi

if [ "$want_test" = 1 ]; then
  # tus-js-client is the independent tus client of album.test.mjs.
  if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/tus-js-client ] \
    || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    echo "setup: installing browser test packages (npm)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  # The reference tus server (@tus/server + @tus/file-store), an independent peer for the
  # agent's tus client (crates/agent/tests/tus_peer.rs).
  if [ ! -d tests/tus-peer/node_modules/@tus/server ] || [ tests/tus-peer/package-lock.json -nt tests/tus-peer/node_modules/.package-lock.json ]; then
    echo "setup: installing the tus test peer (npm)"
    (cd tests/tus-peer && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

if [ "$want_test" = 1 ]; then
  # Independent tus client (tuspy) and S3 server (moto) for the album suite, and the FTP/FTPS
  # server (pyftpdlib + pyOpenSSL) for the agent's FTP target, in their own venv.
  album_venv="${HOTSHOE_CACHE:-$HOME/.cache/hotshoe}/album-venv"
  if [ ! -x "$album_venv/bin/moto_server" ] || ! "$album_venv/bin/python" -c 'import tusclient, pyftpdlib, OpenSSL' 2>/dev/null; then
    echo "setup: installing test peers (pip: tuspy, moto[server], boto3, pyftpdlib, pyopenssl)"
    python3 -m venv "$album_venv"
    "$album_venv/bin/pip" install -q --disable-pip-version-check tuspy 'moto[server]' boto3 pyftpdlib pyopenssl >/dev/null
  fi
fi
