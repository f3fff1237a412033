using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Dataplane.Ipvs;

/// <summary>IPVS over generic netlink, as ipvsadm's libipvs and moby/ipvs talk to it: virtual services and the connection sync daemons.</summary>
public sealed class IpvsNetlink : IIpvs, IConnectionSync, IDisposable
{
    private readonly NetlinkSocket socket;
    private readonly ushort family;
    private readonly string connectionTable;

    private IpvsNetlink(NetlinkSocket socket, ushort family, string connectionTable)
    {
        this.socket = socket;
        this.family = family;
        this.connectionTable = connectionTable;
    }

    /// <summary>Opens the client; <see cref="IpvsUnavailableException"/> when the kernel has no IPVS.</summary>
    /// <param name="connectionTable">
    /// The /proc/net/ip_vs_conn_sync of the socket's network namespace (a socket opened in another
    /// namespace needs that namespace's, e.g. /proc/PID/net/ip_vs_conn_sync of a process in it).
    /// </param>
    public static IpvsNetlink Open(NetlinkSocket? socket = null, string familyName = IpvsConstants.FamilyName, string connectionTable = ConnectionOrigins.OwnNamespaceTable)
    {
        socket ??= new NetlinkSocket(NetlinkConstants.NetlinkGeneric);
        try
        {
            return new IpvsNetlink(socket, GenericNetlink.ResolveFamily(socket, familyName), connectionTable);
        }
        catch (NetlinkException missing) when (missing.ErrorNumber == NetlinkException.ENOENT)
        {
            socket.Dispose();
            throw new IpvsUnavailableException(familyName, missing);
        }
    }

    public IReadOnlyList<string> Unrepresented { get; private set; } = [];

    public IReadOnlyList<VirtualService> ListServices()
    {
        var services = new List<VirtualService>();
        var skipped = new List<string>();
        foreach (var message in socket.Request(family, NetlinkConstants.NlmFDump, IpvsCodec.Command(IpvsConstants.CmdGetService, null), "list IPVS services"))
        {
            if (IpvsCodec.TryDecodeService(message, out var service, out var shape))
            {
                services.Add(service);
            }
            else
            {
                skipped.Add(shape);
            }
        }
        Unrepresented = skipped;
        return services;
    }

    public void AddService(VirtualService service) =>
        Send(IpvsCodec.Command(IpvsConstants.CmdNewService, service), $"add IPVS service {service.Key} ({service.Scheduler})");

    public void UpdateService(VirtualService service) =>
        Send(IpvsCodec.Command(IpvsConstants.CmdSetService, service), $"update IPVS service {service.Key}");

    public void DeleteService(VirtualServiceKey key) =>
        Send(IpvsCodec.Command(IpvsConstants.CmdDelService, null, key), $"delete IPVS service {key}");

    public IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key) =>
        [.. socket.Request(family, NetlinkConstants.NlmFDump, IpvsCodec.Command(IpvsConstants.CmdGetDest, null, key), $"list destinations of {key}")
            .Select(m => IpvsCodec.DecodeDestination(m, key.Address.Family))];

    public IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key) =>
        [.. socket.Request(family, NetlinkConstants.NlmFDump, IpvsCodec.Command(IpvsConstants.CmdGetDest, null, key), $"list the connections of {key}")
            .Select(m => IpvsCodec.DecodeConnections(m, key.Address.Family))];

    public void AddDestination(VirtualServiceKey key, Destination destination) =>
        Send(IpvsCodec.Command(IpvsConstants.CmdNewDest, null, key, destination), $"add destination {destination} to {key}");

    public void UpdateDestination(VirtualServiceKey key, Destination destination) =>
        Send(IpvsCodec.Command(IpvsConstants.CmdSetDest, null, key, destination), $"update destination {destination} of {key}");

    public void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port) =>
        Send(IpvsCodec.Command(IpvsConstants.CmdDelDest, null, key, new Destination(address, port)), $"delete destination {new Destination(address, port)} of {key}");

    public ServiceStats GetStats(VirtualServiceKey key) =>
        IpvsCodec.DecodeStats(socket.Request(family, 0, IpvsCodec.Command(IpvsConstants.CmdGetService, null, key), $"read the counters of {key}").Single());

    public IReadOnlyList<SyncDaemon> ListDaemons() =>
        [.. socket.Request(family, NetlinkConstants.NlmFDump, IpvsCodec.Daemon(IpvsConstants.CmdGetDaemon), "list the IPVS sync daemons")
            .Select(IpvsCodec.DecodeDaemon).OrderBy(d => d.Role)];

    public void StartDaemon(SyncDaemon daemon)
    {
        daemon.ThrowIfInvalid();
        Send(IpvsCodec.Daemon(IpvsConstants.CmdNewDaemon, daemon: daemon), $"start the IPVS sync daemon, {daemon}");
    }

    public void StopDaemon(SyncDaemonRole role) =>
        Send(IpvsCodec.Daemon(IpvsConstants.CmdDelDaemon, role), $"stop the IPVS sync daemon ({role.ToString().ToLowerInvariant()})");

    public int CountSyncedConnections()
    {
        using var table = new StreamReader(connectionTable);
        return ConnectionOrigins.CountSynced(table);
    }

    private void Send(byte[] payload, string description) =>
        socket.Request(family, NetlinkConstants.NlmFAck, payload, description);

    public void Dispose() => socket.Dispose();
}
