namespace IpvsOperator.Ipam;

public enum SelectorOperator
{
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

public sealed record LabelRequirement(string Key, SelectorOperator Operator, IReadOnlyList<string> Values)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels) => Operator switch
    {
        SelectorOperator.In => labels.TryGetValue(Key, out var value) && Values.Contains(value),
        SelectorOperator.NotIn => !labels.TryGetValue(Key, out var value) || !Values.Contains(value),
        SelectorOperator.Exists => labels.ContainsKey(Key),
        SelectorOperator.DoesNotExist => !labels.ContainsKey(Key),
        _ => false,
    };

    public override string ToString() => Operator switch
    {
        SelectorOperator.Exists => Key,
        SelectorOperator.DoesNotExist => "!" + Key,
        SelectorOperator.In => $"{Key} in ({string.Join(",", Values)})",
        _ => $"{Key} notin ({string.Join(",", Values)})",
    };
}

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
