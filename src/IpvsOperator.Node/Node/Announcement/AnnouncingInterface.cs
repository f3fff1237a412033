using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>
/// Makes the LAN send a held address's traffic here. The holder has the address on the announcing
/// interface (with a refreshed lifetime), so the kernel answers ARP and NDP for it, and sends
/// gratuitous ARP or unsolicited neighbour advertisements when it takes it. Every other node keeps
/// the address only on the dummy bind interface, and the announcing interface gets
/// arp_ignore=1 (answer only for addresses on the interface asked) and arp_announce=2 (never put a
/// VIP in an ARP request), so those nodes never answer for it; IPv6 answers only for addresses on
/// the interface asked already. Before the election takes an address, it asks here whether another
/// device on the LAN answers for it (<see cref="AnsweredElsewhereAsync"/>).
/// </summary>
internal sealed class AnnouncingInterface(NodeDataplane dataplane, Layer2Options options, Func<IPAddressValue, bool> isVip, ILogger logger, TimeProvider? time = null)
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Dictionary<IPAddressValue, DateTimeOffset> refreshed = [];
    private readonly Dictionary<IPAddressValue, int> announcementsDue = [];
    private LinkInfo? link;
    private string? probeFailure;

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
    public void Apply(IReadOnlySet<IPAddressValue> held)
    {
        var usable = Ready();
        if (link is null)
        {
            return;
        }
        try
        {
            var now = clock.GetUtcNow();
            var present = dataplane.Links.ListAddresses(link.Name).ToHashSet();
            // Withdrawn even from a dead interface: when it comes back it must not answer for addresses held elsewhere by then.
            foreach (var address in present.Where(a => !held.Contains(a) && (refreshed.ContainsKey(a) || isVip(a))))
            {
                Withdraw(address);
            }
            if (!usable)
            {
                NodeMetrics.AnnouncedAddresses.Set(0);
                return;
            }
            foreach (var address in held)
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
            foreach (var address in refreshed.Keys.Where(a => !held.Contains(a)).ToList())
            {
                refreshed.Remove(address);
                announcementsDue.Remove(address);
            }
            SendDueAnnouncements();
            NodeMetrics.AnnouncedAddresses.Set(held.Count);
            Report(null);
        }
        catch (Exception error) when (error is DataplaneException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            NodeMetrics.KernelErrors.Inc();
            Report($"cannot announce VIPs on {link!.Name}: {error.Message}");
        }
    }

    /// <summary>
    /// Asks the LAN whether another device answers for any of <paramref name="addresses"/>, which
    /// this node is about to take, and returns those answered with the hardware address that
    /// answered. A probe that cannot be sent (no CAP_NET_RAW) is logged and answers nothing: it
    /// must not keep the addresses from being announced at all.
    /// </summary>
    public async Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>> AnsweredElsewhereAsync(IReadOnlyCollection<IPAddressValue> addresses, CancellationToken cancellationToken)
    {
        if (addresses.Count == 0 || dataplane.Prober is null || options.ProbeWindow <= TimeSpan.Zero || link is null)
        {
            return NoneAnswered;
        }
        try
        {
            var answered = await dataplane.Prober.ProbeAsync(link, addresses, options.ProbeWindow, cancellationToken);
            if (probeFailure is not null)
            {
                logger.LogInformation("probing VIPs before taking them works again on {Interface}", link.Name);
                probeFailure = null;
            }
            return answered;
        }
        catch (Exception error) when (error is DataplaneException or InvalidOperationException)
        {
            if (probeFailure != error.Message)
            {
                logger.LogWarning("cannot probe VIPs on {Interface} before taking them ({Error}): taking them without asking the LAN", link.Name, error.Message);
                probeFailure = error.Message;
            }
            return NoneAnswered;
        }
    }

    private static readonly IReadOnlyDictionary<IPAddressValue, PhysicalAddress> NoneAnswered = new Dictionary<IPAddressValue, PhysicalAddress>();

    /// <summary>
    /// True while the announcing interface is known, prepared, up and has carrier; otherwise says
    /// why and tries again at the next call. The election asks before every round: a node whose
    /// interface is down or unplugged leaves it (its addresses go to the others at once) and joins
    /// again when the interface is back.
    /// </summary>
    public bool Ready()
    {
        try
        {
            link ??= Prepare();
            var state = dataplane.Links.ListLinks().FirstOrDefault(l => l.Index == link.Index && l.Name == link.Name);
            if (state is null)
            {
                var gone = link.Name;
                link = null; // found and prepared again when it comes back
                throw new InvalidOperationException($"the announcing interface {gone} is gone");
            }
            if (!state.Usable)
            {
                Report($"the announcing interface {state.Name} is {(state.Up ? "up but has no carrier" : "down")}; this node leaves the election until it is back");
                return false;
            }
            Report(null);
            return true;
        }
        catch (Exception error) when (error is DataplaneException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Report($"cannot announce VIPs on {link?.Name ?? options.Interface ?? "the default route's interface"}: {error.Message}");
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
        catch (DataplaneException error) when (error.AddressNotAvailable)
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
