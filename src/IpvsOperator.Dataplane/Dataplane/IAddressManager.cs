using System.Net.NetworkInformation;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>A network interface; its hardware address is what gratuitous ARP announces.</summary>
public sealed record LinkInfo(int Index, string Name, bool Up, string? Kind, PhysicalAddress? HardwareAddress = null, bool Carrier = true)
{
    /// <summary>Up and with carrier (IFF_UP and IFF_LOWER_UP): frames sent on it can reach the LAN.</summary>
    public bool Usable => Up && Carrier;
}

/// <summary>
/// Interfaces and host addresses (/32, /128) on them: what the node agent needs to bind VIPs.
/// The netlink implementation and the in-memory one behave alike, errors included.
/// </summary>
public interface IAddressManager
{
    IReadOnlyList<LinkInfo> ListLinks();

    /// <summary>Creates a dummy link when missing and brings it up; returns it.</summary>
    LinkInfo EnsureDummyLink(string name);

    void SetLinkUp(string name);

    IReadOnlyList<IPAddressValue> ListAddresses(string link);

    /// <summary>Adds a host address; a <see cref="DataplaneException"/> (already exists) when it is there already.</summary>
    void AddAddress(string link, IPAddressValue address);

    /// <summary>Removes a host address; a <see cref="DataplaneException"/> (address not available) when it is not there.</summary>
    void RemoveAddress(string link, IPAddressValue address);

    /// <summary>
    /// Adds a host address, or refreshes it, with a lifetime after which the kernel removes it by
    /// itself (a dead man's switch: an agent that stops refreshing stops answering for it). IPv6
    /// addresses skip duplicate address detection, which would keep a moved VIP unusable for a second.
    /// </summary>
    void RefreshAddress(string link, IPAddressValue address, TimeSpan lifetime);

    /// <summary>The interface of the main table's default route for the family, if there is one.</summary>
    string? DefaultRouteLink(IPFamily family);
}
