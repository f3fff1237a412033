using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>An address a Service may not hold, and why.</summary>
public sealed record RefusedAddress(IPAddressValue Address, AllocationFailure Failure);
