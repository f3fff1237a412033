namespace IpvsOperator.Readers;

/// <summary>
/// How the node agents program a Service's virtual services, read by <see cref="ServiceIpvsSettingsReader"/>:
/// the IPVS scheduler by its kernel name, the forward method by the name its annotation takes (one of
/// <see cref="ServiceIpvsSettingsReader.ForwardMethods"/>), persistence (<c>sessionAffinity: ClientIP</c>)
/// for <see cref="PersistenceTimeout"/> seconds (0 when not persistent), and the active health check (null: none).
/// </summary>
public sealed record ServiceIpvsSettings(string Scheduler, string ForwardMethod, bool Persistent, uint PersistenceTimeout, HealthCheck? HealthCheck)
{
    /// <summary>Whether the Service names its scheduler: a pool's consistent hashing picks one only for those that do not.</summary>
    public bool SchedulerAnnotated { get; init; }

    /// <summary>The sh or mh scheduler's fallback flag (sh-fallback, mh-fallback): a flow whose destination is unavailable is hashed onto another.</summary>
    public bool HashFallback { get; init; }

    /// <summary>The sh or mh scheduler's port flag (sh-port, mh-port): the source port is hashed too.</summary>
    public bool HashPort { get; init; }
}
