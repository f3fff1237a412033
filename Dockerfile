# One image for both components: `controller` (runs as non-root) and `node` (the DaemonSet runs it
# as root with NET_ADMIN only), and for the FRR sidecar of config/bgp (frr-sidecar.sh).
# Build: make docker-build IMG=<registry>/ipvs-operator:<tag>
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY IpvsOperator/IpvsOperator.csproj IpvsOperator/
RUN dotnet restore IpvsOperator/IpvsOperator.csproj -r linux-x64
COPY IpvsOperator/ IpvsOperator/
# ReadyToRun: compiled ahead of time, so a node agent's first sync does not wait for the JIT.
RUN dotnet publish IpvsOperator/IpvsOperator.csproj -c Release --no-restore -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true -p:UseAppHost=false -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# nft: the node agent writes its source NAT table with it, as kube-proxy's nftables mode does.
# frr (zebra, bgpd, bfdd, vtysh) and frr-pythontools (frr-reload.py): BGP, from Debian's packages.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables frr frr-pythontools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out ./
COPY IpvsOperator/frr-sidecar.sh /app/frr-sidecar.sh
ENV DOTNET_EnableDiagnostics=0
USER 65532:65532
ENTRYPOINT ["dotnet", "/app/ipvs-operator.dll"]
CMD ["--help"]
