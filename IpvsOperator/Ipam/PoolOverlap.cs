using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>Two pools that hold the same addresses.</summary>
public sealed record PoolOverlap(string Pool, AddressRange Range, string OtherPool, AddressRange OtherRange)
{
    public override string ToString() => $"{Range} of IPPool {Pool} overlaps {OtherRange} of IPPool {OtherPool}";
}

public static class PoolOverlaps
{
    /// <summary>Every overlap between the ranges of <paramref name="candidate"/> and those of <paramref name="others"/>.</summary>
    public static IReadOnlyList<PoolOverlap> Between(Pool candidate, IEnumerable<Pool> others) =>
        (from other in others
         where other.Name != candidate.Name
         from range in candidate.Ranges
         from otherRange in other.Ranges
         where range.Overlaps(otherRange)
         select new PoolOverlap(candidate.Name, range, other.Name, otherRange)).ToList();
}
