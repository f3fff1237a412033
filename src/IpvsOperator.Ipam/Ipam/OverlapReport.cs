namespace IpvsOperator.Ipam;

/// <summary>
/// The overlaps of a pool's entries: the first few by address, and how many of its entries overlap
/// in all. A message names a handful and counts the rest: a pool of a thousand copies of one
/// address costs one line, not half a million.
/// </summary>
public sealed record OverlapReport(IReadOnlyList<PoolOverlap> Named, int Entries)
{
    public const int NamedAtMost = 5;

    public static readonly OverlapReport None = new([], 0);

    public bool Any => Entries > 0;

    public override string ToString() =>
        string.Join("; ", Named) + (Entries > Named.Count ? $"; and {Entries - Named.Count} more of its entries overlap" : string.Empty);
}
