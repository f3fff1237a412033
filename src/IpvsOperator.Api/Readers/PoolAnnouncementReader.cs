using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Text;

namespace IpvsOperator.Readers;

/// <summary>
/// Reads an IPPool's <c>spec.announce</c>. Problems name the field, the value and what is valid:
/// the webhook refuses them; an agent that meets one anyway announces the pool the default way,
/// except an aggregation length that does not fit the pool, which only goes: each address is then
/// announced on its own (/32, /128), never an aggregate that reaches beyond the pool.
/// </summary>
public static class PoolAnnouncementReader
{
    public static (PoolAnnouncementSettings Settings, IReadOnlyList<string> Errors) Read(V1Alpha1IPPool? pool)
    {
        if (pool?.Spec?.Announce is not { } announce)
        {
            return (PoolAnnouncementSettings.Default, []);
        }
        var errors = new List<string>();
        var modes = announce.Modes is { Count: > 0 } given ? given : [PoolAnnouncement.Layer2Mode, PoolAnnouncement.BgpMode];
        foreach (var mode in modes.Where(m => m is not PoolAnnouncement.Layer2Mode and not PoolAnnouncement.BgpMode))
        {
            errors.Add($"spec.announce.modes: '{QuotedValue.Of(mode)}' is not a way to announce; valid: {PoolAnnouncement.Layer2Mode}, {PoolAnnouncement.BgpMode}");
        }
        var bgp = modes.Contains(PoolAnnouncement.BgpMode);
        var settings = announce.Bgp ?? new PoolBgpAnnouncement();
        if (announce.Bgp is not null && !bgp)
        {
            errors.Add($"spec.announce.bgp is set but spec.announce.modes [{QuotedValue.Of(string.Join(", ", modes))}] does not include {PoolAnnouncement.BgpMode}");
        }
        foreach (var community in (settings.Communities ?? []).Where(c => !BgpSyntax.IsCommunity(c)))
        {
            errors.Add($"spec.announce.bgp.communities: '{QuotedValue.Of(community)}' is not a community: AA:NN (each 0 to 65535) or one of {string.Join(", ", BgpSyntax.WellKnownCommunities)}");
        }
        foreach (var community in (settings.LargeCommunities ?? []).Where(c => !BgpSyntax.IsLargeCommunity(c)))
        {
            errors.Add($"spec.announce.bgp.largeCommunities: '{QuotedValue.Of(community)}' is not a large community: A:B:C, each 0 to 4294967295");
        }
        if (settings.LocalPreference is < 0 or > uint.MaxValue)
        {
            errors.Add($"spec.announce.bgp.localPreference {settings.LocalPreference} is not 0 to {uint.MaxValue}");
        }
        if (errors.Count > 0)
        {
            return (PoolAnnouncementSettings.Default, [.. errors, .. AggregationErrors(pool.Spec.Addresses, settings).Select(e => e.Message)]);
        }
        var aggregationErrors = AggregationErrors(pool.Spec.Addresses, settings);
        var v4 = aggregationErrors.Any(e => e.Field == "aggregationLength") ? null : settings.AggregationLength;
        var v6 = aggregationErrors.Any(e => e.Field == "aggregationLengthV6") ? null : settings.AggregationLengthV6;
        return (new PoolAnnouncementSettings(modes.Contains(PoolAnnouncement.Layer2Mode), bgp, settings.Communities ?? [], settings.LargeCommunities ?? [],
            (uint?)settings.LocalPreference, v4, v6, settings.NodeSelector) { ConsistentHashing = settings.ConsistentHashing == true },
            [.. aggregationErrors.Select(e => e.Message)]);
    }

    /// <summary>
    /// An aggregation length must be from the longest prefix of the CIDRs that make up the pool's
    /// entries (a range counts as the fewest CIDRs covering it) to the full length: shorter, and every
    /// node would announce addresses outside the pool (a /28 pool with length 1 announced 128.0.0.0/1).
    /// MetalLB checks the same.
    /// </summary>
    private static List<(string Field, string Message)> AggregationErrors(IEnumerable<string>? addresses, PoolBgpAnnouncement settings)
    {
        var problems = new List<(string, string)>();
        var ranges = (addresses ?? []).Select(text => AddressRange.TryParse(text, out var range, out _) ? range : (AddressRange?)null).OfType<AddressRange>().ToList();
        foreach (var (field, length, family) in new[] { ("aggregationLength", settings.AggregationLength, IPFamily.IPv4), ("aggregationLengthV6", settings.AggregationLengthV6, IPFamily.IPv6) })
        {
            if (length is not { } given)
            {
                continue;
            }
            var bits = IPAddressValue.BitLength(family);
            var cidrs = ranges.Where(r => r.Family == family).SelectMany(r => r.Cidrs()).ToList();
            var shortest = cidrs.Count == 0 ? 1 : cidrs.Max(c => c.PrefixLength);
            if (given < 1 || given > bits)
            {
                problems.Add((field, $"spec.announce.bgp.{field} {given} is not a prefix length; valid: {shortest} to {bits}"));
            }
            else if (given < shortest)
            {
                var widest = cidrs.First(c => c.PrefixLength == shortest);
                var aggregate = new IPAddressValue(family, widest.Network.Value & ~HostMask(bits - given));
                problems.Add((field, $"spec.announce.bgp.{field} {given} is shorter than the pool's prefix {widest.Network}/{widest.PrefixLength}: every node would announce {aggregate}/{given}, " +
                    $"addresses outside the pool; valid: {shortest} to {bits}"));
            }
        }
        return problems;
    }

    private static UInt128 HostMask(int hostBits) => hostBits >= 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
}
