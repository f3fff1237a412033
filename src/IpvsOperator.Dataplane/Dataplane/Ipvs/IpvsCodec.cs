using System.Buffers.Binary;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Dataplane.Ipvs;

/// <summary>
/// Encoding and decoding of IPVS messages: a generic header, then a nested service attribute
/// (and a nested destination attribute for destination commands). Ports travel in network byte
/// order; in dumps an IPv4 address may come back padded to 16 bytes, so AF decides how much to read.
/// </summary>
internal static class IpvsCodec
{
    public static byte[] Command(byte command, VirtualService? service, VirtualServiceKey? key = null, Destination? destination = null)
    {
        var writer = new AttributeWriter();
        if (service is not null || key is not null)
        {
            writer.BeginNested(IpvsConstants.CmdAttrService);
            WriteKey(writer, service?.Key ?? key!.Value);
            if (service is not null)
            {
                writer.Text(IpvsConstants.SvcAttrSchedName, service.Scheduler);
                Span<byte> flags = stackalloc byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(flags, (service.Persistent ? IpvsConstants.FlagPersistent : 0) | service.SchedulerFlags);
                BinaryPrimitives.WriteUInt32LittleEndian(flags[4..], 0xffffffff);
                writer.Bytes(IpvsConstants.SvcAttrFlags, flags);
                writer.U32(IpvsConstants.SvcAttrTimeout, service.TimeoutSeconds);
                writer.U32(IpvsConstants.SvcAttrNetmask, service.Netmask);
            }
            writer.EndNested();
        }
        if (destination is not null)
        {
            writer.BeginNested(IpvsConstants.CmdAttrDest)
                .Bytes(IpvsConstants.DestAttrAddr, destination.Address.ToIPAddress().GetAddressBytes())
                .U16BigEndian(IpvsConstants.DestAttrPort, destination.Port)
                .U32(IpvsConstants.DestAttrFwdMethod, (uint)destination.Method)
                .U32(IpvsConstants.DestAttrWeight, destination.Weight)
                .U32(IpvsConstants.DestAttrUThresh, destination.UpperThreshold)
                .U32(IpvsConstants.DestAttrLThresh, destination.LowerThreshold)
                .U16(IpvsConstants.DestAttrAddrFamily, Family(destination.Address.Family))
                .EndNested();
        }
        return [.. GenericNetlink.Header(command, IpvsConstants.Version), .. writer.ToArray()];
    }

    public static VirtualService DecodeService(NetlinkMessage message) =>
        TryDecodeService(message, out var service, out var shape) ? service : throw new InvalidDataException($"not an address/protocol/port service: {shape}");

    /// <summary>
    /// A service keyed by address, protocol and port, the only kind the agent makes; false, with
    /// what it is instead, for the other kinds a human may have made on the node (a firewall-mark
    /// service: keepalived; a family the agent does not know), which it must leave alone.
    /// </summary>
    public static bool TryDecodeService(NetlinkMessage message, out VirtualService service, out string shape)
    {
        service = null!;
        var attributes = AttributeReader.Read(message.Payload[NetlinkConstants.GenericHeaderLength..])[IpvsConstants.CmdAttrService].Children();
        var af = attributes.TryGetValue(IpvsConstants.SvcAttrAf, out var a) ? a.U16() : (ushort)0;
        if (attributes.TryGetValue(IpvsConstants.SvcAttrFwmark, out var mark) && mark.U32() != 0)
        {
            shape = $"firewall-mark service {mark.U32()} ({(af == IpvsConstants.AfInet6 ? "IPv6" : "IPv4")})";
            return false;
        }
        if (af is not (IpvsConstants.AfInet or IpvsConstants.AfInet6)
            || !attributes.TryGetValue(IpvsConstants.SvcAttrAddr, out var address)
            || !attributes.TryGetValue(IpvsConstants.SvcAttrProtocol, out var protocol)
            || !attributes.TryGetValue(IpvsConstants.SvcAttrPort, out var port))
        {
            shape = $"service of address family {af} without address, protocol or port";
            return false;
        }
        shape = string.Empty;
        var family = af == IpvsConstants.AfInet6 ? IPFamily.IPv6 : IPFamily.IPv4;
        var flags = attributes.TryGetValue(IpvsConstants.SvcAttrFlags, out var f) ? f.U32() : 0;
        service = new VirtualService(
            new VirtualServiceKey(Address(address, family), (IpvsProtocol)protocol.U16(), port.U16BigEndian()),
            attributes.TryGetValue(IpvsConstants.SvcAttrSchedName, out var scheduler) ? scheduler.Text() : string.Empty,
            (flags & IpvsConstants.FlagPersistent) != 0,
            attributes.TryGetValue(IpvsConstants.SvcAttrTimeout, out var timeout) ? timeout.U32() : 0,
            flags & (IpvsConstants.FlagSchedSh1 | IpvsConstants.FlagSchedSh2));
        return true;
    }

    /// <summary>The counters of a GET_SERVICE reply: 64-bit ones where the kernel sends them, else the 32-bit ones.</summary>
    public static ServiceStats DecodeStats(NetlinkMessage message)
    {
        var attributes = AttributeReader.Read(message.Payload[NetlinkConstants.GenericHeaderLength..])[IpvsConstants.CmdAttrService].Children();
        var wide = attributes.TryGetValue(IpvsConstants.SvcAttrStats64, out var stats64);
        if (!wide && !attributes.TryGetValue(IpvsConstants.SvcAttrStats, out stats64))
        {
            return new ServiceStats(0, 0, 0, 0, 0);
        }
        var counters = stats64.Children();
        ulong Read(ushort type) => counters.TryGetValue(type, out var value) ? (wide ? value.U64() : value.U32()) : 0;
        return new ServiceStats(Read(IpvsConstants.StatsConns), Read(IpvsConstants.StatsInPkts), Read(IpvsConstants.StatsOutPkts),
            Read(IpvsConstants.StatsInBytes), Read(IpvsConstants.StatsOutBytes));
    }

    public static Destination DecodeDestination(NetlinkMessage message, IPFamily serviceFamily)
    {
        var attributes = AttributeReader.Read(message.Payload[NetlinkConstants.GenericHeaderLength..])[IpvsConstants.CmdAttrDest].Children();
        // Destinations of kernels before 5.x carry no family of their own: they share the service's.
        var family = attributes.TryGetValue(IpvsConstants.DestAttrAddrFamily, out var af) ? (af.U16() == IpvsConstants.AfInet6 ? IPFamily.IPv6 : IPFamily.IPv4) : serviceFamily;
        return new Destination(
            Address(attributes[IpvsConstants.DestAttrAddr], family),
            attributes[IpvsConstants.DestAttrPort].U16BigEndian(),
            attributes.TryGetValue(IpvsConstants.DestAttrWeight, out var weight) ? weight.U32() : 0,
            (ForwardMethod)((attributes.TryGetValue(IpvsConstants.DestAttrFwdMethod, out var method) ? method.U32() : 0) & 0x7),
            attributes.TryGetValue(IpvsConstants.DestAttrUThresh, out var upper) ? upper.U32() : 0,
            attributes.TryGetValue(IpvsConstants.DestAttrLThresh, out var lower) ? lower.U32() : 0);
    }

    /// <summary>The connection counts of a GET_DEST reply (zero where the kernel leaves them out).</summary>
    public static DestinationConnections DecodeConnections(NetlinkMessage message, IPFamily serviceFamily)
    {
        var destination = DecodeDestination(message, serviceFamily);
        var attributes = AttributeReader.Read(message.Payload[NetlinkConstants.GenericHeaderLength..])[IpvsConstants.CmdAttrDest].Children();
        return new DestinationConnections(destination.Address, destination.Port,
            attributes.TryGetValue(IpvsConstants.DestAttrActiveConns, out var active) ? active.U32() : 0,
            attributes.TryGetValue(IpvsConstants.DestAttrInactConns, out var inactive) ? inactive.U32() : 0);
    }

    /// <summary>NEW_DAEMON with the role, interface and sync id; DEL_DAEMON with the role alone; GET_DAEMON with nothing (a dump).</summary>
    public static byte[] Daemon(byte command, SyncDaemonRole? role = null, SyncDaemon? daemon = null)
    {
        var writer = new AttributeWriter();
        if (daemon is not null || role is not null)
        {
            writer.BeginNested(IpvsConstants.CmdAttrDaemon).U32(IpvsConstants.DaemonAttrState, (uint)(daemon?.Role ?? role!.Value));
            if (daemon is not null)
            {
                writer.Text(IpvsConstants.DaemonAttrMcastIfn, daemon.Interface).U32(IpvsConstants.DaemonAttrSyncId, daemon.SyncId);
            }
            writer.EndNested();
        }
        return [.. GenericNetlink.Header(command, IpvsConstants.Version), .. writer.ToArray()];
    }

    public static SyncDaemon DecodeDaemon(NetlinkMessage message)
    {
        var attributes = AttributeReader.Read(message.Payload[NetlinkConstants.GenericHeaderLength..])[IpvsConstants.CmdAttrDaemon].Children();
        return new SyncDaemon(
            (SyncDaemonRole)attributes[IpvsConstants.DaemonAttrState].U32(),
            attributes.TryGetValue(IpvsConstants.DaemonAttrMcastIfn, out var name) ? name.Text() : string.Empty,
            attributes.TryGetValue(IpvsConstants.DaemonAttrSyncId, out var id) ? id.U32() : 0);
    }

    private static void WriteKey(AttributeWriter writer, VirtualServiceKey key) => writer
        .U16(IpvsConstants.SvcAttrAf, Family(key.Address.Family))
        .U16(IpvsConstants.SvcAttrProtocol, (ushort)key.Protocol)
        .Bytes(IpvsConstants.SvcAttrAddr, key.Address.ToIPAddress().GetAddressBytes())
        .U16BigEndian(IpvsConstants.SvcAttrPort, key.Port);

    private static ushort Family(IPFamily family) => family == IPFamily.IPv4 ? IpvsConstants.AfInet : IpvsConstants.AfInet6;

    private static IPAddressValue Address(NlAttr attribute, IPFamily family) =>
        IPAddressValue.FromIPAddress(new System.Net.IPAddress(attribute.Value.Span[..(family == IPFamily.IPv4 ? 4 : 16)]));
}
