using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

public sealed record FamilyUsage(IPFamily Family, System.Numerics.BigInteger Capacity, long Allocated, System.Numerics.BigInteger Available);
