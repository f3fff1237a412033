namespace IpvsOperator.Node.Health;

/// <summary>Probes one endpoint once; never throws for what the endpoint does, only returns the failure.</summary>
public interface IProber
{
    Task<ProbeResult> ProbeAsync(ProbeTarget target, CancellationToken cancellationToken);
}
