using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Text;
using k8s.Models;

namespace IpvsOperator.AllocationReaders;

/// <summary>
/// Reads what a Service asks of the allocator from its spec and annotations. Pure: no I/O.
/// A garbled annotation is an error that names the value and what would be valid. MetalLB's
/// annotations stand in for ours where ours are absent (<see cref="MetalLBAnnotations"/>).
/// </summary>
public static class ServiceRequestReader
{
    /// <summary>Whether this operator serves the Service: type LoadBalancer with our class (or none, when we are the default).</summary>
    public static bool IsOurs(V1Service service, bool defaultClass) =>
        service.Spec?.Type == "LoadBalancer"
        && (service.Spec.LoadBalancerClass is null ? defaultClass : service.Spec.LoadBalancerClass == WellKnown.LoadBalancerClass);

    public static ServiceKey KeyOf(V1Service service) => new(service.Metadata.NamespaceProperty, service.Metadata.Name);

    public static (ServiceRequest? Request, string? Error) Read(V1Service service, IReadOnlyDictionary<string, string> namespaceLabels)
    {
        var annotations = service.Metadata?.Annotations ?? new Dictionary<string, string>();
        var spec = service.Spec ?? new V1ServiceSpec();
        // An empty list (the API server fills it; an object that skipped it may not) reads as unset.
        var families = (spec.IpFamilies is { Count: > 0 } listed ? listed : ["IPv4"]).Select(f => f == "IPv6" ? IPFamily.IPv6 : IPFamily.IPv4).Distinct().ToList();
        var policy = spec.IpFamilyPolicy ?? "SingleStack";
        if (policy == "SingleStack")
        {
            families = [families[0]];
        }
        else if (families.Count == 1)
        {
            // Dual-stack asked for with one family listed: the other one is the second family.
            families.Add(families[0] == IPFamily.IPv4 ? IPFamily.IPv6 : IPFamily.IPv4);
        }

        var requested = new List<IPAddressValue>();
        if (MetalLBAnnotations.Read(annotations, WellKnown.Annotations.LoadBalancerIPs) is { } ipsAnnotation)
        {
            var (ipsKey, list) = ipsAnnotation;
            foreach (var text in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!IPAddressValue.TryParse(text, out var address))
                {
                    return (null, $"annotation {ipsKey}: '{QuotedValue.Of(text)}' is not an IP address; expected a comma-separated list with at most one IPv4 and one IPv6 address, e.g. 192.0.2.10,2001:db8::10");
                }
                requested.Add(address);
            }
            if (requested.Count == 0)
            {
                return (null, $"annotation {ipsKey} is empty; remove it or list addresses, e.g. 192.0.2.10");
            }
            if (requested.GroupBy(a => a.Family).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                return (null, $"annotation {ipsKey}: '{QuotedValue.Of(list)}' names more than one {twice.Key} address ({QuotedValue.Of(string.Join(", ", twice))}); give at most one IPv4 and one IPv6 address");
            }
        }
        else if (!string.IsNullOrWhiteSpace(spec.LoadBalancerIP))
        {
            // Deprecated upstream, still honoured.
            if (!IPAddressValue.TryParse(spec.LoadBalancerIP.Trim(), out var address))
            {
                return (null, $"spec.loadBalancerIP '{QuotedValue.Of(spec.LoadBalancerIP)}' is not an IP address; expected e.g. 192.0.2.10 (or use the annotation {WellKnown.Annotations.LoadBalancerIPs})");
            }
            requested.Add(address);
        }

        var poolAnnotation = MetalLBAnnotations.Read(annotations, WellKnown.Annotations.AddressPool);
        var pool = poolAnnotation?.Value.Trim();
        if (pool is { Length: 0 })
        {
            return (null, $"annotation {poolAnnotation!.Value.Key} is empty; name an IPPool or remove the annotation");
        }
        var sharingAnnotation = MetalLBAnnotations.Read(annotations, WellKnown.Annotations.AllowSharedIP);
        var sharingKey = sharingAnnotation?.Value.Trim();
        if (sharingKey is { Length: 0 })
        {
            return (null, $"annotation {sharingAnnotation!.Value.Key} is empty; give a sharing key (any string) or remove the annotation");
        }

        var sharingNamespaces = new HashSet<string>(StringComparer.Ordinal);
        if (annotations.TryGetValue(WellKnown.Annotations.AllowSharedIPNamespaces, out var namespaceList))
        {
            foreach (var ns in namespaceList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (ns != "*" && !IsNamespaceName(ns))
                {
                    return (null, $"annotation {WellKnown.Annotations.AllowSharedIPNamespaces}: '{QuotedValue.Of(ns)}' is not a namespace name; expected a comma-separated list of namespaces, or * for any");
                }
                sharingNamespaces.Add(ns);
            }
        }

        var request = new ServiceRequest
        {
            Service = KeyOf(service),
            Families = families,
            RequireAllFamilies = policy != "PreferDualStack",
            RequestedAddresses = requested,
            Pool = pool,
            SharingKey = sharingKey,
            SharingNamespaces = sharingNamespaces,
            Ports = PortsOf(service),
            Labels = (IReadOnlyDictionary<string, string>?)service.Metadata?.Labels?.AsReadOnly() ?? new Dictionary<string, string>(),
            NamespaceLabels = namespaceLabels,
        };
        return (request, null);
    }

    /// <summary>The namespaces a Service lets share its address (its annotation), for a holder read from the cache.</summary>
    public static IReadOnlySet<string> SharingNamespacesOf(V1Service service) =>
        service.Metadata.Annotations?.TryGetValue(WellKnown.Annotations.AllowSharedIPNamespaces, out var list) == true
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>();

    /// <summary>A DNS label, as a namespace name must be.</summary>
    private static bool IsNamespaceName(string text) =>
        text.Length is > 0 and <= 63 && char.IsAsciiLetterLower(text[0]) | char.IsAsciiDigit(text[0]) && char.IsAsciiLetterLower(text[^1]) | char.IsAsciiDigit(text[^1])
        && text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>The Service's ports as the allocator compares them for sharing.</summary>
    public static IReadOnlyList<ServicePort> PortsOf(V1Service service) =>
        [.. (service.Spec?.Ports ?? []).Select(p => new ServicePort(Enum.TryParse<PortProtocol>(p.Protocol ?? "TCP", out var protocol) ? protocol : PortProtocol.TCP, p.Port)).Distinct()];
}
