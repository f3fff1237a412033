using System.Collections.Immutable;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Node.Health;

namespace IpvsOperator.Node;

/// <summary>
/// What the agent last applied, VIP by VIP: each VIP's virtual services as programmed (draining
/// destinations included) and what it serves, and the whole as snapshots that cost nothing to
/// hand out. A sync after a change diffs a VIP's new part against its part here, never against a
/// kernel dump, and replaces that part alone: its cost is the VIP's size, not the node's. Not
/// vouched for (<see cref="Valid"/> false) before the first full sync, after a failed one and
/// after any refused operation: then only a full sync, which reads the kernel, may follow.
/// </summary>
internal sealed class AppliedVips
{
    private readonly Dictionary<IPAddressValue, VipPart> parts = [];
    private readonly HashSet<IPAddressValue> probing = [];
    private readonly HashSet<IPAddressValue> warning = [];
    private ImmutableDictionary<VirtualServiceKey, (VirtualService Service, IReadOnlyList<Destination> Destinations)> services = ImmutableDictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)>.Empty;
    private ImmutableHashSet<IPAddressValue> addresses = [];
    private ImmutableHashSet<VirtualServiceKey> sourceNat = [];
    private ImmutableHashSet<VirtualServiceKey> consistent = [];
    private ImmutableHashSet<VirtualServiceKey> served = [];
    private ImmutableHashSet<(VirtualServiceKey, IPAddressValue, ushort)> cut = [];
    private ImmutableHashSet<(VirtualServiceKey, IPAddressValue, ushort)> held = [];
    private ImmutableDictionary<IPAddressValue, AnnouncedAddress> announced = ImmutableDictionary<IPAddressValue, AnnouncedAddress>.Empty;
    private ImmutableHashSet<IPAddressValue> allocated = [];
    private IReadOnlyDictionary<ProbeTarget, IReadOnlyCollection<(string Namespace, string Name)>> probed = new Dictionary<ProbeTarget, IReadOnlyCollection<(string, string)>>();
    private IReadOnlyList<ServiceWarning> warnings = [];
    private bool probedStale;
    private bool warningsStale;

    /// <summary>Whether a sync may diff against this record instead of the kernel.</summary>
    public bool Valid { get; private set; }

    /// <summary>Destinations over every virtual service, draining ones included.</summary>
    public int Destinations { get; private set; }

    /// <summary>The virtual services every node must schedule alike, over every VIP.</summary>
    public int ConsistentCount => consistent.Count;

    /// <summary>What the kernel holds of ours, as a snapshot.</summary>
    public DesiredState Desired => new(addresses, services, sourceNat) { Cut = cut, HeldByHealthCheck = held, ConsistentServices = consistent };

    /// <summary>The virtual services that need source NAT and all virtual services: the netfilter table's input.</summary>
    public NetfilterRules Netfilter => new(sourceNat, served);

    /// <summary>What this node serves, as a snapshot.</summary>
    public ServedServices Served
    {
        get
        {
            if (probedStale)
            {
                var merged = new Dictionary<ProbeTarget, HashSet<(string, string)>>();
                foreach (var vip in probing)
                {
                    foreach (var (target, users) in parts[vip].Served.Probed)
                    {
                        (merged.TryGetValue(target, out var known) ? known : merged[target] = []).UnionWith(users);
                    }
                }
                (probed, probedStale) = (merged.ToDictionary(p => p.Key, p => (IReadOnlyCollection<(string, string)>)p.Value), false);
            }
            if (warningsStale)
            {
                (warnings, warningsStale) = ([.. warning.SelectMany(vip => parts[vip].Served.Warnings)], false);
            }
            return new ServedServices(announced, allocated, probed, warnings);
        }
    }

    /// <summary>The VIP's part as the kernel holds it, in the shape a plan diffs against.</summary>
    public ActualState Programmed(IEnumerable<IPAddressValue> vips)
    {
        var bound = new HashSet<IPAddressValue>();
        var held = new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)>();
        foreach (var vip in vips)
        {
            if (!parts.TryGetValue(vip, out var part))
            {
                continue;
            }
            bound.UnionWith(part.Programmed.Addresses);
            foreach (var (key, service) in part.Programmed.Services)
            {
                held[key] = service;
            }
        }
        return new ActualState(bound, held);
    }

    /// <summary>The VIP's part as last applied (null: nothing of it).</summary>
    public VipPart? PartOf(IPAddressValue vip) => parts.GetValueOrDefault(vip);

    /// <summary>After a full sync: every part anew, the record vouched for unless the kernel refused something.</summary>
    public void Reset(IEnumerable<(IPAddressValue Vip, VipPart Part)> all, bool valid)
    {
        parts.Clear();
        probing.Clear();
        warning.Clear();
        var (servicesBuilder, addressesBuilder, natBuilder, consistentBuilder, servedBuilder, cutBuilder, heldBuilder, announcedBuilder, allocatedBuilder) =
            (services.Clear().ToBuilder(), addresses.Clear().ToBuilder(), sourceNat.Clear().ToBuilder(), consistent.Clear().ToBuilder(),
             served.Clear().ToBuilder(), cut.Clear().ToBuilder(), held.Clear().ToBuilder(), announced.Clear().ToBuilder(), allocated.Clear().ToBuilder());
        Destinations = 0;
        foreach (var (vip, part) in all)
        {
            parts[vip] = part;
            var programmed = part.Programmed;
            foreach (var (key, service) in programmed.Services)
            {
                servicesBuilder[key] = service;
                servedBuilder.Add(key);
                Destinations += service.Destinations.Count;
            }
            addressesBuilder.UnionWith(programmed.Addresses);
            natBuilder.UnionWith(programmed.SourceNat);
            consistentBuilder.UnionWith(programmed.ConsistentServices);
            cutBuilder.UnionWith(programmed.Cut);
            heldBuilder.UnionWith(programmed.HeldByHealthCheck);
            foreach (var (address, announcement) in part.Served.Announced)
            {
                announcedBuilder[address] = announcement;
            }
            allocatedBuilder.UnionWith(part.Served.Allocated);
            Track(vip, part);
        }
        (services, addresses, sourceNat, consistent, served, cut, held, announced, allocated) = (servicesBuilder.ToImmutable(), addressesBuilder.ToImmutable(), natBuilder.ToImmutable(),
            consistentBuilder.ToImmutable(), servedBuilder.ToImmutable(), cutBuilder.ToImmutable(), heldBuilder.ToImmutable(), announcedBuilder.ToImmutable(), allocatedBuilder.ToImmutable());
        (probedStale, warningsStale, Valid) = (true, true, valid);
    }

    /// <summary>After a sync of one VIP: its new part (null: nothing of it any more) in place of the old.</summary>
    public void Replace(IPAddressValue vip, VipPart? part)
    {
        if (parts.Remove(vip, out var old))
        {
            var programmed = old.Programmed;
            foreach (var (key, service) in programmed.Services)
            {
                services = services.Remove(key);
                served = served.Remove(key);
                Destinations -= service.Destinations.Count;
            }
            addresses = addresses.Except(programmed.Addresses);
            sourceNat = sourceNat.Except(programmed.SourceNat);
            consistent = consistent.Except(programmed.ConsistentServices);
            cut = cut.Except(programmed.Cut);
            held = held.Except(programmed.HeldByHealthCheck);
            announced = announced.RemoveRange(old.Served.Announced.Keys);
            allocated = allocated.Except(old.Served.Allocated);
            probedStale |= probing.Remove(vip);
            warningsStale |= warning.Remove(vip);
        }
        if (part is null)
        {
            return;
        }
        parts[vip] = part;
        foreach (var (key, service) in part.Programmed.Services)
        {
            services = services.SetItem(key, service);
            served = served.Add(key);
            Destinations += service.Destinations.Count;
        }
        addresses = addresses.Union(part.Programmed.Addresses);
        sourceNat = sourceNat.Union(part.Programmed.SourceNat);
        consistent = consistent.Union(part.Programmed.ConsistentServices);
        cut = cut.Union(part.Programmed.Cut);
        held = held.Union(part.Programmed.HeldByHealthCheck);
        announced = announced.SetItems(part.Served.Announced);
        allocated = allocated.Union(part.Served.Allocated);
        Track(vip, part);
    }

    /// <summary>Nothing here is vouched for any more: a sync failed or the kernel refused an operation.</summary>
    public void Invalidate() => Valid = false;

    private void Track(IPAddressValue vip, VipPart part)
    {
        if (part.Served.Probed.Count > 0)
        {
            probing.Add(vip);
            probedStale = true;
        }
        if (part.Served.Warnings.Count > 0)
        {
            warning.Add(vip);
            warningsStale = true;
        }
    }
}
