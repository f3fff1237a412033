using IpvsOperator.Addressing;
using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Webhooks;

namespace IpvsOperator.Webhooks;

/// <summary>An IPAllocation must be named after its address and lie in the pool it names.</summary>
[ValidatingWebhook("ipallocations.ipvsoperator.io", "/validate-ipallocation", Groups = [WellKnown.Group], Versions = [WellKnown.Version],
    Resources = ["ipallocations"])]
internal sealed class AllocationValidator(EntityClient<V1Alpha1IPPool> pools) : ValidationWebhook<V1Alpha1IPAllocation>
{
    protected override Task<AdmissionVerdict> CreateAsync(V1Alpha1IPAllocation entity, CancellationToken cancellationToken) =>
        CheckAsync(entity, cancellationToken);

    protected override Task<AdmissionVerdict> UpdateAsync(V1Alpha1IPAllocation oldEntity, V1Alpha1IPAllocation newEntity, CancellationToken cancellationToken) =>
        CheckAsync(newEntity, cancellationToken);

    private async Task<AdmissionVerdict> CheckAsync(V1Alpha1IPAllocation allocation, CancellationToken cancellationToken)
    {
        if (!allocation.TryAddress(out var address))
        {
            return AdmissionVerdict.Deny($"spec.address '{allocation.Spec.Address}' is not an IP address; expected e.g. 192.0.2.10 or 2001:db8::a");
        }
        var expected = AllocationNames.For(address);
        if (allocation.Metadata.Name != expected)
        {
            return AdmissionVerdict.Deny($"IPAllocation {allocation.Metadata.Name} claims {address}; the claim of {address} must be named {expected}");
        }
        var pool = await pools.GetAsync(null, allocation.Spec.Pool, cancellationToken);
        if (pool is null)
        {
            return AdmissionVerdict.Deny($"spec.pool '{allocation.Spec.Pool}' names no IPPool");
        }
        var parsed = PoolReader.Read(pool);
        if (!parsed.Succeeded || !parsed.Pool!.Ranges.Any(r => r.Contains(address)))
        {
            return AdmissionVerdict.Deny($"address {address} does not lie in IPPool {pool.Metadata.Name} ({string.Join(", ", pool.Spec.Addresses)})");
        }
        return AdmissionVerdict.Allow;
    }
}
