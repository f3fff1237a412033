using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Neighbours;

namespace IpvsOperator.Node;

/// <summary>The kernel interfaces the agent programs: real ones on a node, in-memory ones locally and in tests.</summary>
public sealed record NodeDataplane(IIpvs Ipvs, IAddressManager Links, INetfilter Netfilter, INeighbourAdvertiser Advertiser, ISysctl Sysctl)
{
    /// <summary>The BGP speaker (FRR beside the agent), when BGP announcement is on.</summary>
    public Dataplane.Bgp.IBgpSpeaker? Bgp { get; init; }

    /// <summary>Asks the LAN whether another device answers for an address before it is taken (null: never asks).</summary>
    public INeighbourProber? Prober { get; init; }

    /// <summary>The IPVS connection sync daemons, when connection sync is on.</summary>
    public IConnectionSync? ConnectionSync { get; init; }
}
