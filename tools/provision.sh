#!/usr/bin/env bash
# What the test suites need from the machine, installed where that is possible: the one place that
# knows it, used by `make test` (host) and `make node-aot` (aot), so by `.ci/run` too.
#
# Usage: provision.sh host|aot
#   As root with apt-get, installs what is missing from Debian's packages (apt-get update first, once)
#   and stops the daemons the packages start (the tests start their own, in network namespaces).
#   Otherwise installs nothing and prints one line: the packages missing and the tests they skip.
#   Exits 0 either way: a missing tool skips the tests that need it, and CI fails on a skipped test.
#   IPVSOP_PROVISION=no skips the installing (the report line is still printed).
set -uo pipefail
suite=${1:?usage: provision.sh host|aot}

# command-or-file  Debian package  the tests that need it
host_needs=(
  "nft|nftables|VipPortFilterTests"
  "busybox|busybox-static|VipPortFilterTests"
  "vtysh|frr|FrrSpeakerContractTests FrrConfigurationTests"
  "/usr/lib/frr/frr-reload.py|frr-pythontools|FrrSpeakerContractTests"
  "bird|bird2|FrrSpeakerContractTests"
  "promtool|prometheus|MonitoringConfigTests"
  "dot|graphviz|DiagramTests"
  "ip|iproute2|every test that builds a network namespace"
)
# The kernel VM's own tools (qemu, ipvsadm, busybox-static, ...) are installed by tools/kernel-vm/setup.sh.
aot_needs=(
  "clang|clang|the Native AOT link of make node-aot (the agent the kernel fixtures start)"
  "/usr/include/zlib.h|zlib1g-dev|the Native AOT link of make node-aot (the agent the kernel fixtures start)"
)
case "$suite" in
  host) needs=("${host_needs[@]}") ;;
  aot) needs=("${aot_needs[@]}") ;;
  *) echo "provision.sh: '$suite' is not a suite: valid are host and aot" >&2; exit 2 ;;
esac

present() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing() {
  local need packages=() tests=()
  for need in "${needs[@]}"; do
    IFS='|' read -r what package test <<<"$need"
    present "$what" && continue
    [[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
    if [[ $test =~ ^([A-Za-z]+Tests( |$))+$ ]]; then
      read -r -a names <<<"$test"; tests+=("${names[@]}")   # test classes, each named once
    else
      tests+=("$test")
    fi
  done
  echo "${packages[*]}"
  [ ${#tests[@]} -gt 0 ] && printf '%s\n' "${tests[@]}" | sort -u | paste -sd ',' | sed 's/,/, /g'
}

read -r -a packages <<<"$(missing | head -n 1)"
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "${IPVSOP_PROVISION:-yes}" != no ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "provision ($suite): installing ${packages[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  # A package's maintainer script must not start its daemon (bird, frr): the tests start their own.
  policy=/usr/sbin/policy-rc.d
  had_policy=no; [ -e "$policy" ] && had_policy=yes
  [ "$had_policy" = yes ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; } \
    || echo "provision ($suite): apt-get failed for ${packages[*]}" >&2
  [ "$had_policy" = yes ] || rm -f "$policy"
  # Where a daemon did start anyway (systemd ignores policy-rc.d), stop it.
  systemctl stop bird frr 2>/dev/null || true
fi

report=$(missing)
read -r -a packages <<<"$(head -n 1 <<<"$report")"
if [ ${#packages[@]} -gt 0 ]; then
  how="run as root to have them installed, or: apt-get install ${packages[*]}"
  echo "provision ($suite): missing ${packages[*]} ($how); skipped: $(tail -n +2 <<<"$report")" >&2
fi
exit 0
