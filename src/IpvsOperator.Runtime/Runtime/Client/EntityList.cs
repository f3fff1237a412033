namespace IpvsOperator.Runtime.Client;

/// <summary>One page of a list, or all of them: the items and the resourceVersion to watch from.</summary>
public sealed record EntityList<T>(IReadOnlyList<T> Items, string ResourceVersion, string? Continue);
