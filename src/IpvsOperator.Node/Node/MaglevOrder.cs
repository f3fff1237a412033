using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// One order of an mh service's destinations on every node. The kernel's mh scheduler (ip_vs_mh.c)
/// fills its lookup table walking the service's list of destinations, each taking its next
/// preferred slot in turn, so two nodes holding the same destinations in another order give some
/// flows other backends. The list is the order of the adds, newest first, and an update keeps a
/// destination's place; so the agent keeps the list in one canonical order (address and port,
/// highest first: what adding them in ascending order makes) and, when a destination must go
/// elsewhere than first, adds again the ones that must come before it. The table also uses each
/// destination's last non-zero weight, which no dump shows: a destination is never added at
/// weight 0, but at <see cref="TableWeight"/> and then set to 0, so a drained one keeps its slots
/// (its flows go to the fallback) on a node that added it draining as on one that saw it serve.
/// </summary>
internal static class MaglevOrder
{
    public const string Scheduler = "mh";

    /// <summary>The weight every destination of the agent's has while it serves: the one the table is built with.</summary>
    public const uint TableWeight = 1;

    /// <summary>The destinations as the kernel must list them (head first).</summary>
    public static IReadOnlyList<Destination> Canonical(IEnumerable<Destination> destinations) =>
        [.. destinations.OrderByDescending(d => d.Address).ThenByDescending(d => d.Port)];

    /// <summary>The desired state with every mh service's destinations in canonical order, as the kernel will list them.</summary>
    public static DesiredState Canonical(DesiredState desired) => desired with
    {
        Services = desired.Services.ToDictionary(s => s.Key,
            s => s.Value.Service.Scheduler == Scheduler ? (s.Value.Service, Canonical(s.Value.Destinations)) : s.Value),
    };

    /// <summary>
    /// What brings the kernel's list (<paramref name="current"/>, head first) to the canonical order of
    /// <paramref name="desired"/>: the destinations to add or move, in the order to run them (each
    /// moved one deleted and added again, which puts it first), the ones whose weight or method
    /// changed in place, and the ones no longer wanted (run after, since a delete moves nobody).
    /// </summary>
    public static (List<SyncOperation> Adds, List<SyncOperation> Removes) Plan(VirtualServiceKey key, IReadOnlyList<Destination> desired, IReadOnlyList<Destination> current)
    {
        var target = Canonical(desired);
        var wanted = target.Select(d => (d.Address, d.Port)).ToHashSet();
        var kept = current.Where(d => wanted.Contains((d.Address, d.Port))).ToList();
        // The tail already in place: a destination there keeps its place whatever is added before it.
        var inPlace = 0;
        while (inPlace < kept.Count && inPlace < target.Count
               && (kept[^(inPlace + 1)].Address, kept[^(inPlace + 1)].Port) == (target[^(inPlace + 1)].Address, target[^(inPlace + 1)].Port))
        {
            inPlace++;
        }
        var adds = new List<SyncOperation>();
        var held = kept.ToDictionary(d => (d.Address, d.Port));
        for (var i = target.Count - inPlace - 1; i >= 0; i--)
        {
            var destination = target[i];
            if (held.ContainsKey((destination.Address, destination.Port)))
            {
                adds.Add(new SyncOperation.DeleteDestination(key, destination));
            }
            adds.Add(new SyncOperation.AddDestination(key, destination with { Weight = Math.Max(destination.Weight, TableWeight) }));
            if (destination.Weight < TableWeight)
            {
                adds.Add(new SyncOperation.UpdateDestination(key, destination));
            }
        }
        foreach (var destination in target.Skip(target.Count - inPlace))
        {
            if (held[(destination.Address, destination.Port)] != destination)
            {
                adds.Add(new SyncOperation.UpdateDestination(key, destination));
            }
        }
        var removes = current.Where(d => !wanted.Contains((d.Address, d.Port))).Select(d => (SyncOperation)new SyncOperation.DeleteDestination(key, d)).ToList();
        return (adds, removes);
    }
}
