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
}
