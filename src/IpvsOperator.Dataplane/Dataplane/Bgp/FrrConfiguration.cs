using System.Globalization;
using System.Text;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// This node's BGP configuration as FRR's integrated frr.conf: one <c>router bgp</c> with a session
/// per peer and every prefix the node announces as a <c>network</c> (a VIP's /32 or /128, or its
/// pool's aggregate), with a route-map per set of communities and local preference; the import map
/// lets nothing in (the node takes no routes from its peers), so the only routes in bgpd, and so the
/// only ones sent, are ours.
/// Attributes hang on the network statements, not on prefix lists matched by an export map: FRR
/// re-evaluates every route on each prefix-list change, which made frr-reload take 94 s at 2,000
/// VIPs against 1.1 s this way. Rendered the same for the same input (sorted throughout), so that
/// applying it again changes nothing. Input is checked again here (<see cref="BgpSyntax"/>),
/// whatever the webhooks let through: no value can add a line.
/// </summary>
public static class FrrConfiguration
{
    public const string ImportMap = "ipvs-import";

    /// <summary>The outbound map of a withdrawn node: it denies everything, so every peer is sent the withdrawal of every route at once.</summary>
    public const string WithdrawMap = "ipvs-withdraw";

    /// <summary>How long FRR waits before it opens a failed session again.</summary>
    public const int ConnectRetrySeconds = 10;

    /// <param name="withdrawn">
    /// Announce nothing but keep the sessions and the networks: one outbound map that denies all,
    /// which FRR turns into one withdrawal per route at once. Removing 2,000 network statements
    /// instead took frr-reload 58 s (it deletes lines one vtysh call at a time).
    /// </param>
    public static string Render(IPAddressValue routerId, IReadOnlyList<BgpPeering> peers, IReadOnlyList<BgpAnnouncement> announcements, bool withdrawn = false)
    {
        Check(routerId, peers, announcements);
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');

        Line("frr defaults traditional");
        Line("log stdout informational");
        Line("!");
        var orderedPeers = peers.OrderBy(p => p.Address).ToList();
        var bfdProfiles = orderedPeers.Where(p => p.Bfd is not null).Select(p => p.Bfd!).Distinct().ToList();
        // One entry per prefix (VIPs aggregated alike share one); of differing attributes the first in order wins.
        var prefixes = announcements
            .GroupBy(a => a.Prefix)
            .Select(g => g.OrderBy(a => a.Attributes, StringComparer.Ordinal).First())
            .ToList();
        var attributeSets = prefixes.Where(a => a.HasAttributes).Select(a => a.Attributes).Distinct().Order(StringComparer.Ordinal).ToList();
        if (orderedPeers.Count > 0)
        {
            Line($"router bgp {orderedPeers[0].LocalAsn.ToString(CultureInfo.InvariantCulture)}");
            Line($" bgp router-id {routerId}");
            // Our VIPs are in no routing table of the node: announce them anyway.
            Line(" no bgp network import-check");
            Line(" no bgp ebgp-requires-policy");
            Line(" no bgp default ipv4-unicast");
            // No graceful restart capability: FRR's default helper mode sends it, and a router then
            // keeps a dead node's routes as stale for the restart time (BIRD: 120 s) instead of
            // dropping them when the session ends; an agent that stops withdraws first anyway.
            Line(" bgp graceful-restart-disable");
            foreach (var peer in orderedPeers)
            {
                var n = $" neighbor {peer.Address}";
                Line($"{n} remote-as {peer.PeerAsn.ToString(CultureInfo.InvariantCulture)}");
                if (peer.Port != 179)
                {
                    Line($"{n} port {peer.Port.ToString(CultureInfo.InvariantCulture)}");
                }
                Line($"{n} timers {peer.KeepaliveSeconds.ToString(CultureInfo.InvariantCulture)} {peer.HoldSeconds.ToString(CultureInfo.InvariantCulture)}");
                // FRR's datacenter profile's retry, not the traditional 120 s: a session that failed
                // (a router restarting, a wrong ASN just fixed) is tried again within 10 s.
                Line($"{n} timers connect {ConnectRetrySeconds.ToString(CultureInfo.InvariantCulture)}");
                if (peer.Source is { } source)
                {
                    Line($"{n} update-source {source}");
                }
                if (peer.EbgpMultihop is { } hops)
                {
                    Line($"{n} ebgp-multihop {hops.ToString(CultureInfo.InvariantCulture)}");
                }
                if (peer.Password is { } password)
                {
                    Line($"{n} password {password}");
                }
                if (peer.Bfd is { } bfd)
                {
                    Line($"{n} bfd");
                    Line($"{n} bfd profile {BfdProfile(bfdProfiles.IndexOf(bfd))}");
                }
            }
            foreach (var family in new[] { IPFamily.IPv4, IPFamily.IPv6 })
            {
                var familyPeers = orderedPeers.Where(p => p.Address.Family == family).ToList();
                if (familyPeers.Count == 0)
                {
                    continue;
                }
                Line(" !");
                Line($" address-family {(family == IPFamily.IPv4 ? "ipv4" : "ipv6")} unicast");
                foreach (var announcement in prefixes.Where(a => a.Address.Family == family).OrderBy(a => a.Address))
                {
                    var map = announcement.HasAttributes ? $" route-map {AttributeMap(attributeSets.IndexOf(announcement.Attributes))}" : string.Empty;
                    Line($"  network {announcement.Prefix}{map}");
                }
                foreach (var peer in familyPeers)
                {
                    Line($"  neighbor {peer.Address} activate");
                    Line($"  neighbor {peer.Address} route-map {ImportMap} in");
                    Line($"  neighbor {peer.Address} route-map {(withdrawn ? WithdrawMap : HonouredCommunities.ExportMap)} out");
                }
                Line(" exit-address-family");
            }
            Line("exit");
            Line("!");
        }
        RenderPolicy(Line, prefixes, attributeSets, withdrawn);
        if (bfdProfiles.Count > 0)
        {
            Line("bfd");
            for (var i = 0; i < bfdProfiles.Count; i++)
            {
                Line($" profile {BfdProfile(i)}");
                // FRR's defaults are left out, as its running configuration leaves them out: written,
                // frr-reload would find them missing and set them again on every apply, and bfdd
                // restarts a session whose profile is set (a router then drops the BGP session).
                var defaults = new BfdSettings();
                if (bfdProfiles[i].TransmitIntervalMs != defaults.TransmitIntervalMs)
                {
                    Line($"  transmit-interval {bfdProfiles[i].TransmitIntervalMs.ToString(CultureInfo.InvariantCulture)}");
                }
                if (bfdProfiles[i].ReceiveIntervalMs != defaults.ReceiveIntervalMs)
                {
                    Line($"  receive-interval {bfdProfiles[i].ReceiveIntervalMs.ToString(CultureInfo.InvariantCulture)}");
                }
                if (bfdProfiles[i].DetectMultiplier != defaults.DetectMultiplier)
                {
                    Line($"  detect-multiplier {bfdProfiles[i].DetectMultiplier.ToString(CultureInfo.InvariantCulture)}");
                }
                Line(" exit");
            }
            Line("exit");
            Line("!");
        }
        return text.ToString();
    }

    /// <summary>
    /// A route-map per set of attributes, which the network statements name. No export map: bgpd
    /// holds only our networks (the import map takes nothing, nothing is redistributed), and FRR 8.4
    /// sent nothing through an export map that frr-reload had deleted and made again (a session
    /// established, its route valid and best, 0 prefixes sent).
    /// </summary>
    private static void RenderPolicy(Action<string> line, List<BgpAnnouncement> prefixes, List<string> attributeSets, bool withdrawn)
    {
        for (var i = 0; i < attributeSets.Count; i++)
        {
            var first = prefixes.First(a => a.Attributes == attributeSets[i]);
            line($"route-map {AttributeMap(i)} permit 10");
            var communities = first.Communities.Where(c => HonouredCommunities.Of(c) is null).ToList();
            if (communities.Count > 0)
            {
                line($" set community {string.Join(' ', communities)} additive");
            }
            var marks = first.Communities.Select(HonouredCommunities.Of).OfType<HonouredCommunities.Honoured>().Distinct().Select(h => h.Mark);
            var large = first.LargeCommunities.Concat(marks).ToList();
            if (large.Count > 0)
            {
                line($" set large-community {string.Join(' ', large)} additive");
            }
            if (first.LocalPreference is { } preference)
            {
                line($" set local-preference {preference.ToString(CultureInfo.InvariantCulture)}");
            }
            line("exit");
            line("!");
        }
        HonouredCommunities.RenderPolicy(line);
        line($"route-map {ImportMap} deny 10");
        line("exit");
        line("!");
        if (withdrawn)
        {
            line($"route-map {WithdrawMap} deny 10");
            line("exit");
            line("!");
        }
    }

    private static string AttributeMap(int index) => $"ipvs-attributes-{index + 1}";

    private static string BfdProfile(int index) => $"ipvs-bfd-{index + 1}";

    private static void Check(IPAddressValue routerId, IReadOnlyList<BgpPeering> peers, IReadOnlyList<BgpAnnouncement> announcements)
    {
        if (routerId.Family != IPFamily.IPv4)
        {
            throw new ArgumentException($"router ID {routerId} is not an IPv4 address; BGP identifiers are 32 bits", nameof(routerId));
        }
        if (peers.Select(p => p.LocalAsn).Distinct().Count() > 1)
        {
            throw new ArgumentException($"the peers of one node ask for local ASNs {string.Join(", ", peers.Select(p => p.LocalAsn).Distinct().Order())}; a node speaks BGP as one ASN", nameof(peers));
        }
        if (peers.GroupBy(p => p.Address).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"peer {twice.Key} is named twice", nameof(peers));
        }
        foreach (var peer in peers)
        {
            if (peer.Password is { } password && !BgpSyntax.IsPassword(password))
            {
                throw new ArgumentException($"the password of peer {peer.Address} is not 1 to {BgpSyntax.MaximumPasswordLength} printable characters without spaces", nameof(peers));
            }
            if (peer.KeepaliveSeconds is < 0 or > 65535 || peer.HoldSeconds is < 0 or > 65535 || peer.EbgpMultihop is < 1 or > 255
                || peer.Bfd is { TransmitIntervalMs: < 10 or > 60000 } or { ReceiveIntervalMs: < 10 or > 60000 } or { DetectMultiplier: < 2 or > 255 })
            {
                throw new ArgumentException($"peer {peer.Address} has a timer, hop count or BFD setting out of range", nameof(peers));
            }
        }
        foreach (var announcement in announcements)
        {
            if (announcement.Communities.FirstOrDefault(c => !BgpSyntax.IsCommunity(c)) is { } community)
            {
                throw new ArgumentException($"'{community}' (for {announcement.Address}) is not a community: AA:NN or one of {string.Join(", ", BgpSyntax.WellKnownCommunities)}", nameof(announcements));
            }
            if (announcement.PrefixLength is { } length && (length < 1 || length > IPAddressValue.BitLength(announcement.Address.Family)))
            {
                throw new ArgumentException($"prefix length {length} (for {announcement.Address}) is not 1 to {IPAddressValue.BitLength(announcement.Address.Family)}", nameof(announcements));
            }
            if (announcement.LargeCommunities.FirstOrDefault(c => !BgpSyntax.IsLargeCommunity(c)) is { } large)
            {
                throw new ArgumentException($"'{large}' (for {announcement.Address}) is not a large community: A:B:C", nameof(announcements));
            }
        }
    }
}
