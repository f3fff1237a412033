namespace IpvsOperator.Dataplane.InMemory;

/// <summary>The connection sync daemons in memory, refusing what the kernel refuses; <paramref name="hasInterface"/> stands for the node's links.</summary>
public sealed class InMemoryConnectionSync(Func<string, bool> hasInterface) : IConnectionSync
{
    private readonly Lock gate = new();
    private readonly Dictionary<SyncDaemonRole, SyncDaemon> running = [];

    /// <summary>Stands for the entries a backup received: what <see cref="CountSyncedConnections"/> answers.</summary>
    public int SyncedConnections { get; set; }

    public int CountSyncedConnections() => SyncedConnections;

    public IReadOnlyList<SyncDaemon> ListDaemons()
    {
        lock (gate)
        {
            return [.. running.Values.OrderBy(d => d.Role)];
        }
    }

    public void StartDaemon(SyncDaemon daemon)
    {
        daemon.ThrowIfInvalid();
        lock (gate)
        {
            var request = $"start the IPVS sync daemon, {daemon}";
            if (running.ContainsKey(daemon.Role))
            {
                throw new DataplaneException(DataplaneError.AlreadyExists, request, $"a {daemon.Role.ToString().ToLowerInvariant()} runs already");
            }
            if (!hasInterface(daemon.Interface))
            {
                throw new DataplaneException(DataplaneError.NotFound, request, $"there is no interface {daemon.Interface}");
            }
            running[daemon.Role] = daemon;
        }
    }

    public void StopDaemon(SyncDaemonRole role)
    {
        lock (gate)
        {
            if (!running.Remove(role))
            {
                throw new DataplaneException(DataplaneError.NotFound, $"stop the IPVS sync daemon ({role.ToString().ToLowerInvariant()})", "none runs");
            }
        }
    }
}
