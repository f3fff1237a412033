using IpvsOperator.Addressing;
using IpvsOperator.Readers;

namespace IpvsOperator.Node.Health;

/// <summary>
/// One endpoint as probed: its address and port and the check's settings. Services that check the
/// same endpoint the same way share one target, so each is probed once per node however many
/// Services, ports and VIPs lead to it.
/// </summary>
public sealed record ProbeTarget(IPAddressValue Address, ushort Port, HealthCheck Check)
{
    public override string ToString() => Address.Family == IPFamily.IPv6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
