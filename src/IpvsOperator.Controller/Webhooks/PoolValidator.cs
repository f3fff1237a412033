using IpvsOperator.AllocationReaders;
using IpvsOperator.Readers;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Webhooks;
using k8s.Models;

namespace IpvsOperator.Webhooks;

/// <summary>
/// IPPools that would hurt are refused: an entry that does not parse, a range of two families or
/// backwards, an overlap with another pool (named), an update that drops an allocated address or
/// whose serviceAllocation would exclude a Service holding one, or a deletion while addresses are
/// allocated (naming the Services), and announcement settings that do not parse (an unknown mode, a
/// malformed community).
/// </summary>
[ValidatingWebhook("ippools.ipvsoperator.io", "/validate-ippool", Groups = [WellKnown.Group], Versions = [WellKnown.Version],
    Resources = ["ippools"], Operations = ["CREATE", "UPDATE", "DELETE"])]
[EntityRbac(typeof(V1Service), typeof(V1Namespace), Verbs = RbacVerb.Get)]
internal sealed class PoolValidator(
    EntityClient<V1Alpha1IPPool> pools,
    EntityClient<V1Alpha1IPAllocation> allocations,
    EntityClient<V1Service> services,
    EntityClient<V1Namespace> namespaces) : ValidationWebhook<V1Alpha1IPPool>
{
    private const int Named = 5;

    protected override Task<AdmissionVerdict> CreateAsync(V1Alpha1IPPool entity, CancellationToken cancellationToken) =>
        CheckAsync(entity, cancellationToken);

    protected override Task<AdmissionVerdict> UpdateAsync(V1Alpha1IPPool oldEntity, V1Alpha1IPPool newEntity, CancellationToken cancellationToken) =>
        CheckAsync(newEntity, cancellationToken);

    protected override async Task<AdmissionVerdict> DeleteAsync(V1Alpha1IPPool entity, CancellationToken cancellationToken)
    {
        var name = entity.Metadata.Name;
        var claims = await ClaimsAsync(name, cancellationToken);
        return claims.Count == 0
            ? AdmissionVerdict.Allow
            : AdmissionVerdict.Deny($"IPPool {name} still has {claims.Count} allocated address(es): {Describe(claims)}; delete those Services or give them other addresses first");
    }

    private async Task<AdmissionVerdict> CheckAsync(V1Alpha1IPPool pool, CancellationToken cancellationToken)
    {
        // The pool's own fields first: a pool that cannot be read costs no API read.
        var name = pool.Metadata.Name;
        // The CRD's limits, before any entry is parsed: the API server never sends more, so a review
        // that has more comes from someone else, refused at the cost of counting.
        if (OverLimits(pool.Spec) is { } tooLarge)
        {
            return AdmissionVerdict.Deny($"IPPool {name}: {tooLarge}");
        }
        var parsed = PoolReader.Read(pool);
        if (!parsed.Succeeded)
        {
            return AdmissionVerdict.Deny($"IPPool {name}: {string.Join("; ", parsed.Errors)}");
        }
        if (PoolAnnouncementReader.Read(pool).Errors is { Count: > 0 } announceErrors)
        {
            return AdmissionVerdict.Deny($"IPPool {name}: {string.Join("; ", announceErrors)}");
        }

        var others = (await pools.ListAllAsync(cancellationToken: cancellationToken)).Items
            .Where(p => p.Metadata.Name != name).Select(PoolReader.Read).Where(p => p.Succeeded).Select(p => p.Pool!);
        var overlaps = PoolOverlaps.Between(parsed.Pool!, others);
        if (overlaps.Any)
        {
            return AdmissionVerdict.Deny($"IPPool {name}: {overlaps}; pools may not share addresses");
        }
        var claims = await ClaimsAsync(name, cancellationToken);
        var dropped = claims.Where(c => !c.TryAddress(out var address) || !parsed.Pool!.Ranges.Any(r => r.Contains(address))).ToList();
        if (dropped.Count > 0)
        {
            return AdmissionVerdict.Deny($"IPPool {name}: the update drops allocated address(es) {Describe(dropped)}; keep them in spec.addresses or release them first");
        }
        var excluded = await ExcludedHoldersAsync(parsed.Pool!, claims, cancellationToken);
        if (excluded.Count > 0)
        {
            return AdmissionVerdict.Deny($"IPPool {name}: spec.serviceAllocation would no longer serve Services that hold its addresses: " +
                $"{string.Join("; ", excluded.Take(Named))}{(excluded.Count > Named ? " and more" : string.Empty)}; change those Services (or their namespaces) first, or release their addresses");
        }
        return AdmissionVerdict.Allow;
    }

    private async Task<List<V1Alpha1IPAllocation>> ClaimsAsync(string pool, CancellationToken cancellationToken) =>
        (await allocations.ListAllAsync(cancellationToken: cancellationToken)).Items.Where(a => a.Spec.Pool == pool).ToList();

    private static string? OverLimits(IPPoolSpec? spec)
    {
        if (spec?.Addresses is not { } addresses)
        {
            return null;
        }
        return addresses.Count > IPPoolSpec.MaxAddresses || addresses.Any(a => a is null || a.Length > IPPoolSpec.MaxAddressLength)
            ? $"spec.addresses may hold at most {IPPoolSpec.MaxAddresses} entries of at most {IPPoolSpec.MaxAddressLength} characters; it holds {addresses.Count}"
            : null;
    }

    /// <summary>
    /// The holders of the pool's claims that its new scope refuses: a pool edit never takes an
    /// address from a Service (a Service that changes so that its pool no longer serves it does lose it).
    /// Stops after a few, which is all the denial names.
    /// </summary>
    private async Task<List<string>> ExcludedHoldersAsync(Pool pool, List<V1Alpha1IPAllocation> claims, CancellationToken cancellationToken)
    {
        var excluded = new List<string>();
        if (pool.Scope is null)
        {
            return excluded;
        }
        var namespaceLabels = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var claim in claims)
        {
            foreach (var holder in claim.Holders())
            {
                if (await services.GetAsync(holder.Namespace, holder.Name, cancellationToken) is not { } service || service.Metadata.Uid != holder.Uid)
                {
                    continue; // a claim whose Service is gone: released by the controller, nobody to strand
                }
                if (pool.Scope.NamespaceSelector is not null && !namespaceLabels.ContainsKey(holder.Namespace))
                {
                    var ns = await namespaces.GetAsync(null, holder.Namespace, cancellationToken);
                    namespaceLabels[holder.Namespace] = (IReadOnlyDictionary<string, string>?)ns?.Metadata.Labels?.AsReadOnly() ?? new Dictionary<string, string>();
                }
                var (serviceRequest, _) = ServiceRequestReader.Read(service, namespaceLabels.GetValueOrDefault(holder.Namespace) ?? new Dictionary<string, string>());
                if (serviceRequest is not null && pool.Scope.Refuses(serviceRequest) is { } refusal)
                {
                    excluded.Add($"{claim.Spec.Address} (Service {holder.Namespace}/{holder.Name}: {refusal})");
                    if (excluded.Count > Named)
                    {
                        return excluded;
                    }
                }
            }
        }
        return excluded;
    }

    private static string Describe(List<V1Alpha1IPAllocation> claims) =>
        string.Join(", ", claims.Take(Named).Select(c => $"{c.Spec.Address} (Service {c.Spec.ServiceRef.Namespace}/{c.Spec.ServiceRef.Name})"))
        + (claims.Count > Named ? $" and {claims.Count - Named} more" : string.Empty);
}
