namespace IpvsOperator.Dataplane;

/// <summary>
/// The return path of forwarded traffic. An endpoint on another node answers through its own
/// node; unless the connection is source-NATed here, the client gets replies from an address it
/// never spoke to. Done as kube-proxy's IPVS mode does it: IPVS keeps conntrack entries
/// (net.ipv4.vs.conntrack=1) and the forwarded connections are masqueraded.
/// </summary>
public interface ISourceNat
{
    /// <summary>
    /// Makes the kernel masquerade exactly these virtual services' forwarded connections. Returns
    /// the writes made: 0 when the kernel already holds that (a re-sync with nothing to change).
    /// <paramref name="verify"/> re-reads the kernel (periodic re-sync) instead of trusting the last write.
    /// </summary>
    int Apply(IReadOnlySet<VirtualServiceKey> services, bool verify);
}
