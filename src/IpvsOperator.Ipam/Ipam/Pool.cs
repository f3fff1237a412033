using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>A pool of addresses as the allocator sees it: parsed ranges and the rules for drawing from them.</summary>
public sealed record Pool(
    string Name,
    IReadOnlyList<AddressRange> Ranges,
    bool AutoAssign = true,
    bool AvoidBuggyIPs = false,
    int Priority = 0,
    ServiceScope? Scope = null)
{
    public ServiceScope EffectiveScope => Scope ?? ServiceScope.Everyone;

    public bool Serves(IPFamily family) => Ranges.Any(r => r.Family == family);

    /// <summary>
    /// Parses the addresses of a pool. Every problem is reported (each naming the offending entry),
    /// not just the first, so a user fixes a pool in one go; past a handful they are counted.
    /// An entry must be written canonically (so what kubectl shows is what is served) and hold no
    /// special-purpose address.
    /// </summary>
    public static PoolParseResult Parse(
        string name,
        IEnumerable<string> addresses,
        bool autoAssign = true,
        bool avoidBuggyIPs = false,
        int priority = 0,
        ServiceScope? scope = null)
    {
        var ranges = new List<AddressRange>();
        var errors = new List<string>();
        var refused = 0;
        foreach (var text in addresses)
        {
            var problem = !AddressRange.TryParse(text, out var range, out var error) ? error
                : AddressRange.CanonicalFormError(text) ?? SpecialPurposeRanges.Refuses(range, text);
            if (problem is null)
            {
                ranges.Add(range);
            }
            else if (++refused <= OverlapReport.NamedAtMost)
            {
                errors.Add(problem);
            }
        }
        if (refused > OverlapReport.NamedAtMost)
        {
            errors.Add($"and {refused - OverlapReport.NamedAtMost} more entries are refused");
        }
        if (ranges.Count == 0 && errors.Count == 0)
        {
            errors.Add($"IPPool {name} lists no addresses; add at least one: {AddressRange.ValidForms}");
        }
        var pool = new Pool(name, ranges, autoAssign, avoidBuggyIPs, priority, scope);
        if (pool.InternalOverlaps() is { Any: true } overlaps)
        {
            errors.Add($"{overlaps}; list each address once");
        }
        return new PoolParseResult(errors.Count == 0 ? pool : null, errors);
    }

    /// <summary>Entries of this pool that overlap each other.</summary>
    public OverlapReport InternalOverlaps() => PoolOverlaps.Within(this);
}
