using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>An address a Service holds, under the sharing key its claim records.</summary>
public sealed record HeldAddress(IPAddressValue Address, string? SharingKey);
