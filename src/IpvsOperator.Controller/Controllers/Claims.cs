using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;

namespace IpvsOperator.Controllers;

/// <summary>Changes to IPAllocation objects that more than one controller makes.</summary>
public static class Claims
{
    /// <summary>Drops one Service from a claim (see <see cref="KeepOnlyAsync"/>).</summary>
    public static Task ReleaseAsync(EntityClient<V1Alpha1IPAllocation> allocations, V1Alpha1IPAllocation claim, string serviceUid, CancellationToken cancellationToken) =>
        KeepOnlyAsync(allocations, claim, [.. claim.Holders().Where(h => h.Uid != serviceUid)], cancellationToken);

    /// <summary>
    /// Leaves <paramref name="holders"/> on the claim: the first becomes its owner, the rest its
    /// sharers. With none left the claim is deleted (only that incarnation of it, by uid).
    /// </summary>
    public static async Task KeepOnlyAsync(EntityClient<V1Alpha1IPAllocation> allocations, V1Alpha1IPAllocation claim, IReadOnlyList<ServiceReference> holders,
        CancellationToken cancellationToken)
    {
        if (holders.Count == 0)
        {
            await allocations.DeleteAsync(null, claim.Metadata.Name, claim.Metadata.Uid, cancellationToken: cancellationToken);
            return;
        }
        claim.Spec.ServiceRef = holders[0];
        claim.Spec.SharedWith = holders.Count > 1 ? [.. holders.Skip(1)] : null;
        await allocations.ReplaceAsync(claim, cancellationToken);
    }
}
