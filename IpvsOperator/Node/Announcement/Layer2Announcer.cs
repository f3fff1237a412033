using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Neighbours;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Ipam;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>Layer 2 announcement: where, and the timings of the per-address election.</summary>
public sealed record Layer2Options
{
    /// <summary>The interface to answer ARP/NDP on; null: the interface of the default route.</summary>
    public string? Interface { get; init; }

    /// <summary>Where the Leases live: the operator's namespace.</summary>
    public string Namespace { get; init; } = "ipvs-operator-system";

    /// <summary>After this long without a renewal of a node's presence, others take its addresses.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A node that could not renew for this long withdraws its addresses: before its lease expires.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the presence is renewed and the holders looked at.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How many times the announcement of a newly taken address is sent, a round apart (a single frame may be lost).</summary>
    public int Announcements { get; init; } = 3;

    /// <summary>
    /// The lifetime held addresses get on the interface, refreshed while the node holds them: an
    /// agent that dies while its node stays up stops answering for them when it runs out, about
    /// when the others take over.
    /// </summary>
    public TimeSpan AddressLifetime => LeaseDuration;

    public AnnouncementElectionOptions Election(string nodeName) => new()
    {
        NodeName = nodeName,
        Namespace = Namespace,
        LeaseDuration = LeaseDuration,
        RenewDeadline = RenewDeadline,
        RetryPeriod = RetryPeriod,
    };

    /// <summary>The same checks as client-go's leader election: a renew deadline inside the lease, retries inside the deadline.</summary>
    public void Validate()
    {
        if (RenewDeadline >= LeaseDuration)
        {
            throw new ArgumentException($"--renew-deadline ({RenewDeadline.TotalSeconds} s) must be shorter than --lease-duration ({LeaseDuration.TotalSeconds} s): a holder withdraws before others take over");
        }
        if (RetryPeriod * 2 > RenewDeadline)
        {
            throw new ArgumentException($"--retry-period ({RetryPeriod.TotalSeconds} s) must be at most half of --renew-deadline ({RenewDeadline.TotalSeconds} s): a renewal gets a second try before the deadline");
        }
    }
}

/// <summary>
/// Makes the LAN send a held address's traffic here. The holder has the address on the announcing
/// interface (with a refreshed lifetime), so the kernel answers ARP and NDP for it, and sends
/// gratuitous ARP or unsolicited neighbour advertisements when it takes it. Every other node keeps
/// the address only on the dummy bind interface, and the announcing interface gets
/// arp_ignore=1 (answer only for addresses on the interface asked) and arp_announce=2 (never put a
/// VIP in an ARP request), so those nodes never answer for it; IPv6 answers only for addresses on
/// the interface asked already.
/// </summary>
public sealed class Layer2Announcer(NodeDataplane dataplane, Layer2Options options, Func<IPAddressValue, bool> isVip, ILogger logger, TimeProvider? time = null)
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Dictionary<IPAddressValue, DateTimeOffset> refreshed = [];
    private readonly Dictionary<IPAddressValue, int> announcementsDue = [];
    private LinkInfo? link;

    /// <summary>The interface announced on, once known.</summary>
    public string? Interface => link?.Name;

    /// <summary>Why the VIPs cannot be announced now (null: they are); worth an Event when it appears.</summary>
    public string? Problem { get; private set; }

    /// <summary>Raised when <see cref="Problem"/> changes.</summary>
    public event Action<string?>? ProblemChanged;

    /// <summary>
    /// Brings the announcing interface in line with the held addresses: adds and announces the new
    /// ones, refreshes the lifetime of the others, removes VIPs held no longer. Called after every
    /// change and every renewal; a failure is logged and retried on the next call.
    /// </summary>
    public void Apply(IReadOnlySet<string> held)
    {
        if (!Ready())
        {
            return;
        }
        try
        {
            var wanted = held.Select(IPAddressValue.Parse).ToHashSet();
            var now = clock.GetUtcNow();
            var present = dataplane.Links.ListAddresses(link!.Name).ToHashSet();
            foreach (var address in present.Where(a => !wanted.Contains(a) && (refreshed.ContainsKey(a) || isVip(a))))
            {
                Withdraw(address);
            }
            foreach (var address in wanted)
            {
                var missing = !present.Contains(address);
                if (missing || !refreshed.TryGetValue(address, out var at) || now - at >= options.AddressLifetime / 3)
                {
                    dataplane.Links.RefreshAddress(link.Name, address, options.AddressLifetime);
                    refreshed[address] = now;
                }
                if (missing)
                {
                    logger.LogInformation("announcing {Address} on {Interface}", address, link.Name);
                    announcementsDue[address] = options.Announcements;
                }
            }
            foreach (var address in refreshed.Keys.Where(a => !wanted.Contains(a)).ToList())
            {
                refreshed.Remove(address);
                announcementsDue.Remove(address);
            }
            SendDueAnnouncements();
            NodeMetrics.AnnouncedAddresses.Set(wanted.Count);
            Report(null);
        }
        catch (Exception error) when (error is NetlinkException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            NodeMetrics.KernelErrors.Inc();
            Report($"cannot announce VIPs on {link!.Name}: {error.Message}");
        }
    }

    /// <summary>
    /// True once the announcing interface is known and prepared; otherwise tries again (the election
    /// asks before every round, and a node that cannot announce takes no address).
    /// </summary>
    public bool Ready()
    {
        if (link is not null)
        {
            return true;
        }
        try
        {
            link = Prepare();
            Report(null);
            return true;
        }
        catch (Exception error) when (error is NetlinkException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Report($"cannot announce VIPs on {options.Interface ?? "the default route's interface"}: {error.Message}");
            return false;
        }
    }

    /// <summary>Logs a problem when it appears or changes, not on every round.</summary>
    private void Report(string? problem)
    {
        if (problem == Problem)
        {
            return;
        }
        if (problem is null)
        {
            logger.LogInformation("announcing again on {Interface}", link?.Name);
        }
        else
        {
            logger.LogError("{Problem}; retrying every round", problem);
        }
        Problem = problem;
        ProblemChanged?.Invoke(problem);
    }

    /// <summary>Finds the interface and makes it answer ARP only for addresses it carries.</summary>
    private LinkInfo Prepare()
    {
        var name = options.Interface
            ?? dataplane.Links.DefaultRouteLink(IPFamily.IPv4)
            ?? dataplane.Links.DefaultRouteLink(IPFamily.IPv6)
            ?? throw new InvalidOperationException("there is no default route to find the announcing interface by; set --announce-iface");
        var links = dataplane.Links.ListLinks();
        var found = links.FirstOrDefault(l => l.Name == name)
            ?? throw new InvalidOperationException($"the announcing interface {name} does not exist; this node has {string.Join(", ", links.Select(l => l.Name))}");
        // The kernel takes the larger of "all" and the interface's value: setting the interface's
        // is enough, and leaves every other interface of the node as it was.
        dataplane.Sysctl.Write($"net/ipv4/conf/{name}/arp_ignore", "1");
        dataplane.Sysctl.Write($"net/ipv4/conf/{name}/arp_announce", "2");
        logger.LogInformation("announcing VIPs on {Interface} ({Mac}); arp_ignore=1, arp_announce=2 set on it", name, found.HardwareAddress);
        return found;
    }

    private void Withdraw(IPAddressValue address)
    {
        try
        {
            dataplane.Links.RemoveAddress(link!.Name, address);
            logger.LogInformation("no longer announcing {Address} on {Interface}", address, link.Name);
        }
        catch (NetlinkException error) when (error.ErrorNumber == RouteNetlink.EADDRNOTAVAIL)
        {
            // Gone already: its lifetime ran out.
        }
        refreshed.Remove(address);
        announcementsDue.Remove(address);
    }

    private void SendDueAnnouncements()
    {
        foreach (var (address, due) in announcementsDue.ToList())
        {
            var frames = dataplane.Advertiser.Advertise(link!, address);
            NodeMetrics.NeighbourAnnouncements.WithLabels(address.Family == IPFamily.IPv4 ? "arp" : "ndp").Inc(frames);
            if (due <= 1)
            {
                announcementsDue.Remove(address);
            }
            else
            {
                announcementsDue[address] = due - 1;
            }
        }
    }
}
