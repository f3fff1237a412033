using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>
/// The usable addresses of one range as dense offsets 0..LastOffset: every address for a plain
/// range, and every address but .0 and .255 for an IPv4 range of a pool that avoids buggy IPs.
/// </summary>
internal sealed class RangeSpace
{
    private readonly ulong firstRank;

    public RangeSpace(AddressRange range, bool avoidBuggy)
    {
        Range = range;
        SkipsBuggy = avoidBuggy && range.Family == IPFamily.IPv4;
        if (SkipsBuggy)
        {
            var first = (ulong)range.First.Value;
            firstRank = (first == 0 ? 0 : BuggyAwareIndex.UsableUpTo(first - 1)) + 1;
            var usable = BuggyAwareIndex.UsableUpTo((ulong)range.Last.Value) - firstRank + 1;
            IsEmpty = usable == 0;
            LastOffset = IsEmpty ? UInt128.Zero : usable - 1;
        }
        else
        {
            LastOffset = range.Last.Value - range.First.Value;
        }
    }

    public AddressRange Range { get; }

    public bool SkipsBuggy { get; }

    /// <summary>True for a range with no usable address, such as 192.0.2.255-192.0.3.0 avoiding buggy IPs.</summary>
    public bool IsEmpty { get; }

    public UInt128 LastOffset { get; }

    /// <summary>The offset of a usable address; false when it lies outside the range or is skipped.</summary>
    public bool TryOffsetOf(IPAddressValue address, out UInt128 offset)
    {
        offset = UInt128.Zero;
        if (!Range.Contains(address) || (SkipsBuggy && address.IsBuggy))
        {
            return false;
        }
        offset = SkipsBuggy
            ? BuggyAwareIndex.UsableUpTo((ulong)address.Value) - firstRank
            : address.Value - Range.First.Value;
        return true;
    }

    public IPAddressValue AddressAt(UInt128 offset) =>
        SkipsBuggy
            ? Range.First with { Value = BuggyAwareIndex.AddressOfRank(firstRank + (ulong)offset) }
            : Range.First.Add(offset);
}
