#!/usr/bin/env bash
# Install what the qemu usb-mtp VM harness needs (tests/vm/vm.sh).
# Idempotent, quiet, no prompts. Run as root on Debian 12.
# Only runs `apt-get update` / `apt-get install` when something is missing.
set -euo pipefail

PKGS=(
  qemu-system-x86    # qemu-system-x86_64, qemu-xhci, usb-mtp, virtio-9p
  linux-image-amd64  # guest kernel (/boot/vmlinuz-*) + modules
  busybox-static     # guest userland for the initramfs
  gphoto2            # reference PTP client, runs in the guest from the host root
  kmod               # modinfo / depmod on the host to build the initramfs
  cpio               # pack the initramfs
  xz-utils           # decompress .ko.xz modules
  zstd               # decompress .ko.zst modules
  socat              # talk to the qemu monitor socket (python3 fallback exists)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# linux-image-amd64 is a metapackage: also require an actual kernel with modules.
have_kernel=0
for k in /boot/vmlinuz-*; do
  [ -e "$k" ] || continue
  v=${k#/boot/vmlinuz-}
  [ -d "/lib/modules/$v/kernel" ] && have_kernel=1
done
if [ "$have_kernel" = 0 ] && [[ ! " ${missing[*]-} " =~ " linux-image-amd64 " ]]; then
  missing+=(linux-image-amd64)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "tests/vm/setup.sh: missing packages (${missing[*]}) and not root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "tests/vm/setup.sh: installing ${missing[*]}" >&2
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" >/dev/null
