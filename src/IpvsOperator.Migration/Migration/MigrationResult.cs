using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>What a MetalLB configuration becomes: IPPools, BGPPeers, the Secrets of passwords MetalLB held in a BGPPeer, the claims of its Services' addresses, and the findings to report.</summary>
internal sealed class MigrationResult
{
    public List<V1Alpha1IPPool> Pools { get; } = [];

    public List<V1Alpha1BGPPeer> Peers { get; } = [];

    public List<V1Secret> Secrets { get; } = [];

    /// <summary>The claims of the addresses MetalLB gave (read from a cluster's Services), so that no Service is renumbered.</summary>
    public List<V1Alpha1IPAllocation> Claims { get; } = [];

    public List<Finding> Findings { get; } = [];

    /// <summary>Where each output object came from (<c>IPPool/prod</c> → the MetalLB object's file and document), for messages.</summary>
    public Dictionary<string, string> Sources { get; } = new(StringComparer.Ordinal);

    public bool ChangesBehaviour => Findings.Any(f => f.Kind == FindingKind.Change);

    internal void Add(FindingKind kind, MetalLBObject source, string field, string message) => Findings.Add(new Finding(kind, source.Where, field, message));

    /// <summary>Reports the fields of a spec that nothing translated: each one is dropped, which is a change.</summary>
    internal void ReportUnread(SpecFields fields)
    {
        foreach (var (path, value) in fields.Unread())
        {
            Add(FindingKind.Change, fields.Source, path, $"{value} is not a field this translation knows; it is left out");
        }
    }
}
