using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Controllers;

/// <summary>
/// Keeps claims honest: a claim whose Service is gone (or is another Service of the same name, by
/// uid) is released; a claim deleted by hand while its Service lives is made again, by looking
/// at the Service once more.
/// </summary>
internal sealed class AllocationController(AllocationTerm term, EntityClient<V1Alpha1IPAllocation> allocations, EntityClient<V1Service> services,
    ILogger<AllocationController> logger) : IEntityController<V1Alpha1IPAllocation>
{
    public async Task<ReconcileResult> ReconcileAsync(V1Alpha1IPAllocation allocation, CancellationToken cancellationToken)
    {
        await term.ReadyAsync(cancellationToken);
        // The pool's counts and conditions follow its claims, a burst of claims costing one status write.
        term.Pools.EnqueueAfter(new ObjectKey(string.Empty, allocation.Spec.Pool), AllocationTerm.PoolStatusDelay);
        if (!allocation.TryAddress(out var address) || AllocationNames.For(address) != allocation.Metadata.Name)
        {
            logger.LogWarning("IPAllocation {Name} names address {Address}, which is not the address of its name; leaving it alone", allocation.Metadata.Name, allocation.Spec.Address);
            return ReconcileResult.Done;
        }
        var live = allocation.Holders().Where(IsLive).ToList();
        var dead = new List<ServiceReference>();
        foreach (var holder in allocation.Holders().Where(h => !IsLive(h)))
        {
            // The cache may not have seen a Service created a moment ago (by another controller's
            // claim, say): only the API server can say it is gone.
            var fresh = await services.GetAsync(holder.Namespace, holder.Name, cancellationToken);
            if (fresh?.Metadata.Uid == holder.Uid)
            {
                live.Add(holder);
            }
            else
            {
                dead.Add(holder);
            }
        }
        if (dead.Count == 0)
        {
            return ReconcileResult.Done;
        }
        foreach (var holder in dead)
        {
            term.WithAllocator(a => a.Release(new ServiceKey(holder.Namespace, holder.Name)).Count);
        }
        await Claims.KeepOnlyAsync(allocations, allocation, live, cancellationToken);
        logger.LogInformation("released {Address}: its Service(s) {Services} are gone", allocation.Spec.Address, string.Join(", ", dead.Select(d => $"{d.Namespace}/{d.Name}")));
        term.EnqueuePending();
        return ReconcileResult.Done;
    }

    public Task DeletedAsync(V1Alpha1IPAllocation allocation, CancellationToken cancellationToken)
    {
        term.Pools.EnqueueAfter(new ObjectKey(string.Empty, allocation.Spec.Pool), AllocationTerm.PoolStatusDelay);
        // A claim gone while its Service lives: the Service controller makes it again.
        foreach (var holder in allocation.Holders().Where(IsLive))
        {
            term.Services.Enqueue(new ObjectKey(holder.Namespace, holder.Name));
        }
        return Task.CompletedTask;
    }

    private bool IsLive(ServiceReference holder) =>
        term.Services.Get(new ObjectKey(holder.Namespace, holder.Name)) is { } service && service.Metadata.Uid == holder.Uid;
}
