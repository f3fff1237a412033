using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// What the last sync left in the kernel, so that a sync after a change reads back only the
/// virtual services whose desired destinations changed: a pod restart among 6,000 virtual services
/// costs one netlink dump, not 6,000. Services whose operations were refused are not vouched for,
/// and the periodic re-sync reads everything, which is where drift made by others is repaired.
/// </summary>
internal sealed class ProgrammedState
{
    private Dictionary<VirtualServiceKey, (IReadOnlyList<Destination> Wanted, IReadOnlyList<Destination> Programmed)>? last;

    /// <summary>
    /// For a newly computed desired state (before draining): the destinations the kernel holds for
    /// each service whose wanted destinations did not change since the last sync; null, "read it",
    /// for every other.
    /// </summary>
    public Func<VirtualServiceKey, IReadOnlyList<Destination>?> Known(DesiredState wanted) => key =>
        last is not null && last.TryGetValue(key, out var previous)
        && wanted.Services.TryGetValue(key, out var now) && now.Destinations.SequenceEqual(previous.Wanted)
            ? previous.Programmed
            : null;

    /// <summary>After a sync: what was wanted, what was programmed (draining included), what the kernel refused.</summary>
    public void Remember(DesiredState wanted, DesiredState programmed, IEnumerable<SyncOperation> refused)
    {
        var before = last;
        last = [];
        foreach (var (key, (_, destinations)) in programmed.Services)
        {
            if (wanted.Services.TryGetValue(key, out var desired))
            {
                last[key] = Entry(before, key, desired.Destinations, destinations);
            }
        }
        foreach (var operation in refused)
        {
            var key = operation switch
            {
                SyncOperation.AddService add => add.Service.Key,
                SyncOperation.UpdateService update => update.Service.Key,
                SyncOperation.DeleteService delete => delete.Key,
                SyncOperation.AddDestination add => add.Key,
                SyncOperation.UpdateDestination update => update.Key,
                SyncOperation.DeleteDestination delete => delete.Key,
                _ => (VirtualServiceKey?)null,
            };
            if (key is { } refusedKey)
            {
                last.Remove(refusedKey);
            }
        }
    }

    /// <summary>After a sync of some VIPs without a refusal: their services' entries replaced (<paramref name="gone"/>: the ones they had).</summary>
    public void Replace(IEnumerable<VirtualServiceKey> gone, DesiredState wanted, DesiredState programmed)
    {
        if (last is null)
        {
            return;
        }
        foreach (var key in gone)
        {
            last.Remove(key);
        }
        foreach (var (key, (_, destinations)) in programmed.Services)
        {
            if (wanted.Services.TryGetValue(key, out var desired))
            {
                last[key] = (desired.Destinations, destinations);
            }
        }
    }

    /// <summary>
    /// The entry remembered before when it holds the same destinations: a full sync builds every
    /// list anew, and keeping the older ones (which the record keeps too) leaves one copy alive.
    /// </summary>
    private static (IReadOnlyList<Destination> Wanted, IReadOnlyList<Destination> Programmed) Entry(
        Dictionary<VirtualServiceKey, (IReadOnlyList<Destination> Wanted, IReadOnlyList<Destination> Programmed)>? before, VirtualServiceKey key,
        IReadOnlyList<Destination> wanted, IReadOnlyList<Destination> programmed) =>
        before is not null && before.TryGetValue(key, out var kept) && kept.Wanted.SequenceEqual(wanted) && kept.Programmed.SequenceEqual(programmed)
            ? kept
            : (wanted, programmed);

    /// <summary>After a failed sync nothing is vouched for.</summary>
    public void Forget() => last = null;
}
