using System.Text.Json.Nodes;

namespace IpvsOperator.Migration;

/// <summary>
/// A MetalLB configuration, as read from its files, in IpvsOperator's objects, with a finding for
/// everything that has no exact equivalent. Pure: the objects in, the result out. The whole
/// configuration is needed at once: advertisements, BFD profiles and community aliases refer to
/// other objects, and pool priorities depend on every pool.
/// </summary>
internal static class MetalLBTranslator
{
    private static readonly HashSet<string> StatusKinds = new(StringComparer.Ordinal) { "ServiceL2Status", "ServiceBGPStatus", "ConfigurationState" };

    private static readonly HashSet<string> TranslatedKinds = new(StringComparer.Ordinal)
    {
        "IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer", "BFDProfile", "Community",
    };

    public static MigrationResult Translate(IReadOnlyList<MetalLBObject> objects)
    {
        var result = new MigrationResult();
        foreach (var frr in objects.Where(o => !o.IsMetalLB && o.ApiVersion.Split('/')[0].EndsWith("." + MetalLBObject.Group, StringComparison.Ordinal)))
        {
            result.Add(FindingKind.Change, frr, "kind", $"{frr.ApiVersion} {frr.Kind} configures MetalLB's FRR (FRR-K8s) directly; IpvsOperator's FRR takes no such configuration, so it is left out");
        }
        foreach (var other in objects.Where(o => !o.IsMetalLB && !o.ApiVersion.Split('/')[0].EndsWith("." + MetalLBObject.Group, StringComparison.Ordinal)))
        {
            result.Add(FindingKind.Note, other, "kind", $"{other.ApiVersion} {other.Kind} is not a MetalLB object; left out{(other.Kind == "Secret" ? " (a BGPPeer's password Secret: see that peer's finding)" : string.Empty)}");
        }
        foreach (var status in objects.Where(o => o.IsMetalLB && StatusKinds.Contains(o.Kind)))
        {
            result.Add(FindingKind.Note, status, "kind", "MetalLB's status, not configuration; IpvsOperator keeps its own (Service status, IPVSNodes)");
        }
        foreach (var unknown in objects.Where(o => o.IsMetalLB && !StatusKinds.Contains(o.Kind) && !TranslatedKinds.Contains(o.Kind)))
        {
            result.Add(FindingKind.Change, unknown, "kind", $"{unknown.ApiVersion} {unknown.Kind} is not a kind this translation knows; left out");
        }
        var byKind = objects.Where(o => o.IsMetalLB && TranslatedKinds.Contains(o.Kind)).GroupBy(o => o.Kind)
            .ToDictionary(g => g.Key, g => Unique(g.Key, [.. g]), StringComparer.Ordinal);
        IReadOnlyList<MetalLBObject> Of(string kind) => byKind.TryGetValue(kind, out var list) ? list : [];

        var aliases = new BgpCommunityAliases(Aliases(Of("Community"), result));
        new PoolTranslator(result, aliases).Translate(Of("IPAddressPool"), Of("L2Advertisement"), Of("BGPAdvertisement"));
        var peers = new PeerTranslator(result, Of("BFDProfile").ToDictionary(p => p.Name, StringComparer.Ordinal));
        foreach (var peer in Of("BGPPeer"))
        {
            peers.Translate(peer);
        }
        return result;
    }

    /// <summary>Objects of one kind by name: two of a name (in two files, or two namespaces) would be one IpvsOperator object, so that is unreadable input.</summary>
    private static List<MetalLBObject> Unique(string kind, List<MetalLBObject> objects)
    {
        foreach (var twice in objects.GroupBy(o => o.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            throw new MetalLBInputException($"{kind} '{twice.Key}' is given twice: {string.Join(" and ", twice.Select(o => o.Where))}; give each object once");
        }
        return [.. objects.OrderBy(o => o.Name, StringComparer.Ordinal)];
    }

    private static Dictionary<string, string> Aliases(IReadOnlyList<MetalLBObject> communities, MigrationResult result)
    {
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var community in communities)
        {
            var fields = new SpecFields(community);
            if (fields.Raw("communities") is JsonArray entries)
            {
                foreach (var entry in entries.OfType<JsonObject>())
                {
                    if (entry["name"]?.ToString() is { Length: > 0 } name && entry["value"]?.ToString() is { } value && !aliases.TryAdd(name, value))
                    {
                        throw new MetalLBInputException($"{community.Where}: the community alias '{name}' is defined twice; MetalLB refuses that too");
                    }
                }
            }
            result.ReportUnread(fields);
        }
        return aliases;
    }
}
