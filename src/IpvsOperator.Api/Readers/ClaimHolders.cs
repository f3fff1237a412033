using IpvsOperator.Entities;

namespace IpvsOperator.Readers;

/// <summary>Who holds a claim: its owner first, then the Services sharing its address.</summary>
public static class ClaimHolders
{
    public static IEnumerable<ServiceReference> Holders(this V1Alpha1IPAllocation allocation) =>
        new[] { allocation.Spec.ServiceRef }.Concat(allocation.Spec.SharedWith ?? []);
}
