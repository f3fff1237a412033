using IpvsOperator.Ipam;

namespace IpvsOperator.Dataplane;

public sealed record LinkInfo(int Index, string Name, bool Up, string? Kind);

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

    /// <summary>Adds a host address; NetlinkException (EEXIST) when it is there already.</summary>
    void AddAddress(string link, IPAddressValue address);

    /// <summary>Removes a host address; NetlinkException (EADDRNOTAVAIL) when it is not there.</summary>
    void RemoveAddress(string link, IPAddressValue address);
}
