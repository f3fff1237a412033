using IpvsOperator.Selection;
namespace IpvsOperator.Ipam;

/// <summary>Which Services may draw from a pool; every constraint that is set must hold.</summary>
public sealed record ServiceScope(
    IReadOnlySet<string>? Namespaces = null,
    LabelSelector? NamespaceSelector = null,
    LabelSelector? ServiceSelector = null)
{
    public static readonly ServiceScope Everyone = new();

    /// <summary>Null when <paramref name="request"/> may use the pool, else why not.</summary>
    public string? Refuses(ServiceRequest request)
    {
        if (Namespaces is { Count: > 0 } && !Namespaces.Contains(request.Service.Namespace))
        {
            return $"namespace {request.Service.Namespace} is not one of [{string.Join(", ", Namespaces.Order(StringComparer.Ordinal))}]";
        }
        if (NamespaceSelector is not null && !NamespaceSelector.Matches(request.NamespaceLabels))
        {
            return $"namespace {request.Service.Namespace} does not match namespaceSelector '{NamespaceSelector}'";
        }
        if (ServiceSelector is not null && !ServiceSelector.Matches(request.Labels))
        {
            return $"the Service's labels do not match serviceSelector '{ServiceSelector}'";
        }
        return null;
    }
}
