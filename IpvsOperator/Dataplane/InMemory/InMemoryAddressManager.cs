using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Ipam;

namespace IpvsOperator.Dataplane.InMemory;

/// <summary>
/// Links and addresses in memory, for local mode and host tests: the same contract as the kernel,
/// the same errors for duplicates and missing objects (EEXIST, EADDRNOTAVAIL, ENODEV).
/// </summary>
public sealed class InMemoryAddressManager : IAddressManager
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, (LinkInfo Link, List<IPAddressValue> Addresses)> links = new(StringComparer.Ordinal);

    public InMemoryAddressManager() => links["lo"] = (new LinkInfo(1, "lo", true, null), [IPAddressValue.Parse("127.0.0.1"), IPAddressValue.Parse("::1")]);

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        lock (gate)
        {
            return [.. links.Values.Select(l => l.Link).OrderBy(l => l.Index)];
        }
    }

    public LinkInfo EnsureDummyLink(string name)
    {
        lock (gate)
        {
            if (!links.TryGetValue(name, out var existing))
            {
                existing = (new LinkInfo(links.Values.Max(l => l.Link.Index) + 1, name, false, "dummy"), []);
            }
            links[name] = existing with { Link = existing.Link with { Up = true } };
            return links[name].Link;
        }
    }

    /// <summary>Adds a link of another kind (a veth, say), for tests of code that must not touch it.</summary>
    public void AddLink(string name, string kind)
    {
        lock (gate)
        {
            links[name] = (new LinkInfo(links.Values.Max(l => l.Link.Index) + 1, name, true, kind), []);
        }
    }

    public void SetLinkUp(string name)
    {
        lock (gate)
        {
            var entry = Get(name, $"set link {name} up");
            links[name] = entry with { Link = entry.Link with { Up = true } };
        }
    }

    public IReadOnlyList<IPAddressValue> ListAddresses(string link)
    {
        lock (gate)
        {
            return [.. Get(link, $"list addresses of {link}").Addresses];
        }
    }

    public void AddAddress(string link, IPAddressValue address)
    {
        lock (gate)
        {
            var entry = Get(link, $"add address {address} on {link}");
            if (entry.Addresses.Contains(address))
            {
                throw new NetlinkException(NetlinkException.EEXIST, $"add address {address}/{IPAddressValue.BitLength(address.Family)} on {link}");
            }
            entry.Addresses.Add(address);
        }
    }

    public void RemoveAddress(string link, IPAddressValue address)
    {
        lock (gate)
        {
            var entry = Get(link, $"remove address {address} on {link}");
            if (!entry.Addresses.Remove(address))
            {
                throw new NetlinkException(RouteNetlink.EADDRNOTAVAIL, $"remove address {address}/{IPAddressValue.BitLength(address.Family)} on {link}");
            }
        }
    }

    private (LinkInfo Link, List<IPAddressValue> Addresses) Get(string link, string request) =>
        links.TryGetValue(link, out var entry) ? entry : throw new NetlinkException(NetlinkException.ENODEV, request, $"there is no link {link}");
}
