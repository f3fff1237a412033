using IpvsOperator.Addressing;
using IpvsOperator.Entities;

namespace IpvsOperator.Mapping;

/// <summary>
/// Reads an IPPool's <c>spec.announce</c>. Problems name the field, the value and what is valid:
/// the webhook refuses them; an agent that meets one anyway announces the pool the default way.
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
            errors.Add($"spec.announce.modes: '{mode}' is not a way to announce; valid: {PoolAnnouncement.Layer2Mode}, {PoolAnnouncement.BgpMode}");
        }
        var bgp = modes.Contains(PoolAnnouncement.BgpMode);
        var settings = announce.Bgp ?? new PoolBgpAnnouncement();
        if (announce.Bgp is not null && !bgp)
        {
            errors.Add($"spec.announce.bgp is set but spec.announce.modes [{string.Join(", ", modes)}] does not include {PoolAnnouncement.BgpMode}");
        }
        foreach (var community in (settings.Communities ?? []).Where(c => !BgpSyntax.IsCommunity(c)))
        {
            errors.Add($"spec.announce.bgp.communities: '{community}' is not a community: AA:NN (each 0 to 65535) or one of {string.Join(", ", BgpSyntax.WellKnownCommunities)}");
        }
        foreach (var community in (settings.LargeCommunities ?? []).Where(c => !BgpSyntax.IsLargeCommunity(c)))
        {
            errors.Add($"spec.announce.bgp.largeCommunities: '{community}' is not a large community: A:B:C, each 0 to 4294967295");
        }
        if (settings.LocalPreference is < 0 or > uint.MaxValue)
        {
            errors.Add($"spec.announce.bgp.localPreference {settings.LocalPreference} is not 0 to {uint.MaxValue}");
        }
        if (settings.AggregationLength is < 1 or > 32)
        {
            errors.Add($"spec.announce.bgp.aggregationLength {settings.AggregationLength} is not 1 to 32");
        }
        if (settings.AggregationLengthV6 is < 1 or > 128)
        {
            errors.Add($"spec.announce.bgp.aggregationLengthV6 {settings.AggregationLengthV6} is not 1 to 128");
        }
        if (errors.Count > 0)
        {
            return (PoolAnnouncementSettings.Default, errors);
        }
        return (new PoolAnnouncementSettings(modes.Contains(PoolAnnouncement.Layer2Mode), bgp, settings.Communities ?? [], settings.LargeCommunities ?? [],
            (uint?)settings.LocalPreference, settings.AggregationLength, settings.AggregationLengthV6, settings.NodeSelector), errors);
    }
}
