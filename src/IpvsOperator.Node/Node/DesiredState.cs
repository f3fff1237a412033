using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// What the kernel should hold: VIPs to bind, virtual services with their destinations, and the
/// virtual services whose forwarded traffic must be source-NATed on this node (masq to endpoints
/// that may answer through another node; not Local, droute or tunnel). What the rest of the agent
/// acts on (announcements, probes, warnings) is the <see cref="ServedServices"/> built beside it.
/// </summary>
public sealed record DesiredState(
    IReadOnlySet<IPAddressValue> Addresses,
    IReadOnlyDictionary<VirtualServiceKey, (VirtualService Service, IReadOnlyList<Destination> Destinations)> Services,
    IReadOnlySet<VirtualServiceKey> SourceNat)
{
    /// <summary>
    /// Destinations (virtual service, address, port) to remove at once rather than drain: endpoints
    /// found down by a health check that resets connections. With net.ipv4.vs.expire_nodest_conn
    /// the kernel then ends their connections at the next packet, and the clients retry.
    /// </summary>
    public IReadOnlySet<(VirtualServiceKey Service, IPAddressValue Address, ushort Port)> Cut { get; init; } =
        new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>();

    /// <summary>
    /// Destinations (virtual service, address, port) at weight 0 because their Service's health
    /// check finds them down. Unlike a terminating endpoint's weight 0, which drains and then goes,
    /// this one holds while the endpoint stays in its Service (established connections finish, no
    /// new ones come) and ends when it passes again; it is drained only once it leaves or terminates.
    /// </summary>
    public IReadOnlySet<(VirtualServiceKey Service, IPAddressValue Address, ushort Port)> HeldByHealthCheck { get; init; } =
        new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>();

    /// <summary>
    /// Virtual services every node must schedule alike, so that a flow the router moves between
    /// nodes keeps its backend: mh ones whose destinations do not depend on the node (not
    /// externalTrafficPolicy Local). Their nodes set sloppy TCP/SCTP and publish a digest of them.
    /// </summary>
    public IReadOnlySet<VirtualServiceKey> ConsistentServices { get; init; } = new HashSet<VirtualServiceKey>();

    public static DesiredState Empty { get; } = new(new HashSet<IPAddressValue>(), new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)>(), new HashSet<VirtualServiceKey>());
}
