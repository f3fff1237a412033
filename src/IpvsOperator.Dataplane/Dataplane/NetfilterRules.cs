namespace IpvsOperator.Dataplane;

/// <summary>
/// What the node agent's netfilter table holds: the virtual services whose forwarded connections
/// are masqueraded, and every virtual service served, whose address and port (and protocol) are
/// the only ones let through on the VIPs.
/// </summary>
public sealed record NetfilterRules(IReadOnlySet<VirtualServiceKey> Masquerade, IReadOnlySet<VirtualServiceKey> Served)
{
    public static readonly NetfilterRules None = new(new HashSet<VirtualServiceKey>(), new HashSet<VirtualServiceKey>());

    /// <summary>Whether <paramref name="other"/> asks for the same rules (records compare sets by reference).</summary>
    public bool SameAs(NetfilterRules? other) => other is not null && Masquerade.SetEquals(other.Masquerade) && Served.SetEquals(other.Served);
}
