using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>
/// A virtual service. Persistence keeps a client on one destination for <see cref="TimeoutSeconds"/>;
/// <see cref="SchedulerFlags"/> are the sh scheduler's fallback (0x8) and port (0x10) flags.
/// </summary>
public sealed record VirtualService(VirtualServiceKey Key, string Scheduler = "rr", bool Persistent = false, uint TimeoutSeconds = 0, uint SchedulerFlags = 0)
{
    /// <summary>The persistence netmask: the whole address (one client, one destination).</summary>
    public uint Netmask => Key.Address.Family == IPFamily.IPv4 ? 0xffffffff : 128;
}
