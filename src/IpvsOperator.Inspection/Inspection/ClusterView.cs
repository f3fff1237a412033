using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Inspection;

/// <summary>
/// What the plugin read from the API, all it explains from: nothing here comes from a node or the
/// kernel, so a user with read rights sees what the agents published, as they published it.
/// </summary>
/// <param name="Events">The Events of the Service asked about, oldest first.</param>
internal sealed record ClusterView(
    IReadOnlyList<V1Alpha1IPPool> Pools,
    IReadOnlyList<V1Alpha1IPAllocation> Allocations,
    IReadOnlyList<V1Alpha1IPVSNode> Nodes,
    IReadOnlyList<Corev1Event> Events)
{
    /// <summary>The same objects with their string values escaped for a terminal (<see cref="PrintableValues.Of"/>).</summary>
    public ClusterView Printable() => new(
        [.. Pools.Select(PrintableValues.Of)], [.. Allocations.Select(PrintableValues.Of)], [.. Nodes.Select(PrintableValues.Of)], [.. Events.Select(PrintableValues.Of)]);
}
