namespace IpvsOperator.Readers;

/// <summary>
/// How a pool's addresses are announced: over layer 2, over BGP, or both; and what BGP carries
/// for them (communities, local preference, aggregation) and from which nodes; and whether the
/// nodes that announce them must all pick the same backend for a flow (<see cref="ConsistentHashing"/>).
/// </summary>
public sealed record PoolAnnouncementSettings(
    bool Layer2,
    bool Bgp,
    IReadOnlyList<string> Communities,
    IReadOnlyList<string> LargeCommunities,
    uint? LocalPreference,
    int? AggregationLength,
    int? AggregationLengthV6,
    k8s.Models.V1LabelSelector? NodeSelector)
{
    /// <summary><c>spec.announce.bgp.consistentHashing</c>: mh with its fallback and port flags for Services that name no scheduler, and sloppy TCP/SCTP on the nodes.</summary>
    public bool ConsistentHashing { get; init; }

    /// <summary>A pool that says nothing: every way the agents announce, nothing attached.</summary>
    public static PoolAnnouncementSettings Default { get; } = new(true, true, [], [], null, null, null, null);
}
