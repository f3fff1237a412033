using IpvsOperator.Addressing;

namespace IpvsOperator.Node;

/// <summary>What changed since the last sync: the VIPs whose part must be rebuilt, or the whole.</summary>
internal sealed record VipChanges(bool Whole, IReadOnlySet<IPAddressValue> Vips)
{
    public static VipChanges None { get; } = new(false, new HashSet<IPAddressValue>());
}
