using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

public sealed record AddressAssignment(IPAddressValue Address, string? Pool);
