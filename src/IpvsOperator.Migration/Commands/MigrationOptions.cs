using k8s;

namespace IpvsOperator.Commands;

/// <summary>What <c>ipvs-operator migrate metallb</c> is asked to do: read files or a cluster, then write YAML or apply.</summary>
public sealed record MigrationOptions
{
    /// <summary>MetalLB's files; none: MetalLB's objects are read from the cluster.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    public DirectoryInfo? Output { get; init; }

    public bool AcceptChanges { get; init; }

    /// <summary>Create or update the objects in the cluster instead of writing them.</summary>
    public bool Apply { get; init; }

    /// <summary>Replace an object of ours that exists with other content (never a claim held by another Service).</summary>
    public bool Overwrite { get; init; }

    public string MetalLBNamespace { get; init; } = "metallb-system";

    /// <summary>MetalLB's --lb-class, when it was started with one.</summary>
    public string? MetalLBClass { get; init; }

    public string? Kubeconfig { get; init; }

    public string? Context { get; init; }

    /// <summary>A connection handed over (tests, local mode) instead of a kubeconfig.</summary>
    public KubernetesClientConfiguration? Connection { get; init; }

    /// <summary>Whether the run talks to a cluster: to read MetalLB there, or to apply.</summary>
    public bool UsesCluster => Paths.Count == 0 || Apply;
}
