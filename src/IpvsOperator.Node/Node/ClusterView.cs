using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Node;

/// <summary>The cluster objects the desired state is computed from, as the agent's caches hold them.</summary>
public sealed record ClusterView(
    IReadOnlyList<V1Alpha1IPAllocation> Allocations,
    IReadOnlyList<V1Service> Services,
    IReadOnlyList<V1EndpointSlice> EndpointSlices,
    IReadOnlyList<V1Node> Nodes)
{
    /// <summary>The pools, for how each one's addresses are announced (none: every address the default way).</summary>
    public IReadOnlyList<V1Alpha1IPPool> Pools { get; init; } = [];
}
