using IpvsOperator.Entities;
using Mine = IpvsOperator.Entities.WellKnown.Annotations;
using Theirs = IpvsOperator.Entities.WellKnown.Annotations.MetalLB;

namespace IpvsOperator.AllocationReaders;

/// <summary>
/// MetalLB's Service annotations read as ours, so that a Service moved over from MetalLB keeps
/// asking for what it asked for. Ours wins when both are set; of MetalLB's two spellings,
/// metallb.io/ wins over metallb.universe.tf/, as in MetalLB (controller/service.go).
/// </summary>
public static class MetalLBAnnotations
{
    /// <summary>Each annotation of ours that MetalLB has, with MetalLB's spellings in the order MetalLB reads them.</summary>
    public static readonly IReadOnlyList<(string Ours, string[] MetalLB)> Equivalents =
    [
        (Mine.LoadBalancerIPs, [Theirs.LoadBalancerIPs, Theirs.DeprecatedLoadBalancerIPs]),
        (Mine.AddressPool, [Theirs.AddressPool, Theirs.DeprecatedAddressPool]),
        (Mine.AllowSharedIP, [Theirs.AllowSharedIP, Theirs.DeprecatedAllowSharedIP]),
    ];

    /// <summary>The value standing for annotation <paramref name="ours"/> and the key it was read from: ours, else MetalLB's; none, null.</summary>
    public static (string Key, string Value)? Read(IDictionary<string, string> annotations, string ours)
    {
        if (annotations.TryGetValue(ours, out var value))
        {
            return (ours, value);
        }
        foreach (var key in Equivalents.Single(e => e.Ours == ours).MetalLB)
        {
            if (annotations.TryGetValue(key, out value))
            {
                return (key, value);
            }
        }
        return null;
    }

    /// <summary>What a Service should be told of the MetalLB annotations it carries: each read for ours, or ignored because ours is set too.</summary>
    public static IEnumerable<string> Advice(IDictionary<string, string>? annotations)
    {
        if (annotations is null)
        {
            yield break;
        }
        foreach (var (ours, metallb) in Equivalents)
        {
            var read = Read(annotations, ours)?.Key;
            foreach (var key in metallb.Where(annotations.ContainsKey))
            {
                yield return key == read
                    ? $"MetalLB's annotation {key} is read as {ours}; write {ours} instead (MetalLB's annotations are a compatibility layer)"
                    : $"MetalLB's annotation {key} is ignored: {read} is set too and wins";
            }
        }
    }
}
