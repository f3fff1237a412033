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

public sealed record AllocationFailure(AllocationFailureReason Reason, string Message)
{
    public override string ToString() => $"{Reason}: {Message}";
}
