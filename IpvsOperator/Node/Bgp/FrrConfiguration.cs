using System.Globalization;
using System.Text;
using IpvsOperator.Addressing;

namespace IpvsOperator.Node.Bgp;

/// <summary>
/// This node's BGP configuration as FRR's integrated frr.conf: one <c>router bgp</c> with a session
/// per peer, every VIP the node may announce as a /32 or /128 <c>network</c>, and route-maps that let
/// out only those prefixes (with the communities and local preference their pool asks for) and let
/// nothing in: the node takes no routes from its peers. Rendered the same for the same input (sorted
/// throughout), so that applying it again changes nothing. Input is checked again here
/// (<see cref="BgpSyntax"/>), whatever the webhooks let through: no value can add a line.
/// </summary>
public static class FrrConfiguration
{
    public const string ExportMap = "ipvs-export";
    public const string ImportMap = "ipvs-import";

    public static string Render(string hostname, IPAddressValue routerId, IReadOnlyList<BgpPeering> peers, IReadOnlyList<BgpAnnouncement> announcements)
    {
        Check(hostname, routerId, peers, announcements);
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');

        Line("frr defaults traditional");
        Line($"hostname {hostname}");
        Line("log stdout informational");
        Line("!");
        var orderedPeers = peers.OrderBy(p => p.Address).ToList();
        var bfdProfiles = orderedPeers.Where(p => p.Bfd is not null).Select(p => p.Bfd!).Distinct().ToList();
        if (orderedPeers.Count > 0)
        {
            Line($"router bgp {orderedPeers[0].LocalAsn.ToString(CultureInfo.InvariantCulture)}");
            Line($" bgp router-id {routerId}");
            // Our VIPs are in no routing table of the node: announce them anyway.
            Line(" no bgp network import-check");
            Line(" no bgp ebgp-requires-policy");
            Line(" no bgp default ipv4-unicast");
            foreach (var peer in orderedPeers)
            {
                var n = $" neighbor {peer.Address}";
                Line($"{n} remote-as {peer.PeerAsn.ToString(CultureInfo.InvariantCulture)}");
                if (peer.Port != 179)
                {
                    Line($"{n} port {peer.Port.ToString(CultureInfo.InvariantCulture)}");
                }
                Line($"{n} timers {peer.KeepaliveSeconds.ToString(CultureInfo.InvariantCulture)} {peer.HoldSeconds.ToString(CultureInfo.InvariantCulture)}");
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
                foreach (var announcement in announcements.Where(a => a.Address.Family == family).OrderBy(a => a.Address))
                {
                    Line($"  network {Prefix(announcement.Address)}");
                }
                foreach (var peer in familyPeers)
                {
                    Line($"  neighbor {peer.Address} activate");
                    Line($"  neighbor {peer.Address} route-map {ImportMap} in");
                    Line($"  neighbor {peer.Address} route-map {ExportMap} out");
                }
                Line(" exit-address-family");
            }
            Line("exit");
            Line("!");
        }
        RenderPolicy(Line, announcements);
        if (bfdProfiles.Count > 0)
        {
            Line("bfd");
            for (var i = 0; i < bfdProfiles.Count; i++)
            {
                Line($" profile {BfdProfile(i)}");
                Line($"  transmit-interval {bfdProfiles[i].TransmitIntervalMs.ToString(CultureInfo.InvariantCulture)}");
                Line($"  receive-interval {bfdProfiles[i].ReceiveIntervalMs.ToString(CultureInfo.InvariantCulture)}");
                Line($"  detect-multiplier {bfdProfiles[i].DetectMultiplier.ToString(CultureInfo.InvariantCulture)}");
                Line(" exit");
            }
            Line("exit");
            Line("!");
        }
        return text.ToString();
    }

    /// <summary>
    /// Prefix lists per family and attribute set, and the export map that lets out only them, each
    /// group with its communities and local preference; the import map takes nothing.
    /// </summary>
    private static void RenderPolicy(Action<string> line, IReadOnlyList<BgpAnnouncement> announcements)
    {
        var groups = announcements
            .GroupBy(a => (a.Address.Family, a.Attributes))
            .Select(g => g.OrderBy(a => a.Address).ToList())
            .OrderBy(g => g[0].Address)
            .ToList();
        for (var i = 0; i < groups.Count; i++)
        {
            var ip = groups[i][0].Address.Family == IPFamily.IPv4 ? "ip" : "ipv6";
            var sequence = 10;
            foreach (var announcement in groups[i])
            {
                line($"{ip} prefix-list {PrefixList(i)} seq {sequence.ToString(CultureInfo.InvariantCulture)} permit {Prefix(announcement.Address)}");
                sequence += 5;
            }
        }
        line("!");
        for (var i = 0; i < groups.Count; i++)
        {
            var first = groups[i][0];
            var ip = first.Address.Family == IPFamily.IPv4 ? "ip" : "ipv6";
            line($"route-map {ExportMap} permit {((i + 1) * 10).ToString(CultureInfo.InvariantCulture)}");
            line($" match {ip} address prefix-list {PrefixList(i)}");
            if (first.Communities.Count > 0)
            {
                line($" set community {string.Join(' ', first.Communities)} additive");
            }
            if (first.LargeCommunities.Count > 0)
            {
                line($" set large-community {string.Join(' ', first.LargeCommunities)} additive");
            }
            if (first.LocalPreference is { } preference)
            {
                line($" set local-preference {preference.ToString(CultureInfo.InvariantCulture)}");
            }
            line("exit");
            line("!");
        }
        // Anything else: not ours to announce, and nothing learnt is installed on the node.
        line($"route-map {ExportMap} deny 65535");
        line("exit");
        line("!");
        line($"route-map {ImportMap} deny 10");
        line("exit");
        line("!");
    }

    private static string Prefix(IPAddressValue address) => $"{address}/{(address.Family == IPFamily.IPv4 ? 32 : 128)}";

    private static string PrefixList(int group) => $"ipvs-vips-{group + 1}";

    private static string BfdProfile(int index) => $"ipvs-bfd-{index + 1}";

    private static void Check(string hostname, IPAddressValue routerId, IReadOnlyList<BgpPeering> peers, IReadOnlyList<BgpAnnouncement> announcements)
    {
        if (hostname.Length is 0 or > 253 || !hostname.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
        {
            throw new ArgumentException($"hostname '{hostname}' is not a node name (letters, digits, '-' and '.')", nameof(hostname));
        }
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
            if (announcement.LargeCommunities.FirstOrDefault(c => !BgpSyntax.IsLargeCommunity(c)) is { } large)
            {
                throw new ArgumentException($"'{large}' (for {announcement.Address}) is not a large community: A:B:C", nameof(announcements));
            }
        }
    }
}
