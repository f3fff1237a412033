using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;

namespace IpvsOperator.Controllers;

/// <summary>Changes to IPAllocation objects that more than one controller makes.</summary>
public static class Claims
{
    /// <summary>
    /// Drops one Service from a claim: deletes the claim when it was the only holder (only that
    /// incarnation of it, by uid), or hands it to the next sharer.
    /// </summary>
    public static async Task ReleaseAsync(EntityClient<V1Alpha1IPAllocation> allocations, V1Alpha1IPAllocation claim, string serviceUid, CancellationToken cancellationToken)
    {
        var others = AllocationTerm.Holders(claim).Where(h => h.Uid != serviceUid).ToList();
        if (others.Count == 0)
        {
            await allocations.DeleteAsync(null, claim.Metadata.Name, claim.Metadata.Uid, cancellationToken);
            return;
        }
        claim.Spec.ServiceRef = others[0];
        claim.Spec.SharedWith = others.Count > 1 ? [.. others.Skip(1)] : null;
        await allocations.ReplaceAsync(claim, cancellationToken);
    }
}
