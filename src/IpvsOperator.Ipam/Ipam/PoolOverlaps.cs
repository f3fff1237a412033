using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>
/// Finds overlapping entries by sorting them, in O(n log n) whatever their number: an entry
/// overlaps an earlier one (by first address) exactly when it starts at or before the furthest
/// end reached by the entries before it.
/// </summary>
public static class PoolOverlaps
{
    /// <summary>Entries of <paramref name="pool"/> that overlap each other.</summary>
    public static OverlapReport Within(Pool pool)
    {
        var sorted = pool.Ranges.Order(ByFirst).ToArray();
        var named = new List<PoolOverlap>();
        var entries = 0;
        var furthest = -1;
        for (var i = 0; i < sorted.Length; i++)
        {
            if (furthest >= 0 && sorted[i].First <= sorted[furthest].Last)
            {
                entries++;
                if (named.Count < OverlapReport.NamedAtMost)
                {
                    named.Add(new PoolOverlap(pool.Name, sorted[i], pool.Name, sorted[furthest]));
                }
            }
            if (furthest < 0 || sorted[i].Last > sorted[furthest].Last)
            {
                furthest = i;
            }
        }
        return entries == 0 ? OverlapReport.None : new OverlapReport(named, entries);
    }

    /// <summary>Entries of <paramref name="candidate"/> that overlap an entry of another of <paramref name="others"/> (which may overlap each other).</summary>
    public static OverlapReport Between(Pool candidate, IEnumerable<Pool> others)
    {
        var theirs = others.Where(o => o.Name != candidate.Name).SelectMany(o => o.Ranges.Select(r => (Range: r, Pool: o.Name)))
            .OrderBy(x => x.Range, ByFirst).ToArray();
        if (theirs.Length == 0)
        {
            return OverlapReport.None;
        }
        // For each prefix of their entries, the one that reaches furthest.
        var furthest = new int[theirs.Length];
        for (var i = 0; i < theirs.Length; i++)
        {
            furthest[i] = i > 0 && theirs[furthest[i - 1]].Range.Last >= theirs[i].Range.Last ? furthest[i - 1] : i;
        }
        var named = new List<PoolOverlap>();
        var entries = 0;
        foreach (var range in candidate.Ranges.Order(ByFirst))
        {
            var last = LastStartingBy(theirs, range.Last);
            if (last >= 0 && theirs[furthest[last]].Range.Last >= range.First)
            {
                entries++;
                if (named.Count < OverlapReport.NamedAtMost)
                {
                    var other = theirs[furthest[last]];
                    named.Add(new PoolOverlap(candidate.Name, range, other.Pool, other.Range));
                }
            }
        }
        return entries == 0 ? OverlapReport.None : new OverlapReport(named, entries);
    }

    private static readonly Comparer<AddressRange> ByFirst = Comparer<AddressRange>.Create((a, b) => a.First.CompareTo(b.First) is var c && c != 0 ? c : a.Last.CompareTo(b.Last));

    /// <summary>The index of the last entry that starts at or before <paramref name="address"/>, or -1.</summary>
    private static int LastStartingBy((AddressRange Range, string Pool)[] sorted, IPAddressValue address)
    {
        int low = 0, high = sorted.Length - 1, found = -1;
        while (low <= high)
        {
            var middle = low + (high - low) / 2;
            if (sorted[middle].Range.First <= address)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return found;
    }
}
