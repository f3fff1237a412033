using System.Buffers.Binary;
using System.Net.NetworkInformation;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>
/// The Ethernet frames that tell a LAN an address has moved to this interface: gratuitous ARP for
/// IPv4 (a request and a reply, since some devices heed only one), an unsolicited neighbour
/// advertisement with the override flag for IPv6 (RFC 4861 7.2.6). Receivers that already hold an
/// entry for the address replace its hardware address; none is created where there was none.
/// </summary>
internal static class NeighbourFrames
{
    public const ushort EtherTypeArp = 0x0806;
    public const ushort EtherTypeIPv6 = 0x86DD;
    public const ushort ArpRequest = 1;
    public const ushort ArpReply = 2;
    private const int EthernetHeader = 14;

    /// <summary>The frames to send when <paramref name="address"/> starts being announced from <paramref name="mac"/>.</summary>
    public static IReadOnlyList<byte[]> Announce(IPAddressValue address, PhysicalAddress mac) => address.Family == IPFamily.IPv4
        ? [GratuitousArp(address, mac, ArpRequest), GratuitousArp(address, mac, ArpReply)]
        : [UnsolicitedAdvertisement(address, mac)];

    /// <summary>ARP with sender and target protocol address both the announced one, to the broadcast address.</summary>
    public static byte[] GratuitousArp(IPAddressValue address, PhysicalAddress mac, ushort operation)
    {
        var frame = new byte[EthernetHeader + 28];
        var source = mac.GetAddressBytes();
        var ip = address.ToIPAddress().GetAddressBytes();
        Ethernet(frame, Broadcast, source, EtherTypeArp);
        var arp = frame.AsSpan(EthernetHeader);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);              // hardware: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800);    // protocol: IPv4
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], operation);
        source.CopyTo(arp[8..]);
        ip.CopyTo(arp[14..]);
        // Target hardware: unknown (zero) in a request, broadcast in a reply, as the kernel and arping send them.
        (operation == ArpReply ? Broadcast : new byte[6]).CopyTo(arp[18..]);
        ip.CopyTo(arp[24..]);
        return frame;
    }

    /// <summary>ICMPv6 neighbour advertisement (override, not solicited) from the address to all nodes, with the target link-layer address option.</summary>
    public static byte[] UnsolicitedAdvertisement(IPAddressValue address, PhysicalAddress mac)
    {
        const int icmpLength = 24 + 8;
        var frame = new byte[EthernetHeader + 40 + icmpLength];
        var source = mac.GetAddressBytes();
        var ip = address.ToIPAddress().GetAddressBytes();
        Ethernet(frame, AllNodesMulticastMac, source, EtherTypeIPv6);

        var ipv6 = frame.AsSpan(EthernetHeader, 40);
        ipv6[0] = 0x60;                                             // version 6
        BinaryPrimitives.WriteUInt16BigEndian(ipv6[4..], icmpLength);
        ipv6[6] = 58;                                               // next header: ICMPv6
        ipv6[7] = 255;                                              // hop limit: receivers drop anything else
        ip.CopyTo(ipv6[8..]);
        AllNodes.CopyTo(ipv6[24..]);

        var icmp = frame.AsSpan(EthernetHeader + 40);
        icmp[0] = 136;                                              // neighbour advertisement
        icmp[4] = 0x20;                                             // flags: override
        ip.CopyTo(icmp[8..]);
        icmp[24] = 2;                                               // option: target link-layer address
        icmp[25] = 1;                                               // its length in units of 8 bytes
        source.CopyTo(icmp[26..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Icmpv6Checksum(ip, AllNodes, icmp));
        return frame;
    }

    /// <summary>
    /// The frame that asks whether any device holds <paramref name="address"/>, without claiming it:
    /// an ARP probe (RFC 5227: sender protocol address zero, so no receiver learns anything from it)
    /// or a neighbour solicitation from the unspecified address to the address's solicited-node
    /// group, as duplicate address detection sends it (RFC 4862 5.4.2: no link-layer option).
    /// </summary>
    public static byte[] Probe(IPAddressValue address, PhysicalAddress mac) => address.Family == IPFamily.IPv4
        ? ArpProbe(address, mac)
        : DuplicateAddressSolicitation(address, mac);

    private static byte[] ArpProbe(IPAddressValue address, PhysicalAddress mac)
    {
        var frame = GratuitousArp(address, mac, ArpRequest);
        var arp = frame.AsSpan(EthernetHeader);
        arp[14..18].Clear();                                        // sender protocol address: 0.0.0.0
        return frame;
    }

    private static byte[] DuplicateAddressSolicitation(IPAddressValue address, PhysicalAddress mac)
    {
        const int icmpLength = 24;
        var frame = new byte[EthernetHeader + 40 + icmpLength];
        var ip = address.ToIPAddress().GetAddressBytes();
        byte[] group = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, ip[13], ip[14], ip[15]];
        Ethernet(frame, [0x33, 0x33, 0xff, ip[13], ip[14], ip[15]], mac.GetAddressBytes(), EtherTypeIPv6);

        var ipv6 = frame.AsSpan(EthernetHeader, 40);
        ipv6[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ipv6[4..], icmpLength);
        ipv6[6] = 58;
        ipv6[7] = 255;
        group.CopyTo(ipv6[24..]);                                   // source: the unspecified address (zero)

        var icmp = frame.AsSpan(EthernetHeader + 40);
        icmp[0] = 135;                                              // neighbour solicitation
        ip.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Icmpv6Checksum(new byte[16], group, icmp));
        return frame;
    }

    /// <summary>
    /// Whether a received frame shows another device holding one of <paramref name="probed"/>: an
    /// ARP packet whose sender protocol address is it, or a neighbour advertisement for it, sent from
    /// a hardware address other than <paramref name="own"/> (the frames this node sent come back to
    /// its socket). Returns the address and the device's hardware address; null for any other frame.
    /// </summary>
    public static (IPAddressValue Address, PhysicalAddress From)? Answer(ReadOnlySpan<byte> frame, PhysicalAddress own, IReadOnlySet<IPAddressValue> probed)
    {
        if (frame.Length < EthernetHeader)
        {
            return null;
        }
        var source = frame[6..12];
        if (source.SequenceEqual(own.GetAddressBytes()))
        {
            return null;
        }
        var payload = frame[EthernetHeader..];
        switch (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]))
        {
            case EtherTypeArp when payload.Length >= 28
                && BinaryPrimitives.ReadUInt16BigEndian(payload) == 1 && BinaryPrimitives.ReadUInt16BigEndian(payload[2..]) == 0x0800
                && payload[4] == 6 && payload[5] == 4:
                return Held(new System.Net.IPAddress(payload[14..18]), payload[8..14]);
            case EtherTypeIPv6 when payload.Length >= 40 + 24 && payload[6] == 58 && payload[40] == 136:
                return Held(new System.Net.IPAddress(payload[(40 + 8)..(40 + 24)]), source);
            default:
                return null;
        }

        (IPAddressValue, PhysicalAddress)? Held(System.Net.IPAddress sender, ReadOnlySpan<byte> hardware)
        {
            var address = IPAddressValue.FromIPAddress(sender);
            return probed.Contains(address) ? (address, new PhysicalAddress(hardware.ToArray())) : null;
        }
    }

    /// <summary>The Internet checksum over the IPv6 pseudo-header (source, destination, length, next header) and the message.</summary>
    public static ushort Icmpv6Checksum(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> message)
    {
        ulong sum = 0;
        Add(source);
        Add(destination);
        sum += (uint)message.Length;
        sum += 58;
        Add(message);
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;

        void Add(ReadOnlySpan<byte> bytes)
        {
            for (var i = 0; i < bytes.Length; i += 2)
            {
                sum += (uint)(bytes[i] << 8 | (i + 1 < bytes.Length ? bytes[i + 1] : 0));
            }
        }
    }

    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    private static readonly byte[] AllNodesMulticastMac = [0x33, 0x33, 0, 0, 0, 1];
    private static readonly byte[] AllNodes = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    private static void Ethernet(Span<byte> frame, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> source, ushort etherType)
    {
        destination.CopyTo(frame);
        source.CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
    }
}
