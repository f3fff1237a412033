namespace IpvsOperator.Ipam;

public sealed record AllocationResult(
    IReadOnlyList<AddressAssignment> Addresses,
    AllocationFailure? Failure,
    bool Changed)
{
    public bool Succeeded => Failure is null;

    public static AllocationResult Failed(AllocationFailureReason reason, string message) =>
        new([], new AllocationFailure(reason, message), Changed: false);
}
