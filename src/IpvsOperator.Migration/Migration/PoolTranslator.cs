using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>
/// IPAddressPools, with the L2Advertisements and BGPAdvertisements that select them, become
/// IPPools: the pool's addresses and allocation rules, and how it is announced (spec.announce) taken
/// from the advertisements, since IpvsOperator has no advertisement objects.
/// </summary>
internal sealed class PoolTranslator(MigrationResult result, BgpCommunityAliases communities)
{
    /// <summary>
    /// The label of the selector that keeps a pool MetalLB does not announce unannounced: it asks
    /// for the label both to exist and not to, which no node can satisfy.
    /// </summary>
    public const string NotAnnouncedLabel = "ipvsoperator.io/migrated-pool-not-announced";

    public void Translate(IReadOnlyList<MetalLBObject> pools, IReadOnlyList<MetalLBObject> l2Advertisements, IReadOnlyList<MetalLBObject> bgpAdvertisements)
    {
        var layer2 = l2Advertisements.Select(a => (Source: a, Pools: SelectedPools(a, pools))).ToList();
        foreach (var advertisement in l2Advertisements)
        {
            ReadLayer2(advertisement);
        }
        var bgp = bgpAdvertisements.Select(a => (Settings: ReadBgp(a), Pools: SelectedPools(a, pools))).ToList();
        var priorities = Priorities(pools);
        foreach (var pool in pools)
        {
            var fields = new SpecFields(pool);
            var spec = new IPPoolSpec
            {
                Addresses = [.. fields.Strings("addresses").Select(a => Address(pool, a))],
                AutoAssign = fields.Bool("autoAssign") ?? true,
                AvoidBuggyIPs = fields.Bool("avoidBuggyIPs") ?? false,
                Priority = priorities[pool.Name],
                ServiceAllocation = Allocation(fields),
                Announce = Announcement(pool,
                    layer2.Any(a => a.Pools.Contains(pool.Name)),
                    [.. bgp.Where(a => a.Pools.Contains(pool.Name)).Select(a => a.Settings)]),
            };
            result.ReportUnread(fields);
            result.Pools.Add(new V1Alpha1IPPool
            {
                ApiVersion = WellKnown.ApiVersion,
                Kind = V1Alpha1IPPool.KindName,
                Metadata = new V1ObjectMeta { Name = pool.Name },
                Spec = spec,
            });
            result.Sources[$"{V1Alpha1IPPool.KindName}/{pool.Name}"] = pool.Where;
        }
    }

    /// <summary>MetalLB reads a CIDR with host bits set as its network; IpvsOperator wants the network written, and every address in canonical form.</summary>
    private string Address(MetalLBObject pool, string entry)
    {
        var text = entry.Trim();
        if (text.Contains('/', StringComparison.Ordinal) && text.Split('/') is [var host, var length]
            && IPAddressValue.TryParse(host, out var address) && int.TryParse(length, out var prefix) && prefix >= 0 && prefix <= IPAddressValue.BitLength(address.Family))
        {
            var hostMask = prefix == IPAddressValue.BitLength(address.Family) ? UInt128.Zero : IPAddressValue.MaxValue(address.Family) >> prefix;
            var network = $"{address with { Value = address.Value & ~hostMask }}/{prefix}";
            if ((address.Value & hostMask) != 0)
            {
                result.Add(FindingKind.Note, pool, "spec.addresses", $"'{text}' has host bits set; MetalLB reads it as {network}, which the IPPool lists");
            }
            return network;
        }
        if (AddressRange.TryParse(text, out var range, out _) && !text.Contains('/', StringComparison.Ordinal))
        {
            return range.ToString(); // canonical: lower-case IPv6, shortest form
        }
        return text; // not an address: the check after the translation refuses it, naming it
    }

    private ServiceAllocation? Allocation(SpecFields pool)
    {
        if (pool.Object("serviceAllocation") is not { } allocation)
        {
            return null;
        }
        var fields = new SpecFields(pool.Source, allocation, "spec.serviceAllocation.");
        fields.Integer("priority"); // read by Priorities
        var namespaces = fields.Strings("namespaces");
        var namespaceSelectors = fields.Selectors("namespaceSelectors");
        var serviceSelectors = fields.Selectors("serviceSelectors");
        result.ReportUnread(fields);
        var translated = new ServiceAllocation
        {
            Namespaces = namespaces.Count > 0 ? namespaces : null,
            NamespaceSelector = OneSelector(pool.Source, fields.PathOf("namespaceSelectors"), namespaceSelectors, "Services of namespaces that match"),
            ServiceSelector = OneSelector(pool.Source, fields.PathOf("serviceSelectors"), serviceSelectors, "Services that match"),
        };
        if (namespaces.Count > 0 && namespaceSelectors.Count > 0)
        {
            result.Add(FindingKind.Change, pool.Source, fields.PathOf("namespaceSelectors"),
                "MetalLB serves the namespaces listed and those the selectors match; an IPPool serves only namespaces that are listed and match, so Services of a namespace that is only one of the two lose this pool");
        }
        return translated.Namespaces is null && translated.NamespaceSelector is null && translated.ServiceSelector is null ? null : translated;
    }

    /// <summary>A selector list as one selector; when there is no exact one, the first, reported: a pool then serves fewer Services, never more.</summary>
    private V1LabelSelector? OneSelector(MetalLBObject source, string field, List<V1LabelSelector> selectors, string who)
    {
        if (SelectorUnion.TryMerge(selectors, out var merged))
        {
            return merged;
        }
        result.Add(FindingKind.Change, source, field,
            $"{SelectorUnion.Describe(selectors)}: MetalLB takes {who} any of these, an IPPool one selector; the IPPool keeps the first, so {who} only the others lose this pool");
        return selectors[0];
    }

    /// <summary>
    /// MetalLB tries the pools with a serviceAllocation first, those with a priority by it (lowest
    /// first) and then those without one, and only then the pools without a serviceAllocation.
    /// IpvsOperator orders pools by priority alone, so each tier gets a priority after the last.
    /// </summary>
    private Dictionary<string, int> Priorities(IReadOnlyList<MetalLBObject> pools)
    {
        var given = pools.ToDictionary(p => p.Name, p => (
            Pinned: p.Spec["serviceAllocation"] is not null,
            Priority: p.Spec["serviceAllocation"]?["priority"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<long>(out var n) && n > 0 ? (int)Math.Min(n, int.MaxValue / 2) : 0));
        var priorities = given.ToDictionary(p => p.Key, _ => 0);
        if (!given.Values.Any(g => g.Pinned))
        {
            return priorities;
        }
        var highest = given.Values.Select(g => g.Priority).DefaultIfEmpty(0).Max();
        var unsetPinned = highest + 1;
        var unpinned = unsetPinned + (given.Values.Any(g => g.Pinned && g.Priority == 0) ? 1 : 0);
        foreach (var pool in pools)
        {
            var (pinned, priority) = given[pool.Name];
            priorities[pool.Name] = pinned ? (priority > 0 ? priority : unsetPinned) : unpinned;
            if (priorities[pool.Name] != priority)
            {
                result.Add(FindingKind.Note, pool, pinned ? "spec.serviceAllocation.priority" : "spec.serviceAllocation",
                    $"{(pinned ? "no priority" : "no serviceAllocation")}: priority {priorities[pool.Name]}. MetalLB tries the pools with a serviceAllocation first, those with a priority by it (lowest first) then those without, and the other pools last; an IPPool's priority alone orders them, so the translation numbers the tiers in MetalLB's order");
            }
        }
        return priorities;
    }

    private PoolAnnouncement Announcement(MetalLBObject pool, bool layer2, IReadOnlyList<BgpAdvertisementSettings> bgp)
    {
        if (!layer2 && bgp.Count == 0)
        {
            result.Add(FindingKind.Note, pool, "advertisements",
                $"no L2Advertisement or BGPAdvertisement selects this pool, so MetalLB gives its addresses out but announces none. An IPPool is always announced some way: this one asks for BGP from the nodes labelled {NotAnnouncedLabel} both present and absent, which is no node, so it stays unannounced. If an advertisement is in a file not given, give every MetalLB file at once");
            return new PoolAnnouncement
            {
                Modes = [PoolAnnouncement.BgpMode],
                Bgp = new PoolBgpAnnouncement
                {
                    NodeSelector = new V1LabelSelector
                    {
                        MatchExpressions = [new V1LabelSelectorRequirement { Key = NotAnnouncedLabel, OperatorProperty = "Exists" }, new V1LabelSelectorRequirement { Key = NotAnnouncedLabel, OperatorProperty = "DoesNotExist" }],
                    },
                },
            };
        }
        var modes = new List<string>();
        if (layer2)
        {
            modes.Add(PoolAnnouncement.Layer2Mode);
        }
        if (bgp.Count > 0)
        {
            modes.Add(PoolAnnouncement.BgpMode);
        }
        return new PoolAnnouncement { Modes = modes, Bgp = bgp.Count == 0 ? null : Bgp(pool, bgp) };
    }

    /// <summary>The BGP settings of a pool from the advertisements that select it; where they disagree, the first by name, reported.</summary>
    private PoolBgpAnnouncement? Bgp(MetalLBObject pool, IReadOnlyList<BgpAdvertisementSettings> advertisements)
    {
        var ordered = advertisements.OrderBy(a => a.Source.Name, StringComparer.Ordinal).ToList();
        var first = ordered[0];
        var names = string.Join(", ", ordered.Select(a => a.Source.Name));
        if (ordered.Select(a => string.Join(',', a.Communities.Concat(a.LargeCommunities).Order(StringComparer.Ordinal))).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            result.Add(FindingKind.Change, pool, "communities",
                $"the BGPAdvertisements {names} attach different communities; MetalLB attaches each one's to the announcements it makes, the IPPool attaches all of them to every announcement");
        }
        if (ordered.Select(a => (a.LocalPreference, a.AggregationLength, a.AggregationLengthV6)).Distinct().Count() > 1)
        {
            result.Add(FindingKind.Change, pool, "localPref, aggregationLength",
                $"the BGPAdvertisements {names} differ in localPref or aggregation length; an IPPool has one of each, and takes those of {first.Source.Name}");
        }
        V1LabelSelector? nodes = null;
        if (ordered.All(a => a.NodeSelectors.Count > 0))
        {
            var all = ordered.SelectMany(a => a.NodeSelectors).ToList();
            if (!SelectorUnion.TryMerge(all, out nodes))
            {
                result.Add(FindingKind.Change, pool, "nodeSelectors",
                    $"{SelectorUnion.Describe(all)}: MetalLB announces from nodes that match any of these, an IPPool takes one selector; it takes none, so every node with BGP on announces the pool");
            }
        }
        var announcement = new PoolBgpAnnouncement
        {
            Communities = Union(ordered.Select(a => a.Communities)),
            LargeCommunities = Union(ordered.Select(a => a.LargeCommunities)),
            LocalPreference = first.LocalPreference,
            AggregationLength = first.AggregationLength,
            AggregationLengthV6 = first.AggregationLengthV6,
            NodeSelector = nodes,
        };
        return announcement is { Communities: null, LargeCommunities: null, LocalPreference: null, AggregationLength: null, AggregationLengthV6: null, NodeSelector: null }
            ? null : announcement;
    }

    private static List<string>? Union(IEnumerable<IReadOnlyList<string>> lists)
    {
        var union = lists.SelectMany(l => l).Distinct(StringComparer.Ordinal).ToList();
        return union.Count == 0 ? null : union;
    }

    /// <summary>The names of the pools an advertisement selects: those it names, those its selectors match, every pool when it says neither.</summary>
    private HashSet<string> SelectedPools(MetalLBObject advertisement, IReadOnlyList<MetalLBObject> pools)
    {
        var fields = new SpecFields(advertisement);
        var named = fields.Strings("ipAddressPools");
        var selectors = fields.Selectors("ipAddressPoolSelectors");
        if (named.Count == 0 && selectors.Count == 0)
        {
            return [.. pools.Select(p => p.Name)];
        }
        foreach (var missing in named.Where(n => pools.All(p => p.Name != n)))
        {
            result.Add(FindingKind.Change, advertisement, "spec.ipAddressPools",
                $"names the IPAddressPool '{missing}', which is in no input; give every MetalLB file at once, or that pool is not translated");
        }
        var matched = pools.Where(p => selectors.Any(s => BgpPeerReader.Selects(s, p.Labels.ToDictionary())));
        return [.. named.Where(n => pools.Any(p => p.Name == n)), .. matched.Select(p => p.Name)];
    }

    private void ReadLayer2(MetalLBObject advertisement)
    {
        var fields = new SpecFields(advertisement);
        fields.Strings("ipAddressPools");
        fields.Selectors("ipAddressPoolSelectors");
        var nodes = fields.Selectors("nodeSelectors");
        if (nodes.Count > 0 && !(SelectorUnion.TryMerge(nodes, out var merged) && merged is null))
        {
            result.Add(FindingKind.Change, advertisement, "spec.nodeSelectors",
                $"{SelectorUnion.Describe(nodes)}: layer 2 in IpvsOperator has no per-pool choice of nodes; any node whose agent runs layer 2 may answer for the pool's addresses (choose those nodes with the agent's DaemonSet, which runs on nodes labelled ipvsoperator.io/load-balancer=true)");
        }
        if (fields.Strings("interfaces") is { Count: > 0 } interfaces)
        {
            result.Add(FindingKind.Change, advertisement, "spec.interfaces",
                $"[{string.Join(", ", interfaces)}]: IpvsOperator does not limit layer 2 answers to some interfaces; the elected node answers ARP/NDP for the address wherever the request arrives");
        }
        if (fields.Selectors("serviceSelectors") is { Count: > 0 } services)
        {
            result.Add(FindingKind.Change, advertisement, "spec.serviceSelectors",
                $"{SelectorUnion.Describe(services)}: IpvsOperator announces every Service of a pool the same way; Services these do not match are announced over layer 2 too");
        }
        if (fields.Raw("preferredNodeSelectors") is { } preferred)
        {
            result.Add(FindingKind.Change, advertisement, "spec.preferredNodeSelectors",
                $"{preferred.ToJsonString()}: IpvsOperator elects the node that answers for an address among all that may, with no preference; another node than MetalLB's may answer");
        }
        result.ReportUnread(fields);
    }

    private BgpAdvertisementSettings ReadBgp(MetalLBObject advertisement)
    {
        var fields = new SpecFields(advertisement);
        fields.Strings("ipAddressPools");
        fields.Selectors("ipAddressPoolSelectors");
        var standard = new List<string>();
        var large = new List<string>();
        foreach (var text in fields.Strings("communities"))
        {
            var (community, problem) = communities.Resolve(text);
            if (community is { } known)
            {
                (known.Large ? large : standard).Add(known.Value);
            }
            else
            {
                result.Add(FindingKind.Change, advertisement, "spec.communities", $"{problem}; it is left out");
            }
        }
        var localPreference = fields.Integer("localPref") is > 0 and var given ? (long?)given : null; // MetalLB's 0 is "not set"
        var length = fields.Integer("aggregationLength") is { } v4 && v4 != 32 ? (int?)Math.Clamp(v4, int.MinValue, int.MaxValue) : null;
        var lengthV6 = fields.Integer("aggregationLengthV6") is { } v6 && v6 != 128 ? (int?)Math.Clamp(v6, int.MinValue, int.MaxValue) : null;
        if (length is not null || lengthV6 is not null)
        {
            result.Add(FindingKind.Change, advertisement, "spec.aggregationLength",
                "kept; but IpvsOperator announces the address of a Service with externalTrafficPolicy: Local alone (/32, /128) from the nodes with its endpoints, where MetalLB announces the aggregate: routers see more specific routes for those Services");
        }
        if (fields.Strings("peers") is { Count: > 0 } peers)
        {
            result.Add(FindingKind.Change, advertisement, "spec.peers",
                $"[{string.Join(", ", peers)}]: IpvsOperator announces a pool to every BGPPeer of the node, not to some of them; the other peers learn these routes too");
        }
        if (fields.Selectors("serviceSelectors") is { Count: > 0 } services)
        {
            result.Add(FindingKind.Change, advertisement, "spec.serviceSelectors",
                $"{SelectorUnion.Describe(services)}: IpvsOperator announces every Service of a pool the same way; Services these do not match are announced over BGP too");
        }
        var nodes = fields.Selectors("nodeSelectors");
        result.ReportUnread(fields);
        return new BgpAdvertisementSettings(advertisement, standard, large, localPreference, length, lengthV6,
            SelectorUnion.TryMerge(nodes, out var merged) && merged is null ? [] : nodes);
    }
}
