namespace IpvsOperator.Dataplane;

/// <summary>
/// The node agent's packet filter and NAT rules, in a table of its own:
/// <list type="bullet">
/// <item>the return path of forwarded traffic. An endpoint on another node answers through its own
/// node; unless the connection is source-NATed here, the client gets replies from an address it
/// never spoke to. Done as kube-proxy's IPVS mode does it: IPVS keeps conntrack entries
/// (net.ipv4.vs.conntrack=1) and the forwarded connections are masqueraded;</item>
/// <item>the VIPs' own ports. A VIP sits on a host interface, so without a filter it would answer on
/// every port the host listens on (sshd, the kubelet, the agent's metrics); only the ports and
/// protocols of the Services that hold it are let through to IPVS.</item>
/// </list>
/// </summary>
public interface INetfilter
{
    /// <summary>
    /// Makes the kernel hold exactly these rules. Returns the writes made: 0 when it already does (a
    /// re-sync with nothing to change). <paramref name="verify"/> re-reads the kernel (periodic
    /// re-sync) instead of trusting the last write.
    /// </summary>
    int Apply(NetfilterRules rules, bool verify);
}
