using k8s.Models;

namespace IpvsOperator.Node;

/// <summary>
/// A VIP as layer 2 announcement sees it: the nodes that may announce it (null: any node; with
/// externalTrafficPolicy Local only the nodes with ready endpoints, or the traffic would be dropped)
/// and the Services that hold it (several when shared).
/// </summary>
public sealed record AnnouncedAddress(IReadOnlySet<string>? Eligible, IReadOnlyList<V1Service> Services);
