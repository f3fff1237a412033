#!/bin/bash
# Runs inside the VM: the test category Kernel against the real kernel, results to the share.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_lc ip_vs_wlc ip_vs_dh ip_vs_mh dummy veth bridge nf_conntrack \
  nf_tables nft_chain_nat nft_ct nft_masq nf_nat || { echo "GUEST: modprobe failed"; exit 2; }
# Forwarding is on on every Kubernetes node. net.ipv4.vs.conntrack is left to the node agent, which sets it.
sysctl -qw net.ipv4.ip_forward=1
export DOTNET_TieredPGO=0
# Emulated CPUs: every wait of the tests is this many times longer (a wait says "by now", never "this fast").
export IPVSOP_TEST_TIME_SCALE=${IPVSOP_TEST_TIME_SCALE:-6}
# make test-kernel KERNEL_FILTER=... narrows the run (written to the share by the Makefile).
extra=$(cat "$IPVSOP_SHARE/filter" 2>/dev/null)
# make test-kernel AGENT=aot (the default): the fixtures start the Native AOT agent the image ships.
if [ "$(cat "$IPVSOP_SHARE/agent" 2>/dev/null)" = aot ]; then
  export IPVSOP_NODE_AGENT="$REPO/out/node-aot/ipvs-operator-node"
  [ -x "$IPVSOP_NODE_AGENT" ] || { echo "GUEST: $IPVSOP_NODE_AGENT is missing (make node-aot)"; exit 2; }
fi
# The test assemblies that hold a test of the category Kernel (a test host starts slowly under TCG).
assemblies=()
for project in "$REPO"/tests/*.Tests; do
  grep -rqs --include='*.cs' 'Category("Kernel")' "$project" && assemblies+=("$project/bin/Debug/net10.0/$(basename "$project").dll")
done
dotnet vstest "${assemblies[@]}" \
  --TestCaseFilter:"TestCategory=Kernel${extra:+&$extra}" \
  --logger:"console;verbosity=$(cat "$IPVSOP_SHARE/console" 2>/dev/null || echo minimal)" \
  --logger:"trx;LogFileName=kernel.trx" --ResultsDirectory:"$IPVSOP_SHARE/out" 2>&1 | tee "$IPVSOP_SHARE/out/kernel-tests.log"
exit "${PIPESTATUS[0]}"
