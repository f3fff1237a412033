using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Events;
using k8s.Models;

namespace IpvsOperator.Controllers;

/// <summary>
/// <c>ipvsoperator.io/release-address</c>: before a Service goes, its claims go (or pass to the
/// next sharer) and waiting Services get a look at the freed addresses. The Service controller
/// attaches it, in the same write as the pool annotation.
/// </summary>
internal sealed class ReleaseAddressFinalizer(AllocationTerm term, EntityClient<V1Alpha1IPAllocation> allocations, EventRecorder events) : IEntityFinalizer<V1Service>
{
    public string Identifier => WellKnown.Finalizers.ReleaseAddress;

    public bool AttachedByRuntime => false;

    public async Task FinalizeAsync(V1Service service, CancellationToken cancellationToken)
    {
        await term.ReadyAsync(cancellationToken);
        var released = new List<string>();
        foreach (var claim in term.ClaimsOf(service))
        {
            await Claims.ReleaseAsync(allocations, claim, service.Metadata.Uid, cancellationToken);
            released.Add(claim.Spec.Address);
        }
        term.WithAllocator(a => a.Release(ServiceRequestReader.KeyOf(service)));
        term.ClearPending(ObjectKey.Of(service));
        term.EnqueuePending();
        if (released.Count > 0)
        {
            await events.RecordAsync(service, EventType.Normal, WellKnown.Events.IPReleased, $"Released {string.Join(", ", released)}", cancellationToken);
        }
    }
}
