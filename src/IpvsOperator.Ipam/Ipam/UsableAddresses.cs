using System.Numerics;
using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>How many addresses of a range a pool can hand out.</summary>
internal static class UsableAddresses
{
    /// <summary>The number of usable addresses, leaving out .0 and .255 when <paramref name="avoidBuggy"/>.</summary>
    public static BigInteger UsableSize(this AddressRange range, bool avoidBuggy) =>
        avoidBuggy && range.Family == IPFamily.IPv4 ? BuggyAwareIndex.UsableCount(range) : range.Size;
}
