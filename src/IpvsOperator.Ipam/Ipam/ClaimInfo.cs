using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>One claimed address: who holds it, under which sharing key, and from which pool.</summary>
public sealed record ClaimInfo(
    IPAddressValue Address,
    string? Pool,
    string? SharingKey,
    IReadOnlyDictionary<ServiceKey, IReadOnlyList<ServicePort>> Holders);
