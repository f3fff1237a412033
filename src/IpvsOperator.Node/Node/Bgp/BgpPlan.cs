using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;

namespace IpvsOperator.Node.Bgp;

/// <summary>A BGPPeer that selects this node, and the session FRR is to hold for it (null: it cannot be configured, and why).</summary>
internal sealed record PlannedPeer(string Name, IPAddressValue? Address, BgpPeering? Peering, string? Problem);

/// <summary>
/// What this node is to say over BGP: its router ID, the sessions of the BGPPeers that select it and
/// the prefixes it announces; <see cref="Withdrawn"/> says why it announces none (the sessions stay
/// up, so routers learn of the withdrawal at once and take the node back the moment it returns).
/// </summary>
internal sealed record BgpPlan(IPAddressValue RouterId, IReadOnlyList<PlannedPeer> Peers, IReadOnlyList<BgpAnnouncement> Announcements, string? Withdrawn)
{
    /// <summary>The configuration FRR is given: the configured sessions and the prefixes, sent to nobody while withdrawn.</summary>
    public string Render() => FrrConfiguration.Render(RouterId, [.. Peers.Select(p => p.Peering).OfType<BgpPeering>()], Announcements, withdrawn: Withdrawn is not null);

    /// <summary>The distinct prefixes announced (aggregated VIPs count once).</summary>
    public int Prefixes => Withdrawn is null ? Announcements.Select(a => a.Prefix).Distinct().Count() : 0;
}
