using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Mapping;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Webhooks;
using k8s;

namespace IpvsOperator.Webhooks;

/// <summary>
/// IPPools that would hurt are refused: an entry that does not parse, a range of two families or
/// backwards, an overlap with another pool (named), an update that drops an allocated address or
/// a deletion while addresses are allocated (naming the Services).
/// </summary>
[ValidatingWebhook("ippools.ipvsoperator.io", "/validate-ippool", Groups = [WellKnown.Group], Versions = [WellKnown.Version],
    Resources = ["ippools"], Operations = ["CREATE", "UPDATE", "DELETE"])]
public sealed class PoolValidator(EntityClient<V1Alpha1IPPool> pools, EntityClient<V1Alpha1IPAllocation> allocations) : IAdmissionValidator
{
    private const int Named = 5;

    public async Task<AdmissionVerdict> ValidateAsync(AdmissionRequest request, CancellationToken cancellationToken)
    {
        var claims = (await allocations.ListAllAsync(cancellationToken: cancellationToken)).Items.Where(a => a.Spec.Pool == request.Name).ToList();
        if (request.Operation == "DELETE")
        {
            return claims.Count == 0
                ? AdmissionVerdict.Allow
                : AdmissionVerdict.Deny($"IPPool {request.Name} still has {claims.Count} allocated address(es): {Describe(claims)}; delete those Services or give them other addresses first");
        }

        var pool = KubernetesJson.Deserialize<V1Alpha1IPPool>(request.NewObject!.Value.GetRawText());
        var parsed = PoolReader.Read(pool);
        if (!parsed.Succeeded)
        {
            return AdmissionVerdict.Deny($"IPPool {request.Name}: {string.Join("; ", parsed.Errors)}");
        }
        var others = (await pools.ListAllAsync(cancellationToken: cancellationToken)).Items
            .Where(p => p.Metadata.Name != request.Name).Select(PoolReader.Read).Where(p => p.Succeeded).Select(p => p.Pool!);
        var overlaps = PoolOverlaps.Between(parsed.Pool!, others);
        if (overlaps.Count > 0)
        {
            return AdmissionVerdict.Deny($"IPPool {request.Name}: {string.Join("; ", overlaps)}; pools may not share addresses");
        }
        var dropped = claims.Where(c => !IPAddressValue.TryParse(c.Spec.Address, out var address) || !parsed.Pool!.Ranges.Any(r => r.Contains(address))).ToList();
        if (dropped.Count > 0)
        {
            return AdmissionVerdict.Deny($"IPPool {request.Name}: the update drops allocated address(es) {Describe(dropped)}; keep them in spec.addresses or release them first");
        }
        return AdmissionVerdict.Allow;
    }

    private static string Describe(List<V1Alpha1IPAllocation> claims) =>
        string.Join(", ", claims.Take(Named).Select(c => $"{c.Spec.Address} (Service {c.Spec.ServiceRef.Namespace}/{c.Spec.ServiceRef.Name})"))
        + (claims.Count > Named ? $" and {claims.Count - Named} more" : string.Empty);
}
