using IpvsOperator.Addressing;
using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>
/// The claims (IPAllocations) of the addresses MetalLB gave, made before IpvsOperator's controller
/// serves the Services, so that it adopts each address instead of choosing one: exactly the claim the
/// controller makes itself (named after the address, the IPPool holding it, the Service by uid, the
/// sharing key it reads), with the Services sharing an address as its sharers. An address no claim
/// can keep (in no IPPool, or held by Services that cannot share) is a change: that Service would be
/// renumbered. A Service whose addresses claims in the cluster already hold for it is served by
/// IpvsOperator, not MetalLB: it is left out (one note counts them). Pure: the Services and claims in, the claims and findings out.
/// </summary>
internal static class ServiceClaims
{
    /// <summary>Marks what the migration claimed, so that a rollback deletes exactly those claims.</summary>
    public const string MigratedLabel = "ipvsoperator.io/migrated-from";

    /// <summary>How many Services a note names, of those IpvsOperator already serves; the rest are counted.</summary>
    private const int NamedServed = 5;

    /// <param name="existing">The claims the cluster holds already: an address claimed for its Service is IpvsOperator's, not MetalLB's to migrate.</param>
    public static void Add(MigrationResult result, IReadOnlyList<V1Service> services, string? metallbClass, IReadOnlyList<V1Alpha1IPAllocation>? existing = null)
    {
        var pools = result.Pools.Select(PoolReader.Read).Where(p => p.Succeeded).Select(p => p.Pool!).ToList();
        var claimed = ClaimedFor(existing ?? []);
        var served = new List<string>();
        var holders = new SortedDictionary<IPAddressValue, List<(V1Service Service, string? SharingKey)>>();
        foreach (var service in services.Where(s => s.Spec?.Type == "LoadBalancer")
                     .OrderBy(s => s.Metadata.CreationTimestamp ?? DateTime.MinValue).ThenBy(s => s.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(s => s.Metadata.Name, StringComparer.Ordinal))
        {
            var where = $"Service {service.Metadata.NamespaceProperty}/{service.Metadata.Name}";
            var addresses = (service.Status?.LoadBalancer?.Ingress ?? []).Select(i => i.Ip).Where(ip => !string.IsNullOrEmpty(ip)).ToList();
            if (addresses.Count > 0 && addresses.All(text => IPAddressValue.TryParse(text, out var address) && claimed.Contains((address, service.Metadata.Uid ?? string.Empty))))
            {
                served.Add($"{service.Metadata.NamespaceProperty}/{service.Metadata.Name}");
                continue; // served by IpvsOperator already (its controller's claims, or an earlier --apply's)
            }
            var serviceClass = service.Spec.LoadBalancerClass;
            if (addresses.Count == 0 || serviceClass == WellKnown.LoadBalancerClass || (serviceClass is not null && serviceClass != metallbClass))
            {
                continue; // no address to keep, or not MetalLB's
            }
            if (serviceClass is not null)
            {
                result.Findings.Add(new Finding(FindingKind.Change, where, "spec.loadBalancerClass",
                    $"'{serviceClass}' is MetalLB's class and cannot be changed on a Service: IpvsOperator serves only Services of class {WellKnown.LoadBalancerClass} or none, so this one needs to be created again, which renumbers it unless it asks for {string.Join(",", addresses)} with {WellKnown.Annotations.LoadBalancerIPs}"));
                continue;
            }
            var (request, error) = ServiceRequestReader.Read(service, new Dictionary<string, string>());
            if (request is null)
            {
                result.Findings.Add(new Finding(FindingKind.Change, where, "metadata.annotations",
                    $"IpvsOperator refuses what this Service asks ({error}), so it would not keep {string.Join(",", addresses)}; fix the annotation first"));
                continue;
            }
            foreach (var text in addresses)
            {
                if (!IPAddressValue.TryParse(text, out var address))
                {
                    result.Findings.Add(new Finding(FindingKind.Change, where, "status.loadBalancer.ingress", $"'{text}' is not an IP address; there is nothing to keep"));
                    continue;
                }
                if (!holders.TryGetValue(address, out var list))
                {
                    holders[address] = list = [];
                }
                list.Add((service, request.SharingKey));
            }
        }

        if (served.Count > 0)
        {
            result.Findings.Add(new Finding(FindingKind.Note, "cluster", "IPAllocation",
                $"{served.Count} Service(s) hold addresses that IPAllocations already claim for them, so IpvsOperator serves them and they are left as they are: {string.Join(", ", served.Take(NamedServed))}{(served.Count > NamedServed ? $" and {served.Count - NamedServed} more" : string.Empty)}"));
        }

        foreach (var (address, found) in holders)
        {
            var list = found;
            var names = string.Join(", ", list.Select(h => $"{h.Service.Metadata.NamespaceProperty}/{h.Service.Metadata.Name}"));
            var pool = pools.FirstOrDefault(p => p.Ranges.Any(r => r.Contains(address)));
            if (pool is null)
            {
                result.Findings.Add(new Finding(FindingKind.Change, $"Service {names}", "status.loadBalancer.ingress",
                    $"{address} lies in no IPPool of this migration: IpvsOperator would withdraw it and give another address (the Service is renumbered); keep the MetalLB pool that holds it"));
                continue;
            }
            var key = list[0].SharingKey;
            if (list.Count > 1 && (key is null || list.Any(h => h.SharingKey != key)))
            {
                result.Findings.Add(new Finding(FindingKind.Change, $"Service {names}", "status.loadBalancer.ingress",
                    $"these Services all show {address} without one sharing key (allow-shared-ip) for all: IpvsOperator keeps it for the first only and renumbers the others"));
                list = [list[0]];
            }
            var references = list.Select(h => new ServiceReference { Namespace = h.Service.Metadata.NamespaceProperty, Name = h.Service.Metadata.Name, Uid = h.Service.Metadata.Uid }).ToList();
            var name = AllocationNames.For(address);
            result.Claims.Add(new V1Alpha1IPAllocation
            {
                ApiVersion = WellKnown.ApiVersion,
                Kind = V1Alpha1IPAllocation.KindName,
                Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { [MigratedLabel] = "metallb" } },
                Spec = new IPAllocationSpec
                {
                    Address = address.ToString(),
                    Pool = pool.Name,
                    ServiceRef = references[0],
                    SharingKey = key,
                    SharedWith = references.Count > 1 ? [.. references.Skip(1)] : null,
                },
            });
            result.Sources[$"{V1Alpha1IPAllocation.KindName}/{name}"] = $"Service {names}";
        }
    }

    /// <summary>Each address with the uid of every Service its claim names (owner and sharers).</summary>
    private static HashSet<(IPAddressValue Address, string Uid)> ClaimedFor(IReadOnlyList<V1Alpha1IPAllocation> existing)
    {
        var claimed = new HashSet<(IPAddressValue, string)>();
        foreach (var claim in existing)
        {
            if (claim.Spec is null || !claim.TryAddress(out var address))
            {
                continue; // names no address: claims nothing
            }
            foreach (var holder in claim.Holders().Where(h => h is { Uid.Length: > 0 }))
            {
                claimed.Add((address, holder.Uid));
            }
        }
        return claimed;
    }
}
