namespace IpvsOperator.Dataplane.Probing;

/// <summary>What one probe found; Detail names the status or the error for a message.</summary>
public sealed record ProbeResult(ProbeFailure Failure, TimeSpan Latency, string Detail = "")
{
    public bool Healthy => Failure == ProbeFailure.None;

    public static ProbeResult Ok(TimeSpan latency) => new(ProbeFailure.None, latency);
}
