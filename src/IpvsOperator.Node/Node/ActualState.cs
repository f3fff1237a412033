using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>What the kernel holds now, as read back through the dataplane.</summary>
internal sealed record ActualState(
    IReadOnlySet<IPAddressValue> BoundAddresses,
    IReadOnlyDictionary<VirtualServiceKey, (VirtualService Service, IReadOnlyList<Destination> Destinations)> Services);
