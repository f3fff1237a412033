namespace IpvsOperator.Runtime.Hosting;

/// <summary>Leader election on a Lease: only the holder runs controllers.</summary>
public sealed record LeaderElectionOptions
{
    public bool Enabled { get; init; } = true;
    /// <summary>Where the Lease lives: the operator's namespace (required when enabled).</summary>
    public string Namespace { get; init; } = string.Empty;
    /// <summary>The name the generated Role grants (create cannot be limited by name; get and update are).</summary>
    public const string DefaultLeaseName = "ipvs-operator-controller";

    public string LeaseName { get; init; } = DefaultLeaseName;
    public string Identity { get; init; } = $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}
