#!/bin/bash
# PID 1 in the guest (the root is a writable overlay of the host's, so /tmp is not remounted: the
# repository may live there). Mounts what the tests need, run the command given on the kernel command line
# (guestcmd=PATH, args in guestargs= with commas), write its exit code to the share, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run
SHARE=/mnt/share
mkdir -p $SHARE && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share $SHARE
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/netns /var/run && ln -sfn /run /var/run 2>/dev/null
mkdir -p /lib/modules && ln -sfn $SHARE/kernel/lib/modules/$(uname -r) /lib/modules/$(uname -r)
export IPVSOP_SHARE=$SHARE
hostname ipvsvm; ip link set lo up
CMD=; for a in $(cat /proc/cmdline); do case "$a" in guestcmd=*) CMD="${a#guestcmd=}";; esac; done
echo "GUEST: kernel $(uname -r) up at $(cut -d' ' -f1 /proc/uptime)s; running $CMD"
"$CMD"; rc=$?
echo "GUEST: exited rc=$rc at $(cut -d' ' -f1 /proc/uptime)s"
echo "$rc" > $SHARE/out/rc; sync
echo o > /proc/sysrq-trigger
sleep 10; /bin/busybox poweroff -f
