using IpvsOperator.Ipam;

namespace IpvsOperator.Dataplane;

public enum IpvsProtocol : ushort
{
    TCP = 6,
    UDP = 17,
    SCTP = 132,
}

/// <summary>How IPVS hands a connection to a destination (IP_VS_CONN_F_*).</summary>
public enum ForwardMethod : uint
{
    Masquerade = 0,
    LocalNode = 1,
    Tunnel = 2,
    DirectRoute = 3,
}

/// <summary>What identifies a virtual service: address, protocol and port.</summary>
public readonly record struct VirtualServiceKey(IPAddressValue Address, IpvsProtocol Protocol, ushort Port)
{
    public override string ToString() => $"{Protocol} {(Address.Family == IPFamily.IPv6 ? $"[{Address}]" : Address.ToString())}:{Port}";
}

/// <summary>
/// A virtual service. Persistence keeps a client on one destination for <see cref="TimeoutSeconds"/>;
/// <see cref="SchedulerFlags"/> are the sh scheduler's fallback (0x8) and port (0x10) flags.
/// </summary>
public sealed record VirtualService(VirtualServiceKey Key, string Scheduler = "rr", bool Persistent = false, uint TimeoutSeconds = 0, uint SchedulerFlags = 0)
{
    /// <summary>The persistence netmask: the whole address (one client, one destination).</summary>
    public uint Netmask => Key.Address.Family == IPFamily.IPv4 ? 0xffffffff : 128;
}

public sealed record Destination(IPAddressValue Address, ushort Port, uint Weight = 1, ForwardMethod Method = ForwardMethod.Masquerade, uint UpperThreshold = 0, uint LowerThreshold = 0)
{
    public override string ToString() => $"{(Address.Family == IPFamily.IPv6 ? $"[{Address}]" : Address.ToString())}:{Port}";
}

/// <summary>Traffic counters of a virtual service since it was created.</summary>
public sealed record ServiceStats(ulong Connections, ulong PacketsIn, ulong PacketsOut, ulong BytesIn, ulong BytesOut);

/// <summary>
/// Linux IPVS: virtual services and their destinations. The netlink implementation and the
/// in-memory one behave alike, errors included (EEXIST for a duplicate, ESRCH/ENOENT for a missing
/// object), so one contract suite holds both to it.
/// </summary>
public interface IIpvs
{
    IReadOnlyList<VirtualService> ListServices();

    void AddService(VirtualService service);

    void UpdateService(VirtualService service);

    void DeleteService(VirtualServiceKey key);

    IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key);

    void AddDestination(VirtualServiceKey key, Destination destination);

    void UpdateDestination(VirtualServiceKey key, Destination destination);

    void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port);

    /// <summary>
    /// The counters of one service; ESRCH when it does not exist. The kernel sums its per-CPU
    /// counters every 2 s, so they lag the traffic by up to that.
    /// </summary>
    ServiceStats GetStats(VirtualServiceKey key);
}

public static class IpvsExtensions
{
    /// <summary>
    /// Removes exactly the given services (and their destinations), ignoring those already gone.
    /// Never IPVS_CMD_FLUSH: that would take kube-proxy's and everyone else's services too.
    /// </summary>
    public static int Flush(this IIpvs ipvs, IEnumerable<VirtualServiceKey> keys)
    {
        var removed = 0;
        foreach (var key in keys)
        {
            try
            {
                ipvs.DeleteService(key);
                removed++;
            }
            catch (Netlink.NetlinkException gone) when (gone.NotFound)
            {
                // Already gone: nothing to flush.
            }
        }
        return removed;
    }
}
