namespace IpvsOperator.Ipam;

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
    CrossNamespaceSharing,
}

/// <summary>
/// Why a Service gets no address, in the allocator's terms: <see cref="Message"/> says what stands
/// in the way; when sharing does, <see cref="SharingKey"/> and <see cref="Holder"/> say what the
/// Service would have to declare, for the caller to word in the names users write.
/// </summary>
public sealed record AllocationFailure(AllocationFailureReason Reason, string Message)
{
    /// <summary>
    /// The key the address is shared under, when the Service asked for a shared address without a
    /// key (<see cref="AllocationFailureReason.RequestedAddressTaken"/>) or from another namespace
    /// (<see cref="AllocationFailureReason.CrossNamespaceSharing"/>): with it, the Service may join.
    /// </summary>
    public string? SharingKey { get; init; }

    /// <summary>
    /// For <see cref="AllocationFailureReason.CrossNamespaceSharing"/>: the holder in another
    /// namespace. Each of the two Services must allow the other's namespace.
    /// </summary>
    public ServiceKey? Holder { get; init; }

    public override string ToString() => $"{Reason}: {Message}";
}
