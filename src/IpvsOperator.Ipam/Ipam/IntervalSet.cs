namespace IpvsOperator.Ipam;

/// <summary>
/// A set of numbers stored as disjoint, non-adjacent inclusive intervals in a balanced tree.
/// Adjacent members are merged, so the end of an interval plus one is never a member: that makes
/// "first number not in the set" one tree lookup, and memory grows with the number of runs of
/// members, not with the size of the space they are drawn from.
/// </summary>
internal sealed class IntervalSet
{
    private readonly SortedSet<Interval> intervals = new(StartComparer.Instance);

    public long Count { get; private set; }

    public int IntervalCount => intervals.Count;

    public bool Contains(UInt128 value) => Containing(value) is not null;

    /// <summary>Adds <paramref name="value"/>; false when it was already a member.</summary>
    public bool Add(UInt128 value)
    {
        if (Containing(value) is not null)
        {
            return false;
        }
        var start = value;
        var end = value;
        if (value > UInt128.Zero && Containing(value - 1) is { } before)
        {
            intervals.Remove(before);
            start = before.Start;
        }
        if (value < UInt128.MaxValue && StartingAt(value + 1) is { } after)
        {
            intervals.Remove(after);
            end = after.End;
        }
        intervals.Add(new Interval(start, end));
        Count++;
        return true;
    }

    /// <summary>Removes <paramref name="value"/>; false when it was not a member.</summary>
    public bool Remove(UInt128 value)
    {
        if (Containing(value) is not { } interval)
        {
            return false;
        }
        intervals.Remove(interval);
        if (interval.Start < value)
        {
            intervals.Add(new Interval(interval.Start, value - 1));
        }
        if (value < interval.End)
        {
            intervals.Add(new Interval(value + 1, interval.End));
        }
        Count--;
        return true;
    }

    /// <summary>The smallest number in [<paramref name="from"/>, <paramref name="last"/>] that is not a member.</summary>
    public UInt128? FirstAbsent(UInt128 from, UInt128 last)
    {
        if (from > last)
        {
            return null;
        }
        if (Containing(from) is not { } interval)
        {
            return from;
        }
        // Intervals never touch, so the number after this one is absent.
        return interval.End < last ? interval.End + 1 : null;
    }

    public IEnumerable<UInt128> Members()
    {
        foreach (var interval in intervals)
        {
            for (var value = interval.Start; ; value++)
            {
                yield return value;
                if (value == interval.End)
                {
                    break;
                }
            }
        }
    }

    private Interval? Containing(UInt128 value)
    {
        // The last interval starting at or before value is the only one that can contain it.
        // Only Min and Max are asked of the view: they walk one path of the tree, while a view's
        // Count walks every member in it, which would make this O(n).
        if (intervals.Count == 0 || intervals.Min.Start > value)
        {
            return null;
        }
        var floor = intervals.GetViewBetween(intervals.Min, new Interval(value, value)).Max;
        return floor.End >= value ? floor : null;
    }

    private Interval? StartingAt(UInt128 value) =>
        intervals.TryGetValue(new Interval(value, value), out var found) ? found : null;

    private readonly record struct Interval(UInt128 Start, UInt128 End);

    private sealed class StartComparer : IComparer<Interval>
    {
        public static readonly StartComparer Instance = new();

        public int Compare(Interval x, Interval y) => x.Start.CompareTo(y.Start);
    }
}
