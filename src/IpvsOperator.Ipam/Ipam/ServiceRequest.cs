using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>What a Service asks of the allocator, already read from its spec and annotations.</summary>
public sealed record ServiceRequest
{
    public required ServiceKey Service { get; init; }

    /// <summary>The families to allocate, primary first (a Service's <c>spec.ipFamilies</c>).</summary>
    public IReadOnlyList<IPFamily> Families { get; init; } = [IPFamily.IPv4];

    /// <summary>False for PreferDualStack: the families after the first are taken only when they can be.</summary>
    public bool RequireAllFamilies { get; init; } = true;

    /// <summary>Addresses asked for by name, at most one per family.</summary>
    public IReadOnlyList<IPAddressValue> RequestedAddresses { get; init; } = [];

    /// <summary>The pool asked for by name, or null for any pool that serves the Service.</summary>
    public string? Pool { get; init; }

    /// <summary>Services with the same key may share an address when their ports do not clash.</summary>
    public string? SharingKey { get; init; }

    /// <summary>Namespaces whose Services this one shares with under its key ("*": any); its own always.</summary>
    public IReadOnlySet<string> SharingNamespaces { get; init; } = new HashSet<string>();

    public IReadOnlyList<ServicePort> Ports { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> NamespaceLabels { get; init; } = new Dictionary<string, string>();
}
