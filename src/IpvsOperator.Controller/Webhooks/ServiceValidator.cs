using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Text;
using IpvsOperator.Runtime.Webhooks;
using k8s.Models;

namespace IpvsOperator.Webhooks;

/// <summary>
/// A LoadBalancer Service of ours is refused when its annotations do not parse (two addresses of one
/// family among them, an unknown scheduler or forward method, a health check that is not one), a
/// requested address lies in no pool or outside the pool it names, or a requested pool does not
/// exist: what the controller or the node agents would refuse anyway, said at once. A key under
/// ipvsoperator.io/ that the operator does not know is let through with a warning (kubectl prints
/// it). Registered with failurePolicy Ignore: our outage must never stop Services being created in
/// the cluster; and with a matchCondition, so that the API server sends us LoadBalancer Services
/// only, never the cluster's other Services.
/// </summary>
[ValidatingWebhook("services.ipvsoperator.io", "/validate-service", Resources = ["services"], FailurePolicy = "Ignore",
    MatchConditionName = "load-balancers-only", MatchCondition = "object.spec.type == 'LoadBalancer'")]
internal sealed class ServiceValidator(EntityClient<V1Alpha1IPPool> pools, bool defaultClass) : ValidationWebhook<V1Service>
{
    protected override Task<AdmissionVerdict> CreateAsync(V1Service entity, CancellationToken cancellationToken) =>
        CheckAsync(entity, cancellationToken);

    protected override Task<AdmissionVerdict> UpdateAsync(V1Service oldEntity, V1Service newEntity, CancellationToken cancellationToken) =>
        CheckAsync(newEntity, cancellationToken);

    private async Task<AdmissionVerdict> CheckAsync(V1Service service, CancellationToken cancellationToken)
    {
        // A Service on its way out is served no more: refusing its updates would only keep the
        // controller from removing its finalizer (a value that slipped in while this webhook was down
        // would hold the Service for ever).
        if (!ServiceRequestReader.IsOurs(service, defaultClass) || service.Metadata.DeletionTimestamp is not null)
        {
            return AdmissionVerdict.Allow;
        }
        // What the Service itself says is checked before any pool is read.
        var (request, requestError) = ServiceRequestReader.Read(service, new Dictionary<string, string>());
        var (_, errors, warnings) = ServiceIpvsSettingsReader.Read(service);
        var verdict = request is null ? AdmissionVerdict.Deny(requestError!)
            : errors.Count > 0 ? AdmissionVerdict.Deny(string.Join("; ", errors.Select(e => e.Message)))
            : await PoolVerdictAsync(request, cancellationToken);
        return warnings.Count > 0 ? verdict with { Warnings = warnings } : verdict;
    }

    /// <summary>Whether the pool and the addresses the Service asks for exist.</summary>
    private async Task<AdmissionVerdict> PoolVerdictAsync(ServiceRequest parsed, CancellationToken cancellationToken)
    {
        var known = (await pools.ListAllAsync(cancellationToken: cancellationToken)).Items
            .Select(p => (p.Metadata.Name, Parsed: PoolReader.Read(p))).ToList();
        if (parsed.Pool is { } wanted && known.All(p => p.Name != wanted))
        {
            return AdmissionVerdict.Deny($"annotation {WellKnown.Annotations.AddressPool}: IPPool '{QuotedValue.Of(wanted)}' does not exist; existing pools: [{string.Join(", ", known.Select(k => k.Name).Order(StringComparer.Ordinal))}]");
        }
        foreach (var address in parsed.RequestedAddresses)
        {
            if (!known.Any(k => k.Parsed.Pool?.Ranges.Any(r => r.Contains(address)) == true))
            {
                return AdmissionVerdict.Deny($"requested address {address} lies in no IPPool; pools hold [{string.Join(", ", known.Where(k => k.Parsed.Succeeded).SelectMany(k => k.Parsed.Pool!.Ranges.Select(r => $"{r} ({k.Name})")).Take(10))}]");
            }
            if (parsed.Pool is { } named && known.Single(k => k.Name == named).Parsed.Pool is { } pool && !pool.Ranges.Any(r => r.Contains(address)))
            {
                return AdmissionVerdict.Deny($"requested address {address} does not lie in IPPool {named}, which annotation {WellKnown.Annotations.AddressPool} names; " +
                    $"IPPool {named} holds [{string.Join(", ", pool.Ranges.Take(10))}]; ask for an address in it, or name the pool that holds {address}");
            }
        }
        return AdmissionVerdict.Allow;
    }
}
