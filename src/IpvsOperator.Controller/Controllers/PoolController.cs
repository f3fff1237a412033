using IpvsOperator.AllocationReaders;
using IpvsOperator.Readers;
using System.Text.Json.Nodes;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Rbac;
using k8s.Models;

namespace IpvsOperator.Controllers;

/// <summary>
/// Keeps each IPPool's status true (counts per family, Ready, Exhausted, InUse, observedGeneration),
/// hands the allocator the pools, and lets waiting Services try again when a pool changes.
/// </summary>
[EntityRbac(typeof(V1Alpha1IPPool), Verbs = RbacVerb.Read | RbacVerb.Patch)]
[GenericRbac(Groups = [WellKnown.Group], Resources = ["ippools/status"], Verbs = RbacVerb.Patch)]
internal sealed class PoolController(AllocationTerm term, EntityClient<V1Alpha1IPPool> pools, EventRecorder events, TimeProvider time) : IEntityController<V1Alpha1IPPool>
{
    public async Task<ReconcileResult> ReconcileAsync(V1Alpha1IPPool pool, CancellationToken cancellationToken)
    {
        await term.ReadyAsync(cancellationToken);
        term.SyncPools();
        var status = StatusOf(pool);
        var wasExhausted = pool.Status?.Conditions?.Any(c => c.Type == "Exhausted" && c.Status == "True") == true;
        var isExhausted = status.Conditions!.Any(c => c.Type == "Exhausted" && c.Status == "True");
        if (!SameStatus(pool.Status, status))
        {
            // Claims bring the pool back once they have gathered (AllocationTerm.PoolStatusDelay);
            // the event of this write must not bring it back at once.
            var generation = pool.Metadata.Generation;
            term.Pools.ExpectOwnWrite(ObjectKey.Of(pool), written =>
                written.Metadata.Generation == generation && written.Metadata.DeletionTimestamp is null && SameStatus(written.Status, status));
            await pools.PatchAsync(null, pool.Metadata.Name, new JsonObject { ["status"] = ApiJson.ToNode(status) }.ToJsonString(), PatchKind.Merge, status: true, cancellationToken);
        }
        if (isExhausted && !wasExhausted)
        {
            await events.RecordAsync(pool, EventType.Warning, WellKnown.Events.PoolExhausted, status.Conditions!.First(c => c.Type == "Exhausted").Message, cancellationToken);
        }
        // Waiting Services get another look when the pool's spec changed (new or edited), not when
        // only its status did: that is written after every claim, and would retry them in a loop.
        if (pool.Status?.ObservedGeneration != pool.Metadata.Generation)
        {
            term.EnqueuePending();
        }
        return ReconcileResult.Done;
    }

    public Task DeletedAsync(V1Alpha1IPPool pool, CancellationToken cancellationToken)
    {
        term.SyncPools();
        // A pool refused for overlapping this one may be usable now: its status and the waiting Services follow.
        foreach (var other in term.Pools.Items)
        {
            term.Pools.Enqueue(ObjectKey.Of(other));
        }
        term.EnqueuePending();
        // A deleted pool's figures go with it, or dashboards would show it forever.
        foreach (var family in Enum.GetNames<IPFamily>())
        {
            ControllerMetrics.PoolAddresses.RemoveLabelled(pool.Metadata.Name, family, "total");
            ControllerMetrics.PoolAddresses.RemoveLabelled(pool.Metadata.Name, family, "in_use");
        }
        ControllerMetrics.PoolAnnouncementModes.RemoveLabelled(pool.Metadata.Name, Entities.PoolAnnouncement.Layer2Mode);
        ControllerMetrics.PoolAnnouncementModes.RemoveLabelled(pool.Metadata.Name, Entities.PoolAnnouncement.BgpMode);
        return Task.CompletedTask;
    }

    private IPPoolStatus StatusOf(V1Alpha1IPPool pool)
    {
        var parsed = PoolReader.Read(pool);
        var usage = term.WithAllocator(a => a.Usage(pool.Metadata.Name));
        foreach (var family in usage)
        {
            ControllerMetrics.PoolAddresses.WithLabels(pool.Metadata.Name, family.Family.ToString(), "total").Set((double)family.Capacity);
            ControllerMetrics.PoolAddresses.WithLabels(pool.Metadata.Name, family.Family.ToString(), "in_use").Set(family.Allocated);
        }
        // Which addresses the layer 2 alert may expect an ARP/NDP answer for (a BGP-only pool's get none).
        var announce = PoolAnnouncementReader.Read(pool).Settings;
        ControllerMetrics.PoolAnnouncementModes.WithLabels(pool.Metadata.Name, Entities.PoolAnnouncement.Layer2Mode).Set(announce.Layer2 ? 1 : 0);
        ControllerMetrics.PoolAnnouncementModes.WithLabels(pool.Metadata.Name, Entities.PoolAnnouncement.BgpMode).Set(announce.Bgp ? 1 : 0);
        // From the allocator, like the counts, so that the two always agree.
        var holders = term.WithAllocator(a => a.Claims.Where(c => c.Pool == pool.Metadata.Name).SelectMany(c => c.Holders.Keys)
            .Select(k => k.ToString()).Distinct().Order(StringComparer.Ordinal).ToList());
        var rejected = term.RejectedPools.GetValueOrDefault(pool.Metadata.Name);
        var conditions = new List<V1Condition>
        {
            parsed.Succeeded && rejected is null
                ? Condition(pool, "Ready", true, "Valid", "the pool is valid and in use by the allocator")
                : Condition(pool, "Ready", false, parsed.Succeeded ? "Overlap" : "InvalidAddresses", rejected ?? string.Join("; ", parsed.Errors)),
        };
        var full = usage.Where(u => u.Available == 0).Select(u => $"{u.Family}: all {u.Capacity} addresses are in use").ToList();
        conditions.Add(full.Count > 0
            ? Condition(pool, "Exhausted", true, "NoFreeAddress", $"IPPool {pool.Metadata.Name} is exhausted ({string.Join("; ", full)}); add addresses or free some")
            : Condition(pool, "Exhausted", false, "FreeAddresses", "addresses are free"));
        conditions.Add(holders.Count > 0
            ? Condition(pool, "InUse", true, "AddressesAllocated", $"{holders.Count} Service(s) hold addresses: {string.Join(", ", holders.Take(10))}{(holders.Count > 10 ? ", ..." : string.Empty)}")
            : Condition(pool, "InUse", false, "NoAllocations", "no Service holds an address from this pool"));
        return new IPPoolStatus
        {
            IPv4 = Counts(usage, IPFamily.IPv4),
            IPv6 = Counts(usage, IPFamily.IPv6),
            Conditions = conditions,
            ObservedGeneration = pool.Metadata.Generation,
        };
    }

    private static AddressFamilyCounts? Counts(IReadOnlyList<FamilyUsage> usage, IPFamily family) =>
        usage.FirstOrDefault(u => u.Family == family) is { } u
            ? new AddressFamilyCounts { Capacity = u.Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), Allocated = u.Allocated, Available = u.Available.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : null;

    private V1Condition Condition(V1Alpha1IPPool pool, string type, bool status, string reason, string message)
    {
        // Keep the transition time while the status does not change, as conditions should.
        var previous = pool.Status?.Conditions?.FirstOrDefault(c => c.Type == type);
        var value = status ? "True" : "False";
        return new V1Condition
        {
            Type = type,
            Status = value,
            Reason = reason,
            Message = message,
            ObservedGeneration = pool.Metadata.Generation,
            LastTransitionTime = previous?.Status == value ? previous.LastTransitionTime : TruncatedNow(),
        };
    }

    /// <summary>Kubernetes keeps condition times to the second.</summary>
    private DateTime TruncatedNow()
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
    }

    private static bool SameStatus(IPPoolStatus? current, IPPoolStatus wanted) =>
        current is not null && ApiJson.Serialize(current) == ApiJson.Serialize(wanted);
}
