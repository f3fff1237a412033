using System.Buffers.Binary;
using System.Net.NetworkInformation;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>NETLINK_ROUTE: links and addresses, as <c>ip link</c> and <c>ip addr</c> do it.</summary>
public sealed class RouteNetlink(NetlinkSocket socket) : IAddressManager, IDisposable
{
    public const ushort RtmNewLink = 16;
    public const ushort RtmGetLink = 18;
    public const ushort RtmNewAddr = 20;
    public const ushort RtmDelAddr = 21;
    public const ushort RtmGetAddr = 22;
    public const ushort RtmNewRoute = 24;
    public const ushort RtmGetRoute = 26;
    public const ushort IflaAddress = 1;
    public const ushort IflaIfname = 3;
    public const ushort IflaLinkinfo = 18;
    public const ushort IflaInfoKind = 1;
    public const ushort IfaAddress = 1;
    public const ushort IfaLocal = 2;
    public const ushort IfaCacheinfo = 6;
    public const byte IfaFNodad = 0x02;
    public const ushort RtaOif = 4;
    public const ushort RtaTable = 15;
    public const byte RtTableMain = 254;
    public const ushort NlmFReplace = 0x100;
    public const byte AfInet = 2;
    public const byte AfInet6 = 10;
    public const uint IffUp = 1;
    public const uint IffLowerUp = 0x10000;

    public static RouteNetlink Open(TimeSpan? timeout = null) => new(new NetlinkSocket(NetlinkConstants.NetlinkRoute, timeout));

    public IReadOnlyList<LinkInfo> ListLinks() =>
        [.. socket.Request(RtmGetLink, NetlinkConstants.NlmFDump, InterfaceInfo(0, 0, 0), "list links").Where(m => m.Type == RtmNewLink).Select(ParseLink)];

    public LinkInfo EnsureDummyLink(string name)
    {
        if (Find(name) is not { } link)
        {
            var attributes = new AttributeWriter().Text(IflaIfname, name).BeginNested(IflaLinkinfo).Text(IflaInfoKind, "dummy").EndNested().ToArray();
            socket.Request(RtmNewLink, (ushort)(NetlinkConstants.NlmFAck | NetlinkConstants.NlmFCreate | NetlinkConstants.NlmFExcl),
                (byte[])[.. InterfaceInfo(0, 0, 0), .. attributes], $"create dummy link {name}");
        }
        SetLinkUp(name);
        return Find(name) ?? throw new NetlinkException(NetlinkException.ENODEV, $"create dummy link {name}", "the link is not there after creation");
    }

    public void SetLinkUp(string name)
    {
        var link = Find(name) ?? throw new NetlinkException(NetlinkException.ENODEV, $"set link {name} up");
        socket.Request(RtmNewLink, NetlinkConstants.NlmFAck, InterfaceInfo(link.Index, IffUp, IffUp), $"set link {name} up");
    }

    /// <summary>Takes a link down (tests: a node's network dying at once).</summary>
    public void SetLinkDown(string name)
    {
        var link = Find(name) ?? throw new NetlinkException(NetlinkException.ENODEV, $"set link {name} down");
        socket.Request(RtmNewLink, NetlinkConstants.NlmFAck, InterfaceInfo(link.Index, 0, IffUp), $"set link {name} down");
    }

    public IReadOnlyList<IPAddressValue> ListAddresses(string link)
    {
        var index = IndexOf(link, "list addresses");
        return [.. socket.Request(RtmGetAddr, NetlinkConstants.NlmFDump, AddressInfo(0, 0, 0), $"list addresses of {link}")
            .Where(m => m.Type == RtmNewAddr && BinaryPrimitives.ReadInt32LittleEndian(m.Payload.Span[4..]) == index)
            .Select(ParseAddress).OfType<IPAddressValue>()];
    }

    public void AddAddress(string link, IPAddressValue address) =>
        ChangeAddress(RtmNewAddr, (ushort)(NetlinkConstants.NlmFAck | NetlinkConstants.NlmFCreate | NetlinkConstants.NlmFExcl), link, address, "add");

    public void RemoveAddress(string link, IPAddressValue address) =>
        ChangeAddress(RtmDelAddr, NetlinkConstants.NlmFAck, link, address, "remove");

    public void RefreshAddress(string link, IPAddressValue address, TimeSpan lifetime) =>
        ChangeAddress(RtmNewAddr, (ushort)(NetlinkConstants.NlmFAck | NetlinkConstants.NlmFCreate | NlmFReplace), link, address, "refresh", lifetime);

    public string? DefaultRouteLink(IPFamily family)
    {
        var request = new byte[12];
        request[0] = family == IPFamily.IPv4 ? AfInet : AfInet6;
        var index = socket.Request(RtmGetRoute, NetlinkConstants.NlmFDump, request, $"list {family} routes")
            .Where(m => m.Type == RtmNewRoute)
            .Select(ParseDefaultRoute)
            .FirstOrDefault(i => i is not null);
        return index is null ? null : ListLinks().FirstOrDefault(l => l.Index == index)?.Name;
    }

    private void ChangeAddress(ushort type, ushort flags, string link, IPAddressValue address, string verb, TimeSpan? lifetime = null)
    {
        var index = IndexOf(link, $"{verb} address {address}");
        var family = address.Family == IPFamily.IPv4 ? AfInet : AfInet6;
        var prefix = (byte)IPAddressValue.BitLength(address.Family);
        var bytes = address.ToIPAddress().GetAddressBytes();
        var attributes = new AttributeWriter().Bytes(IfaLocal, bytes).Bytes(IfaAddress, bytes);
        var header = AddressInfo(family, prefix, index);
        if (lifetime is { } valid)
        {
            attributes.Bytes(IfaCacheinfo, CacheInfo(valid));
            header[2] = family == AfInet6 ? IfaFNodad : (byte)0;
        }
        socket.Request(type, flags, (byte[])[.. header, .. attributes.ToArray()], $"{verb} address {address}/{prefix} on {link}");
    }

    /// <summary>struct ifa_cacheinfo: preferred and valid lifetime in whole seconds (rounded up), then two stamps the kernel sets.</summary>
    public static byte[] CacheInfo(TimeSpan lifetime)
    {
        var seconds = (uint)Math.Max(1, Math.Ceiling(lifetime.TotalSeconds));
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), seconds);
        return bytes;
    }

    /// <summary>The output interface of a main-table route to 0/0 (struct rtmsg, then attributes); null for any other route.</summary>
    public static int? ParseDefaultRoute(NetlinkMessage message)
    {
        var span = message.Payload.Span;
        var attributes = AttributeReader.Read(message.Payload[12..]);
        var table = attributes.TryGetValue(RtaTable, out var t) ? BinaryPrimitives.ReadUInt32LittleEndian(t.Value.Span) : span[4];
        if (span[1] != 0 || table != RtTableMain || !attributes.TryGetValue(RtaOif, out var oif))
        {
            return null;
        }
        return BinaryPrimitives.ReadInt32LittleEndian(oif.Value.Span);
    }

    private LinkInfo? Find(string name) => ListLinks().FirstOrDefault(l => l.Name == name);

    private int IndexOf(string link, string request) =>
        Find(link)?.Index ?? throw new NetlinkException(NetlinkException.ENODEV, $"{request} on {link}", $"there is no link {link}");

    /// <summary>struct ifinfomsg: family, pad, type, index, flags, change.</summary>
    public static byte[] InterfaceInfo(int index, uint flags, uint change)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), change);
        return bytes;
    }

    /// <summary>struct ifaddrmsg: family, prefix length, flags, scope, index.</summary>
    public static byte[] AddressInfo(byte family, byte prefixLength, int index)
    {
        var bytes = new byte[8];
        bytes[0] = family;
        bytes[1] = prefixLength;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), index);
        return bytes;
    }

    public static LinkInfo ParseLink(NetlinkMessage message)
    {
        var span = message.Payload.Span;
        var index = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        var attributes = AttributeReader.Read(message.Payload[16..]);
        var name = attributes.TryGetValue(IflaIfname, out var n) ? n.Text() : $"if{index}";
        string? kind = null;
        if (attributes.TryGetValue(IflaLinkinfo, out var info) && info.Children().TryGetValue(IflaInfoKind, out var k))
        {
            kind = k.Text();
        }
        var hardware = attributes.TryGetValue(IflaAddress, out var mac) && mac.Value.Length == 6 ? new PhysicalAddress(mac.Value.ToArray()) : null;
        return new LinkInfo(index, name, (flags & IffUp) != 0, kind, hardware, Carrier: (flags & IffLowerUp) != 0);
    }

    public static IPAddressValue? ParseAddress(NetlinkMessage message)
    {
        var family = message.Payload.Span[0];
        var attributes = AttributeReader.Read(message.Payload[8..]);
        var value = attributes.TryGetValue(IfaLocal, out var local) ? local : attributes.GetValueOrDefault(IfaAddress);
        if (value.Value.Length is not (4 or 16) || family is not (AfInet or AfInet6))
        {
            return null;
        }
        return IPAddressValue.FromIPAddress(new System.Net.IPAddress(value.Value.Span));
    }

    public void Dispose() => socket.Dispose();
}
