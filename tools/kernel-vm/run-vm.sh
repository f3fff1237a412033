#!/usr/bin/env bash
# Boots Debian's kernel under qemu (TCG, no KVM needed) with the host's root shared read-only and
# WORK_DIR shared read-write, runs GUEST_CMD (a path inside the guest) and exits with its code.
# 97: qemu failed or the time limit passed (VM_TIMEOUT seconds, default an hour: the whole suite
# takes 8-10 minutes on an idle machine and was seen past 40 under emulation on a machine busy
# with two other jobs; CI's own limit is 90 minutes). The guest has no network device: tests reach
# only addresses they create themselves inside it.
# Usage: run-vm.sh WORK_DIR GUEST_CMD
set -uo pipefail
W=${1:?usage: run-vm.sh WORK_DIR GUEST_CMD}; CMD=${2:?usage: run-vm.sh WORK_DIR GUEST_CMD}
HERE=$(cd "$(dirname "$0")" && pwd)
KV=$(cat "$W/kernel/KV")
rm -f "$W/out/rc"

timeout "${VM_TIMEOUT:-3600}" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m 6144 \
  -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -kernel "$W/kernel/boot/vmlinuz-$KV" -initrd "$W/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off guestinit=$HERE/guest-init.sh guestcmd=$CMD" \
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
  -fsdev local,id=share,path="$W",security_model=none,multidevs=remap \
  -device virtio-9p-pci,fsdev=share,mount_tag=share \
  < /dev/null
qrc=$?
[ "$qrc" = 0 ] && [ -f "$W/out/rc" ] && exit "$(cat "$W/out/rc")"
echo "qemu exited $qrc without a guest result" >&2
exit 97
