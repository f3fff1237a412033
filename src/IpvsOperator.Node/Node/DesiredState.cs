using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// What the kernel should hold: VIPs to bind, virtual services with their destinations, and the
/// virtual services whose forwarded traffic must be source-NATed on this node (masq to endpoints
/// that may answer through another node; not Local, droute or tunnel).
/// </summary>
public sealed record DesiredState(
    IReadOnlySet<IPAddressValue> Addresses,
    IReadOnlyDictionary<VirtualServiceKey, (VirtualService Service, IReadOnlyList<Destination> Destinations)> Services,
    IReadOnlyList<ServiceWarning> Warnings,
    IReadOnlySet<VirtualServiceKey> SourceNat)
{
    /// <summary>The VIPs to announce on the LAN, with who may announce each and the Services on it.</summary>
    public IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> Announced { get; init; } = new Dictionary<IPAddressValue, AnnouncedAddress>();

    /// <summary>
    /// Every address an IPAllocation claims, served here or not: such an address on the bind
    /// interface is ours to remove, and only such an address may be announced.
    /// </summary>
    public IReadOnlySet<IPAddressValue> Allocated { get; init; } = new HashSet<IPAddressValue>();

    /// <summary>The endpoints to health-check, each with the Services (namespace, name) whose check it is.</summary>
    public IReadOnlyDictionary<Health.ProbeTarget, IReadOnlyCollection<(string Namespace, string Name)>> Probed { get; init; } =
        new Dictionary<Health.ProbeTarget, IReadOnlyCollection<(string, string)>>();

    /// <summary>
    /// Destinations (virtual service, address, port) to remove at once rather than drain: endpoints
    /// found down by a health check that resets connections. With net.ipv4.vs.expire_nodest_conn
    /// the kernel then ends their connections at the next packet, and the clients retry.
    /// </summary>
    public IReadOnlySet<(VirtualServiceKey Service, IPAddressValue Address, ushort Port)> Cut { get; init; } =
        new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>();

    public static DesiredState Empty { get; } = new(new HashSet<IPAddressValue>(), new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)>(), [], new HashSet<VirtualServiceKey>());
}
