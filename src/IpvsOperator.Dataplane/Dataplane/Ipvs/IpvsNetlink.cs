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

    public void AddService(VirtualService service) => Send(new IpvsChange.AddService(service));

    public void UpdateService(VirtualService service) => Send(new IpvsChange.UpdateService(service));

    public void DeleteService(VirtualServiceKey key) => Send(new IpvsChange.DeleteService(key));

    public IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key) =>
        [.. socket.Request(family, NetlinkConstants.NlmFDump, IpvsCodec.Command(IpvsConstants.CmdGetDest, null, key), $"list destinations of {key}")
            .Select(m => IpvsCodec.DecodeDestination(m, key.Address.Family))];

    public IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key) =>
        [.. socket.Request(family, NetlinkConstants.NlmFDump, IpvsCodec.Command(IpvsConstants.CmdGetDest, null, key), $"list the connections of {key}")
            .Select(m => IpvsCodec.DecodeConnections(m, key.Address.Family))];

    public void AddDestination(VirtualServiceKey key, Destination destination) => Send(new IpvsChange.AddDestination(key, destination));

    public void UpdateDestination(VirtualServiceKey key, Destination destination) => Send(new IpvsChange.UpdateDestination(key, destination));

    public void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port) => Send(new IpvsChange.DeleteDestination(key, address, port));

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

    /// <summary>The changes several to a datagram, acknowledged by sequence number (<see cref="NetlinkSocket.RequestAll"/>).</summary>
    public IReadOnlyList<(int Index, DataplaneException Error)> ApplyAll(IReadOnlyList<IpvsChange> changes) =>
        socket.RequestAll(family, [.. changes.Select(Request)]);

    /// <summary>A change's request and its description, as the method that makes it alone sends them.</summary>
    private static (ReadOnlyMemory<byte> Payload, string Description) Request(IpvsChange change) => change switch
    {
        IpvsChange.AddService add => (IpvsCodec.Command(IpvsConstants.CmdNewService, add.Service), $"add IPVS service {add.Service.Key} ({add.Service.Scheduler})"),
        IpvsChange.UpdateService update => (IpvsCodec.Command(IpvsConstants.CmdSetService, update.Service), $"update IPVS service {update.Service.Key}"),
        IpvsChange.DeleteService delete => (IpvsCodec.Command(IpvsConstants.CmdDelService, null, delete.Key), $"delete IPVS service {delete.Key}"),
        IpvsChange.AddDestination add => (IpvsCodec.Command(IpvsConstants.CmdNewDest, null, add.Key, add.Destination), $"add destination {add.Destination} to {add.Key}"),
        IpvsChange.UpdateDestination update => (IpvsCodec.Command(IpvsConstants.CmdSetDest, null, update.Key, update.Destination), $"update destination {update.Destination} of {update.Key}"),
        IpvsChange.DeleteDestination delete => (IpvsCodec.Command(IpvsConstants.CmdDelDest, null, delete.Key, new Destination(delete.Address, delete.Port)),
            $"delete destination {new Destination(delete.Address, delete.Port)} of {delete.Key}"),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, "an IPVS change of an unknown kind"),
    };

    private void Send(IpvsChange change)
    {
        var (payload, description) = Request(change);
        Send(payload, description);
    }

    private void Send(ReadOnlyMemory<byte> payload, string description) =>
        socket.Request(family, NetlinkConstants.NlmFAck, payload, description);

    public void Dispose() => socket.Dispose();
}
