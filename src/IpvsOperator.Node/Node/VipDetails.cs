using System.Globalization;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node.Health;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// What the IPVSNode status lists of each listed VIP, so that a user with read rights sees what
/// <c>ipvsadm -Ln</c> would show on the node (<c>kubectl ipvs status</c>): its virtual services
/// and their destinations with weight, health, drain and connection counts. The listing stops at
/// <see cref="IPVSNodeStatus.MaxListedVirtualServices"/> virtual services and
/// <see cref="IPVSNodeStatus.MaxListedDestinations"/> destinations over the node, counts kept, so
/// the status stays small at any size. Connection counts are read from the kernel at most every
/// <see cref="SampleEvery"/>, for the listed virtual services only: at 10,000 Services that is
/// a few hundred dumps a minute, never one per Service per sync.
/// </summary>
internal sealed class VipDetails(IIpvs ipvs, TimeProvider clock, ILogger logger)
{
    public static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(30);

    private Dictionary<VirtualServiceKey, Dictionary<(IPAddressValue, ushort), DestinationConnections>> sampled = [];
    private DateTimeOffset? sampledAt;
    private string? sampleProblem;

    /// <summary>When the connection counts were read; null before the first read.</summary>
    public DateTime? SampledAt => sampledAt?.UtcDateTime;

    /// <summary>
    /// The VIPs' virtual services, in VIP and port order, while the budget lasts, with the
    /// connection counts of the last read (read again first when due).
    /// </summary>
    /// <param name="isDraining">Whether a destination drains now.</param>
    public IReadOnlyDictionary<IPAddressValue, (int Count, List<IPVSNodeVirtualService> Listed)> Describe(
        IEnumerable<IPAddressValue> vips, Func<IPAddressValue, VipPart?> partOf, Func<ProbeTarget, bool> isDown, Func<VirtualServiceKey, IPAddressValue, ushort, bool> isDraining)
    {
        var listed = new List<Listed>();
        var destinations = IPVSNodeStatus.MaxListedDestinations;
        var described = new Dictionary<IPAddressValue, (int, List<IPVSNodeVirtualService>)>();
        foreach (var vip in vips)
        {
            var part = partOf(vip);
            var ofVip = new List<IPVSNodeVirtualService>();
            described[vip] = (part?.Programmed.Services.Count ?? 0, ofVip);
            if (part is null)
            {
                continue;
            }
            foreach (var (key, (service, programmed)) in part.Programmed.Services.OrderBy(s => s.Key))
            {
                if (listed.Count == IPVSNodeStatus.MaxListedVirtualServices)
                {
                    break;
                }
                var shown = programmed.Take(destinations).OrderBy(d => d.Address).ThenBy(d => d.Port).ToList();
                destinations -= shown.Count;
                var entry = new IPVSNodeVirtualService
                {
                    Protocol = key.Protocol.ToString().ToUpperInvariant(),
                    Port = key.Port,
                    Scheduler = Scheduler(service),
                    DestinationCount = programmed.Count,
                    Destinations = [.. shown.Select(d => Destination(key, d, part.Served.Probed.Keys, isDown, isDraining))],
                };
                ofVip.Add(entry);
                listed.Add(new Listed(key, entry, shown));
            }
        }
        SampleIfDue(listed);
        foreach (var (key, service, shown) in listed)
        {
            var counts = sampled.GetValueOrDefault(key);
            foreach (var (destination, entry) in shown.Zip(service.Destinations!))
            {
                if (counts?.GetValueOrDefault((destination.Address, destination.Port)) is { } held)
                {
                    (entry.ActiveConnections, entry.InactiveConnections) = (held.Active, held.Inactive);
                }
            }
        }
        return described;
    }

    /// <summary>
    /// Reads the connection counts of the listed virtual services when the last read is older than
    /// <see cref="SampleEvery"/>; in between, only those listed since (a new Service shows its
    /// counts at once, not half a minute later) or with a destination listed since.
    /// </summary>
    private void SampleIfDue(List<Listed> listed)
    {
        var now = clock.GetUtcNow();
        var due = sampledAt is not { } last || now - last >= SampleEvery;
        // Between reads, the few services read anew join the last read in place: no copy of it per status.
        var next = due ? [] : sampled;
        try
        {
            foreach (var (key, _, _) in listed.Where(l => !next.TryGetValue(l.Key, out var counts) || l.Shown.Any(d => !counts.ContainsKey((d.Address, d.Port)))))
            {
                next[key] = ipvs.ListConnections(key).ToDictionary(c => (c.Address, c.Port));
            }
            sampled = next;
            (sampledAt, sampleProblem) = (due ? now : sampledAt, null);
        }
        catch (DataplaneException error)
        {
            // The counts are a view, not the sync: an unreadable kernel leaves them as they were.
            if (sampleProblem != error.Message)
            {
                logger.LogWarning("cannot read the IPVS connection counts for the IPVSNode status: {Error}", error.Message);
                sampleProblem = error.Message;
            }
        }
    }

    /// <summary>A virtual service the status lists, with the destinations it shows (in the order of its entries).</summary>
    private sealed record Listed(VirtualServiceKey Key, IPVSNodeVirtualService Service, List<Dataplane.Destination> Shown);

    private static IPVSNodeDestination Destination(VirtualServiceKey key, Dataplane.Destination destination, IEnumerable<ProbeTarget> probed, Func<ProbeTarget, bool> isDown, Func<VirtualServiceKey, IPAddressValue, ushort, bool> isDraining)
    {
        // The endpoint's checks on this VIP: on its own port, or on the health check's port when the Service names one.
        var checks = probed.Where(t => t.Address == destination.Address).ToList();
        if (checks.Any(t => t.Port == destination.Port))
        {
            checks = [.. checks.Where(t => t.Port == destination.Port)];
        }
        return new IPVSNodeDestination
        {
            Address = destination.Address.ToString(),
            Port = destination.Port,
            Weight = destination.Weight,
            Health = checks.Count == 0 ? null : checks.Any(isDown) ? "failing" : "passing",
            Draining = isDraining(key, destination.Address, destination.Port) ? true : null,
        };
    }

    private static string Scheduler(VirtualService service)
    {
        var flags = IpvsSchedulerFlags.Named.Where(f => f.Key.StartsWith(service.Scheduler + "-", StringComparison.Ordinal) && (service.SchedulerFlags & f.Value) != 0).Select(f => f.Key).ToList();
        var text = flags.Count == 0 ? service.Scheduler : $"{service.Scheduler} ({string.Join(',', flags)})";
        return service.Persistent ? string.Create(CultureInfo.InvariantCulture, $"{text}, persistent {service.TimeoutSeconds} s") : text;
    }
}
