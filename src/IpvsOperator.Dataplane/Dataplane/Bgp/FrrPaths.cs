namespace IpvsOperator.Dataplane.Bgp;

/// <summary>Where FRR's sockets, tools and configuration are, as the agent's container sees them.</summary>
/// <param name="SocketDirectory">The daemons' vty sockets (shared with the FRR sidecar).</param>
/// <param name="ConfigurationFile">The integrated frr.conf (shared too: FRR reads it when it starts).</param>
/// <param name="BinDirectory">Where vtysh is.</param>
/// <param name="Reload">FRR's frr-reload.py (Debian's frr-pythontools).</param>
/// <param name="Netstat">The kernel's TCP counters of the network namespace FRR speaks from (the node's: the agent and FRR use the host's network).</param>
public sealed record FrrPaths(
    string SocketDirectory = "/var/run/frr",
    string ConfigurationFile = "/etc/frr/frr.conf",
    string BinDirectory = "/usr/bin",
    string Reload = "/usr/lib/frr/frr-reload.py",
    string Netstat = "/proc/net/netstat");
