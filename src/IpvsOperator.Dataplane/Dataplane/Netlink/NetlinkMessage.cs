using System.Buffers.Binary;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>A netlink message: the 16-byte header and its payload.</summary>
public sealed record NetlinkMessage(ushort Type, ushort Flags, uint Sequence, uint PortId, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Header, then payload, padded to 4 bytes; the length field counts header and payload.</summary>
    public byte[] Encode()
    {
        var length = NetlinkConstants.HeaderLength + Payload.Length;
        var bytes = new byte[NetlinkConstants.Align(length)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), Type);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), PortId);
        Payload.Span.CopyTo(bytes.AsSpan(NetlinkConstants.HeaderLength));
        return bytes;
    }

    /// <summary>Splits a received datagram into its messages (a dump sends several in one).</summary>
    public static List<NetlinkMessage> DecodeAll(ReadOnlyMemory<byte> datagram)
    {
        var messages = new List<NetlinkMessage>();
        var offset = 0;
        while (offset + NetlinkConstants.HeaderLength <= datagram.Length)
        {
            var span = datagram.Span[offset..];
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span);
            if (length < NetlinkConstants.HeaderLength || offset + length > datagram.Length)
            {
                throw new FormatException($"netlink message at offset {offset} claims {length} bytes; {datagram.Length - offset} remain");
            }
            messages.Add(new NetlinkMessage(
                BinaryPrimitives.ReadUInt16LittleEndian(span[4..]),
                BinaryPrimitives.ReadUInt16LittleEndian(span[6..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[12..]),
                datagram.Slice(offset + NetlinkConstants.HeaderLength, length - NetlinkConstants.HeaderLength)));
            offset += NetlinkConstants.Align(length);
        }
        return messages;
    }

    /// <summary>For NLMSG_ERROR: the errno (0 is an ACK), negated back to positive.</summary>
    public int ErrorNumber => Type == NetlinkConstants.NlmsgError ? -BinaryPrimitives.ReadInt32LittleEndian(Payload.Span) : 0;
}
