namespace IpvsOperator.Selection;

/// <summary>
/// A Kubernetes label selector as pure logic (matchLabels and matchExpressions, all ANDed), kept
/// here so that the allocator decides eligibility without Kubernetes types.
/// </summary>
public sealed record LabelSelector(
    IReadOnlyDictionary<string, string> MatchLabels,
    IReadOnlyList<LabelRequirement> MatchExpressions)
{
    public static readonly LabelSelector Everything =
        new(new Dictionary<string, string>(), Array.Empty<LabelRequirement>());

    public bool Matches(IReadOnlyDictionary<string, string> labels) =>
        MatchLabels.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value)
        && MatchExpressions.All(requirement => requirement.Matches(labels));

    public override string ToString() =>
        string.Join(",", MatchLabels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")
            .Concat(MatchExpressions.Select(e => e.ToString())));
}
