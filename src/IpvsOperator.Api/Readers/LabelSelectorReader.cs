using IpvsOperator.Selection;
using k8s.Models;

namespace IpvsOperator.Readers;

/// <summary>A Kubernetes label selector as the pure logic that pools, peers and announcements match with.</summary>
public static class LabelSelectorReader
{
    /// <summary>A selector as pure logic; null stays null (no constraint).</summary>
    public static LabelSelector? Read(V1LabelSelector? selector) => selector is null ? null : new LabelSelector(
        (IReadOnlyDictionary<string, string>?)selector.MatchLabels?.AsReadOnly() ?? new Dictionary<string, string>(),
        [.. (selector.MatchExpressions ?? []).Select(e => new LabelRequirement(e.Key,
            Enum.TryParse<SelectorOperator>(e.OperatorProperty, out var op) ? op : SelectorOperator.In, [.. e.Values ?? []]))]);
}
