namespace IpvsOperator.Readers;

/// <summary>
/// How the node agents program a Service's virtual services, read by <see cref="ServiceIpvsSettingsReader"/>:
/// the IPVS scheduler by its kernel name, the forward method by the name its annotation takes (one of
/// <see cref="ServiceIpvsSettingsReader.ForwardMethods"/>), persistence (<c>sessionAffinity: ClientIP</c>)
/// for <see cref="PersistenceTimeout"/> seconds (0 when not persistent), and the active health check (null: none).
/// </summary>
public sealed record ServiceIpvsSettings(string Scheduler, string ForwardMethod, bool Persistent, uint PersistenceTimeout, HealthCheck? HealthCheck);
