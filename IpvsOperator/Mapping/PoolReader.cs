using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using k8s.Models;

namespace IpvsOperator.Mapping;

/// <summary>Reads an IPPool object as the allocator sees it. Pure: no I/O.</summary>
public static class PoolReader
{
    /// <summary>The pool as the allocator sees it, or the errors that make it unusable.</summary>
    public static PoolParseResult Read(V1Alpha1IPPool pool)
    {
        var spec = pool.Spec ?? new IPPoolSpec();
        var allocation = spec.ServiceAllocation;
        var scope = allocation is null ? null : new ServiceScope(
            allocation.Namespaces is { Count: > 0 } namespaces ? namespaces.ToHashSet() : null,
            Selector(allocation.NamespaceSelector),
            Selector(allocation.ServiceSelector));
        return Pool.Parse(pool.Metadata?.Name ?? string.Empty, spec.Addresses ?? [], spec.AutoAssign, spec.AvoidBuggyIPs, spec.Priority, scope);
    }

    /// <summary>A selector as pure logic; null stays null (no constraint).</summary>
    public static LabelSelector? Selector(V1LabelSelector? selector) => selector is null ? null : new LabelSelector(
        (IReadOnlyDictionary<string, string>?)selector.MatchLabels?.AsReadOnly() ?? new Dictionary<string, string>(),
        [.. (selector.MatchExpressions ?? []).Select(e => new LabelRequirement(e.Key,
            Enum.TryParse<SelectorOperator>(e.OperatorProperty, out var op) ? op : SelectorOperator.In, [.. e.Values ?? []]))]);
}
