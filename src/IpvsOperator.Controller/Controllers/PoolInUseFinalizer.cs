using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Events;

namespace IpvsOperator.Controllers;

/// <summary>
/// <c>ipvsoperator.io/pool-in-use</c>: an IPPool whose addresses Services still hold is not let go,
/// so deleting it (past the webhook, or with the webhook down) never strands a Service.
/// It goes once the last claim on it is released.
/// </summary>
internal sealed class PoolInUseFinalizer(AllocationTerm term, EventRecorder events) : IEntityFinalizer<V1Alpha1IPPool>
{
    public string Identifier => WellKnown.Finalizers.PoolInUse;

    public async Task FinalizeAsync(V1Alpha1IPPool pool, CancellationToken cancellationToken)
    {
        await term.ReadyAsync(cancellationToken);
        var holders = term.Allocations.Items.Where(a => a.Spec.Pool == pool.Metadata.Name)
            .SelectMany(ClaimHolders.Holders).Select(h => $"{h.Namespace}/{h.Name}").Distinct().Order(StringComparer.Ordinal).ToList();
        if (holders.Count > 0)
        {
            var message = $"IPPool {pool.Metadata.Name} is being deleted but {holders.Count} Service(s) still hold its addresses: {string.Join(", ", holders.Take(10))}; it goes when they release them";
            await events.RecordAsync(pool, EventType.Warning, "DeletionBlocked", message, cancellationToken);
            throw new InvalidOperationException(message);
        }
    }
}
