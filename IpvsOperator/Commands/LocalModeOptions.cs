namespace IpvsOperator.Commands;

/// <summary>Everything the <c>local</c> verb is told.</summary>
public sealed record LocalModeOptions
{
    /// <summary>0 takes a free port.</summary>
    public int ApiPort { get; init; }
    public string StateDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "ipvs-operator-local");

    /// <summary>Folder of manifests to install at start (config/samples); null for none.</summary>
    public string? SamplesDirectory { get; init; }

    /// <summary>The node agent's dataplane: in memory (anywhere), or this machine's kernel (root, IPVS).</summary>
    public DataplaneKind Dataplane { get; init; } = DataplaneKind.Memory;

    /// <summary>Give LoadBalancer Services without EndpointSlices two stand-in endpoints (LocalCluster runs no pods).</summary>
    public bool StandInEndpoints { get; init; } = true;
}
