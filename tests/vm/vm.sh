#!/usr/bin/env bash
# Hotshoe test bed: a tiny qemu VM with a real USB PTP/MTP camera (qemu usb-mtp).
# See tests/vm/README.md. Run tests/vm/setup.sh once first (installs qemu etc.).
set -euo pipefail

ME=$(basename "$0")
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HOTSHOE_VM_CACHE:-/var/tmp/hotshoe-vm}
DEFAULT_DESC=${HOTSHOE_VM_DESC:-HotshoeCam}
# Bump when the initramfs layout/init changes (the init script is hashed too).
INITRD_FORMAT=1
# Top-level modules; their dependencies are computed with modinfo.
MODULES=(xhci-pci virtio_pci 9pnet_virtio 9p overlay)

usage() {
  cat <<EOF
Usage:
  $ME run --mtp-dir DIR --work DIR [options] -- GUEST_SCRIPT [ARGS...]
      Boot a VM (qemu TCG) with a USB MTP/PTP camera (usb-mtp, 46f4:0004)
      serving DIR, mount the host root read-only (copy-on-write in RAM) and
      WORK read-write at the same path as on the host, and run GUEST_SCRIPT
      (a host path, e.g. inside WORK; executed if executable, else with sh)
      as root in the guest, with cwd = WORK. No network in the guest.
      Exits with the guest script's exit code.
      Harness failures: 124 = timeout (qemu killed), 125 = VM/boot failure.
    Options:
      --mtp-dir DIR      host folder served as the camera's storage (required)
      --work DIR         writable exchange folder (required; created if absent)
      --monitor SOCK     qemu HMP monitor unix socket (for plug/unplug)
      --timeout SECS     kill the VM after SECS seconds (default 300)
      --desc NAME        usb-mtp description string (default $DEFAULT_DESC;
                         no commas/spaces)
      --no-camera        boot without the usb-mtp device (plug it later)
      --mem MB           guest RAM (default 1024)
      --smp N            guest CPUs (default 2)
      -e, --env NAME=VAL set an environment variable for the guest script
      --log FILE         console log file (default WORK/.hotshoe-vm/console.log)
      -q, --quiet        do not copy the guest console to stdout
      --append ARGS      extra kernel command line
    Guest environment: HOTSHOE_VM=1, HOTSHOE_VM_WORK=WORK, HOME=/root,
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin.
    The guest console goes to stdout and to the log file; the exit code is
    written to WORK/.hotshoe-vm/exit and the boot time to
    WORK/.hotshoe-vm/timings.

  $ME unplug SOCK                 device_del cam (a cable pull)
  $ME plug SOCK DIR [DESC]        device_add usb-mtp,rootdir=DIR,...,id=cam
  $ME monitor SOCK CMD...         send one HMP command, print the answer
  $ME wait-monitor SOCK [SECS]    wait until the monitor socket accepts
  $ME initrd                      build (if needed) and print the initramfs path
  $ME kernel                      print the kernel image and version used

Environment: HOTSHOE_VM_CACHE (default /var/tmp/hotshoe-vm),
             HOTSHOE_VM_KERNEL (path to a vmlinuz; default newest with modules).
EOF
}

die() { echo "$ME: $*" >&2; exit 125; }
log() { echo "$ME: $*" >&2; }

# ---------------------------------------------------------------- kernel
pick_kernel() {
  local k v best="" bestv=""
  if [ -n "${HOTSHOE_VM_KERNEL:-}" ]; then
    k=$HOTSHOE_VM_KERNEL
    v=$(basename "$k"); v=${v#vmlinuz-}
    [ -r "$k" ] || die "HOTSHOE_VM_KERNEL=$k not readable"
    [ -d "/lib/modules/$v" ] || die "no /lib/modules/$v for $k"
    KERNEL=$k KVER=$v; return
  fi
  for k in /boot/vmlinuz-*; do
    [ -r "$k" ] || continue
    v=${k#/boot/vmlinuz-}
    [ -d "/lib/modules/$v/kernel" ] || continue
    if [ -z "$bestv" ] || [ "$(printf '%s\n%s\n' "$bestv" "$v" | sort -V | tail -n1)" = "$v" ]; then
      best=$k bestv=$v
    fi
  done
  [ -n "$best" ] || die "no /boot/vmlinuz-* with /lib/modules/<ver>; run tests/vm/setup.sh"
  KERNEL=$best KVER=$bestv
}

# ---------------------------------------------------------------- initramfs
# /init of the guest. Reads WORK/.hotshoe-vm/ctl (shell, written by the host).
init_script() {
  cat <<'INIT'
#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /mnt
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 3 > /proc/sys/kernel/printk 2>/dev/null

fail() { echo "hotshoe-vm init: $*"; sleep 1; poweroff -f; reboot -f; }

for m in $(cat /modules.load); do
  modprobe "$m" 2>/dev/null || insmod "/lib/modules/$(uname -r)/$(grep "/$m.ko:" /lib/modules/$(uname -r)/modules.dep | cut -d: -f1)" \
    || echo "hotshoe-vm init: cannot load $m"
done

mkdir -p /mnt/host /mnt/work /mnt/rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /mnt/host \
  || fail "cannot mount hostroot over 9p"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=mmap work /mnt/work \
  || fail "cannot mount work over 9p"
CTL=/mnt/work/.hotshoe-vm
[ -r $CTL/ctl ] || fail "no $CTL/ctl"
. $CTL/ctl   # sets WORK, SCRIPT, and the exported guest environment (ENV_* via export lines)
cat /proc/uptime > $CTL/ready-uptime

# Root = host root (read-only 9p) with a tmpfs copy-on-write upper layer.
mount -t tmpfs -o mode=0755 rw /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
if mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot 2>/dev/null; then
  ROOTMODE=overlay
else
  # Fallback: read-only root, tmpfs over the usual writable places.
  mount --bind /mnt/host /newroot
  for d in tmp var/tmp root; do mount -t tmpfs tmpfs /newroot/$d; done
  ROOTMODE=readonly
fi
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount --rbind /dev /newroot/dev
mount --bind /proc /newroot/proc
mount --bind /sys /newroot/sys
mount -t tmpfs -o mode=0755 run /newroot/run
mkdir -p "/newroot$WORK" 2>/dev/null
mount --move /mnt/work "/newroot$WORK" || fail "cannot place work dir at $WORK"
CTL="/newroot$WORK/.hotshoe-vm"
echo "$ROOTMODE" > "$CTL/rootmode"
hostname hotshoe-vm 2>/dev/null
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null

cat /proc/uptime > "$CTL/script-start-uptime"
if [ -x "/newroot$SCRIPT" ]; then
  chroot /newroot /bin/sh -c 'cd "$HOTSHOE_VM_WORK" && exec "$0" "$@"' "$SCRIPT" "$@"
else
  chroot /newroot /bin/sh -c 'cd "$HOTSHOE_VM_WORK" && exec /bin/sh "$0" "$@"' "$SCRIPT" "$@"
fi
rc=$?
cat /proc/uptime > "$CTL/script-end-uptime"
echo $rc > "$CTL/exit"
sync
umount "/newroot$WORK" 2>/dev/null
poweroff -f
reboot -f
INIT
}

# Resolve a module name to its file and (recursive) dependencies, in load order.
declare -A SEEN=()
LOAD_ORDER=()
MOD_FILES=()
resolve_module() {
  local m=$1 f deps d
  m=${m//-/_}
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  f=$(modinfo -k "$KVER" -n "$m" 2>/dev/null) || f=""
  if [ -z "$f" ] || [ "$f" = "(builtin)" ] || [[ "$f" != /* ]]; then
    return 0   # built into the kernel (or absent): nothing to copy
  fi
  deps=$(modinfo -k "$KVER" -F depends "$m" 2>/dev/null | tr ',' ' ')
  for d in $deps; do resolve_module "$d"; done
  MOD_FILES+=("$f")
  LOAD_ORDER+=("$m")
}

build_initrd() {
  pick_kernel
  local hash
  hash=$( { init_script; echo "$INITRD_FORMAT ${MODULES[*]}"; stat -c '%Y %s' "/lib/modules/$KVER/modules.dep" 2>/dev/null; } | sha256sum | cut -c1-12)
  INITRD="$CACHE/initrd-$KVER-$hash.cpio"
  [ -s "$INITRD" ] && return 0
  command -v busybox >/dev/null || die "busybox missing; run tests/vm/setup.sh"
  local bb; bb=$(command -v busybox)
  ldd "$bb" >/dev/null 2>&1 && die "$bb is not static (need busybox-static)"
  mkdir -p "$CACHE"
  local stage; stage=$(mktemp -d "$CACHE/stage.XXXXXX")
  mkdir -p "$stage"/{bin,sbin,proc,sys,dev,tmp,mnt,newroot,etc} "$stage/lib/modules/$KVER"
  cp "$bb" "$stage/bin/busybox"
  init_script > "$stage/init"; chmod 755 "$stage/init"
  local m
  for m in "${MODULES[@]}"; do resolve_module "$m"; done
  local f rel dst
  for f in "${MOD_FILES[@]}"; do
    rel=${f#/lib/modules/$KVER/}; rel=${rel#/usr}
    rel=${rel#/lib/modules/$KVER/}
    dst="$stage/lib/modules/$KVER/$rel"
    mkdir -p "$(dirname "$dst")"
    case "$f" in
      *.ko.xz)  xz -dc "$f" > "${dst%.xz}" ;;
      *.ko.zst) zstd -qdc "$f" > "${dst%.zst}" ;;
      *.ko.gz)  gzip -dc "$f" > "${dst%.gz}" ;;
      *)        cp "$f" "$dst" ;;
    esac
  done
  for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -e "/lib/modules/$KVER/$f" ] && cp "/lib/modules/$KVER/$f" "$stage/lib/modules/$KVER/"
  done
  depmod -b "$stage" "$KVER"
  printf '%s\n' "${LOAD_ORDER[@]}" > "$stage/modules.load"
  (cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) > "$INITRD.tmp.$$"
  mv -f "$INITRD.tmp.$$" "$INITRD"
  rm -rf "$stage"
  # Drop stale images for other kernels / older init scripts.
  find "$CACHE" -maxdepth 1 -name 'initrd-*.cpio' ! -path "$INITRD" -mmin +60 -delete 2>/dev/null || true
}

# ---------------------------------------------------------------- monitor
mon_send() {  # SOCK CMD -> prints the monitor's answer
  local sock=$1; shift
  local cmd="$*"
  [ -S "$sock" ] || die "monitor socket $sock does not exist"
  if command -v socat >/dev/null; then
    # Give qemu a moment to answer before socat closes.
    { printf '%s\n' "$cmd"; sleep 0.5; } | socat -t 2 - "UNIX-CONNECT:$sock" \
      | tr -d '\r' | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\x1b[^[]//g' \
      | grep -v -e '^QEMU .* monitor' -e '^(qemu)' -e "^$(printf '%s' "$cmd" | sed 's/[][\.*^$/]/\\&/g')\$" || true
  else
    python3 - "$sock" "$cmd" <<'PY'
import re, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.settimeout(5)
def until_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        d = s.recv(65536)
        if not d: break
        buf += d
    return buf
until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
out = until_prompt().decode(errors="replace")
out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\x1b[^\[]", "", out).replace("\r", "")
lines = [l for l in out.split("\n") if l.strip() and not l.startswith("(qemu)") and l.strip() != sys.argv[2]]
print("\n".join(lines))
PY
  fi
}

mon_checked() {  # fail if the monitor answered with an error
  local out; out=$(mon_send "$@")
  [ -n "$out" ] && echo "$out"
  if printf '%s' "$out" | grep -qiE 'error|not found|failed|invalid'; then
    return 1
  fi
}

cmd_wait_monitor() {
  local sock=$1 secs=${2:-30} i=0
  while [ $i -lt $((secs * 10)) ]; do
    if [ -S "$sock" ] && mon_send "$sock" "info version" | grep -q '[0-9]'; then return 0; fi
    sleep 0.1; i=$((i + 1))
  done
  die "monitor $sock not ready after ${secs}s"
}

# ---------------------------------------------------------------- run
kill_vm() {  # CTL_DIR SUBSHELL_PID
  local qpid
  qpid=$(cat "$1/qemu.pid" 2>/dev/null || true)
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
  kill "$2" 2>/dev/null
  log "interrupted: VM killed"
}

cmd_run() {
  local mtp="" work="" mon="" timeout=300 desc=$DEFAULT_DESC mem=1024 smp=2 logf="" quiet=0 append="" camera=1
  local -a envs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --mtp-dir) mtp=$2; shift 2 ;;
      --work) work=$2; shift 2 ;;
      --monitor) mon=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --desc) desc=$2; shift 2 ;;
      --mem) mem=$2; shift 2 ;;
      --smp) smp=$2; shift 2 ;;
      -e|--env) envs+=("$2"); shift 2 ;;
      --log) logf=$2; shift 2 ;;
      -q|--quiet) quiet=1; shift ;;
      --append) append=$2; shift 2 ;;
      --no-camera) camera=0; shift ;;
      --) shift; break ;;
      -h|--help) usage; exit 0 ;;
      *) echo "$ME run: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
  done
  [ $# -ge 1 ] || { echo "$ME run: missing GUEST_SCRIPT" >&2; usage >&2; exit 2; }
  [ -n "$work" ] || { echo "$ME run: --work is required" >&2; exit 2; }
  if [ "$camera" = 1 ]; then
    [ -n "$mtp" ] || { echo "$ME run: --mtp-dir is required (or --no-camera)" >&2; exit 2; }
    [ -d "$mtp" ] || die "--mtp-dir $mtp is not a directory"
    mtp=$(cd "$mtp" && pwd -P)
  fi
  mkdir -p "$work"; work=$(cd "$work" && pwd -P)
  local script=$1; shift
  case "$script" in /*) ;; *) script="$(pwd -P)/$script" ;; esac
  [ -f "$script" ] || die "guest script $script not found"
  case "$desc" in *[,\ ]*) die "--desc must not contain commas or spaces" ;; esac

  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing; run tests/vm/setup.sh"
  build_initrd   # sets KERNEL KVER INITRD

  local ctl="$work/.hotshoe-vm"
  rm -rf "$ctl"; mkdir -p "$ctl"
  [ -n "$logf" ] || logf="$ctl/console.log"
  {
    printf 'WORK=%q\n' "$work"
    printf 'SCRIPT=%q\n' "$script"
    printf 'set -- '; [ $# -gt 0 ] && printf '%q ' "$@"; printf '\n'
    printf 'export HOTSHOE_VM=1\n'
    printf 'export HOTSHOE_VM_WORK=%q\n' "$work"
    printf 'export HOME=/root TERM=dumb LANG=C.UTF-8\n'
    printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n'
    local e
    for e in "${envs[@]}"; do
      [[ "$e" == *=* ]] || die "--env expects NAME=VALUE, got $e"
      printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
    done
  } > "$ctl/ctl"

  local -a qemu=(qemu-system-x86_64 -accel tcg -m "$mem" -smp "$smp"
    -nodefaults -no-user-config -display none -serial stdio -no-reboot
    -kernel "$KERNEL" -initrd "$INITRD"
    -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off tsc=reliable 8250.nr_uarts=1 $append"
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
    -virtfs "local,path=$work,mount_tag=work,security_model=none,multidevs=remap"
    -device qemu-xhci,id=xhci
    -pidfile "$ctl/qemu.pid")
  if [ "$camera" = 1 ]; then
    qemu+=(-device "usb-mtp,rootdir=$mtp,desc=$desc,readonly=off,id=cam,bus=xhci.0")
  fi
  if [ -n "$mon" ]; then
    rm -f "$mon"
    qemu+=(-monitor "unix:$mon,server=on,wait=off")
  else
    qemu+=(-monitor none)
  fi

  local t0 t1 qrc
  t0=$(date +%s.%N)
  echo "$t0" > "$ctl/host-start"
  # Run in the background and `wait`, so that INT/TERM traps run at once
  # (bash defers traps while a foreground pipeline runs) and kill qemu
  # (`timeout` puts qemu in its own process group, away from Ctrl-C).
  (
    set +e
    if [ "$quiet" = 1 ]; then
      timeout -k 5 "$timeout" "${qemu[@]}" < /dev/null 2>&1 | tr -d '\r' > "$logf"
    else
      timeout -k 5 "$timeout" "${qemu[@]}" < /dev/null 2>&1 | tr -d '\r' | tee "$logf"
    fi
    exit "${PIPESTATUS[0]}"
  ) &
  local vpid=$!
  trap 'kill_vm "$ctl" "$vpid"; exit 130' INT TERM HUP
  set +e
  wait "$vpid"; qrc=$?
  set -e
  trap - INT TERM HUP
  t1=$(date +%s.%N)
  [ -n "$mon" ] && rm -f "$mon"

  local boot="?" total
  total=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  if [ -e "$ctl/script-start-uptime" ]; then
    boot=$(awk -v a="$t0" -v b="$(stat -c %.3Y "$ctl/script-start-uptime")" 'BEGIN{printf "%.2f", b-a}')
  fi
  printf 'boot_s=%s\ntotal_s=%s\n' "$boot" "$total" > "$ctl/timings"

  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    log "timeout after ${timeout}s: VM killed (boot ${boot}s; console log: $logf)"
    exit 124
  fi
  if [ ! -s "$ctl/exit" ]; then
    log "VM failed: no exit code from the guest (qemu rc=$qrc; console log: $logf)"
    [ "$quiet" = 1 ] && tail -n 20 "$logf" >&2
    exit 125
  fi
  local rc; rc=$(cat "$ctl/exit")
  log "guest script exited $rc (boot ${boot}s, total ${total}s)"
  exit "$rc"
}

# ---------------------------------------------------------------- main
[ $# -ge 1 ] || { usage >&2; exit 2; }
sub=$1; shift
case "$sub" in
  run) cmd_run "$@" ;;
  unplug)
    [ $# -eq 1 ] || { usage >&2; exit 2; }
    mon_checked "$1" "device_del cam" ;;
  plug)
    [ $# -ge 2 ] || { usage >&2; exit 2; }
    dir=$(cd "$2" && pwd -P); desc=${3:-$DEFAULT_DESC}
    mon_checked "$1" "device_add usb-mtp,rootdir=$dir,desc=$desc,readonly=off,id=cam,bus=xhci.0" ;;
  monitor)
    [ $# -ge 2 ] || { usage >&2; exit 2; }
    s=$1; shift; mon_send "$s" "$*" ;;
  wait-monitor) cmd_wait_monitor "$@" ;;
  initrd) build_initrd; echo "$INITRD" ;;
  kernel) pick_kernel; echo "$KERNEL $KVER" ;;
  -h|--help|help) usage ;;
  *) echo "$ME: unknown command $sub" >&2; usage >&2; exit 2 ;;
esac
