using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// One BGP session of this node, as FRR is to hold it. Times as in FRR: keepalive and hold in
/// seconds (MetalLB's defaults, 30 and 90); <paramref name="EbgpMultihop"/> null for a directly
/// connected peer.
/// </summary>
public sealed record BgpPeering(
    IPAddressValue Address,
    uint PeerAsn,
    uint LocalAsn,
    IPAddressValue? Source = null,
    ushort Port = 179,
    int KeepaliveSeconds = 30,
    int HoldSeconds = 90,
    int? EbgpMultihop = null,
    string? Password = null,
    BfdSettings? Bfd = null);
