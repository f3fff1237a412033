using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Probing;
using IpvsOperator.Readers;

namespace IpvsOperator.Node.Health;

/// <summary>
/// One endpoint as probed: its address and port and the check's settings. Services that check the
/// same endpoint the same way share one target, so each is probed once per node however many
/// Services, ports and VIPs lead to it.
/// </summary>
public sealed record ProbeTarget(IPAddressValue Address, ushort Port, HealthCheck Check)
{
    /// <summary>What the prober is asked each time: the check without its schedule and thresholds, which stay with the health checker.</summary>
    public Probe ToProbe() => new(Check.Protocol switch
    {
        HealthCheckProtocol.Tcp => ProbeProtocol.Tcp,
        HealthCheckProtocol.Http => ProbeProtocol.Http,
        HealthCheckProtocol.Https => ProbeProtocol.Https,
        _ => throw new ArgumentOutOfRangeException(nameof(Check), Check.Protocol, "a health check protocol the prober does not know"),
    }, Address, Port, Check.Path, Check.ExpectedStatusFrom, Check.ExpectedStatusTo, Check.Timeout);

    public override string ToString() => Address.Family == IPFamily.IPv6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
