using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Node;

/// <summary>
/// A VIP as layer 2 announcement sees it: the nodes that may announce it (null: any node; with
/// externalTrafficPolicy Local only the nodes with ready endpoints, or the traffic would be dropped)
/// and the Services that hold it (several when shared). <see cref="NeedsSourceNat"/>: some of its
/// traffic is forwarded to other nodes and must be source-NATed, so only a node whose source NAT
/// works may announce it. <see cref="Announce"/>: how its pool asks for it to be announced (layer 2,
/// BGP, and with what attached).
/// </summary>
public sealed record AnnouncedAddress(IReadOnlySet<string>? Eligible, IReadOnlyList<V1Service> Services, bool NeedsSourceNat = false)
{
    public PoolAnnouncementSettings Announce { get; init; } = PoolAnnouncementSettings.Default;
}
