#!/bin/bash
# Runs inside the VM: the node agent benchmark (convergence at 2,000 Services) on real IPVS and nftables.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
modprobe -a ip_vs ip_vs_rr dummy nf_conntrack nf_tables nft_chain_nat nft_ct nft_masq nf_nat || exit 2
sysctl -qw net.ipv4.ip_forward=1
dotnet "$REPO/benchmarks/IpvsOperator.Benchmarks/bin/Release/net10.0/IpvsOperator.Benchmarks.dll" node kernel 2>&1 | tee "$IPVSOP_SHARE/out/node-bench.txt"
exit "${PIPESTATUS[0]}"
