namespace IpvsOperator.Ipam;

public readonly record struct ServiceKey(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}

public enum PortProtocol
{
    TCP,
    UDP,
    SCTP,
}

public readonly record struct ServicePort(PortProtocol Protocol, int Port)
{
    public override string ToString() => $"{Protocol}/{Port}";
}

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

    public IReadOnlyList<ServicePort> Ports { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> NamespaceLabels { get; init; } = new Dictionary<string, string>();
}

public enum AllocationFailureReason
{
    InvalidRequest,
    PoolNotFound,
    NoPoolMatches,
    PoolExhausted,
    RequestedAddressOutsidePools,
    RequestedAddressUnusable,
    RequestedAddressTaken,
    SharingKeyMismatch,
    PortClash,
}

public sealed record AllocationFailure(AllocationFailureReason Reason, string Message)
{
    public override string ToString() => $"{Reason}: {Message}";
}

public sealed record AddressAssignment(IPAddressValue Address, string? Pool);

public sealed record AllocationResult(
    IReadOnlyList<AddressAssignment> Addresses,
    AllocationFailure? Failure,
    bool Changed)
{
    public bool Succeeded => Failure is null;

    public static AllocationResult Failed(AllocationFailureReason reason, string message) =>
        new([], new AllocationFailure(reason, message), Changed: false);
}

/// <summary>One claimed address: who holds it, under which sharing key, and from which pool.</summary>
public sealed record ClaimInfo(
    IPAddressValue Address,
    string? Pool,
    string? SharingKey,
    IReadOnlyDictionary<ServiceKey, IReadOnlyList<ServicePort>> Holders);

public sealed record FamilyUsage(IPFamily Family, System.Numerics.BigInteger Capacity, long Allocated, System.Numerics.BigInteger Available);
