using IpvsOperator.Addressing;
using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Watching;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Controllers;

/// <summary>
/// What the controllers share during one leadership term: the allocator (behind a lock) and the
/// three runners, whose caches are the controller's view of the cluster. A new term starts from
/// nothing and rebuilds the allocator from the IPAllocation objects before allocating anything.
/// </summary>
internal sealed class AllocationTerm(
    WatchedResource<V1Service> services,
    WatchedResource<V1Alpha1IPPool> pools,
    WatchedResource<V1Alpha1IPAllocation> allocations,
    ILogger logger)
{
    /// <summary>How long claim changes gather before their pool's status is written again.</summary>
    public static readonly TimeSpan PoolStatusDelay = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private readonly Allocator allocator = new();
    // Claims by the uid of each Service holding them: a Service's claims are looked up, not scanned
    // for, or a term's first look at N Services would read N × N claims. A claim that bypassed
    // admission without a holder is indexed under none.
    private readonly InformerIndex<V1Alpha1IPAllocation, string> claimsByHolder = new(allocations.Informer,
        claim => claim.Spec is null ? [] : claim.Holders().Where(h => h is not null && !string.IsNullOrEmpty(h.Uid)).Select(h => h.Uid));
    private Task? restored;

    public WatchedResource<V1Service> Services => services;
    public WatchedResource<V1Alpha1IPPool> Pools => pools;
    public WatchedResource<V1Alpha1IPAllocation> Allocations => allocations;

    // Services waiting for an address, and why, so that a freed or added address reaches them at once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ObjectKey, AllocationFailureReason> pending = new();

    /// <summary>
    /// Records that a Service waits for an address. True when it did not wait before, or waited for
    /// another reason: a failure worth counting (a retry of the same one is not a new failure).
    /// </summary>
    public bool MarkPending(ObjectKey service, AllocationFailureReason reason)
    {
        var changed = !pending.TryGetValue(service, out var before) || before != reason;
        pending[service] = reason;
        ControllerMetrics.PendingServices.Set(pending.Count);
        return changed;
    }

    /// <summary>The Service waits no longer: it has its addresses, is gone, or is not ours.</summary>
    public void ClearPending(ObjectKey service)
    {
        pending.TryRemove(service, out _);
        ControllerMetrics.PendingServices.Set(pending.Count);
    }

    public void EnqueuePending()
    {
        foreach (var key in pending.Keys)
        {
            Services.Enqueue(key);
        }
    }

    /// <summary>Pools the allocator refused (overlaps), with why.</summary>
    public IReadOnlyDictionary<string, string> RejectedPools { get; private set; } = new Dictionary<string, string>();

    /// <summary>Waits until every cache has listed, then restores the allocator once.</summary>
    public Task ReadyAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            restored ??= RestoreAsync(cancellationToken);
            return restored.WaitAsync(cancellationToken);
        }
    }

    public T WithAllocator<T>(Func<Allocator, T> use)
    {
        lock (gate)
        {
            return use(allocator);
        }
    }

    /// <summary>Gives the allocator the pools of the cache, oldest first (an older pool wins an overlap).</summary>
    public void SyncPools()
    {
        var pools = Pools.Items
            .OrderBy(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue).ThenBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .Select(PoolReader.Read).Where(p => p.Succeeded).Select(p => p.Pool!).ToList();
        lock (gate)
        {
            RejectedPools = allocator.SetPools(pools);
        }
    }

    /// <summary>The IPAllocations that name <paramref name="service"/> (by uid) as a holder.</summary>
    public List<V1Alpha1IPAllocation> ClaimsOf(V1Service service) =>
        string.IsNullOrEmpty(service.Metadata.Uid) ? [] : [.. claimsByHolder.Get(service.Metadata.Uid)];

    /// <summary>What a holder of a claim brings to its sharing, read from its Service in the cache: its ports and the namespaces it shares with.</summary>
    public (IReadOnlyList<ServicePort> Ports, IReadOnlySet<string> Namespaces) SharingOf(ServiceReference reference)
    {
        var service = Services.Get(new ObjectKey(reference.Namespace, reference.Name));
        return service is null ? ([], new HashSet<string>()) : (ServiceRequestReader.PortsOf(service), ServiceRequestReader.SharingNamespacesOf(service));
    }

    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(Services.WaitForSyncAsync(cancellationToken), Pools.WaitForSyncAsync(cancellationToken), Allocations.WaitForSyncAsync(cancellationToken));
        SyncPools();
        var restoredCount = 0;
        var claims = Allocations.Items;
        foreach (var allocation in claims.OrderBy(a => a.Metadata.CreationTimestamp ?? DateTime.MinValue).ThenBy(a => a.Metadata.Name, StringComparer.Ordinal))
        {
            if (!allocation.TryAddress(out var address))
            {
                continue;
            }
            foreach (var holder in allocation.Holders())
            {
                var (ports, namespaces) = SharingOf(holder);
                var refused = WithAllocator(a => a.Restore(new ServiceKey(holder.Namespace, holder.Name), address, allocation.Spec.SharingKey, ports, namespaces));
                if (refused is null)
                {
                    restoredCount++;
                }
                else
                {
                    logger.LogWarning("IPAllocation {Allocation} is not restored: {Reason}", allocation.Metadata.Name, refused);
                }
            }
        }
        logger.LogInformation("allocator restored {Claims} claims from {Allocations} IPAllocations", restoredCount, claims.Count);
    }
}
