using IpvsOperator.Addressing;

namespace IpvsOperator.Node.Bgp;

/// <summary>BFD on a BGP session: how often each side sends and expects, and how many missed packets take the session down.</summary>
public sealed record BfdSettings(int TransmitIntervalMs = 300, int ReceiveIntervalMs = 300, int DetectMultiplier = 3);

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

/// <summary>
/// A VIP this node announces, with what the pool asks to attach: standard communities
/// (<c>64500:100</c> or a well-known name), large communities (<c>64500:1:2</c>) and, for iBGP
/// peers, a local preference.
/// </summary>
public sealed record BgpAnnouncement(
    IPAddressValue Address,
    IReadOnlyList<string> Communities,
    IReadOnlyList<string> LargeCommunities,
    uint? LocalPreference = null)
{
    public BgpAnnouncement(IPAddressValue address)
        : this(address, [], [], null)
    {
    }

    /// <summary>What the announcement carries besides its prefix: announcements alike share one route-map entry.</summary>
    public string Attributes => $"{string.Join(' ', Communities)}|{string.Join(' ', LargeCommunities)}|{LocalPreference}";
}
