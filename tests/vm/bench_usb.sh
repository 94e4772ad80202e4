#!/usr/bin/env bash
# Benchmark: Hotshoe against gphoto2 over the same real USB device (qemu usb-mtp in a VM),
# on the same files, in the same run.
#
#   tests/vm/bench_usb.sh [FILES] [MB]      # default 20 files of 10 MB
#
# Prints download throughput (gphoto2 --get-all-files vs hotshoe camera get --all, both
# into the guest's RAM-backed /tmp) and new-shot latency (host creates a file → complete file
# on disk in the guest; gphoto2 --wait-event-and-download vs hotshoe camera watch), with
# the ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
files=${1:-20}
mb=${2:-10}
shots=5
bin=${HOTSHOE_BIN:-}
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --quiet --release --bin hotshoe)
  bin=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/hotshoe
fi
"$here/setup.sh"
work=$(mktemp -d /tmp/hs-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/card" "$work/stage" "$work/camlibs"
ln -sf /usr/lib/x86_64-linux-gnu/libgphoto2/*/ptp2.so "$work/camlibs/"
for i in $(seq -w 1 "$files"); do
  head -c $((mb * 1000000)) /dev/urandom > "$work/card/BIG_$i.JPG"
done

cat > "$work/guest.sh" <<EOF
#!/bin/sh
cd /tmp
export CAMLIBS="$work/camlibs"
now() { date +%s.%N; }
mkdir -p /tmp/g /tmp/h
t0=\$(now); (cd /tmp/g && gphoto2 --get-all-files --quiet >/dev/null 2>&1); t1=\$(now)
"$bin" camera get --all --to /tmp/h --json > /dev/null 2>&1; t2=\$(now)
echo "gphoto2_s=\$(python3 -c "print(\$t1 - \$t0)")" > "$work/throughput"
echo "hotshoe_s=\$(python3 -c "print(\$t2 - \$t1)")" >> "$work/throughput"
echo "gphoto2_bytes=\$(cat /tmp/g/* | wc -c)" >> "$work/throughput"
echo "hotshoe_bytes=\$(cat /tmp/h/* | wc -c)" >> "$work/throughput"
rm -rf /tmp/g /tmp/h
# New-shot latency: the host waits for "phase" files, then takes $shots shots.
mkdir -p "$work/gw"
echo gphoto2 > "$work/phase"
(cd "$work/gw" && timeout 40 gphoto2 --wait-event-and-download=35s --quiet > "$work/gphoto2-wait.log" 2>&1) || true
echo hotshoe > "$work/phase"
"$bin" camera watch --download-to "$work/hw" --count $shots --timeout 40 --json > "$work/hotshoe-watch.jsonl" 2>/dev/null || true
echo done > "$work/phase"
EOF
chmod +x "$work/guest.sh"
"$here/vm.sh" run -q --mtp-dir "$work/card" --work "$work" --timeout 600 -- "$work/guest.sh" &
vm=$!

take_shots() { # prefix; records host creation times
  local phase=$1
  sleep 4  # let the tool list the card and start waiting
  for i in $(seq 1 $shots); do
    head -c 2000000 /dev/urandom > "$work/stage/${phase}_$i.JPG"
    printf '\xff\xd9' >> "$work/stage/${phase}_$i.JPG"
    date +%s.%N > "$work/stage/${phase}_$i.t"
    ln "$work/stage/${phase}_$i.JPG" "$work/card/${phase}_$i.JPG"
    sleep 3
  done
}
for phase in gphoto2 hotshoe; do
  until [ "$(cat "$work/phase" 2>/dev/null)" = "$phase" ]; do sleep 0.2; done
  take_shots "$phase"
done
wait "$vm"

# shellcheck disable=SC1091
. "$work/throughput"
latencies() { # phase dir → one latency (s) per shot found
  for i in $(seq 1 $shots); do
    f=$(find "$2" -name "*${1}_$i.JPG" 2>/dev/null | head -1)
    [ -n "$f" ] || continue
    python3 -c "print(round($(stat -c %.9Y "$f") - $(cat "$work/stage/${1}_$i.t"), 3))"
  done
}
calc() { python3 -c "print(round($1, 2))"; }
g_lat=$(latencies gphoto2 "$work/gw" | sort -n)
h_lat=$(latencies hotshoe "$work/hw" | sort -n)
median() { awk '{a[NR]=$1} END {if (NR==0) print "none"; else print a[int((NR+1)/2)]}'; }
g_med=$(echo "$g_lat" | grep . | median || true)
h_med=$(echo "$h_lat" | grep . | median || true)
total_mb=$((files * mb))
printf '\nUSB download, %s files of %s MB (same VM, same device, same run)\n' "$files" "$mb"
printf '  gphoto2 --get-all-files     %6.2f s  %6.1f MB/s  (%s bytes)\n' "$gphoto2_s" "$(calc "$total_mb / $gphoto2_s")" "$gphoto2_bytes"
printf '  hotshoe camera get --all    %6.2f s  %6.1f MB/s  (%s bytes)\n' "$hotshoe_s" "$(calc "$total_mb / $hotshoe_s")" "$hotshoe_bytes"
printf '  throughput ratio hotshoe/gphoto2: %.2f (target >= 1)\n' "$(calc "$gphoto2_s / $hotshoe_s")"
printf '\nNew-shot latency, host file creation -> complete file in the guest, %s shots of 2 MB\n' "$shots"
printf '  gphoto2 --wait-event-and-download: %s of %s shots seen, median %s s\n' "$(echo "$g_lat" | grep -c . || true)" "$shots" "$g_med"
printf '  hotshoe camera watch:              %s of %s shots seen, median %s s\n' "$(echo "$h_lat" | grep -c . || true)" "$shots" "$h_med"
if [ "$g_med" = none ]; then
  printf '  latency ratio hotshoe/gphoto2: 0 (gphoto2 saw no new shot within 35 s: it keeps one interrupt transfer pending, which qemu never completes)\n'
else
  printf '  latency ratio hotshoe/gphoto2: %.2f (target <= 0.5)\n' "$(calc "$h_med / $g_med")"
fi
