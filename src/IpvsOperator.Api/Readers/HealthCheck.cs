namespace IpvsOperator.Readers;

/// <summary>How a Service's endpoints are probed: over TCP (a connection), HTTP or HTTPS (a GET).</summary>
public enum HealthCheckProtocol
{
    Tcp,
    Http,
    Https,
}

/// <summary>
/// A Service's active health check, read from its annotations by <see cref="HealthCheckReader"/>.
/// Port null probes each endpoint on the port it serves the Service on. ResetConnections says what
/// happens to an endpoint found down: false, weight 0 (its connections finish); true, removed at once
/// (its connections are reset, so clients retry elsewhere without waiting).
/// </summary>
public sealed record HealthCheck(
    HealthCheckProtocol Protocol,
    int? Port,
    string Path,
    int ExpectedStatusFrom,
    int ExpectedStatusTo,
    TimeSpan Interval,
    TimeSpan Timeout,
    int HealthyThreshold,
    int UnhealthyThreshold,
    bool ResetConnections = false)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);
    public const int DefaultHealthyThreshold = 2;
    public const int DefaultUnhealthyThreshold = 3;
    public const string DefaultPath = "/";
    public const int DefaultStatusFrom = 200;
    public const int DefaultStatusTo = 399;

    /// <summary>Bounds on what a Service's owner may ask of every agent: at most one probe a second per endpoint (as the fastest cloud load balancers allow), at least one a minute.</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaximumInterval = TimeSpan.FromMinutes(1);
    public const int MaximumThreshold = 10;
    public const int MaximumPathLength = 1024;
    public static readonly TimeSpan MinimumTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>What is probed, without what is done with the verdict: Services that differ only in that share one probe.</summary>
    public HealthCheck Probe => ResetConnections ? this with { ResetConnections = false } : this;
}
