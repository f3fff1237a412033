using IpvsOperator.Dataplane.Probing;

namespace IpvsOperator.Node.Health;

/// <summary>A target's verdict changed: down after its unhealthy threshold, up after its healthy one.</summary>
internal sealed record HealthChange(ProbeTarget Target, bool IsUp, ProbeResult Last);
