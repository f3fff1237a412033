namespace IpvsOperator.Mapping;

/// <summary>How a Service's endpoints are probed: over TCP (a connection), HTTP or HTTPS (a GET).</summary>
public enum HealthCheckProtocol
{
    Tcp,
    Http,
    Https,
}

/// <summary>
/// A Service's active health check, read from its annotations by <see cref="HealthCheckReader"/>.
/// Port null probes each endpoint on the port it serves the Service on.
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
    int UnhealthyThreshold)
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
}
