using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// The IPVS connection sync this node takes part in: a master that sends its connection entries and
/// a backup that receives every other node's, both on <see cref="Interface"/>, with the cluster's
/// <see cref="SyncId"/> so that another group of directors on the LAN is ignored. Every node is both,
/// because the layer 2 election may give any VIP to any eligible node.
/// </summary>
public sealed record ConnectionSyncOptions(string Interface, uint SyncId = 0)
{
    /// <summary>The two daemons this node runs.</summary>
    public IReadOnlyList<SyncDaemon> Daemons => [new(SyncDaemonRole.Master, Interface, SyncId), new(SyncDaemonRole.Backup, Interface, SyncId)];

    /// <summary>Throws <see cref="ArgumentException"/> naming the flag's value and what is valid.</summary>
    public void Validate()
    {
        try
        {
            Daemons[0].ThrowIfInvalid();
        }
        catch (ArgumentException error)
        {
            throw new ArgumentException($"--connection-sync-interface/--connection-sync-id: {error.Message}", error);
        }
    }
}
