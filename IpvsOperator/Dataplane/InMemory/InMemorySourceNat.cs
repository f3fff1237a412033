namespace IpvsOperator.Dataplane.InMemory;

/// <summary>The source NAT of the in-memory dataplane (local mode, host tests): remembers what it was asked.</summary>
public sealed class InMemorySourceNat : ISourceNat
{
    public IReadOnlySet<VirtualServiceKey> Masqueraded { get; private set; } = new HashSet<VirtualServiceKey>();

    public int Apply(IReadOnlySet<VirtualServiceKey> services, bool verify)
    {
        if (Masqueraded.SetEquals(services))
        {
            return 0;
        }
        Masqueraded = new HashSet<VirtualServiceKey>(services);
        return 1;
    }
}
