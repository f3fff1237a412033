using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>What a Service holds after <see cref="Allocator.Assign"/>, and what it was refused.</summary>
public sealed record AssignResult(IReadOnlyList<IPAddressValue> Held, IReadOnlyList<RefusedAddress> Refused)
{
    public bool Succeeded => Refused.Count == 0;
}
