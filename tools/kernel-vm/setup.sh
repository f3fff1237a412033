#!/usr/bin/env bash
# One-time setup of the kernel VM (Debian host, root): qemu and tools from Debian's packages, and
# Debian's own kernel, extracted (not installed: installing would pull initramfs-tools and upgrade
# systemd on the host) with just the modules the tests need, plus a small initramfs.
# Usage: setup.sh WORK_DIR      Idempotent: a second run with everything in place takes a second.
set -euo pipefail
W=${1:?usage: setup.sh WORK_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W/out"
export DEBIAN_FRONTEND=noninteractive
need=()
for tool in qemu-system-x86_64:qemu-system-x86 ipvsadm:ipvsadm busybox:busybox-static modprobe:kmod ip:iproute2 curl:curl bc:bc nft:nftables tcpdump:tcpdump; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
[ -x /bin/busybox ] && file /bin/busybox 2>/dev/null | grep -q 'statically' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -f "$W/kernel/KV" ] && [ -f "$W/initramfs.cpio.gz" ] && [ -f "$W/kernel/boot/vmlinuz-$(cat "$W/kernel/KV")" ]; then
  echo "kernel VM ready: $(cat "$W/kernel/KV")"
  exit 0
fi
cd "$W"
[ -n "$(apt-cache depends linux-image-amd64 2>/dev/null)" ] || apt-get update -qq
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
KV=${KPKG#linux-image-}
rm -f linux-image-*.deb
apt-get download -qq "$KPKG"
rm -rf kernel && mkdir kernel
dpkg-deb --fsys-tarfile linux-image-*.deb | tar -x -C kernel --wildcards \
  "./boot/vmlinuz-$KV" "./lib/modules/$KV/modules.*" \
  "./lib/modules/$KV/kernel/net/*" "./lib/modules/$KV/kernel/lib/*" \
  "./lib/modules/$KV/kernel/crypto/*" "./lib/modules/$KV/kernel/arch/*" \
  "./lib/modules/$KV/kernel/fs/9p/*" "./lib/modules/$KV/kernel/fs/netfs/*" \
  "./lib/modules/$KV/kernel/fs/fscache/*" "./lib/modules/$KV/kernel/fs/overlayfs/*" \
  "./lib/modules/$KV/kernel/drivers/virtio/*" "./lib/modules/$KV/kernel/drivers/net/dummy.ko" \
  "./lib/modules/$KV/kernel/drivers/net/veth.ko"
rm -f linux-image-*.deb
depmod -b "$W/kernel" "$KV"
echo "$KV" > kernel/KV
M=kernel/lib/modules/$KV/kernel
rm -rf initramfs && mkdir -p initramfs/{bin,m,proc,sys,dev,lower,rw,newroot}
cp /bin/busybox initramfs/bin/ && cp "$HERE/initramfs-init" initramfs/init && chmod +x initramfs/init
for p in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache \
         net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
  [ -f "$M/$p.ko" ] && cp "$M/$p.ko" initramfs/m/
done
(cd initramfs && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > ../initramfs.cpio.gz)
rm -rf initramfs
echo "kernel VM ready: $KV ($(du -sh kernel | cut -f1))"
