using IpvsOperator.Addressing;
using IpvsOperator.Entities;

namespace IpvsOperator.Readers;

/// <summary>
/// The address a claim names, read where the claim enters: spec.address becomes an
/// <see cref="IPAddressValue"/> here and nowhere else. A claim whose text is no address (written by
/// hand past the webhook, or a half-read object) names none.
/// </summary>
public static class ClaimAddress
{
    public static bool TryAddress(this V1Alpha1IPAllocation allocation, out IPAddressValue address) =>
        IPAddressValue.TryParse(allocation.Spec?.Address, out address);

    /// <summary>The addresses the claims name, skipping any that names none.</summary>
    public static IEnumerable<IPAddressValue> Addresses(this IEnumerable<V1Alpha1IPAllocation> allocations)
    {
        foreach (var allocation in allocations)
        {
            if (allocation.TryAddress(out var address))
            {
                yield return address;
            }
        }
    }
}
