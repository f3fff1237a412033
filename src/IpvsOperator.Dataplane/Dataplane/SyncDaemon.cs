namespace IpvsOperator.Dataplane;

/// <summary>Which way a connection sync daemon works: a master sends its node's connections, a backup receives another node's.</summary>
public enum SyncDaemonRole
{
    Master = 1,
    Backup = 2,
}

/// <summary>
/// An IPVS connection synchronisation daemon (the kernel's ipvs-m / ipvs-b threads, ipvsadm
/// --start-daemon): it multicasts (master) or receives (backup) the connection entries of the
/// node's virtual services on <see cref="Interface"/>, to the kernel's group 224.0.0.81, UDP port
/// 8848 plus the thread's number. <see cref="SyncId"/> (0 to 255: one byte in the messages) tells
/// apart groups of directors on one LAN: a backup takes only what masters of its own id send.
/// </summary>
public sealed record SyncDaemon(SyncDaemonRole Role, string Interface, uint SyncId = 0)
{
    /// <summary>The kernel's limit on the interface name (IP_VS_IFNAME_MAXLEN, with its terminating zero).</summary>
    public const int MaxInterfaceLength = 15;

    /// <summary>The largest sync id: the messages carry one byte of it.</summary>
    public const uint MaxSyncId = 255;

    /// <summary>Refuses a name the kernel would cut to 15 characters (and so sync on another interface, or none) or an empty one, and a sync id the messages cannot carry.</summary>
    public void ThrowIfInvalid()
    {
        if (Interface.Length is 0 or > MaxInterfaceLength)
        {
            throw new ArgumentException($"'{Interface}' is not an interface name (1 to {MaxInterfaceLength} characters)", nameof(Interface));
        }
        if (SyncId > MaxSyncId)
        {
            throw new ArgumentException($"sync id {SyncId} is out of range (0 to {MaxSyncId}: the messages carry one byte of it)", nameof(SyncId));
        }
    }

    public override string ToString() => $"{Role.ToString().ToLowerInvariant()} on {Interface} (sync id {SyncId})";
}
