namespace IpvsOperator.LocalCluster;

/// <summary>Cluster IPs and node ports a Service's update takes or gives back.</summary>
internal sealed record ServiceAllocations(List<string> ClusterIPs, List<int> NodePorts)
{
    public static ServiceAllocations None => new([], []);
}
