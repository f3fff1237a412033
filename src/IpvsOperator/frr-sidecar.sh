#!/bin/bash
# The FRR sidecar of the node agent (config/bgp): zebra, bgpd and bfdd (bgpd's BFD sessions go
# through zebra to bfdd) in the foreground of this container. The agent writes the configuration to
# $FRR_CONF_DIR/frr.conf and applies changes with frr-reload.py through the vty sockets in $FRR_RUN; both are
# volumes shared with it. At start the file the agent wrote last is loaded (vtysh -b), so a restarted
# FRR announces again at once. When one daemon ends, the container ends, and the kubelet starts it
# again. FRR_PATHSPACE (empty in the DaemonSet) lets the tests run it beside another FRR.
#
# The container is root with no DAC_OVERRIDE and no KILL (config/bgp), so:
# - frr.conf stays the agent's (root, 0600: it holds the sessions' passwords); root reads it as its
#   owner, and the daemons, which drop to frr, never read it;
# - vtysh reaches the daemons' sockets (frr:frrvty, 0770) because the image puts root in frrvty;
# - the daemons run as frr, so they are signalled as frr.
set -uo pipefail
conf=${FRR_CONF_DIR:-/etc/frr}/frr.conf
run=${FRR_RUN:-/var/run/frr}
pathspace=${FRR_PATHSPACE:-}
namespace_args=()
[ -n "$pathspace" ] && namespace_args=(-N "$pathspace")

mkdir -p "$run" "$(dirname "$conf")" "/var/run/frr/$pathspace"
[ -s "$conf" ] || echo "frr defaults traditional" > "$conf"
touch "$(dirname "$conf")/vtysh.conf"
# The sockets of the daemons that ran before a restart: the wait below must see the new ones.
rm -f "$run"/*.vty "$run"/*.pid
chown frr:frr "$run" "/var/run/frr/$pathspace"

pids=()
stop_daemons() {
  setpriv --reuid=frr --regid=frr --clear-groups /bin/sh -c 'kill "$@" 2>/dev/null' kill "${pids[@]}"
}
for daemon in zebra bgpd bfdd; do
  /usr/lib/frr/$daemon -u frr -g frr --vty_socket "$run" -i "$run/$daemon.pid" "${namespace_args[@]}" --log stdout &
  pids+=($!)
done
trap stop_daemons TERM INT

# True while every daemon runs (an ended one is a zombie until the wait below reaps it). Read from
# /proc: without KILL, root may not even probe the frr-owned daemons with kill -0.
all_running() {
  local pid state
  for pid in "${pids[@]}"; do
    read -r _ _ state _ 2>/dev/null < "/proc/$pid/stat" || return 1
    [ "$state" != Z ] || return 1
  done
}
# No time bound: on a loaded node the daemons may take far longer than usual to listen, and loading
# before they do would announce nothing until the agent's next check. A daemon that ends ends the
# wait, and the container below.
for daemon in zebra bgpd bfdd; do
  until [ -S "$run/$daemon.vty" ] || ! all_running; do sleep 0.1; done
done
vtysh --vty_socket "$run" -b --config_dir "$(dirname "$conf")" || echo "frr-sidecar: could not load $conf; the agent applies it at its next check" >&2

wait -n "${pids[@]}"
status=$?
echo "frr-sidecar: a daemon ended ($status); stopping the others so that the container restarts" >&2
stop_daemons
wait
exit "$status"
