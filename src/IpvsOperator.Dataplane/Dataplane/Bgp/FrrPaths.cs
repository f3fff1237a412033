namespace IpvsOperator.Dataplane.Bgp;

/// <summary>Where FRR's sockets, tools and configuration are, as the agent's container sees them.</summary>
/// <param name="SocketDirectory">The daemons' vty sockets (shared with the FRR sidecar).</param>
/// <param name="ConfigurationFile">The integrated frr.conf (shared too: FRR reads it when it starts).</param>
/// <param name="BinDirectory">Where vtysh is.</param>
/// <param name="Reload">FRR's frr-reload.py (Debian's frr-pythontools).</param>
public sealed record FrrPaths(
    string SocketDirectory = "/var/run/frr",
    string ConfigurationFile = "/etc/frr/frr.conf",
    string BinDirectory = "/usr/bin",
    string Reload = "/usr/lib/frr/frr-reload.py");
