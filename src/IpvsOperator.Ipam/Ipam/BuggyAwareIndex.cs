using System.Numerics;
using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>
/// Arithmetic over the IPv4 addresses that do not end in .0 or .255 ("usable" when a pool avoids
/// buggy IPs), so that such a pool is searched as a dense sequence of offsets without enumerating it.
/// Each block of 256 addresses holds 254 usable ones: .1 to .254.
/// </summary>
internal static class BuggyAwareIndex
{
    private const ulong UsablePerBlock = 254;

    /// <summary>How many usable addresses lie in [0, address] (as 32-bit numbers).</summary>
    public static ulong UsableUpTo(ulong address)
    {
        var block = address / 256;
        var inBlock = address % 256;
        var partial = inBlock == 0 ? 0 : Math.Min(inBlock, UsablePerBlock);
        return block * UsablePerBlock + partial;
    }

    /// <summary>The usable address of the given 1-based rank.</summary>
    public static ulong AddressOfRank(ulong rank)
    {
        var block = (rank - 1) / UsablePerBlock;
        var inBlock = (rank - 1) % UsablePerBlock + 1;
        return block * 256 + inBlock;
    }

    public static BigInteger UsableCount(AddressRange range)
    {
        var first = (ulong)range.First.Value;
        var last = (ulong)range.Last.Value;
        return UsableUpTo(last) - (first == 0 ? 0 : UsableUpTo(first - 1));
    }
}
