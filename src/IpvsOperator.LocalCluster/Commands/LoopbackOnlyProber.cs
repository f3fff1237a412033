using IpvsOperator.Dataplane.Probing;

namespace IpvsOperator.Commands;

/// <summary>
/// Local mode's health checks: an endpoint on loopback (a server you run to try them) is probed
/// for real; any other (the stand-in pods, or addresses of an EndpointSlice you published) is
/// reported healthy without a packet sent, so that local mode never sends traffic off this machine.
/// </summary>
internal sealed class LoopbackOnlyProber(IProber? loopback = null) : IProber, IDisposable
{
    private readonly NetworkProber? owned = loopback is null ? new NetworkProber() : null;

    public Task<ProbeResult> ProbeAsync(Probe probe, CancellationToken cancellationToken) =>
        System.Net.IPAddress.IsLoopback(probe.Address.ToIPAddress())
            ? (loopback ?? owned!).ProbeAsync(probe, cancellationToken)
            : Task.FromResult(ProbeResult.Ok(TimeSpan.Zero));

    public void Dispose() => owned?.Dispose();
}
