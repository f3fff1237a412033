#!/bin/bash
# Runs inside the VM: the IPVS programming benchmark (client versus ipvsadm -R), output to the share.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
modprobe -a ip_vs ip_vs_rr || exit 2
dotnet "$REPO/benchmarks/IpvsOperator.Benchmarks/bin/Release/net10.0/IpvsOperator.Benchmarks.dll" ipvs 2>&1 | tee "$IPVSOP_SHARE/out/ipvs-bench.txt"
exit "${PIPESTATUS[0]}"
