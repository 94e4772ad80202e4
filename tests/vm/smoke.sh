#!/usr/bin/env bash
# Self-test of the VM harness: boot a VM with a usb-mtp camera serving two
# files, download them with gphoto2 inside the guest, and check on the host
# that they are byte-identical. Prints timings. Exit 0 = pass.
#   tests/vm/smoke.sh [--keep]     (--keep: leave the temp folder for inspection)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
keep=0; [ "${1:-}" = "--keep" ] && keep=1

bash "$HERE/setup.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotshoe-vm-smoke.XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then echo "smoke: kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
mtp=$tmp/mtp work=$tmp/work
mkdir -p "$mtp" "$work"

# The "camera roll": a few-MB random JPEG-named file and a small one.
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom > "$mtp/IMG_0001.JPG"
printf 'small sidecar file\n' > "$mtp/IMG_0001.XMP"

cat > "$work/guest.sh" <<'EOF'
#!/bin/sh
set -e
echo "== guest: $(uname -r), usb vendors: $(cat /sys/bus/usb/devices/*/idVendor | tr '\n' ' ')"
grep -q 46f4 /sys/bus/usb/devices/*/idVendor
# Load only the PTP camlib: loading all ~20 camlibs over 9p under TCG costs
# ~2 s per gphoto2 call (the root is copy-on-write, so /tmp is writable).
mkdir -p /tmp/camlibs && ln -sf /usr/lib/x86_64-linux-gnu/libgphoto2/*/ptp2.so /tmp/camlibs/
export CAMLIBS=/tmp/camlibs
echo "== gphoto2 --auto-detect"
gphoto2 --auto-detect | tee autodetect.txt
grep -q usb: autodetect.txt
echo "== gphoto2 --list-files"
gphoto2 --list-files | tee list.txt
mkdir -p got && cd got
echo "== gphoto2 --get-all-files"
t0=$(date +%s.%N)
gphoto2 --get-all-files --force-overwrite | cat   # pipe: no progress bar spam
t1=$(date +%s.%N)
echo "download_s=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}')" > ../download.txt
ls -l
EOF
chmod +x "$work/guest.sh"

t0=$(date +%s.%N)
set +e
"$HERE/vm.sh" run --mtp-dir "$mtp" --work "$work" --timeout 180 -- "$work/guest.sh"
rc=$?
set -e
t1=$(date +%s.%N)

fail=0
if [ "$rc" != 0 ]; then echo "smoke: guest script failed (rc=$rc)"; fail=1; fi
for f in IMG_0001.JPG IMG_0001.XMP; do
  if cmp -s "$mtp/$f" "$work/got/$f"; then
    echo "smoke: $f identical ($(stat -c %s "$mtp/$f") bytes)"
  else
    echo "smoke: $f MISSING or DIFFERENT"; fail=1
  fi
done
grep -q 'IMG_0001.JPG' "$work/list.txt" 2>/dev/null || { echo "smoke: --list-files did not list IMG_0001.JPG"; fail=1; }

# shellcheck disable=SC1091
. "$work/.hotshoe-vm/timings" 2>/dev/null || true
dl=$(sed -n 's/^download_s=//p' "$work/download.txt" 2>/dev/null || true)
echo "smoke: boot ${boot_s:-?}s, gphoto2 download ${dl:-?}s, total $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s"
if [ "$fail" = 0 ]; then
  echo "smoke: PASS"
  echo "1 passed, 0 failed"
else
  echo "smoke: FAIL"
  echo "0 passed, 1 failed"
  exit 1
fi
