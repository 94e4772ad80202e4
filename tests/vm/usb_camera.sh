#!/usr/bin/env bash
# Real USB: Hotshoe against qemu's usb-mtp device in a VM (see README.md here).
#
#   tests/vm/usb_camera.sh            # needs HOTSHOE_BIN, or builds target/debug/hotshoe
#
# In the guest: list the camera, download the files already on it (byte-identical), then
# watch while the host "takes shots": complete files hard-linked in, a file still being
# written when its event arrives (qemu reports its size as of creation, so the watcher must
# reopen the session to see it grow), and a large file during whose transfer the cable is
# pulled (device_del) and plugged back (device_add), plus a shot taken while unplugged. Every new
# shot must end up saved exactly once, byte-identical, and nothing that was on the card
# before watching started may be downloaded by the watcher.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${HOTSHOE_BIN:-}
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --quiet --bin hotshoe)
  bin=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/hotshoe
fi
"$here/setup.sh"

work=$(mktemp -d /tmp/hs-usb.XXXXXX)
mtp="$work/card"
mkdir -p "$mtp" "$work/stage"
sock="$work/mon.sock"
cleanup() { [ -n "${vm_pid:-}" ] && kill "$vm_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# A stand-in for a camera JPEG: SOI, random body, EOI. The watcher checks the end marker.
mkjpeg() { # path bytes
  python3 - "$1" "$2" <<'EOF'
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"\xff\xd8\xff\xe0" + os.urandom(max(n - 6, 0)) + b"\xff\xd9")
EOF
}
mkjpeg "$mtp/OLD_0001.JPG" 3000000
mkjpeg "$mtp/OLD_0002.JPG" 1048576   # a multiple of 512: the data phase ends on a packet boundary
mkjpeg "$mtp/OLD_0003.JPG" 200000

cat > "$work/guest.sh" <<EOF
#!/bin/sh
set -u
cd "$work"
export HOTSHOE_LOG=info
"$bin" camera list --json > list.json 2> list.err || echo "list failed: \$?" >> failures
"$bin" camera get --all --to "$work/got" --json > get.jsonl 2> get.err || echo "get failed: \$?" >> failures
"$bin" camera watch --download-to "$work/watch" --json --count 5 --timeout 150 > watch.jsonl 2> watch.err &
w=\$!
# The watcher has set the card's existing files aside once its journal knows the source.
i=0; while [ \$i -lt 300 ] && ! grep -q "existing card contents set aside" watch.err 2>/dev/null; do sleep 0.1; i=\$((i+1)); done
touch ready
wait \$w || echo "watch failed: \$?" >> failures
touch done
EOF
chmod +x "$work/guest.sh"

start=$(date +%s)
"$here/vm.sh" run -q --mtp-dir "$mtp" --work "$work" --monitor "$sock" --timeout 300 -- "$work/guest.sh" &
vm_pid=$!
wait_for() { # file seconds
  local n=0; while [ ! -e "$1" ]; do sleep 0.1; n=$((n+1)); [ $n -lt $(( $2 * 10 )) ] || { echo "FAIL: timed out waiting for $1"; cat "$work"/*.err 2>/dev/null | tail -20; exit 1; }; done
}
wait_for "$work/ready" 120
echo "guest ready after $(( $(date +%s) - start )) s; taking shots"

shot() { # name bytes: written elsewhere, then linked in whole (a camera finishing a file)
  mkjpeg "$work/stage/$1" "$2"; ln "$work/stage/$1" "$mtp/$1"
}
shot IMG_0001.JPG 4000000
sleep 1
shot IMG_0002.JPG 2097152
sleep 1
# Still being written when its event arrives.
python3 - "$mtp/IMG_0003.JPG" <<'EOF'
import os, sys, time
with open(sys.argv[1], "wb") as f:
    f.write(b"\xff\xd8\xff\xe0" + os.urandom(1_500_000)); f.flush()
    time.sleep(2.5)
    f.write(os.urandom(1_500_000) + b"\xff\xd9")
EOF
sleep 1
# A large shot; pull the cable while it is being transferred.
shot IMG_0004.JPG 60000000
n=0
until ls "$work"/watch/*/*IMG_0004.JPG.partial >/dev/null 2>&1 && [ "$(stat -c %s "$work"/watch/*/*IMG_0004.JPG.partial | head -1)" -gt 1000000 ]; do
  sleep 0.05; n=$((n+1)); [ $n -lt 600 ] || { echo "FAIL: the large transfer never started"; exit 1; }
done
"$here/vm.sh" unplug "$sock"
echo "cable pulled during the transfer of IMG_0004.JPG"
sleep 2
shot IMG_0005.JPG 1500000          # taken while unplugged
sleep 2
"$here/vm.sh" plug "$sock" "$mtp"
echo "cable plugged back"
# No shot is taken after the replug: qemu 7.2's usb-mtp segfaults (seen 2 runs in 3) when a
# file appears in its folder after a device_del/device_add that interrupted a transfer, most
# likely an inotify watch left behind by the deleted device. A real camera has no such bug.
wait "$vm_pid"; rc=$?; vm_pid=
echo "VM finished (exit $rc) after $(( $(date +%s) - start )) s"

fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }
[ -f "$work/failures" ] && { echo "guest reported:"; cat "$work/failures"; fail=1; }
check "camera listed" "grep -q '46f4' '$work/list.json'"
for f in OLD_0001.JPG OLD_0002.JPG OLD_0003.JPG; do
  check "get: $f byte-identical" "cmp -s '$mtp/$f' '$work/got/$f'"
done
for f in IMG_0001.JPG IMG_0002.JPG IMG_0003.JPG IMG_0004.JPG IMG_0005.JPG; do
  found=$(find "$work/watch" -name "*_$f" -not -path '*/.hotshoe/*' | wc -l)
  check "watch: $f saved exactly once ($found)" "[ $found -eq 1 ]"
  check "watch: $f byte-identical" "cmp -s '$mtp/$f' \"\$(find '$work/watch' -name '*_$f' | head -1)\""
done
check "watch: nothing from before watching" "[ \$(find '$work/watch' -name '*OLD_*' | wc -l) -eq 0 ]"
check "watch: no partial files left" "[ \$(find '$work/watch' -name '*.partial' | wc -l) -eq 0 ]"
check "watch: five saved events" "[ \$(grep -c '\"event\":\"saved\"' '$work/watch.jsonl') -eq 5 ]"
if [ $fail -ne 0 ]; then
  echo "--- watch.err"; tail -40 "$work/watch.err"
  echo "--- get.err"; tail -10 "$work/get.err"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
