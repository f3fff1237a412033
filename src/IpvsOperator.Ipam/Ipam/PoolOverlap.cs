using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>Two entries that hold the same addresses (of two pools, or of one).</summary>
public sealed record PoolOverlap(string Pool, AddressRange Range, string OtherPool, AddressRange OtherRange)
{
    public override string ToString() => Pool == OtherPool
        ? $"entries {OtherRange} and {Range} of IPPool {Pool} overlap"
        : $"{Range} of IPPool {Pool} overlaps {OtherRange} of IPPool {OtherPool}";
}
