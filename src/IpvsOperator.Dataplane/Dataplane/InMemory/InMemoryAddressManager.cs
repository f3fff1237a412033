using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.InMemory;

/// <summary>
/// Links and addresses in memory, for local mode and host tests: the same contract as the kernel,
/// the same refusals for duplicates and missing objects (already exists, address not available, not found).
/// </summary>
public sealed class InMemoryAddressManager(TimeProvider? time = null) : IAddressManager
{
    private readonly Lock gate = new();
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Dictionary<string, (LinkInfo Link, List<IPAddressValue> Addresses)> links = new(StringComparer.Ordinal)
    {
        ["lo"] = (new LinkInfo(1, "lo", true, null), [IPAddressValue.Parse("127.0.0.1"), IPAddressValue.Parse("::1")]),
    };

    // Addresses added with a lifetime, and when the kernel would remove them.
    private readonly Dictionary<(string Link, IPAddressValue Address), DateTimeOffset> expiries = [];

    /// <summary>The link the default route leaves by (a node's uplink), set by tests and local mode.</summary>
    public string? DefaultRoute { get; set; }

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
    public LinkInfo AddLink(string name, string kind, System.Net.NetworkInformation.PhysicalAddress? hardwareAddress = null)
    {
        lock (gate)
        {
            var index = links.Values.Max(l => l.Link.Index) + 1;
            var link = new LinkInfo(index, name, true, kind, hardwareAddress ?? new System.Net.NetworkInformation.PhysicalAddress([0x02, 0, 0, 0, 0, (byte)index]));
            links[name] = (link, []);
            return link;
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

    /// <summary>Takes a link down, or (carrier: false) leaves it up with its cable pulled: tests of a dead NIC.</summary>
    public void SetLinkState(string name, bool up, bool carrier)
    {
        lock (gate)
        {
            var entry = Get(name, $"set link {name} state");
            links[name] = entry with { Link = entry.Link with { Up = up, Carrier = carrier } };
        }
    }

    public IReadOnlyList<IPAddressValue> ListAddresses(string link)
    {
        lock (gate)
        {
            Expire();
            return [.. Get(link, $"list addresses of {link}").Addresses];
        }
    }

    public void RefreshAddress(string link, IPAddressValue address, TimeSpan lifetime)
    {
        lock (gate)
        {
            Expire();
            var entry = Get(link, $"refresh address {address} on {link}");
            if (!entry.Addresses.Contains(address))
            {
                entry.Addresses.Add(address);
            }
            // Whole seconds, rounded up, as the kernel keeps them.
            expiries[(link, address)] = clock.GetUtcNow() + TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(lifetime.TotalSeconds)));
        }
    }

    public string? DefaultRouteLink(IPFamily family) => DefaultRoute;

    /// <summary>When the address on the link expires, if it was added with a lifetime.</summary>
    public DateTimeOffset? ExpiryOf(string link, IPAddressValue address)
    {
        lock (gate)
        {
            return expiries.TryGetValue((link, address), out var expiry) ? expiry : null;
        }
    }

    private void Expire()
    {
        var now = clock.GetUtcNow();
        foreach (var ((link, address), _) in expiries.Where(e => e.Value <= now).ToList())
        {
            expiries.Remove((link, address));
            if (links.TryGetValue(link, out var entry))
            {
                entry.Addresses.Remove(address);
            }
        }
    }

    public void AddAddress(string link, IPAddressValue address)
    {
        lock (gate)
        {
            Expire();
            var entry = Get(link, $"add address {address} on {link}");
            if (entry.Addresses.Contains(address))
            {
                throw new DataplaneException(DataplaneError.AlreadyExists, $"add address {address}/{IPAddressValue.BitLength(address.Family)} on {link}");
            }
            entry.Addresses.Add(address);
        }
    }

    public void RemoveAddress(string link, IPAddressValue address)
    {
        lock (gate)
        {
            Expire();
            var entry = Get(link, $"remove address {address} on {link}");
            expiries.Remove((link, address));
            if (!entry.Addresses.Remove(address))
            {
                throw new DataplaneException(DataplaneError.AddressNotAvailable, $"remove address {address}/{IPAddressValue.BitLength(address.Family)} on {link}");
            }
        }
    }

    private (LinkInfo Link, List<IPAddressValue> Addresses) Get(string link, string request) =>
        links.TryGetValue(link, out var entry) ? entry : throw new DataplaneException(DataplaneError.NotFound, request, $"there is no link {link}");
}
