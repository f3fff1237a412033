using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;

namespace IpvsOperator.Controllers;

/// <summary>An IPAllocation a Service holds, with its address read once, where the claim enters.</summary>
internal sealed record HeldClaim(V1Alpha1IPAllocation Object, IPAddressValue Address)
{
    /// <summary>What the claim asks the allocator to hold: its address under its own sharing key.</summary>
    public HeldAddress Held => new(Address, Object.Spec.SharingKey);

    /// <summary>The claims that name an address; one that names none is no claim the allocator can hold.</summary>
    public static IEnumerable<HeldClaim> Of(IEnumerable<V1Alpha1IPAllocation> allocations)
    {
        foreach (var allocation in allocations)
        {
            if (allocation.TryAddress(out var address))
            {
                yield return new HeldClaim(allocation, address);
            }
        }
    }
}
