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
    /// not just the first, so a user fixes a pool in one go.
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
        foreach (var text in addresses)
        {
            if (AddressRange.TryParse(text, out var range, out var error))
            {
                ranges.Add(range);
            }
            else
            {
                errors.Add(error);
            }
        }
        if (ranges.Count == 0 && errors.Count == 0)
        {
            errors.Add($"IPPool {name} lists no addresses; add at least one: {AddressRange.ValidForms}");
        }
        var pool = new Pool(name, ranges, autoAssign, avoidBuggyIPs, priority, scope);
        errors.AddRange(pool.InternalOverlaps());
        return new PoolParseResult(errors.Count == 0 ? pool : null, errors);
    }

    /// <summary>Entries of this pool that overlap each other.</summary>
    public IEnumerable<string> InternalOverlaps()
    {
        for (var i = 0; i < Ranges.Count; i++)
        {
            for (var j = i + 1; j < Ranges.Count; j++)
            {
                if (Ranges[i].Overlaps(Ranges[j]))
                {
                    yield return $"entries {Ranges[i]} and {Ranges[j]} of IPPool {Name} overlap; list each address once";
                }
            }
        }
    }
}
