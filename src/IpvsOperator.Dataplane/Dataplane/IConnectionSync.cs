namespace IpvsOperator.Dataplane;

/// <summary>
/// The kernel's IPVS connection synchronisation daemons, at most one master and one backup per
/// network namespace. The netlink implementation and the in-memory one refuse alike: a second
/// daemon of a role that runs already exists, stopping one that does not run is not found, an
/// interface the node does not have is not found.
/// </summary>
public interface IConnectionSync
{
    IReadOnlyList<SyncDaemon> ListDaemons();

    void StartDaemon(SyncDaemon daemon);

    void StopDaemon(SyncDaemonRole role);

    /// <summary>
    /// The connection entries a backup daemon made from another node's messages (the kernel marks
    /// them <c>SYNC</c> in /proc/net/ip_vs_conn_sync), as opposed to those of connections this node
    /// scheduled itself. Reads the whole connection table: not for every packet, for a periodic figure.
    /// </summary>
    int CountSyncedConnections();
}
