namespace IpvsOperator.Dataplane.Probing;

/// <summary>Probes one endpoint once; never throws for what the endpoint does, only returns the failure.</summary>
public interface IProber
{
    Task<ProbeResult> ProbeAsync(Probe probe, CancellationToken cancellationToken);
}
