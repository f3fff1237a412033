# One image for both components and the FRR sidecar of config/bgp (frr-sidecar.sh):
# - the controller, `dotnet /app/ipvs-operator.dll controller` (the entry point; runs as non-root);
# - the node agent, /app/ipvs-operator-node: the same projects built with Native AOT (src/IpvsOperator.NodeAgent),
#   a third of the JIT build's memory and ready in a fraction of its time (docs/benchmarks.md,
#   Footprint). The DaemonSet runs it as root with NET_ADMIN and NET_RAW only.
# Build: make docker-build IMG=<registry>/ipvs-operator:<tag>
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
# ReadyToRun: compiled ahead of time, so a node agent's first sync does not wait for the JIT.
RUN dotnet publish src/IpvsOperator/IpvsOperator.csproj -c Release -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true -p:UseAppHost=false -o /out

# The node agent, Native AOT: the ILCompiler links with clang against zlib.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS node-build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
# Its projects against KubernetesClient.Aot (Directory.Build.props): only what the agent references.
RUN dotnet publish src/IpvsOperator.NodeAgent/IpvsOperator.NodeAgent.csproj -c Release -r linux-x64 -p:KubernetesClientFlavor=Aot -o /out \
 && rm /out/*.dbg

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# nft: the node agent writes its source NAT table with it, as kube-proxy's nftables mode does.
# frr (zebra, bgpd, bfdd, vtysh) and frr-pythontools (frr-reload.py): BGP, from Debian's packages.
# root in frrvty: the agent and the sidecar (root without DAC_OVERRIDE) reach the daemons' vty
# sockets (frr:frrvty 0770) through the group the runtime gives them from this /etc/group.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables frr frr-pythontools \
 && rm -rf /var/lib/apt/lists/* \
 && usermod -a -G frrvty root
WORKDIR /app
COPY --from=build /out ./
COPY --from=node-build /out/ipvs-operator-node /app/ipvs-operator-node
COPY src/IpvsOperator/frr-sidecar.sh /app/frr-sidecar.sh
ENV DOTNET_EnableDiagnostics=0
USER 65532:65532
ENTRYPOINT ["dotnet", "/app/ipvs-operator.dll"]
CMD ["--help"]
