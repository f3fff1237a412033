using IpvsOperator.Runtime.Resilience;

namespace IpvsOperator.Runtime.Controllers;

/// <summary>How a controller runs: worker count and retry backoff.</summary>
public sealed record ControllerOptions
{
    /// <summary>Objects reconciled at once (never the same object twice).</summary>
    public int Workers { get; init; } = 4;

    /// <summary>How long an object whose reconcile failed waits before it is looked at again.</summary>
    public Backoff Backoff { get; init; } = Backoff.Reconcile;
}
