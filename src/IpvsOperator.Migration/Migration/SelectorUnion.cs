using k8s;
using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>
/// MetalLB lists selectors where any one of them selects; IpvsOperator takes one selector. A list
/// becomes one selector when that is exact: a single selector, the same selector repeated, or
/// selectors that each ask one label key for values (<c>rack: a</c>, <c>rack: b</c> become
/// <c>rack In (a, b)</c>). Anything else has no one-selector equivalent.
/// </summary>
internal static class SelectorUnion
{
    /// <summary>False when the list has no exact equivalent; <paramref name="merged"/> null means every object (no selector).</summary>
    public static bool TryMerge(IReadOnlyList<V1LabelSelector> selectors, out V1LabelSelector? merged)
    {
        merged = null;
        if (selectors.Count == 0 || selectors.Any(IsEmpty))
        {
            return true;
        }
        var distinct = selectors.DistinctBy(s => KubernetesJson.Serialize(s)).ToList();
        if (distinct.Count == 1)
        {
            merged = distinct[0];
            return true;
        }
        var single = distinct.Select(OneKey).ToList();
        if (single.Any(s => s is null) || single.Select(s => s!.Value.Key).Distinct(StringComparer.Ordinal).Count() != 1)
        {
            return false;
        }
        merged = new V1LabelSelector
        {
            MatchExpressions =
            [
                new V1LabelSelectorRequirement
                {
                    Key = single[0]!.Value.Key,
                    OperatorProperty = "In",
                    Values = [.. single.SelectMany(s => s!.Value.Values).Distinct(StringComparer.Ordinal)],
                },
            ],
        };
        return true;
    }

    /// <summary>Written the way a user reads it in the report.</summary>
    public static string Describe(IEnumerable<V1LabelSelector> selectors) => string.Join(" or ", selectors.Select(s => KubernetesJson.Serialize(s)));

    private static bool IsEmpty(V1LabelSelector selector) =>
        (selector.MatchLabels?.Count ?? 0) == 0 && (selector.MatchExpressions?.Count ?? 0) == 0;

    /// <summary>The key and values of a selector that asks one label for one of some values; null for any other selector.</summary>
    private static (string Key, IReadOnlyList<string> Values)? OneKey(V1LabelSelector selector)
    {
        var labels = selector.MatchLabels?.Count ?? 0;
        var expressions = selector.MatchExpressions?.Count ?? 0;
        if (labels == 1 && expressions == 0)
        {
            var label = selector.MatchLabels!.Single();
            return (label.Key, [label.Value]);
        }
        if (labels == 0 && expressions == 1 && selector.MatchExpressions![0] is { OperatorProperty: "In", Values.Count: > 0 } requirement)
        {
            return (requirement.Key, [.. requirement.Values]);
        }
        return null;
    }
}
