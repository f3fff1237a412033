using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// Drains destinations instead of cutting them: an endpoint that starts terminating, or leaves its
/// Service's EndpointSlices, keeps weight 0 in the kernel (established connections keep flowing,
/// no new ones are scheduled to it) and is removed once it has drained for the timeout.
/// Not for whole virtual services: a deleted Service's VIP goes at once; nor for destinations the
/// desired state cuts (a health check that resets connections); nor for those its health check
/// holds at weight 0, which stay while their endpoint stays (and drain once it leaves).
/// </summary>
internal sealed class DrainTracker(TimeSpan timeout, TimeProvider clock)
{
    private Dictionary<(VirtualServiceKey Service, IPAddressValue Address, ushort Port), DateTimeOffset> drainingSince = [];

    // Drains that ran out, remembered while the destination still asks to be drained (a terminating
    // endpoint that stays in its slice): without this, the next sync would start its drain afresh.
    private HashSet<(VirtualServiceKey Service, IPAddressValue Address, ushort Port)> drained = [];

    /// <summary>When the earliest drain ends, so the agent can sync then; null when nothing drains.</summary>
    public DateTimeOffset? NextExpiry { get; private set; }

    /// <summary>Destinations draining now, over every service.</summary>
    public int Draining => drainingSince.Count;

    /// <summary>Whether a destination of a service drains now (kept at weight 0 until its time is up).</summary>
    public bool IsDraining(VirtualServiceKey service, IPAddressValue address, ushort port) => drainingSince.ContainsKey((service, address, port));

    /// <summary>The VIPs with a drain that has run out: a sync of them removes its destination.</summary>
    public IEnumerable<IPAddressValue> Due()
    {
        var now = clock.GetUtcNow();
        return drainingSince.Where(d => now - d.Value >= timeout).Select(d => d.Key.Service.Address).Distinct();
    }

    /// <summary>
    /// The desired state with draining destinations kept at weight 0 until their time is up.
    /// <paramref name="vips"/>: the VIPs these states cover, when not all (a sync after a change);
    /// the drains of the others are kept as they are.
    /// </summary>
    public DesiredState Apply(DesiredState desired, ActualState actual, IReadOnlySet<IPAddressValue>? vips = null)
    {
        var now = clock.GetUtcNow();
        var next = vips is null ? [] : drainingSince.Where(d => !vips.Contains(d.Key.Service.Address)).ToDictionary();
        var nextDrained = vips is null ? [] : drained.Where(d => !vips.Contains(d.Service.Address)).ToHashSet();
        var services = new Dictionary<VirtualServiceKey, (VirtualService Service, IReadOnlyList<Destination> Destinations)>(desired.Services.Count);
        foreach (var (key, (service, destinations)) in desired.Services)
        {
            var kept = new List<Destination>(destinations.Count);
            var wanted = new HashSet<(IPAddressValue, ushort)>();
            foreach (var destination in destinations)
            {
                wanted.Add((destination.Address, destination.Port));
                // A weight 0 the health check holds is no drain: it lasts while the endpoint fails and stays listed.
                if (destination.Weight != 0 || desired.HeldByHealthCheck.Contains((key, destination.Address, destination.Port))
                    || Keep((key, destination.Address, destination.Port)))
                {
                    kept.Add(destination);
                }
            }
            if (actual.Services.TryGetValue(key, out var programmed))
            {
                foreach (var gone in programmed.Destinations.Where(d => !wanted.Contains((d.Address, d.Port)) && !desired.Cut.Contains((key, d.Address, d.Port))))
                {
                    if (Keep((key, gone.Address, gone.Port)))
                    {
                        kept.Add(gone with { Weight = 0 });
                    }
                }
            }
            services[key] = (service, kept);
        }
        drainingSince = next;
        drained = nextDrained;
        NextExpiry = next.Count == 0 ? null : next.Values.Min() + timeout;
        return desired with { Services = services };

        bool Keep((VirtualServiceKey, IPAddressValue, ushort) destination)
        {
            var since = drainingSince.GetValueOrDefault(destination, now);
            if (drained.Contains(destination) || now - since >= timeout)
            {
                nextDrained.Add(destination);
                return false;
            }
            next[destination] = since;
            return true;
        }
    }
}
