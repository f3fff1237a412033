namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// The well-known communities FRR obeys on its own routes: a route that leaves bgpd's origin with
/// <c>no-export</c> is never sent to an eBGP peer, <c>no-advertise</c> to no peer, <c>local-AS</c>
/// to no eBGP or confederation peer. Users attach them for the router to obey (MetalLB's users put
/// <c>no-export</c> on a pool so the top-of-rack router keeps the VIP to itself), so the node marks
/// the route at its origin with a large community of its own instead, and its outbound map swaps
/// each mark for the community the user asked for after FRR's check: the peer receives it.
/// Marks use AS 4294967295, reserved (RFC 7300), so no operator's value can be mistaken for one.
/// </summary>
internal static class HonouredCommunities
{
    /// <summary>The outbound map of every session while the node announces.</summary>
    public const string ExportMap = "ipvs-export";

    public sealed record Honoured(string Name, string Number, string List, int Sequence)
    {
        /// <summary>The large community that stands for it at the route's origin.</summary>
        public string Mark => $"4294967295:{Number}";
    }

    public static readonly IReadOnlyList<Honoured> All =
    [
        new("no-export", "65535:65281", "ipvs-no-export", 10),
        new("no-advertise", "65535:65282", "ipvs-no-advertise", 20),
        new("local-AS", "65535:65283", "ipvs-local-as", 30),
    ];

    /// <summary>The honoured community <paramref name="community"/> is, by name or number; null for any other.</summary>
    public static Honoured? Of(string community) =>
        All.FirstOrDefault(h => h.Name == community || h.Number == community);

    /// <summary>
    /// The large-community lists that find each mark and the outbound map: one entry per mark that
    /// sets the community and deletes the mark, then on to the next, and a last entry that lets
    /// every route through. The same text whatever is announced, so it is never rewritten (FRR 8.4
    /// sent nothing through an outbound map that frr-reload had deleted and made again).
    /// Written as FRR's running configuration shows it, so frr-reload finds nothing to change.
    /// </summary>
    public static void RenderPolicy(Action<string> line)
    {
        foreach (var honoured in All)
        {
            line($"bgp large-community-list standard {honoured.List} seq 5 permit {honoured.Mark}");
        }
        line("!");
        foreach (var honoured in All)
        {
            line($"route-map {ExportMap} permit {honoured.Sequence}");
            line($" match large-community {honoured.List}");
            line(" on-match next");
            line($" set community {honoured.Name} additive");
            line($" set large-comm-list {honoured.List} delete");
            line("exit");
            line("!");
        }
        line($"route-map {ExportMap} permit 100");
        line("exit");
        line("!");
    }
}
