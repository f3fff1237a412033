namespace IpvsOperator.Dataplane.InMemory;

/// <summary>The netfilter table of the in-memory dataplane (local mode, host tests): remembers what it was asked.</summary>
public sealed class InMemoryNetfilter : INetfilter
{
    public NetfilterRules Rules { get; private set; } = NetfilterRules.None;

    /// <summary>The virtual services whose forwarded connections are masqueraded.</summary>
    public IReadOnlySet<VirtualServiceKey> Masqueraded => Rules.Masquerade;

    /// <summary>Set: every write fails with this message, as nft does when it cannot run (tests).</summary>
    public string? Failure { get; set; }

    public int Apply(NetfilterRules rules, bool verify)
    {
        if (Failure is { } failure)
        {
            throw new InvalidOperationException(failure);
        }
        if (Rules.SameAs(rules))
        {
            return 0;
        }
        Rules = new NetfilterRules(new HashSet<VirtualServiceKey>(rules.Masquerade), new HashSet<VirtualServiceKey>(rules.Served));
        return 1;
    }
}
