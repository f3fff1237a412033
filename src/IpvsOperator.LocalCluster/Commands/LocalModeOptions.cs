namespace IpvsOperator.Commands;

/// <summary>Everything the <c>local</c> verb is told.</summary>
public sealed record LocalModeOptions
{
    /// <summary>0 takes a free port.</summary>
    public int ApiPort { get; init; }

    /// <summary>Where the kubeconfig is written: a directory of this user's that nobody else can write to.</summary>
    public string StateDirectory { get; init; } = DefaultStateDirectory;

    /// <summary>The user's runtime directory (XDG_RUNTIME_DIR, private by design) when there is one, else under ~/.cache.</summary>
    public static string DefaultStateDirectory =>
        Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime
            ? Path.Combine(runtime, "ipvs-operator-local")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ipvs-operator-local");

    /// <summary>Folder of manifests to install at start (config/samples); null for none.</summary>
    public string? SamplesDirectory { get; init; }

    /// <summary>The node agent's dataplane: in memory (anywhere), or this machine's kernel (root, IPVS).</summary>
    public DataplaneKind Dataplane { get; init; } = DataplaneKind.Memory;

    /// <summary>Give LoadBalancer Services without EndpointSlices two stand-in endpoints (LocalCluster runs no pods).</summary>
    public bool StandInEndpoints { get; init; } = true;

    /// <summary>Announce over BGP too, to an in-memory stand-in of FRR (off by default: a real FRR would peer with this machine's network).</summary>
    public bool Bgp { get; init; }
}
