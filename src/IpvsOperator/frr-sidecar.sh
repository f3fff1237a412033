#!/bin/bash
# The FRR sidecar of the node agent (config/bgp): zebra, bgpd and bfdd (bgpd's BFD sessions go
# through zebra to bfdd) in the foreground of this container. The agent writes the configuration to
# $FRR_CONF_DIR/frr.conf and applies changes with frr-reload.py through the vty sockets in $FRR_RUN; both are
# volumes shared with it. At start the file the agent wrote last is loaded (vtysh -b), so a restarted
# FRR announces again at once. When one daemon ends, the container ends, and the kubelet starts it
# again. FRR_PATHSPACE (empty in the DaemonSet) lets the tests run it beside another FRR.
set -uo pipefail
conf=${FRR_CONF_DIR:-/etc/frr}/frr.conf
run=${FRR_RUN:-/var/run/frr}
pathspace=${FRR_PATHSPACE:-}
namespace_args=()
[ -n "$pathspace" ] && namespace_args=(-N "$pathspace")

mkdir -p "$run" "$(dirname "$conf")" "/var/run/frr/$pathspace"
[ -s "$conf" ] || echo "frr defaults traditional" > "$conf"
touch "$(dirname "$conf")/vtysh.conf"
chown frr:frr "$run" "$(dirname "$conf")" "$conf" "/var/run/frr/$pathspace"

pids=()
for daemon in zebra bgpd bfdd; do
  /usr/lib/frr/$daemon -u frr -g frr --vty_socket "$run" -i "$run/$daemon.pid" "${namespace_args[@]}" --log stdout &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' TERM INT

for daemon in zebra bgpd bfdd; do
  for _ in $(seq 100); do [ -S "$run/$daemon.vty" ] && break; sleep 0.1; done
done
vtysh --vty_socket "$run" -b --config_dir "$(dirname "$conf")" || echo "frr-sidecar: could not load $conf; the agent applies it at its next check" >&2

wait -n "${pids[@]}"
status=$?
echo "frr-sidecar: a daemon ended ($status); stopping the others so that the container restarts" >&2
kill "${pids[@]}" 2>/dev/null
wait
exit "$status"
