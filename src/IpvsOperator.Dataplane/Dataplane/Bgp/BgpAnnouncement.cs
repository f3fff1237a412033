using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// A prefix this node announces: a VIP as a /32 or /128, or the shorter prefix its pool aggregates
/// it into (<paramref name="PrefixLength"/>), with what the pool asks to attach: standard
/// communities (<c>64500:100</c> or a well-known name), large communities (<c>64500:1:2</c>) and, for
/// iBGP peers, a local preference.
/// </summary>
public sealed record BgpAnnouncement(
    IPAddressValue Address,
    IReadOnlyList<string> Communities,
    IReadOnlyList<string> LargeCommunities,
    uint? LocalPreference = null,
    int? PrefixLength = null)
{
    public BgpAnnouncement(IPAddressValue address)
        : this(address, [], [], null)
    {
    }

    /// <summary>The announced prefix in FRR's form: the address masked to the prefix length.</summary>
    public string Prefix
    {
        get
        {
            var bits = IPAddressValue.BitLength(Address.Family);
            var length = PrefixLength ?? bits;
            var hostBits = bits - length;
            var network = hostBits == 0 ? Address.Value : Address.Value >> hostBits << hostBits;
            return $"{Address with { Value = network }}/{length}";
        }
    }

    /// <summary>What the announcement carries besides its prefix: announcements alike share one route-map.</summary>
    public string Attributes => $"{string.Join(' ', Communities)}|{string.Join(' ', LargeCommunities)}|{LocalPreference}";

    public bool HasAttributes => Communities.Count > 0 || LargeCommunities.Count > 0 || LocalPreference is not null;
}
